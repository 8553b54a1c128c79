//! Literal reference parsing (references.html#literal).
use super::model;
use crate::extract::reference::{parse_reference, RefParts};

fn parts<'s>(ty: &'s str, id: &'s str, version: Option<&'s str>) -> Option<RefParts<'s>> {
    Some(RefParts {
        target_type: ty,
        id,
        version,
    })
}

#[test]
fn relative_absolute_and_versioned() {
    let m = model();
    assert_eq!(parse_reference("Patient/1", m), parts("Patient", "1", None));
    assert_eq!(
        parse_reference("Patient/1/_history/2", m),
        parts("Patient", "1", Some("2"))
    );
    assert_eq!(
        parse_reference("http://x/fhir/Patient/a.b-c", m),
        parts("Patient", "a.b-c", None)
    );
    assert_eq!(
        parse_reference("https://x.org/Observation/o1/_history/7", m),
        parts("Observation", "o1", Some("7"))
    );
}

#[test]
fn non_restful_references_are_not_split() {
    let m = model();
    for r in [
        "#p1",
        "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
        "Patient",
        "Patient/",
        "Foo/1",
        "patient/1",
        "Patient?identifier=x",
        "x/Patient/1",
        "ftp://x/Patient/1",
        "http:/x/Patient/1",
        "http:///Patient/1",
        "Patient/1/_history/",
        "Patient/has space",
        "",
    ] {
        assert_eq!(parse_reference(r, m), None, "{r:?}");
    }
    let long = format!("Patient/{}", "a".repeat(65));
    assert_eq!(parse_reference(&long, m), None);
}
