//! How much memory the process may use, for the default parse budget: the
//! smallest of physical memory (/proc/meminfo MemTotal) and the cgroup's limit
//! (v2 `memory.max`, v1 `memory.limit_in_bytes`), since a container's limit
//! is what the kernel enforces.

use std::path::Path;

/// Where nothing can be read (not Linux): a conservative 2 GiB.
const FALLBACK: u64 = 2 << 30;

pub fn available_bytes() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| mem_total(&s));
    let cgroup = cgroup_limit(Path::new("/sys/fs/cgroup"));
    match (total, cgroup) {
        (Some(t), Some(c)) => t.min(c),
        (Some(t), None) => t,
        (None, Some(c)) => c,
        (None, None) => FALLBACK,
    }
}

/// `MemTotal:  24576000 kB` -> bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The cgroup memory limit, if there is one ("max" and v1's huge "unlimited"
/// value are none).
fn cgroup_limit(root: &Path) -> Option<u64> {
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let text = read(&root.join("memory.max"))
        .or_else(|| read(&root.join("memory/memory.limit_in_bytes")))?;
    let v: u64 = text.trim().parse().ok()?;
    (v < (1 << 60)).then_some(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_meminfo() {
        let s = "MemTotal:       24576000 kB\nMemFree:  1 kB\n";
        assert_eq!(mem_total(s), Some(24_576_000 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }

    #[test]
    fn reads_cgroup_limits() {
        let dir = std::env::temp_dir().join(format!("cg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("memory")).unwrap();
        assert_eq!(cgroup_limit(&dir), None);
        std::fs::write(
            dir.join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        assert_eq!(cgroup_limit(&dir), None);
        std::fs::write(dir.join("memory.max"), "max\n").unwrap();
        assert_eq!(cgroup_limit(&dir), None);
        std::fs::write(dir.join("memory.max"), "1073741824\n").unwrap();
        assert_eq!(cgroup_limit(&dir), Some(1 << 30));
        assert!(available_bytes() > 0);
    }
}
