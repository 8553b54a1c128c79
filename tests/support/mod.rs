//! What the tests that run the `fhirgate` binary as a process share: included
//! by `#[path]` into each such test binary (tests/cli.rs, crash.rs, outage.rs
//! and tests/api), since every file under tests/ is a crate of its own.
#![allow(dead_code)]

use std::process::Child;

/// A free TCP port on 127.0.0.1 (the kernel's pick; free when returned).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A gateway process, killed if the test ends (or fails) while it still runs.
pub struct Gateway(pub Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// An operator's access token (`system/*.cruds`, two hours) from
/// `fhirgate token`, run with the gateway's own settings `envs` (the same
/// data directory, database and HTTP address: the token's issuer is the
/// gateway's FHIR base).
pub fn operator_token(envs: &[(&str, String)], removed: &[&str]) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fhirgate"));
    cmd.args(["token", "--scope", "system/*.cruds", "--ttl", "7200"]);
    for k in removed {
        cmd.env_remove(k);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "fhirgate token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// An operator client for a gateway on the private cluster of `dir`,
/// listening on 127.0.0.1:`port` (tests/cli.rs, tests/crash.rs).
pub fn embedded_operator_client(dir: &std::path::Path, port: u16) -> reqwest::Client {
    bearer_client(&operator_token(
        &[
            ("FHIRGATE_EMBEDDED_POSTGRES", "true".into()),
            ("FHIRGATE_DATA_DIR", dir.display().to_string()),
            ("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}")),
        ],
        &[
            "FHIRGATE_DATABASE_URL",
            "DATABASE_URL",
            "FHIRGATE_MASTER_KEY",
        ],
    ))
}

/// A client whose every request carries `token`.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}
