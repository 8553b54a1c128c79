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
