//! Arbitrary bytes through parse, split_batch, ACK building and the resend form. Must never
//! panic; an ACK we build must itself parse and echo the control id.
#![no_main]

use fhirgate_hl7::ack::{build_ack, check_header, reject_unparsed, AckCode};
use fhirgate_hl7::{parse, resend_form, split_batch};
use libfuzzer_sys::fuzz_target;

fn ack_round_trip(raw: &[u8]) {
    match parse(raw) {
        Ok(m) => {
            let errors = check_header(&m);
            let ack = build_ack(&m, AckCode::AE, &errors, "ACK1", "20240101120000");
            let back = parse(&ack);
            assert!(back.is_ok(), "ACK does not parse: {back:?}");
            let msa2 = back
                .as_ref()
                .ok()
                .and_then(|a| a.segment("MSA"))
                .map(|s| s.value(2).to_string());
            assert_eq!(msa2.as_deref(), Some(m.control_id()));
        }
        Err(e) => {
            let ar = reject_unparsed(raw, &e, "ACK1", "20240101120000");
            let back = parse(&ar);
            assert!(back.is_ok(), "AR does not parse: {back:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    ack_round_trip(data);
    // The duplicate check's form of a message is a fixed point: a resend of
    // the form itself is the same message.
    let form = resend_form(data);
    assert_eq!(resend_form(&form), form);
    if let Ok(batch) = split_batch(data) {
        for m in batch.messages().take(16) {
            ack_round_trip(m);
        }
    }
});
