//! Every shared sample of the supported families maps without error and every
//! entry is valid R4; the other samples get the unsupported error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use fhirgate_v2fhir::{ErrorCode, MapOptions};

const SUPPORTED: &[&str] = &[
    "ADT-A01-01",
    "ADT-A04-01",
    "ADT04-23",
    "ADT04-28",
    "ADT01-23",
    "ADT-A05-01",
    "ADT-A08-01",
    "ADT-A28-01",
    "ADT-A31-01",
    "ADT-A40-01",
    "LAB-ORU-2",
    "ORU-R01-RMGEAD",
    "SIU-S12-01",
    "SIU-S12_1",
    "SIU-S13-02",
    "SIU-S14-02",
    "SIU-S15-02",
    "SIU-S17-02",
    "SIU-S26-02",
    "RDE-O11-01",
];

#[test]
fn every_supported_sample_maps_to_valid_r4() {
    for name in SUPPORTED {
        let m = common::map(name);
        common::check(name, &m);
    }
}

#[test]
fn mapping_is_deterministic() {
    for name in SUPPORTED {
        assert_eq!(common::map(name).bundle, common::map(name).bundle, "{name}");
    }
}

#[test]
fn other_message_types_are_unsupported() {
    // (sample, code): a type we do not translate is 200, an event of a translated type 201.
    let cases = [
        ("ADT-A02-01", ErrorCode::UnsupportedEventCode, 2),
        ("ADT-A03-01", ErrorCode::UnsupportedEventCode, 2),
        ("SIU-S16-02", ErrorCode::UnsupportedEventCode, 2),
        ("RDE-O25-01", ErrorCode::UnsupportedEventCode, 2),
        ("MDM-T02-01", ErrorCode::UnsupportedMessageType, 1),
        ("VXU-V04-01", ErrorCode::UnsupportedMessageType, 1),
        ("ORM-O01-02", ErrorCode::UnsupportedMessageType, 1),
    ];
    for (name, code, component) in cases {
        let e = common::map_with(name, &MapOptions::default()).expect_err(name);
        assert_eq!(e.code, code, "{name}");
        assert!(e.code.is_reject(), "{name}: AR");
        assert_eq!(e.location.segment, "MSH");
        assert_eq!(e.location.field, Some(9));
        assert_eq!(e.location.component, Some(component));
    }
}
