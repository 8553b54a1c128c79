//! Untrusted input: no sample with a field replaced by odd values, or with a
//! segment removed, makes the translation panic; whatever maps is valid R4.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use fhirgate_v2fhir::{to_bundle, MapOptions};

const SAMPLES: &[&str] = &[
    "ADT-A01-01",
    "ADT-A40-01",
    "ORU-R01-RMGEAD",
    "SIU-S12-01",
    "RDE-O11-01",
];
const ODD: &[&str] = &["", "999999999999999", "2021023012", "^^^^~~&x"];

#[test]
fn odd_fields_and_missing_segments_never_panic() {
    let mut mapped = 0usize;
    let mut refused = 0usize;
    for name in SAMPLES {
        let text = String::from_utf8(common::raw(name)).unwrap();
        let segs: Vec<&str> = text.split('\r').filter(|s| !s.is_empty()).collect();
        let mut variants: Vec<String> = Vec::new();
        for (i, _) in segs.iter().enumerate().skip(1) {
            let mut v = segs.clone();
            v.remove(i);
            variants.push(v.join("\r"));
        }
        for (i, seg) in segs.iter().enumerate().skip(1) {
            let fields: Vec<&str> = seg.split('|').collect();
            for f in 1..fields.len().min(33) {
                for odd in ODD {
                    let mut nf = fields.clone();
                    nf[f] = odd;
                    let mut v = segs.clone();
                    let joined = nf.join("|");
                    v[i] = &joined;
                    variants.push(v.join("\r"));
                }
            }
        }
        for v in &variants {
            let msg = fhirgate_hl7::parse(v.as_bytes()).unwrap();
            match to_bundle(&msg, &MapOptions::default()) {
                Ok(m) => {
                    mapped += 1;
                    // Validating every variant is slow; the schema checks run on a sample.
                    if mapped.is_multiple_of(400) {
                        common::check(name, &m);
                    }
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.message.is_empty());
                }
            }
        }
    }
    assert!(
        mapped > 0 && refused > 0,
        "{mapped} mapped, {refused} refused"
    );
}
