//! Batches (HL7 v2.5.1 2.10.3): FHS { BHS { MSH ... } BTS } FTS.

use fhirgate_hl7::{parse, split_batch, ParseError};

const M1: &str = "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rPID|1\r";
const M2: &str = "MSH|^~\\&|A|B|C|D|2024||ADT^A08|2|P|2.5\rPID|2\rPV1|1\r";

#[test]
fn file_with_two_batches() {
    let raw = format!("FHS|^~\\&|A\rBHS|^~\\&|A\r{M1}{M2}BTS|2\rBHS|^~\\&|A\r{M1}BTS|1\rFTS|2\r");
    let b = split_batch(raw.as_bytes()).map_err(|e| e.to_string());
    let Ok(b) = b else {
        return assert!(b.is_ok(), "{b:?}");
    };
    assert!(b.is_envelope());
    assert_eq!(b.batches.len(), 2);
    assert_eq!(b.message_count(), 3);
    let msgs: Vec<&[u8]> = b.messages().collect();
    // Each message keeps its exact bytes, terminators included.
    assert_eq!(msgs, [M1.as_bytes(), M2.as_bytes(), M1.as_bytes()]);
    assert_eq!(b.file_header.as_deref(), Some(&b"FHS|^~\\&|A"[..]));
    assert_eq!(b.file_trailer.as_deref(), Some(&b"FTS|2"[..]));
    // And each parses alone.
    assert!(b.messages().all(|m| parse(m).is_ok()));
}

#[test]
fn wrong_bts_count_is_refused() {
    let raw = format!("BHS|^~\\&|A\r{M1}{M2}BTS|3\r");
    match split_batch(raw.as_bytes()) {
        Err(ParseError::BadSegment { segment, reason }) => {
            assert_eq!(segment, 7, "{reason}");
            assert!(reason.contains("BTS-1"), "{reason}");
        }
        other => panic_free_fail(&format!("{other:?}")),
    }
}

#[test]
fn wrong_fts_count_and_non_numeric_counts() {
    let raw = format!("FHS|^~\\&\rBHS|^~\\&\r{M1}BTS|1\rFTS|2\r");
    assert!(matches!(
        split_batch(raw.as_bytes()),
        Err(ParseError::BadSegment { segment: 6, .. })
    ));
    let raw = format!("BHS|^~\\&\r{M1}BTS|one\r");
    assert!(matches!(
        split_batch(raw.as_bytes()),
        Err(ParseError::BadSegment { .. })
    ));
    // Counts are optional: empty BTS-1 is not checked.
    let raw = format!("BHS|^~\\&\r{M1}{M2}BTS\r");
    assert_eq!(
        split_batch(raw.as_bytes()).map(|b| b.message_count()),
        Ok(2)
    );
}

#[test]
fn empty_batch_is_allowed() {
    // 2.10.3: a batch may hold zero messages (periodic submission).
    let b = split_batch(b"BHS|^~\\&|A\rBTS|0\r");
    assert_eq!(b.map(|b| (b.batches.len(), b.message_count())), Ok((1, 0)));
}

#[test]
fn plain_message_passes_through() {
    let b = split_batch(M1.as_bytes());
    let b = b.as_ref().ok();
    assert_eq!(b.map(|b| b.is_envelope()), Some(false));
    assert_eq!(
        b.map(|b| b.messages().collect::<Vec<_>>()),
        Some(vec![M1.as_bytes()])
    );
    // With a BOM and LF endings too; the raw bytes are kept as they were.
    let lf = M2.replace('\r', "\n");
    let raw = format!("\u{feff}{lf}");
    let b = split_batch(raw.as_bytes());
    assert_eq!(
        b.map(|b| b.messages().map(<[u8]>::to_vec).collect::<Vec<_>>()),
        Ok(vec![lf.into_bytes()])
    );
}

#[test]
fn truncated_or_misordered_envelopes_are_refused() {
    for raw in [
        format!("BHS|^~\\&\r{M1}"),
        format!("FHS|^~\\&\rBHS|^~\\&\r{M1}BTS|1\r"),
        format!("{M1}BTS|1\r"),
        format!("{M1}FTS|1\r"),
        format!("BHS|^~\\&\rBHS|^~\\&\r{M1}BTS\rBTS\r"),
        format!("FHS|^~\\&\r{M1}FTS\r{M2}"),
        "BHS|^~\\&\rPID|1\rBTS\r".to_string(),
        format!("BHS|^~\\&\r{M1}BTS\rFHS|^~\\&\r"),
    ] {
        assert!(split_batch(raw.as_bytes()).is_err(), "{raw:?}");
    }
    assert!(matches!(split_batch(b"PID|1"), Err(ParseError::NotHl7(_))));
    assert!(matches!(
        split_batch(b"BHS|^^\\&\r"),
        Err(ParseError::BadHeader(_))
    ));
}

fn panic_free_fail(what: &str) {
    assert!(what.is_empty(), "unexpected: {what}");
}
