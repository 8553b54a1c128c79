//! Extraction cost; run with
//! `cargo test --release -p fhirgate-search --test perf -- --ignored --nocapture`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use std::time::Instant;

fn bench(file: &str) -> f64 {
    let reg = registry();
    let v = example(file);
    let rt = v["resourceType"].as_str().unwrap().to_string();
    let n_entries = reg.extract(&rt, &v).len();
    const N: u32 = 1000;
    let start = Instant::now();
    let mut total = 0;
    for _ in 0..N {
        total += std::hint::black_box(reg.extract(&rt, &v)).len();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(N);
    assert_eq!(total, n_entries * N as usize);
    println!(
        "{file}: {us:.1} µs per extraction ({} params, {n_entries} entries)",
        reg.params(&rt).len()
    );
    us
}

#[test]
#[ignore]
fn extraction_speed() {
    let start = Instant::now();
    let _ = fhirgate_search::Registry::r4(&TYPES).unwrap();
    println!(
        "Registry::r4: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    bench("Patient-f001.json");
    bench("Observation-f001.json");
    bench("Observation-blood-pressure-dar.json");
    bench("AuditEvent-example-disclosure.json");
}
