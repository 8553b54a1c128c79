//! What a resend of a message keeps: the bytes that identify its content.
//!
//! MSH-10 is unique only as far as its sender keeps it so (HL7 v2.5.1 section
//! 2.15.9.10: "a number or other identifier that uniquely identifies the
//! message"); senders that restart their counters reuse it for new messages.
//! The receiver therefore compares the message itself before answering a
//! repeated control id with the original ACK (section 2.9.2 leaves duplicate
//! detection to the receiver). A resend of the same message may differ in what
//! the sending system regenerates or re-serialises without changing the
//! message, and only in that:
//! - MSH-7 (date/time of message): engines commonly stamp each send afresh;
//! - segment terminators (CR, LF or CRLF; section 2.5.1 requires CR, but
//!   interface engines convert), and empty lines between segments;
//! - a leading UTF-8 byte order mark, which some engines write and others drop;
//! - trailing empty fields (`...|2.5|||` is `...|2.5`: section 2.5.3.2, a
//!   field absent at the end of a segment need not be sent).
//!
//! Everything else (every other MSH field, every segment, every value) counts.

/// The form of `raw` two deliveries of one message share: segments joined by
/// CR, MSH-7 emptied, trailing field separators dropped. Bytes that are not a
/// message still give a form (compared as they are).
pub fn resend_form(raw: &[u8]) -> Vec<u8> {
    // A byte order mark counts as leading only before the first segment, but
    // empty lines may come before it: strip both, in any order, so that the
    // form (which starts with a segment) is its own form.
    let mut raw = raw;
    loop {
        if let Some(rest) = raw.strip_prefix(b"\xEF\xBB\xBF") {
            raw = rest;
        } else if let [b'\r' | b'\n', rest @ ..] = raw {
            raw = rest;
        } else {
            break;
        }
    }
    let segments = raw
        .split(|b| *b == b'\r' || *b == b'\n')
        .filter(|s| !s.is_empty());
    let field_sep = match segments.clone().next() {
        Some([b'M', b'S', b'H', sep, ..]) => Some(*sep),
        _ => None,
    };
    let mut out = Vec::with_capacity(raw.len());
    for segment in segments {
        let kept = match field_sep {
            Some(sep) => {
                let mut fields: Vec<&[u8]> = segment.split(|b| *b == sep).collect();
                // The header keeps its separator (MSH-1) so that its form still
                // names it; any other segment may shrink to nothing.
                let mut least = 1;
                if segment.starts_with(b"MSH") {
                    least = 2;
                    // fields[0] is "MSH", fields[1] MSH-2 (MSH-1 is the separator
                    // itself), so MSH-n is fields[n - 1].
                    if let Some(msh7) = fields.get_mut(6) {
                        *msh7 = b"";
                    }
                }
                while fields.len() > least && fields.last().is_some_and(|f| f.is_empty()) {
                    fields.pop();
                }
                fields.join(&sep)
            }
            None => segment.to_vec(),
        };
        // A segment of separators only is an empty segment, like an empty line.
        if kept.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(b'\r');
        }
        out.extend_from_slice(&kept);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::resend_form;

    const MSG: &[u8] = b"MSH|^~\\&|LAB|HOSP|GW|HOSP|20260101120000||ORU^R01|C1|P|2.5\rPID|1||123^^^HOSP^MR||DOE^JANE\rOBX|1|NM|2345-7^Glucose^LN||95|mg/dL\r";

    #[test]
    fn a_resend_with_a_new_timestamp_and_other_line_endings_is_the_same_message() {
        let resent = b"\xEF\xBB\xBFMSH|^~\\&|LAB|HOSP|GW|HOSP|20260102080000||ORU^R01|C1|P|2.5|||\r\nPID|1||123^^^HOSP^MR||DOE^JANE\r\n\r\nOBX|1|NM|2345-7^Glucose^LN||95|mg/dL\n";
        assert_eq!(resend_form(MSG), resend_form(resent));
    }

    #[test]
    fn any_other_difference_is_another_message() {
        let other_value = b"MSH|^~\\&|LAB|HOSP|GW|HOSP|20260101120000||ORU^R01|C1|P|2.5\rPID|1||123^^^HOSP^MR||DOE^JANE\rOBX|1|NM|2345-7^Glucose^LN||96|mg/dL\r";
        let other_patient = b"MSH|^~\\&|LAB|HOSP|GW|HOSP|20260101120000||ORU^R01|C1|P|2.5\rPID|1||124^^^HOSP^MR||DOE^JANE\rOBX|1|NM|2345-7^Glucose^LN||95|mg/dL\r";
        let other_header = b"MSH|^~\\&|LAB|HOSP|GW|HOSP|20260101120000||ORU^R01|C1|T|2.5\rPID|1||123^^^HOSP^MR||DOE^JANE\rOBX|1|NM|2345-7^Glucose^LN||95|mg/dL\r";
        for other in [&other_value[..], other_patient, other_header] {
            assert_ne!(resend_form(MSG), resend_form(other));
        }
    }

    #[test]
    fn empty_fields_inside_a_segment_still_count() {
        let a = b"MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5\rPID|1||X||Y\r";
        let b = b"MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5\rPID|1|||X|Y\r";
        assert_ne!(resend_form(a), resend_form(b));
    }

    #[test]
    fn any_bytes_have_a_form_and_it_is_a_fixed_point() {
        for raw in [
            &b""[..],
            b"MSH",
            b"MSH|",
            b"\r\r\n",
            b"XYZ|1|2\r",
            b"MSH|||||||",
            b"\nMSH|^~\\&|||||1|\r",
            // Found by the hl7_parse fuzz target: a BOM after an empty line.
            b"\n\xEF\xBB\xBF",
            b"\xEF\xBB\xBF\r\xEF\xBB\xBF\nMSH|^~\\&|A\r",
            // Also found by it: a header whose fields are all empty, and a
            // segment of separators only.
            b"MSH\x0b\n\x0b",
            b"MSH|\r|||\rPID|1\r",
        ] {
            let form = resend_form(raw);
            assert_eq!(resend_form(&form), form);
        }
    }
}
