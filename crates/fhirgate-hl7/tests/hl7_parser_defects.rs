//! The hl7-parser 0.3 behaviours our wrapper works around (crate README),
//! pinned here so that an upgrade that changes them is noticed.

use hl7_parser::Message;

#[test]
fn stops_silently_at_a_line_it_cannot_read() {
    // A segment that is only its id, and a lower-case id: Ok, fewer segments.
    for text in [
        "MSH|^~\\&|A\rZZZ\rPID|1",
        "MSH|^~\\&|A\rPID|1\r|bad|\rPV1|1",
    ] {
        let m = Message::parse_with_lenient_newlines(text, true);
        assert_eq!(
            m.map(|m| m.segments.len()).ok(),
            Some(2 - usize::from(text.contains("ZZZ"))),
            "{text:?}"
        );
    }
}

#[test]
fn accepts_lower_case_and_non_ascii_segment_ids() {
    let m = Message::parse_with_lenient_newlines("MSH|^~\\&|A\rpid|1\rÄÖÜ|2", true);
    assert_eq!(m.map(|m| m.segments.len()).ok(), Some(3));
}

#[test]
fn truncation_character_shifts_msh_fields() {
    let m = Message::parse_with_lenient_newlines("MSH|^~\\&#|SND|FAC", true);
    // MSH-3 should be SND; hl7-parser gives the '#' instead.
    let msh3 = m.ok().and_then(|m| {
        m.segments
            .first()
            .and_then(|s| s.field(3).map(|f| f.raw_value().to_string()))
    });
    assert_eq!(msh3.as_deref(), Some("#"));
}

#[test]
fn lenient_mode_cuts_a_segment_at_an_lf_inside_a_value() {
    let m = Message::parse_with_lenient_newlines("MSH|^~\\&|A\rNTE|1||line one\nline two", true);
    // The LF is data in a CR-terminated message; hl7-parser stops there.
    assert_eq!(m.map(|m| m.segments.len()).ok(), Some(2));
    let m = Message::parse_with_lenient_newlines("MSH|^~\\&|A\rNTE|1||line one\nline two", true);
    let nte3 = m.ok().and_then(|m| {
        m.segments
            .get(1)
            .and_then(|s| s.field(3).map(|f| f.raw_value().to_string()))
    });
    assert_eq!(nte3.as_deref(), Some("line one"));
}

#[test]
fn does_not_check_the_encoding_characters() {
    // Duplicate and alphanumeric delimiters are taken as they come.
    assert!(Message::parse_with_lenient_newlines("MSH|^^^^|A", true).is_ok());
    assert!(Message::parse_with_lenient_newlines("MSH|abcd|A", true).is_ok());
}
