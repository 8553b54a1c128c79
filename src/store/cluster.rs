//! A private PostgreSQL cluster for machines where no server runs: started from
//! the installed server binaries (`initdb`, `postgres`) under the data directory,
//! listening on a Unix socket only (no TCP port to collide with), and stopped on
//! shutdown. A watchdog shell stops it too if this process dies without cleaning
//! up (SIGKILL), so no orphan server outlives its owner.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

const SOCKET_PORT: u16 = 5432;
pub const SUPERUSER: &str = "fhirgate";

pub struct PrivateCluster {
    pgdata: PathBuf,
    socket_dir: PathBuf,
    child: Mutex<Option<Child>>,
}

/// The directory holding `initdb` and `postgres`: PATH first, then the newest
/// Debian-style /usr/lib/postgresql/<version>/bin.
pub fn find_binaries() -> Option<PathBuf> {
    // Resolve symlinks (Debian links some binaries into /usr/local/bin), so the
    // directory returned also holds pg_dump and friends of the same version.
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
            .and_then(|dir| dir.join("initdb").canonicalize().ok())
            .and_then(|real| real.parent().map(Path::to_path_buf))
    });
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// PostgreSQL refuses to run as root, so as root the cluster runs as the
/// `postgres` (else `nobody`) account.
fn service_account() -> anyhow::Result<Option<(u32, u32)>> {
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if !is_root {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if let [name, _, uid, gid, ..] = fields.as_slice() {
                if *name == wanted {
                    return Ok(Some((uid.parse()?, gid.parse()?)));
                }
            }
        }
    }
    bail!("running as root and no postgres or nobody account to run PostgreSQL as")
}

fn chown_tree(path: &Path, owner: Option<(u32, u32)>) -> anyhow::Result<()> {
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .with_context(|| format!("chown {}", path.display()))?;
        if path.is_dir() {
            for entry in std::fs::read_dir(path)? {
                chown_tree(&entry?.path(), owner)?;
            }
        }
    }
    Ok(())
}

/// PostgreSQL runs as `owner`, which must be able to traverse every directory
/// above the cluster; say so plainly instead of letting initdb fail obscurely.
fn check_reachable(dir: &Path, owner: Option<(u32, u32)>) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Some((uid, _)) = owner else { return Ok(()) };
    for ancestor in dir.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor)?;
        if meta.uid() != uid && meta.mode() & 0o001 == 0 {
            bail!(
                "{} is not reachable by the account PostgreSQL runs as ({} has no search permission for others); \
                 choose a data directory under a world-searchable path such as /var/lib or /tmp",
                dir.display(),
                ancestor.display()
            );
        }
    }
    Ok(())
}

impl PrivateCluster {
    /// Starts (initialising on first use) the cluster under `dir`. `fast` trades
    /// durability for speed (fsync off): for test databases only.
    pub fn start(dir: &Path, fast: bool) -> anyhow::Result<Self> {
        let bin =
            find_binaries().context("no PostgreSQL server binaries (initdb, postgres) found")?;
        let owner = service_account()?;
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        check_reachable(&dir, owner)?;
        let pgdata = dir.join("pgdata");
        // Unix socket paths are limited to ~107 bytes, so the socket lives in /tmp
        // under a name derived from the data directory.
        let socket_dir = std::env::temp_dir().join(format!(
            "fhirgate-pg-{:016x}",
            fnv1a(dir.as_os_str().as_encoded_bytes())
        ));
        std::fs::create_dir_all(&socket_dir)?;
        std::fs::set_permissions(&socket_dir, std::fs::Permissions::from_mode(0o755))?;
        chown_tree(&socket_dir, owner)?;
        if !pgdata.join("PG_VERSION").exists() {
            std::fs::create_dir_all(&pgdata)?;
            std::fs::set_permissions(&pgdata, std::fs::Permissions::from_mode(0o700))?;
            chown_tree(&dir, owner)?;
            let mut initdb = Command::new(bin.join("initdb"));
            initdb
                .arg("-D")
                .arg(&pgdata)
                .args([
                    "-U",
                    SUPERUSER,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-instructions",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if fast {
                initdb.arg("--no-sync");
            }
            as_account(&mut initdb, owner);
            let out = initdb.output().context("running initdb")?;
            if !out.status.success() {
                bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        let cluster = Self {
            pgdata,
            socket_dir,
            child: Mutex::new(None),
        };
        let owner_file = dir.join("owner.pid");
        // Already running: share it while the gateway that started it lives.
        let owner_alive = std::fs::read_to_string(&owner_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .is_some_and(|pid| {
                pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()
            });
        if owner_alive && cluster.answers() {
            return Ok(cluster);
        }
        // Otherwise a server may still be going away: the watchdog of a gateway
        // that died stops it within a second (a supervisor restarting a killed
        // gateway at once hits exactly this), and while it shuts down it no
        // longer answers yet still holds the data directory, so a postgres
        // started now would refuse to run on its postmaster.pid. Wait for that
        // postmaster to exit, and start our own rather than share one that is
        // going away.
        let deadline = Instant::now() + Duration::from_secs(15);
        while postmaster_alive(&cluster.pgdata) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        // No watchdog stopped it (it was killed too): a running server is
        // still better shared than refused.
        if cluster.answers() {
            return Ok(cluster);
        }
        // A postmaster.pid left by a killed server is not removed here: PostgreSQL
        // checks whether its PID still lives and refuses to start on a live cluster,
        // which deleting the file would defeat.
        let mut pg_args = format!(
            "exec '{}' -D '{}' -k '{}' -p {} -c listen_addresses='' -c max_connections=300",
            bin.join("postgres").display(),
            cluster.pgdata.display(),
            cluster.socket_dir.display(),
            SOCKET_PORT
        );
        if fast {
            pg_args.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        // The watchdog: runs postgres, and asks it to stop (SIGINT = fast shutdown)
        // once our process is gone or we ask (SIGTERM).
        let script = format!(
            "({pg_args}) >'{log}' 2>&1 & pg=$!; trap 'kill -INT $pg; wait $pg; exit 0' TERM INT; \
             while [ -d /proc/{parent} ] && kill -0 $pg 2>/dev/null; do sleep 1; done; kill -INT $pg 2>/dev/null; wait $pg",
            log = dir.join("postgres.log").display(),
            parent = std::process::id()
        );
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_account(&mut cmd, owner);
        let child = cmd.spawn().context("starting postgres")?;
        if let Ok(mut slot) = cluster.child.lock() {
            *slot = Some(child);
        }
        std::fs::write(&owner_file, std::process::id().to_string())?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cluster.answers() {
            if Instant::now() > deadline {
                cluster.stop();
                bail!(
                    "private PostgreSQL did not start; see {}",
                    dir.join("postgres.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        tracing::info!(pgdata = %cluster.pgdata.display(), "started a private PostgreSQL cluster");
        Ok(cluster)
    }

    /// A libpq URL for `dbname` on this cluster's socket.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{dbname}?host={}&port={SOCKET_PORT}",
            self.socket_dir.display()
        )
    }

    fn answers(&self) -> bool {
        use diesel::Connection;
        super::init_openssl();
        self.socket_dir
            .join(format!(".s.PGSQL.{SOCKET_PORT}"))
            .exists()
            && diesel::PgConnection::establish(&self.url("postgres")).is_ok()
    }

    /// Stops the server if this handle started it; waits for the fast shutdown.
    pub fn stop(&self) {
        let child = self.child.lock().ok().and_then(|mut slot| slot.take());
        if let Some(mut child) = child {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
            tracing::info!("stopped the private PostgreSQL cluster");
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn as_account(cmd: &mut Command, owner: Option<(u32, u32)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
}

/// FNV-1a, for a short stable name; not for security.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// True while the postmaster named in `pgdata/postmaster.pid` (its first line,
/// https://www.postgresql.org/docs/15/server-start.html) is a live process.
fn postmaster_alive(pgdata: &Path) -> bool {
    std::fs::read_to_string(pgdata.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}
