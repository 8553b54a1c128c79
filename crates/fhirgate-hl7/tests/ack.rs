//! ACKs (HL7 v2.5.1 2.9.2 original mode, 2.9.3 enhanced mode, 2.13.1 ACK,
//! MSA and ERR segment definitions; tables 0008, 0155, 0357).

use fhirgate_hl7::ack::{
    self, build_ack, check_header, reject_unparsed, wants_accept_ack, wants_application_ack,
    AckCode, AckError, AckMode, ErrorCode, ErrorLocation, Outcome,
};
use fhirgate_hl7::{parse, Message};
use std::path::PathBuf;

fn sample(name: &str) -> Message {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/examples/hl7v2")
        .join(name);
    let raw = std::fs::read(p).unwrap_or_default();
    match parse(&raw) {
        Ok(m) => m,
        Err(e) => Message {
            separators: Default::default(),
            segments: vec![fhirgate_hl7::Segment {
                name: format!("unparsable {name}: {e}"),
                fields: vec![],
            }],
        },
    }
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn original_mode_accept() {
    let m = sample("ORU-R01-RMGEAD.hl7");
    assert_eq!(ack::ack_mode(&m), AckMode::Original);
    // Original mode: always an application ack, never an accept ack (2.9.2).
    for o in [Outcome::Accepted, Outcome::Error, Outcome::Rejected] {
        assert!(wants_application_ack(&m, o));
        assert!(!wants_accept_ack(&m, o));
    }
    let ack = text(build_ack(
        &m,
        AckCode::AA,
        &[],
        "ACK0001",
        "20240101120000+0000",
    ));
    // Sender/receiver swapped (MSH-3/4 <-> MSH-5/6), MSH-9 ACK^R01^ACK, MSH-11/12 echoed.
    assert_eq!(
        ack,
        "MSH|^~\\&|GHH OE|BLDG4|GHH LAB|ELAB-3|20240101120000+0000||ACK^R01^ACK|ACK0001|P|2.4\r\
         MSA|AA|CNTRL-3456\r"
    );
    // The ACK is itself a valid message.
    let parsed = parse(ack.as_bytes());
    assert_eq!(
        parsed.as_ref().map(|a| a.message_type()),
        Ok(("ACK", "R01"))
    );
}

#[test]
fn enhanced_mode_conditions_table_0155() {
    // OUL-R22-02: MSH-15 NE, MSH-16 AL.
    let m = sample("OUL-R22-02.hl7");
    assert_eq!(ack::ack_mode(&m), AckMode::Enhanced);
    assert!(!wants_accept_ack(&m, Outcome::Accepted));
    assert!(!wants_accept_ack(&m, Outcome::Rejected));
    assert!(wants_application_ack(&m, Outcome::Accepted));
    // VXU.hl7: MSH-15 ER (errors/rejects only), MSH-16 AL.
    let m = sample("VXU.hl7");
    assert!(!wants_accept_ack(&m, Outcome::Accepted));
    assert!(wants_accept_ack(&m, Outcome::Error));
    assert!(wants_accept_ack(&m, Outcome::Rejected));
    // MDM-T02-03: MSH-15 AL, MSH-16 empty (read as NE in enhanced mode).
    let m = sample("MDM-T02-03.hl7");
    assert!(wants_accept_ack(&m, Outcome::Accepted));
    assert!(!wants_application_ack(&m, Outcome::Accepted));
    // SU: successful completion only.
    let raw = "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5|||SU|SU";
    let Ok(m) = parse(raw.as_bytes()) else {
        return assert!(parse(raw.as_bytes()).is_ok());
    };
    assert!(wants_accept_ack(&m, Outcome::Accepted));
    assert!(!wants_accept_ack(&m, Outcome::Error));
    assert!(!wants_application_ack(&m, Outcome::Rejected));
    // Codes per mode (table 0008).
    assert_eq!(Outcome::Accepted.accept_code(), AckCode::CA);
    assert_eq!(Outcome::Error.accept_code(), AckCode::CE);
    assert_eq!(Outcome::Rejected.accept_code(), AckCode::CR);
    assert_eq!(Outcome::Error.application_code(), AckCode::AE);
    assert_eq!(Outcome::Rejected.application_code(), AckCode::AR);
}

#[test]
fn unsupported_version_and_processing_id() {
    let raw = "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|X|2.9";
    let Ok(m) = parse(raw.as_bytes()) else {
        return assert!(parse(raw.as_bytes()).is_ok());
    };
    let errs = check_header(&m);
    let codes: Vec<u16> = errs.iter().map(|e| e.code.code()).collect();
    assert_eq!(codes, [203, 202]);
    let ack = text(build_ack(&m, AckCode::AR, &errs, "A1", "2024"));
    let lines: Vec<&str> = ack.split('\r').collect();
    assert_eq!(lines.get(1), Some(&"MSA|AR|C1"));
    let err = lines.get(2).copied().unwrap_or_default();
    assert!(
        err.starts_with("ERR||MSH^1^12|203^Unsupported version id^HL70357|E||||"),
        "{err}"
    );
    for v in ["2.1", "2.3.1", "2.5.1", "2.8.2"] {
        assert!(ack::is_supported_version(v), "{v}");
    }
    assert!(!ack::is_supported_version("3.0"));
    let ok = "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5.1";
    assert_eq!(parse(ok.as_bytes()).map(|m| check_header(&m).len()), Ok(0));
}

#[test]
fn values_are_escaped_in_the_ack() {
    // MSH-3 "LAB\F\X" decodes to "LAB|X"; it must be escaped again as MSH-5.
    let raw = "MSH|^~\\&|LAB\\F\\X^1.2.3^ISO|FAC|RCV|RFAC|2024||ORU^R01|C\\T\\1|P|2.5";
    let Ok(m) = parse(raw.as_bytes()) else {
        return assert!(parse(raw.as_bytes()).is_ok());
    };
    let err = AckError::new(
        ErrorCode::ApplicationError,
        Some(ErrorLocation::field("OBX", 2, 5)),
        "value a|b^c is bad\\",
    );
    let ack = text(build_ack(&m, AckCode::AE, &[err], "A|2", "2024"));
    let lines: Vec<&str> = ack.split('\r').collect();
    assert_eq!(
        lines.first(),
        Some(&"MSH|^~\\&|RCV|RFAC|LAB\\F\\X^1.2.3^ISO|FAC|2024||ACK^R01^ACK|A\\F\\2|P|2.5")
    );
    assert_eq!(lines.get(1), Some(&"MSA|AE|C\\T\\1"));
    assert_eq!(
        lines.get(2),
        Some(&"ERR||OBX^2^5|207^Application error^HL70357|E||||value a\\F\\b\\S\\c is bad\\E\\")
    );
}

#[test]
fn old_versions_also_get_err_1() {
    let m = sample("ADT04-23.hl7"); // v2.3
    let err = AckError::new(
        ErrorCode::RequiredFieldMissing,
        Some(ErrorLocation::field("PID", 1, 3)),
        "PID-3",
    );
    let ack = text(build_ack(&m, AckCode::AE, &[err], "A", "2024"));
    assert!(
        ack.contains("\rERR|PID^1^3^101&Required field missing&HL70357|PID^1^3|101^Required field missing^HL70357|E||||PID-3\r"),
        "{ack}"
    );
}

#[test]
fn latin1_ack_stays_latin1() {
    let raw = b"MSH|^~\\&|APP|H\xf4pital|R|RF|2024||ADT^A01|C1|P|2.5||||||8859/1";
    let Ok(m) = parse(raw) else {
        return assert!(parse(raw).is_ok());
    };
    let ack = build_ack(&m, AckCode::AA, &[], "A", "2024");
    let expected =
        b"MSH|^~\\&|R|RF|APP|H\xf4pital|2024||ACK^A01^ACK|A|P|2.5||||||8859/1\rMSA|AA|C1\r";
    assert_eq!(ack, expected.to_vec());
}

fn ar_for(raw: &[u8]) -> Vec<String> {
    let err = parse(raw).err();
    let Some(err) = err else {
        return vec!["parsed".into()];
    };
    text(reject_unparsed(raw, &err, "NEW1", "2024"))
        .split('\r')
        .map(String::from)
        .collect()
}

#[test]
fn reject_unparsable_messages_with_what_can_be_recovered() {
    // Bad segment id on line 3: 100 segment sequence error at pv1, MSA-2 echoes.
    let l = ar_for(b"MSH|^~\\&|APP|FAC|RA|RF|2024||ADT^A01|CTRL9|P|2.5\rPID|1\rpv1|x");
    assert_eq!(
        l.first().map(String::as_str),
        Some("MSH|^~\\&|RA|RF|APP|FAC|2024||ACK^A01^ACK|NEW1|P|2.5")
    );
    assert_eq!(l.get(1).map(String::as_str), Some("MSA|AR|CTRL9"));
    assert!(
        l.get(2)
            .is_some_and(|e| e.starts_with("ERR||pv1^1|100^Segment sequence error^HL70357|E||||")),
        "{l:?}"
    );

    // MSH-12 missing: 101 at MSH-12; the ACK falls back to 2.5.1.
    let l = ar_for(b"MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|");
    assert_eq!(
        l.first().map(String::as_str),
        Some("MSH|^~\\&|C|D|A|B|2024||ACK^A01^ACK|NEW1|P|2.5.1")
    );
    assert_eq!(l.get(1).map(String::as_str), Some("MSA|AR|C1"));
    assert!(l
        .get(2)
        .is_some_and(|e| e.starts_with("ERR||MSH^1^12|101^Required field missing^HL70357|E|")));

    // Broken MSH-2: 102 at MSH-2, MSH-10 still found by splitting at MSH-1;
    // version 2.3 gets ERR-1 as well.
    let l = ar_for(b"MSH|^~|A|B|C|D|2024||ADT^A01|C77|P|2.3");
    assert_eq!(l.get(1).map(String::as_str), Some("MSA|AR|C77"));
    assert!(
        l.get(2)
            .is_some_and(|e| e.starts_with("ERR|MSH^1^2^102&Data type error&HL70357|MSH^1^2|102^")),
        "{l:?}"
    );

    // Unknown charset: 103 table value not found, at MSH-18.
    let l = ar_for(b"MSH|^~\\&|A|B|C|D|2024||ADT^A01|C5|P|2.5||||||EBCDIC");
    assert_eq!(l.get(1).map(String::as_str), Some("MSA|AR|C5"));
    assert!(l
        .get(2)
        .is_some_and(|e| e.starts_with("ERR||MSH^1^18|103^Table value not found^HL70357|E|")));

    // Junk before MSH: not HL7 for the parser, but MSH-10 is still echoed.
    let l = ar_for(b"\x00\x01junkMSH|^~\\&|A|B|C|D|2024||ADT^A01|C6|P|2.5");
    assert_eq!(l.get(1).map(String::as_str), Some("MSA|AR|C6"));

    // Nothing recoverable at all: an AR with an empty MSA-2.
    let l = ar_for(b"hello");
    assert_eq!(
        l.first().map(String::as_str),
        Some("MSH|^~\\&|||||2024||ACK^^ACK|NEW1||2.5.1")
    );
    assert_eq!(l.get(1).map(String::as_str), Some("MSA|AR|"));
}

#[test]
fn charset_code_padded_with_control_characters() {
    // Found by fuzzing: MSH-18 "8859/1" followed by VT bytes was accepted as
    // 8859/1 but echoed with the padding, which no parser accepts.
    let raw = b"MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5||||||8859/1\x0b\x0b\rPID|1";
    let Ok(m) = parse(raw) else {
        return assert!(parse(raw).is_ok());
    };
    let ack = build_ack(&m, AckCode::AA, &[], "A", "2024");
    assert_eq!(
        text(ack),
        "MSH|^~\\&|C|D|A|B|2024||ACK^A01^ACK|A|P|2.5||||||8859/1\rMSA|AA|C1\r"
    );
}

#[test]
fn charset_code_read_like_the_model_reads_it() {
    // Found by fuzzing: with '/' as the subcomponent separator, MSH-18
    // "8859/1" is "8859" for the model; the charset must be chosen from that
    // same value (and refused), not from the raw text. Escaped, it works.
    let raw = b"MSH|^~\\/|A|B|C|D|2024||ADT^A01|1|P|2.5||||||8859/1\rPID|1";
    assert!(parse(raw).is_err());
    let raw = b"MSH|^~\\/|A|B|C|D|2024||ADT^A01|1|P|2.5||||||8859\\T\\1\rPID|1||M\xfcller";
    let Ok(m) = parse(raw) else {
        return assert!(parse(raw).is_ok());
    };
    assert_eq!(m.segment("PID").map(|p| p.value(3)), Some("Müller"));
    let ack = build_ack(&m, AckCode::AA, &[], "A", "2024");
    assert!(parse(&ack).is_ok());
}
