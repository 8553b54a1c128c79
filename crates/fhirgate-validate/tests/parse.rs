//! parse_json: strict FHIR JSON (http://hl7.org/fhir/R4/json.html) and RFC 8259.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use fhirgate_validate::{parse_json, IssueCode, MAX_DEPTH};

fn refused(bytes: &[u8]) -> String {
    let issue = parse_json(bytes).expect_err("expected the body to be refused");
    assert_eq!(issue.code, IssueCode::Structure);
    assert_eq!(issue.expression, None);
    issue.diagnostics
}

#[test]
fn accepts_an_object_keeping_key_order_and_number_text() {
    let v = parse_json(
        br#" {"resourceType":"Observation","z":1,"a":1.50,"big":123456789012345678901234567890} "#,
    )
    .unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["resourceType", "z", "a", "big"]);
    // Decimal precision is significant in FHIR (datatypes.html#decimal): 1.50 is not 1.5.
    assert_eq!(v["a"].to_string(), "1.50");
    assert_eq!(v["big"].to_string(), "123456789012345678901234567890");
}

#[test]
fn refuses_invalid_utf8() {
    let d = refused(b"{\"resourceType\":\"Patient\",\"x\":\"\xff\xfe\"}");
    assert!(d.contains("UTF-8"), "{d}");
    refused(b"{\"a\":\"\xc3\x28\"}");
}

#[test]
fn refuses_unpaired_surrogate_escapes() {
    refused(br#"{"a":"\ud800"}"#);
}

#[test]
fn refuses_byte_order_mark() {
    refused(b"\xEF\xBB\xBF{\"resourceType\":\"Patient\"}");
}

#[test]
fn refuses_anything_but_a_single_object() {
    for body in [
        &b"[]"[..],
        b"\"Patient\"",
        b"42",
        b"null",
        b"true",
        b"",
        b"   ",
    ] {
        refused(body);
    }
}

#[test]
fn refuses_trailing_garbage_but_not_whitespace() {
    refused(br#"{"resourceType":"Patient"} x"#);
    refused(br#"{"resourceType":"Patient"}{"resourceType":"Patient"}"#);
    refused(br#"{"resourceType":"Patient"},"#);
    assert!(parse_json(b"{\"resourceType\":\"Patient\"}\r\n\t ").is_ok());
}

#[test]
fn refuses_duplicate_keys_at_any_depth() {
    refused(br#"{"resourceType":"Patient","active":true,"active":false}"#);
    refused(br#"{"resourceType":"Patient","name":[{"family":"A","family":"B"}]}"#);
    refused(br#"{"a":{"b":{"c":{"d":1,"d":1}}}}"#);
    // Same key after unescaping.
    refused(br#"{"gender":"male","\u0067ender":"female"}"#);
}

#[test]
fn duplicate_key_diagnostics_do_not_echo_the_key() {
    let d = refused(br#"{"resourceType":"Patient","SECRET-NAME":1,"SECRET-NAME":2}"#);
    assert!(!d.contains("SECRET"), "{d}");
}

#[test]
fn syntax_error_diagnostics_do_not_echo_content() {
    let d = refused(br#"{"resourceType":"Patient","note":"John Doe HIV+" "x":1}"#);
    assert!(!d.contains("John"), "{d}");
    assert!(d.contains("line 1"), "{d}");
}

/// `{"a":` + `[` x (levels - 1) + `]` x (levels - 1) + `}`: `levels` levels of nesting.
fn nested(levels: usize) -> Vec<u8> {
    let mut s = String::from("{\"a\":");
    s.push_str(&"[".repeat(levels - 1));
    s.push_str(&"]".repeat(levels - 1));
    s.push('}');
    s.into_bytes()
}

#[test]
fn nesting_limit_is_100_levels() {
    assert_eq!(MAX_DEPTH, 100);
    assert!(parse_json(&nested(100)).is_ok());
    let d = refused(&nested(101));
    assert!(d.contains("nesting"), "{d}");
}

#[test]
fn very_deep_nesting_is_refused_without_overflowing_the_stack() {
    for open in ["[", "{\"a\":"] {
        let mut body = String::from("{\"a\":");
        body.push_str(&open.repeat(10_000));
        refused(body.as_bytes());
    }
    // Unterminated and terminated variants alike.
    let mut body = String::from("{\"a\":");
    body.push_str(&"[".repeat(10_000));
    body.push_str(&"]".repeat(10_000));
    body.push('}');
    refused(body.as_bytes());
}

#[test]
fn reserved_serde_number_key_from_a_client_is_refused() {
    // serde_json(arbitrary_precision) smuggles numbers through this key; a client sending it
    // must not get its object silently turned into a number.
    refused(br#"{"valueDecimal":{"$serde_json::private::Number":"12"}}"#);
    refused(br#"{"$serde_json::private::Number":"12"}"#);
}

#[test]
fn numbers_keep_their_exact_literal() {
    let v = parse_json(br#"{"a":-0.000100,"b":1e400,"c":0}"#).unwrap();
    assert_eq!(v["a"].to_string(), "-0.000100");
    // Out of f64 range yet kept (serde_json spells the exponent sign out).
    assert_eq!(v["b"].to_string(), "1e+400");
    assert_eq!(v["c"].to_string(), "0");
}
