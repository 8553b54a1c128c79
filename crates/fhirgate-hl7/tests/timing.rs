//! Parse time, measured by hand (not a pass/fail test: timings depend on the
//! machine). Run in release:
//! `cargo test -p fhirgate-hl7 --release --test timing -- --ignored --nocapture`

use std::path::PathBuf;
use std::time::Instant;

#[test]
#[ignore = "timing, run by hand in release"]
fn parse_time_per_message() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/examples/hl7v2");
    for name in [
        "ORU-R01-RMGEAD.hl7",
        "ADT-A09-01.hl7",
        "MDHHS-OML-O21-1.hl7",
        "ADT-A01-01.hl7",
        "OML-O21-03.hl7",
    ] {
        let raw = std::fs::read(dir.join(name)).unwrap_or_default();
        let rounds = 2000u32;
        let mut ok = 0;
        // Warm up, then time.
        for _ in 0..100 {
            ok += usize::from(fhirgate_hl7::parse(&raw).is_ok());
        }
        let t = Instant::now();
        for _ in 0..rounds {
            ok += usize::from(fhirgate_hl7::parse(&raw).is_ok());
        }
        let per = t.elapsed() / rounds;
        // hl7-parser alone on the same text, CR endings, for comparison.
        let text = String::from_utf8_lossy(&raw).replace('\n', "\r");
        let t = Instant::now();
        for _ in 0..rounds {
            ok +=
                usize::from(hl7_parser::Message::parse_with_lenient_newlines(&text, true).is_ok());
        }
        let alone = t.elapsed() / rounds;
        println!(
            "{name}: {} bytes, {per:?} per parse, hl7-parser alone {alone:?} ({ok} ok)",
            raw.len()
        );
    }
}
