//! Value fidelity: decimals keep their exact text, integers and booleans keep
//! their JSON types, narrative XHTML and line breaks survive both directions
//! (http://hl7.org/fhir/R4/json.html#primitive, http://hl7.org/fhir/R4/xml.html).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use fhirgate_xml::{json_to_xml, xml_to_json, XmlError};

const NS: &str = r#"xmlns="http://hl7.org/fhir""#;

fn observation(value_quantity: &str) -> String {
    format!(
        r#"{{"resourceType":"Observation","status":"final","code":{{"text":"t"}},"valueQuantity":{{"value":{value_quantity}}}}}"#
    )
}

/// The workspace unifies serde_json with `arbitrary_precision` and
/// `preserve_order`; decimals must still come through digit for digit.
#[test]
fn decimals_keep_their_exact_text_json_to_xml_to_json() {
    for d in [
        "1.50",
        "0.000001",
        "100",
        "-0.0",
        "3.14159265358979323846264338327950288",
        "1e-7",
        "12345678901234567890.10",
    ] {
        let xml = json_to_xml(&observation(d), false).unwrap();
        assert!(
            xml.contains(&format!(r#"<value value="{d}"/>"#)),
            "{d}: {xml}"
        );
        let json = xml_to_json(xml.as_bytes()).unwrap();
        assert!(json.contains(&format!(r#""value":{d}}}"#)), "{d}: {json}");
    }
}

#[test]
fn decimals_keep_their_exact_text_xml_to_json() {
    let doc = format!(
        r#"<Observation {NS}><status value="final"/><code><text value="t"/></code><valueQuantity><value value="0.000001"/></valueQuantity><component><code><text value="c"/></code><valueQuantity><value value="1.50"/></valueQuantity></component></Observation>"#
    );
    let json = xml_to_json(doc.as_bytes()).unwrap();
    assert!(json.contains(r#""value":0.000001"#), "{json}");
    assert!(json.contains(r#""value":1.50"#), "{json}");
}

#[test]
fn integers_and_booleans_keep_json_types() {
    let doc = format!(
        r#"<Patient {NS}><active value="true"/><deceasedBoolean value="false"/><multipleBirthInteger value="-2147483648"/></Patient>"#
    );
    let json = xml_to_json(doc.as_bytes()).unwrap();
    assert_eq!(
        json,
        r#"{"resourceType":"Patient","active":true,"deceasedBoolean":false,"multipleBirthInteger":-2147483648}"#
    );
    let xml = json_to_xml(&json, false).unwrap();
    assert!(
        xml.contains(r#"<multipleBirthInteger value="-2147483648"/>"#),
        "{xml}"
    );
    let not_int = format!(r#"<Patient {NS}><multipleBirthInteger value="1.5"/></Patient>"#);
    assert!(matches!(
        xml_to_json(not_int.as_bytes()),
        Err(XmlError::Malformed(_))
    ));
    let not_bool = format!(r#"<Patient {NS}><active value="yes"/></Patient>"#);
    assert!(matches!(
        xml_to_json(not_bool.as_bytes()),
        Err(XmlError::Malformed(_))
    ));
}

const DIV: &str = "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n  <p>Hello <b>World</b> &amp; <i>you</i></p>\n  <!-- note -->\n</div>";

#[test]
fn narrative_xhtml_is_byte_exact_both_ways() {
    let json = serde_json::json!({
        "resourceType": "Patient",
        "text": {"status": "generated", "div": DIV},
        "contained": [{"resourceType": "Practitioner", "id": "p", "text": {"status": "generated", "div": DIV}}],
    })
    .to_string();
    for pretty in [true, false] {
        let xml = json_to_xml(&json, pretty).unwrap();
        assert_eq!(xml.matches(DIV).count(), 2, "{xml}");
        let back: serde_json::Value =
            serde_json::from_str(&xml_to_json(xml.as_bytes()).unwrap()).unwrap();
        assert_eq!(back["text"]["div"], DIV);
        assert_eq!(back["contained"][0]["text"]["div"], DIV);
    }
}

#[test]
fn prefixed_narrative_div_is_unsupported() {
    let doc = format!(
        r#"<Patient {NS}><text><status value="generated"/><h:div xmlns:h="http://www.w3.org/1999/xhtml">x</h:div></text></Patient>"#
    );
    assert!(matches!(
        xml_to_json(doc.as_bytes()),
        Err(XmlError::Unsupported(_))
    ));
}

#[test]
fn line_breaks_in_strings_survive_xml_attribute_normalisation() {
    let json =
        r#"{"resourceType":"Patient","id":"a","name":[{"text":"line one\nline two\r\n\ttabbed"}]}"#;
    let xml = json_to_xml(json, true).unwrap();
    assert!(
        xml.contains(r#"value="line one&#10;line two&#13;&#10;&#9;tabbed""#),
        "{xml}"
    );
    assert_eq!(xml_to_json(xml.as_bytes()).unwrap(), json);
}

#[test]
fn pretty_indents_and_compact_does_not() {
    let json = r#"{"resourceType":"Patient","id":"a","active":true}"#;
    let pretty = json_to_xml(json, true).unwrap();
    assert_eq!(
        pretty,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Patient xmlns=\"http://hl7.org/fhir\">\n  <id value=\"a\"/>\n  <active value=\"true\"/>\n</Patient>\n"
    );
    let compact = json_to_xml(json, false).unwrap();
    assert_eq!(
        compact,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Patient xmlns=\"http://hl7.org/fhir\"><id value=\"a\"/><active value=\"true\"/></Patient>"
    );
}

#[test]
fn special_characters_are_escaped() {
    let json =
        r#"{"resourceType":"Patient","id":"a","name":[{"text":"<b>\"Tom\" & 'Jerry'</b>"}]}"#;
    let xml = json_to_xml(json, false).unwrap();
    assert!(!xml.contains("<b>"), "{xml}");
    assert_eq!(xml_to_json(xml.as_bytes()).unwrap(), json);
}

#[test]
fn quoting_variants_are_understood() {
    // `>` inside an attribute value, single quotes, spaces around `=`.
    let doc = format!(
        "<Patient {NS}><id value='a'/><name><text value=\"x > y\"/></name><text><status value=\"generated\"/>\
         <div class=\"a>b\" xmlns = 'http://www.w3.org/1999/xhtml'><p title='1>0'>ok</p></div></text></Patient>"
    );
    let json: serde_json::Value =
        serde_json::from_str(&xml_to_json(doc.as_bytes()).unwrap()).unwrap();
    assert_eq!(json["name"][0]["text"], "x > y");
    let div =
        "<div class=\"a>b\" xmlns = 'http://www.w3.org/1999/xhtml'><p title='1>0'>ok</p></div>";
    assert_eq!(json["text"]["div"], div);
    let xml = json_to_xml(&json.to_string(), false).unwrap();
    assert!(xml.contains(div), "{xml}");
}

/// Rough cost of one conversion (run with `--ignored --nocapture`; use
/// `--release` for production numbers).
#[test]
#[ignore]
fn timing_patient_f001() {
    let json = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/examples/fhir/Patient-f001.json"),
    )
    .unwrap();
    let xml = json_to_xml(&json, false).unwrap();
    let n = 2000u32;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(json_to_xml(&json, false).unwrap());
    }
    let to_xml = start.elapsed() / n;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(xml_to_json(xml.as_bytes()).unwrap());
    }
    let to_json = start.elapsed() / n;
    println!(
        "Patient-f001 ({} B JSON, {} B XML): json_to_xml {to_xml:?}, xml_to_json {to_json:?}",
        json.len(),
        xml.len()
    );
}
