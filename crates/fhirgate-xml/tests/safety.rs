//! Hostile and edge-case input: every call must return quickly with Ok/Err,
//! never panic, hang or overflow the stack.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use fhirgate_xml::{json_to_xml, xml_to_json, XmlError};

const NS: &str = r#"xmlns="http://hl7.org/fhir""#;

/// Runs `f` on a thread with a 2 MiB stack (the Rust and tokio default) and
/// fails the test if it has not finished within `secs`, so a hang in fhirbolt
/// fails instead of blocking the test run.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap();
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("conversion hung (or panicked)")
}

fn xml(s: &str) -> Result<String, XmlError> {
    let owned = s.to_owned();
    within(20, move || xml_to_json(owned.as_bytes()))
}

#[test]
fn unknown_xml_element_fails_quickly() {
    let doc = format!(
        r#"<Patient {NS}><id value="1"/><bogus value="x"/><active value="true"/></Patient>"#
    );
    assert!(matches!(xml(&doc), Err(XmlError::Malformed(_))));
    let nested = format!(r#"<Patient {NS}><name><bogus><x/></bogus></name></Patient>"#);
    assert!(matches!(xml(&nested), Err(XmlError::Malformed(_))));
}

#[test]
fn ten_thousand_deep_xml_is_too_deep() {
    let doc = format!(
        "<Patient {NS}>{}{}</Patient>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    assert!(matches!(xml(&doc), Err(XmlError::TooDeep)));
}

fn nested_extensions(levels: usize) -> String {
    let open = r#"<extension url="http://example.org/x">"#.repeat(levels);
    let close = "</extension>".repeat(levels);
    format!(r#"<Patient {NS}>{open}<valueString value="leaf"/>{close}</Patient>"#)
}

#[test]
fn depth_limit_is_exactly_100_and_safe_on_a_2mib_stack() {
    // Patient + 99 extensions = 100 open elements: accepted, no stack overflow.
    let json = xml(&nested_extensions(99)).unwrap();
    assert!(json.contains("leaf"));
    assert!(matches!(
        xml(&nested_extensions(100)),
        Err(XmlError::TooDeep)
    ));
    // JSON side: every extension adds an array and an object level.
    let json = xml(&nested_extensions(45)).unwrap();
    let back = within(20, move || json_to_xml(&json, true)).unwrap();
    assert_eq!(back.matches("<extension ").count(), 45);
}

#[test]
fn deep_json_is_too_deep() {
    let doc = format!(
        r#"{{"resourceType":"Patient","x":{}1{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(matches!(
        within(20, move || json_to_xml(&doc, false)),
        Err(XmlError::TooDeep)
    ));
    // Brackets inside strings do not count.
    let ok = format!(
        r#"{{"resourceType":"Patient","id":"a","gender":"{}"}}"#,
        "[{".repeat(500)
    );
    assert!(within(20, move || json_to_xml(&ok, false)).is_ok());
}

#[test]
fn malformed_xml_is_malformed() {
    for doc in [
        String::new(),
        "not xml at all".into(),
        format!("<Patient {NS}>"),
        format!("<Patient {NS}><id value=\"1\"></Patient>"),
        format!("<Patient {NS}><id value=\"1\"/></Patient><Patient {NS}/>"),
        format!("<Patient {NS}><id value=\"1\"/></Patient>trailing"),
        format!("leading<Patient {NS}><id value=\"1\"/></Patient>"),
        "<!-- only a comment -->".into(),
        format!("<Patient {NS}>free text</Patient>"),
        format!("<Patient {NS}><id value=\"1\"/><![CDATA[x]]></Patient>"),
        "<Patient xmlns=\"http://example.org\"/>".into(),
        format!("<Patient {NS}><birthDate value=\"&unknown;\"/></Patient>"),
        format!("<Patient {NS}><id value=\"1\"/></Patient"),
        format!("<Patient {NS}><id value=\"1></Patient>"),
        format!("<Nonsense {NS}/>"),
        format!("<Observation {NS}><status value=\"final\"/><code><text value=\"t\"/></code><valueQuantity><value value=\"abc\"/></valueQuantity></Observation>"),
        format!("<Patient {NS}><multipleBirthInteger value=\"3000000000\"/></Patient>"),
    ] {
        let r = xml(&doc);
        assert!(
            matches!(r, Err(XmlError::Malformed(_))),
            "{doc:?} gave {r:?}"
        );
    }
}

#[test]
fn doctype_and_entities_are_refused() {
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE Patient [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
         <Patient {NS}><id value=\"&x;\"/></Patient>"
    );
    assert!(matches!(xml(&xxe), Err(XmlError::Malformed(_))));
    let bomb = format!("<!DOCTYPE lolz [<!ENTITY lol \"lol\">]><Patient {NS}/>");
    assert!(matches!(xml(&bomb), Err(XmlError::Malformed(_))));
    let inner = format!("<Patient {NS}><!ENTITY x \"y\"></Patient>");
    assert!(matches!(xml(&inner), Err(XmlError::Malformed(_))));
}

#[test]
fn input_must_be_utf8_and_a_bom_is_fine() {
    let latin1 = b"<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"Jos\xe9\"/></Patient>";
    assert!(matches!(xml_to_json(latin1), Err(XmlError::Malformed(_))));
    let bom = format!("\u{feff}<Patient {NS}><id value=\"1\"/></Patient>");
    assert_eq!(xml(&bom).unwrap(), r#"{"resourceType":"Patient","id":"1"}"#);
    let ctrl = format!("<Patient {NS}><id value=\"a\u{1}\"/></Patient>");
    assert!(matches!(xml(&ctrl), Err(XmlError::Malformed(_))));
}

#[test]
fn xml_declaration_variants() {
    let body = format!(r#"<Patient {NS}><id value="1"/></Patient>"#);
    for ok in [
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n",
        "",
    ] {
        assert!(xml(&format!("{ok}{body}")).is_ok(), "{ok}");
    }
    let latin = format!(r#"<?xml version="1.0" encoding="ISO-8859-1"?>{body}"#);
    assert!(matches!(xml(&latin), Err(XmlError::Unsupported(_))));
    for bad in [
        r#"<?xml version="1.1"?>"#,
        r#" <?xml version="1.0"?>"#,
        "<?xml-stylesheet href='a'?>",
    ] {
        assert!(
            matches!(xml(&format!("{bad}{body}")), Err(XmlError::Malformed(_))),
            "{bad}"
        );
    }
}

#[test]
fn primitive_with_extension_maps_to_underscore_property() {
    let doc = format!(
        r#"<Patient {NS}><birthDate value="1970"><extension url="http://example.org/ext"><valueString value="x"/></extension></birthDate></Patient>"#
    );
    let json: serde_json::Value = serde_json::from_str(&xml(&doc).unwrap()).unwrap();
    assert_eq!(json["birthDate"], "1970");
    assert_eq!(
        json["_birthDate"]["extension"][0]["url"],
        "http://example.org/ext"
    );
    assert_eq!(json["_birthDate"]["extension"][0]["valueString"], "x");
    // And back: the extension returns inside <birthDate>.
    let back = json_to_xml(&json.to_string(), false).unwrap();
    assert!(back.contains(r#"<birthDate value="1970"><extension url="http://example.org/ext"><valueString value="x"/></extension></birthDate>"#), "{back}");
}

#[test]
fn malformed_json_is_malformed() {
    for doc in [
        "",
        "{",
        "[]",
        "\"Patient\"",
        r#"{"resourceType":"Nonsense"}"#,
        r#"{"resourceType":"Patient","bogus":1}"#,
        r#"{"resourceType":"Observation","code":{"text":"no status"}}"#,
        r#"{"resourceType":"Patient","multipleBirthInteger":3000000000}"#,
        r#"{"resourceType":"Patient","text":{"status":"generated","div":"<p>not a div</p>"}}"#,
        r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div>no namespace</div>"}}"#,
        r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div></text><id value=\"evil\"/>"}}"#,
        r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><b>x</i></div>"}}"#,
        r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><!DOCTYPE x></div>"}}"#,
    ] {
        let r = json_to_xml(doc, true);
        assert!(
            matches!(r, Err(XmlError::Malformed(_))),
            "{doc:?} gave {r:?}"
        );
    }
}

#[test]
fn control_characters_cannot_go_to_xml() {
    let doc = r#"{"resourceType":"Patient","id":"a","gender":"male\u0001"}"#;
    assert!(matches!(
        json_to_xml(doc, true),
        Err(XmlError::Unsupported(_))
    ));
}

#[test]
fn error_messages_do_not_echo_large_input() {
    let name = "x".repeat(100_000);
    let doc = format!("<Patient {NS}><{name} value=\"1\"/></Patient>");
    let err = xml(&doc).unwrap_err();
    assert!(err.message().len() < 400, "{} bytes", err.message().len());
    let doc = format!(r#"{{"resourceType":"Patient","{name}":1}}"#);
    let err = json_to_xml(&doc, false).unwrap_err();
    assert!(err.message().len() < 400);
    assert!(XmlError::TooDeep.message().contains("100"));
}

#[test]
fn every_prefix_of_a_document_is_handled() {
    let json = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/examples/fhir/Patient-f001.json"),
    )
    .unwrap();
    let doc = json_to_xml(&json, true).unwrap();
    within(120, move || {
        for end in 0..doc.trim_end().len() {
            let r = xml_to_json(&doc.as_bytes()[..end]);
            assert!(r.is_err(), "prefix {end} accepted");
        }
        for end in (0..json.trim_end().len()).filter(|i| json.is_char_boundary(*i)) {
            assert!(json_to_xml(&json[..end], false).is_err());
        }
    });
}
