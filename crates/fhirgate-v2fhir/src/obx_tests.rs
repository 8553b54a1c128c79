use super::*;
use fhirgate_hl7::Component;

fn units(code: &str, display: &str, cs: &str) -> Repetition {
    Repetition {
        components: [code, display, cs]
            .iter()
            .map(|s| Component {
                subcomponents: vec![(*s).to_owned()],
            })
            .collect(),
    }
}

#[test]
fn decimals() {
    let d = |s| decimal(s).map(|n| n.to_string());
    assert_eq!(d("13.4"), Some("13.4".into()));
    assert_eq!(d("+007.50"), Some("7.50".into()));
    assert_eq!(d(".5"), Some("0.5".into()));
    assert_eq!(d("-0.25"), Some("-0.25".into()));
    assert_eq!(d("0"), Some("0".into()));
    assert_eq!(d("5."), Some("5".into()));
    assert_eq!(d("."), None);
    assert_eq!(d(""), None);
    assert_eq!(d("1e3"), None);
    assert_eq!(d("12 mg"), None);
}

#[test]
fn ucum_only_when_recognisable() {
    let q = quantity(Number::from(72), Some(&units("%", "", "")));
    assert_eq!(
        Value::Object(q),
        json!({"value": 72, "unit": "%", "system": UCUM, "code": "%"})
    );
    let q = quantity(Number::from(8), Some(&units("giga.l-1", "", "")));
    assert_eq!(Value::Object(q), json!({"value": 8, "unit": "giga.l-1"}));
    let q = quantity(
        Number::from(8),
        Some(&units("mg/hr", "milligram per hour", "UCUM")),
    );
    assert_eq!(
        Value::Object(q),
        json!({"value": 8, "unit": "milligram per hour", "system": UCUM, "code": "mg/hr"})
    );
    let q = quantity(Number::from(60), Some(&units("beats/min", "", "ISO")));
    assert_eq!(Value::Object(q), json!({"value": 60, "unit": "beats/min"}));
}

#[test]
fn reference_ranges() {
    let pct = units("%", "", "");
    let q = |v: u32| json!({"value": v, "unit": "%", "system": UCUM, "code": "%"});
    assert_eq!(
        reference_range("70-80", Some(&pct)),
        Some(json!({"low": q(70), "high": q(80), "text": "70-80"}))
    );
    assert_eq!(
        reference_range("<5", Some(&pct)),
        Some(json!({"high": q(5), "text": "<5"}))
    );
    assert_eq!(
        reference_range(">=10", Some(&pct)),
        Some(json!({"low": q(10), "text": ">=10"}))
    );
    assert_eq!(
        reference_range("70_105", None),
        Some(json!({"text": "70_105"}))
    );
    assert_eq!(
        reference_range("negative", None),
        Some(json!({"text": "negative"}))
    );
    assert_eq!(
        reference_range("-5-5", None),
        Some(json!({"low": {"value": -5}, "high": {"value": 5}, "text": "-5-5"}))
    );
    assert_eq!(reference_range("", None), None);
}

fn sn(parts: &[&str]) -> Result<(String, Value), MapError> {
    let rep = Repetition {
        components: parts
            .iter()
            .map(|s| Component {
                subcomponents: vec![(*s).to_owned()],
            })
            .collect(),
    };
    let at = At {
        seg: "OBX".into(),
        seq: 1,
        field: 5,
        rep: 1,
    };
    structured(&rep, None, &at)
}

#[test]
fn structured_numerics() {
    assert_eq!(
        sn(&["", "182"]),
        Ok(("valueQuantity".into(), json!({"value": 182})))
    );
    assert_eq!(
        sn(&[">", "10"]),
        Ok((
            "valueQuantity".into(),
            json!({"value": 10, "comparator": ">"})
        ))
    );
    assert_eq!(
        sn(&["", "2", "-", "4"]),
        Ok((
            "valueRange".into(),
            json!({"low": {"value": 2}, "high": {"value": 4}})
        ))
    );
    assert_eq!(
        sn(&["", "1", ":", "128"]),
        Ok((
            "valueRatio".into(),
            json!({"numerator": {"value": 1}, "denominator": {"value": 128}})
        ))
    );
    assert_eq!(sn(&["", "2", "+"]), Ok(("valueString".into(), json!("2+"))));
    assert_eq!(sn(&["<>", "3"]), Ok(("valueString".into(), json!("<>3"))));
    assert_eq!(
        sn(&["", "x"]).map_err(|e| e.code),
        Err(ErrorCode::DataTypeError)
    );
}
