//! Issue #3, the ordered parameter types (http://hl7.org/fhir/R4/search.html):
//! date (every prefix, values of different precisions), quantity and composite.
//!
//! The prefix rules used below (search.html#prefix), with S the range of the
//! search value at its precision and T the range of the resource's value:
//!   eq: S contains T; ne: S does not contain T;
//!   gt: the range above S overlaps T; lt: the range below S overlaps T;
//!   ge: gt or eq; le: lt or eq;
//!   sa: T does not overlap S and lies above it; eb: ... lies below it;
//!   ap: approximately (the margin is left to the server).
//! A date value is a range at its precision (search.html#date): 2023 is
//! [2023-01-01, 2024-01-01); a Period is [start, end] with a missing end
//! meaning "ongoing" (no upper bound).

use crate::helpers::*;
use crate::search_common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn date_prefixes_against_values_of_different_precisions() {
    let app = spawn_app().await;
    let eff = |v: Value| with(obs("8867-4"), v);
    let (a, _) = app.create(&eff(json!({"effectiveDateTime": "2023"}))).await;
    let (b, _) = app
        .create(&eff(json!({"effectiveDateTime": "2023-06"})))
        .await;
    let (c, _) = app
        .create(&eff(json!({"effectiveDateTime": "2023-06-15"})))
        .await;
    let (d, _) = app
        .create(&eff(json!({"effectiveDateTime": "2023-06-15T10:30:00Z"})))
        .await;
    let (e, _) = app
        .create(&eff(
            json!({"effectivePeriod": {"start": "2023-06-10", "end": "2023-06-20"}}),
        ))
        .await;
    let (f, _) = app
        .create(&eff(
            json!({"effectiveInstant": "2023-07-01T00:00:00.000Z"}),
        ))
        .await;
    let (g, _) = app
        .create(&eff(json!({"effectivePeriod": {"start": "2023-06-20"}})))
        .await;
    let (_h, _) = app.create(&obs("8867-4")).await; // no date at all
    let (i, _) = app
        .create(&eff(json!({"effectiveDateTime": "2010-03-04T12:00:00Z"})))
        .await;
    // Ranges: A [2023, 2024)  B [2023-06-01, 07-01)  C [06-15, 06-16)
    // D [06-15T10:30:00, :01)  E [06-10, 06-21)  F [07-01T00:00:00.000, .001)
    // G [06-20, +inf)  I [2010-03-04T12:00:00, :01); H has no value.
    let q = |v: &str| format!("Observation?date={v}");

    // eq (also the default): S contains T.
    assert_eq!(ids(&app, &q("2023-06-15")).await, set(&[&c, &d]));
    assert_eq!(ids(&app, &q("eq2023-06-15")).await, set(&[&c, &d]));
    assert_eq!(ids(&app, &q("2023-06")).await, set(&[&b, &c, &d, &e]));
    assert_eq!(ids(&app, &q("2023-07")).await, vec![f.clone()]);
    assert_eq!(ids(&app, &q("2023")).await, set(&[&a, &b, &c, &d, &e, &f]));
    assert_eq!(ids(&app, &q("2023-06-15T10:30:00Z")).await, vec![d.clone()]);
    // ne: S does not contain T (H, without a value, matches no date criterion).
    assert_eq!(
        ids(&app, &q("ne2023-06-15")).await,
        set(&[&a, &b, &e, &f, &g, &i])
    );
    assert_eq!(ids(&app, &q("ne2023-06")).await, set(&[&a, &f, &g, &i]));
    // gt / lt: the range above / below S overlaps T.
    assert_eq!(
        ids(&app, &q("gt2023-06-15")).await,
        set(&[&a, &b, &e, &f, &g])
    );
    assert_eq!(ids(&app, &q("lt2023-06-15")).await, set(&[&a, &b, &e, &i]));
    assert_eq!(
        ids(&app, &q("gt2023-06-15T10:30:00Z")).await,
        set(&[&a, &b, &c, &e, &f, &g])
    );
    assert_eq!(
        ids(&app, &q("lt2023-06-15T10:30:00Z")).await,
        set(&[&a, &b, &c, &e, &i])
    );
    // ge / le: gt or eq / lt or eq.
    assert_eq!(
        ids(&app, &q("ge2023-06-15")).await,
        set(&[&a, &b, &c, &d, &e, &f, &g])
    );
    assert_eq!(
        ids(&app, &q("le2023-06-15")).await,
        set(&[&a, &b, &c, &d, &e, &i])
    );
    // sa / eb: T lies wholly after / before S.
    assert_eq!(ids(&app, &q("sa2023-06-15")).await, set(&[&f, &g]));
    assert_eq!(ids(&app, &q("eb2023-06-20")).await, set(&[&c, &d, &i]));
    // ap: the margin is the server's; a value inside S is certainly
    // approximately equal, one 13 years away certainly is not.
    let ap = ids(&app, &q("ap2023-06-15")).await;
    assert!(
        ap.contains(&c) && ap.contains(&d) && !ap.contains(&i),
        "{ap:?}"
    );
    // search.html#combining: AND makes an interval, OR a union.
    assert_eq!(
        ids(&app, "Observation?date=ge2023-06-01&date=lt2023-07-01").await,
        set(&[&a, &b, &c, &d, &e, &g])
    );
    assert_eq!(ids(&app, &q("2023-06-15,2010")).await, set(&[&c, &d, &i]));
}

#[tokio::test]
async fn appointment_and_medication_request_dates() {
    let app = spawn_app().await;
    let (p, _) = app.create(&patient("Dates", "D-1")).await;
    let appt = |start: &str, end: &str| {
        json!({"resourceType": "Appointment", "status": "booked", "start": start, "end": end,
               "participant": [{"actor": {"reference": format!("Patient/{p}")}, "status": "accepted"}]})
    };
    let (ap1, _) = app
        .create(&appt("2024-03-10T09:00:00Z", "2024-03-10T09:30:00Z"))
        .await;
    let (ap2, _) = app
        .create(&appt("2024-03-10T14:00:00Z", "2024-03-10T14:30:00Z"))
        .await;
    let (ap3, _) = app
        .create(&appt("2024-03-11T09:00:00Z", "2024-03-11T09:30:00Z"))
        .await;
    // Appointment date = Appointment.start, an instant (search.html#date).
    assert_eq!(
        ids(&app, "Appointment?date=2024-03-10").await,
        set(&[&ap1, &ap2])
    );
    assert_eq!(
        ids(&app, "Appointment?date=2024-03").await,
        set(&[&ap1, &ap2, &ap3])
    );
    assert_eq!(
        ids(&app, "Appointment?date=ge2024-03-10T12:00:00Z").await,
        set(&[&ap2, &ap3])
    );
    assert_eq!(
        ids(&app, "Appointment?date=lt2024-03-10T12:00:00Z").await,
        vec![ap1.clone()]
    );
    assert_eq!(
        ids(&app, "Appointment?date=ne2024-03-10").await,
        vec![ap3.clone()]
    );
    assert_eq!(
        ids(&app, "Appointment?date=sa2024-03-10").await,
        vec![ap3.clone()]
    );
    assert_eq!(
        ids(&app, "Appointment?date=eb2024-03-11").await,
        set(&[&ap1, &ap2])
    );
    assert_eq!(
        ids(&app, "Appointment?date=ge2024-03-10&date=lt2024-03-11").await,
        set(&[&ap1, &ap2])
    );

    let mr = |authored: &str| {
        json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
               "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049502"}]},
               "subject": {"reference": format!("Patient/{p}")}, "authoredOn": authored})
    };
    let (m1, _) = app.create(&mr("2024-01-15")).await;
    let (m2, _) = app.create(&mr("2024-01-15T08:00:00Z")).await;
    let (m3, _) = app.create(&mr("2024-02")).await;
    // M1 [01-15, 01-16)  M2 [01-15T08:00:00, :01)  M3 [02-01, 03-01).
    assert_eq!(
        ids(&app, "MedicationRequest?authoredon=2024-01-15").await,
        set(&[&m1, &m2])
    );
    assert_eq!(
        ids(&app, "MedicationRequest?authoredon=2024-01").await,
        set(&[&m1, &m2])
    );
    assert_eq!(
        ids(&app, "MedicationRequest?authoredon=gt2024-01-15").await,
        vec![m3.clone()]
    );
    assert_eq!(
        ids(&app, "MedicationRequest?authoredon=le2024-01-31").await,
        set(&[&m1, &m2])
    );
    // A month-precision value overlaps both sides of a day inside it.
    assert_eq!(
        ids(&app, "MedicationRequest?authoredon=lt2024-02-10").await,
        set(&[&m1, &m2, &m3])
    );
    assert_eq!(
        ids(&app, "MedicationRequest?authoredon=gt2024-02-10").await,
        vec![m3.clone()]
    );

    // Patient.birthdate is encrypted: equality at year/month/day only; ordered
    // comparisons are refused with 400 (docs/security.md).
    assert_eq!(
        ids(&app, "Patient?birthdate=eq1974-12").await,
        vec![p.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?birthdate=1974-12-25").await,
        vec![p.clone()]
    );
    for prefix in ["gt", "lt", "ge", "le", "sa", "eb"] {
        refused(&app, &format!("Patient?birthdate={prefix}1974")).await;
    }
}

#[tokio::test]
async fn last_updated() {
    let app = spawn_app().await;
    let (l1, b1) = app.create(&json!({"resourceType": "Practitioner"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let (l2, b2) = app.create(&json!({"resourceType": "Practitioner"})).await;
    let t1 = b1["meta"]["lastUpdated"].as_str().unwrap().to_owned();
    let t2 = b2["meta"]["lastUpdated"].as_str().unwrap().to_owned();
    // search.html#lastUpdated is a date parameter on meta.lastUpdated (an instant
    // with milliseconds: T is [t, t + 1 ms)).
    assert_eq!(
        ids(&app, &format!("Practitioner?_lastUpdated={t2}")).await,
        vec![l2.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Practitioner?_lastUpdated=gt{t1}")).await,
        vec![l2.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Practitioner?_lastUpdated=le{t1}")).await,
        vec![l1.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Practitioner?_lastUpdated=ge{}", &t1[..10])).await,
        set(&[&l1, &l2])
    );
}

#[tokio::test]
async fn quantity_parameters() {
    let app = spawn_app().await;
    let qty = |value: f64, unit: &str, ucum: bool| {
        let mut q = json!({"value": value, "unit": unit});
        if ucum {
            q["system"] = json!("http://unitsofmeasure.org");
            q["code"] = json!(unit);
        }
        with(obs("2345-7"), json!({ "valueQuantity": q }))
    };
    let (q1, _) = app.create(&qty(5.4, "mg", true)).await;
    let (q2, _) = app.create(&qty(5.44, "mg", true)).await;
    let (q3, _) = app.create(&qty(5.45, "mg", true)).await;
    let (q4, _) = app.create(&qty(5.4, "mg", false)).await; // unit text only
    let (q5, _) = app.create(&qty(5.4, "mmol/L", true)).await;
    let (q6, _) = app.create(&qty(6.0, "mg", true)).await;
    let (q7, _) = app.create(&qty(5.36, "mg", true)).await;
    let q = |v: &str| format!("Observation?value-quantity={v}");
    const MG: &str = "http://unitsofmeasure.org|mg";

    // search.html#quantity: number|system|code; eq uses the precision of the
    // search value: 5.4 means [5.35, 5.45) (search.html#number).
    assert_eq!(
        ids(&app, &q(&format!("5.4|{MG}"))).await,
        set(&[&q1, &q2, &q7])
    );
    // number||code matches the unit code or the human unit.
    assert_eq!(ids(&app, &q("5.4||mg")).await, set(&[&q1, &q2, &q4, &q7]));
    // A bare number matches any unit.
    assert_eq!(ids(&app, &q("5.4")).await, set(&[&q1, &q2, &q4, &q5, &q7]));
    // More digits, a narrower range: 5.40 is [5.395, 5.405).
    assert_eq!(ids(&app, &q(&format!("5.40|{MG}"))).await, vec![q1.clone()]);
    // ne: outside the range, among mg quantities.
    assert_eq!(
        ids(&app, &q(&format!("ne5.4|{MG}"))).await,
        set(&[&q3, &q6])
    );
    // Ordered prefixes (values chosen away from the search value's precision
    // range, where the two readings of search.html#prefix and #number agree).
    assert_eq!(
        ids(&app, &q(&format!("gt5.0|{MG}"))).await,
        set(&[&q1, &q2, &q3, &q6, &q7])
    );
    assert_eq!(
        ids(&app, &q(&format!("lt5.40|{MG}"))).await,
        vec![q7.clone()]
    );
    assert_eq!(
        ids(&app, &q(&format!("ge5.44|{MG}"))).await,
        set(&[&q2, &q3, &q6])
    );
    assert_eq!(
        ids(&app, &q(&format!("le5.36|{MG}"))).await,
        vec![q7.clone()]
    );
    assert_eq!(ids(&app, &q("gt5.5||mmol/L")).await, NONE);
    assert_eq!(ids(&app, &q("lt5.5||mmol/L")).await, vec![q5.clone()]);
}

#[tokio::test]
async fn composite_parameters() {
    let app = spawn_app().await;
    let mmhg = |v: f64| json!({"value": v, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"});
    let comp = |code: &str, v: f64| json!({"code": {"coding": [{"system": "http://loinc.org", "code": code}]}, "valueQuantity": mmhg(v)});
    let bp = |sys: f64, dia: f64| {
        with(
            obs("85354-6"),
            json!({"component": [comp("8480-6", sys), comp("8462-4", dia)]}),
        )
    };
    let (bp1, _) = app.create(&bp(120.0, 80.0)).await;
    let (bp2, _) = app.create(&bp(95.0, 60.0)).await;
    let (sys1, _) = app
        .create(&with(obs("8480-6"), json!({"valueQuantity": mmhg(130.0)})))
        .await;
    let (_sys2, _) = app
        .create(&with(obs("8480-6"), json!({"valueQuantity": mmhg(90.0)})))
        .await;
    let (_hr, _) = app
        .create(&with(
            obs("8867-4"),
            json!({"valueQuantity": {"value": 130, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}),
        ))
        .await;
    let smoke = |code: &str| {
        with(
            obs("72166-2"),
            json!({"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": code}]}}),
        )
    };
    let (_c1, _) = app.create(&smoke("449868002")).await;
    let (c2, _) = app.create(&smoke("8517006")).await;

    // search.html#composite: the parts, separated by $, must match the same
    // Observation (code-value-*) or the same component (component-*).
    assert_eq!(
        ids(
            &app,
            "Observation?code-value-quantity=http://loinc.org|8480-6$gt100"
        )
        .await,
        vec![sys1.clone()]
    );
    assert_eq!(
        ids(
            &app,
            "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt100"
        )
        .await,
        vec![bp1.clone()]
    );
    assert_eq!(
        ids(
            &app,
            "Observation?component-code-value-quantity=http://loinc.org|8480-6$lt100"
        )
        .await,
        vec![bp2.clone()]
    );
    // bp1 has a component > 100 and a diastolic component, but not the same one.
    assert_eq!(
        ids(
            &app,
            "Observation?component-code-value-quantity=http://loinc.org|8462-4$gt100"
        )
        .await,
        NONE
    );
    assert_eq!(
        ids(
            &app,
            "Observation?combo-code-value-quantity=http://loinc.org|8480-6$gt100"
        )
        .await,
        set(&[&bp1, &sys1])
    );
    assert_eq!(
        ids(
            &app,
            "Observation?code-value-concept=http://loinc.org|72166-2$http://snomed.info/sct|8517006"
        )
        .await,
        vec![c2.clone()]
    );
    // OR between whole composite values.
    assert_eq!(
        ids(
            &app,
            "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt100,http://loinc.org|8462-4$lt70"
        )
        .await,
        set(&[&bp1, &bp2])
    );
}
