//! Rule 4: string content (http://hl7.org/fhir/R4/datatypes.html#string) and the JSON format
//! rules for empty values and null (http://hl7.org/fhir/R4/json.html), plus Narrative.div.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{assert_issue, assert_valid, check};
use fhirgate_validate::IssueCode;

fn family(json_string: &str) -> String {
    format!(r#"{{"resourceType":"Patient","name":[{{"family":{json_string}}}]}}"#)
}

#[test]
fn control_characters_are_refused_except_tab_cr_lf() {
    for bad in [
        r#""a\u0000b""#,
        r#""\u0001x""#,
        r#""x\u001f""#,
        r#""a\u000bb""#,
        r#""a\fb""#,
        r#""a\bb""#,
    ] {
        assert_issue(&family(bad), IssueCode::Value, "Patient.name[0].family");
    }
    assert_valid(r#"{"resourceType":"Patient","name":[{"text":"line 1\r\nline 2\tend"}]}"#);
}

#[test]
fn control_characters_are_refused_in_every_string_type() {
    assert_issue(
        r#"{"resourceType":"Patient","extension":[{"url":"http://x.org/e","valueMarkdown":"*a*\u0007"}]}"#,
        IssueCode::Value,
        "Patient.extension[0].valueMarkdown",
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[{"given":["ok","b\u0000d"]}]}"#,
        IssueCode::Value,
        "Patient.name[0].given[1]",
    );
}

#[test]
fn strings_need_non_whitespace_content() {
    for bad in [r#""   ""#, r#""\t\r\n""#, r#""\u3000""#] {
        assert_issue(&family(bad), IssueCode::Value, "Patient.name[0].family");
    }
    // Leading/trailing whitespace around content is allowed in a string (not in a code).
    assert_valid(&family(r#"" Smith ""#));
}

#[test]
fn unicode_spaces_inside_text_are_fine() {
    // No-break space and ideographic space are ordinary characters in FHIR strings.
    assert_valid(&family(r#""Ann\u00a0Marie""#));
    assert_valid(&family("\"山田\u{3000}太郎\""));
}

#[test]
fn empty_strings_objects_and_arrays_are_refused() {
    assert_issue(&family(r#""""#), IssueCode::Value, "Patient.name[0].family");
    assert_issue(
        r#"{"resourceType":"Patient","birthDate":""}"#,
        IssueCode::Value,
        "Patient.birthDate",
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[{}]}"#,
        IssueCode::Structure,
        "Patient.name[0]",
    );
    assert_issue(
        r#"{"resourceType":"Patient","maritalStatus":{}}"#,
        IssueCode::Structure,
        "Patient.maritalStatus",
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[]}"#,
        IssueCode::Structure,
        "Patient.name",
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[{"given":[]}]}"#,
        IssueCode::Structure,
        "Patient.name[0].given",
    );
}

#[test]
fn an_empty_string_gets_a_single_issue() {
    let issues = check(r#"{"resourceType":"Patient","birthDate":""}"#).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:#?}");
}

#[test]
fn null_is_refused_outside_arrays() {
    assert_issue(
        r#"{"resourceType":"Patient","birthDate":null}"#,
        IssueCode::Structure,
        "Patient.birthDate",
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[{"family":null}]}"#,
        IssueCode::Structure,
        "Patient.name[0].family",
    );
}

#[test]
fn null_in_arrays_only_pairs_values_with_extensions() {
    // json.html#primitive: given[1] has only an extension, _given[0] has none.
    assert_valid(
        r#"{"resourceType":"Patient","name":[{"given":["Ann",null],
            "_given":[null,{"extension":[{"url":"http://x.org/e","valueString":"x"}]}]}]}"#,
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[{"given":["Ann",null]}]}"#,
        IssueCode::Structure,
        "Patient.name[0].given[1]",
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[null]}"#,
        IssueCode::Structure,
        "Patient.name[0]",
    );
    // Both sides null at the same index: nothing is there.
    let both = r#"{"resourceType":"Patient","name":[{"given":["Ann",null],"_given":[null,null]}]}"#;
    assert_issue(both, IssueCode::Structure, "Patient.name[0].given[1]");
    assert_issue(both, IssueCode::Structure, "Patient.name[0]._given[1]");
    // The two arrays must line up.
    assert_issue(
        r#"{"resourceType":"Patient","name":[{"given":["Ann","Bo"],"_given":[{"extension":[{"url":"http://x.org/e","valueString":"x"}]}]}]}"#,
        IssueCode::Structure,
        "Patient.name[0].given",
    );
}

#[test]
fn element_ids_must_not_contain_whitespace() {
    assert_issue(
        r#"{"resourceType":"Patient","name":[{"id":"a b","family":"X"}]}"#,
        IssueCode::Value,
        "Patient.name[0].id",
    );
    // R4 Element.id: "any string value that does not contain spaces".
    assert_valid(r#"{"resourceType":"Patient","name":[{"id":"n_1:x","family":"X"}]}"#);
    // The resource id is the `id` type.
    assert_issue(
        r#"{"resourceType":"Patient","id":"n_1"}"#,
        IssueCode::Value,
        "Patient.id",
    );
    assert_issue(
        &format!(r#"{{"resourceType":"Patient","id":"{}"}}"#, "a".repeat(65)),
        IssueCode::Value,
        "Patient.id",
    );
}

#[test]
fn strings_over_one_mebicharacter_are_too_long() {
    let long = "a".repeat(1024 * 1024 + 1);
    assert_issue(
        &family(&format!("\"{long}\"")),
        IssueCode::TooLong,
        "Patient.name[0].family",
    );
    assert_valid(&family(&format!("\"{}\"", "a".repeat(1024 * 1024))));
}

const NS: &str = r#"xmlns=\"http://www.w3.org/1999/xhtml\""#;

fn div(content: &str) -> String {
    format!(r#"{{"resourceType":"Patient","text":{{"status":"generated","div":"{content}"}}}}"#)
}

#[test]
fn narrative_must_be_an_xhtml_div_with_content() {
    assert_valid(&div(&format!("<div {NS}><p>Ann <b>Smith</b></p></div>")));
    assert_valid(&div(&format!(
        "<div {NS}><img src=\\\"x.png\\\" alt=\\\"\\\"/></div>"
    )));
    for bad in [
        "<p>no div</p>".to_owned(),
        "<div>x</div>".to_owned(),
        format!("<div {NS}>   </div>"),
        format!("<div {NS}>x"),
    ] {
        assert_issue(&div(&bad), IssueCode::Value, "Patient.text.div");
    }
    assert_issue(
        r#"{"resourceType":"Patient","text":{"status":"generated","div":5}}"#,
        IssueCode::Structure,
        "Patient.text.div",
    );
}

#[test]
fn narrative_must_not_carry_active_content() {
    for bad in [
        format!("<div {NS}><script>alert(1)</script>x</div>"),
        format!("<div {NS}><p onclick=\\\"alert(1)\\\">x</p></div>"),
        format!("<div {NS}><a href=\\\" JavaScript:alert(1)\\\">x</a></div>"),
        format!("<div {NS}><iframe src=\\\"http://e.vil\\\"></iframe>x</div>"),
        format!("<div {NS}><form>x</form></div>"),
    ] {
        assert_issue(&div(&bad), IssueCode::Value, "Patient.text.div");
    }
}
