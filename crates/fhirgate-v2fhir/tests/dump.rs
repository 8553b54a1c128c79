#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
#[test]
#[ignore]
fn dump() {
    let name = std::env::var("SAMPLE").unwrap();
    let m = common::map(&name);
    println!("{}", serde_json::to_string_pretty(&m.bundle).unwrap());
    common::check(&name, &m);
}
