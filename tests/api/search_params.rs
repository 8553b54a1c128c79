//! Issue #3, search parameter types (http://hl7.org/fhir/R4/search.html): string,
//! token, reference and uri, unknown parameters and POST _search. Dates,
//! quantities and composites are in search_ordered.rs, AuditEvent search in
//! search_audit.rs.
//!
//! Number (search.html#number): none of the six served types has a parameter of
//! type number in R4 (the only ones are on ChargeItem, MolecularSequence and
//! RiskAssessment), so there is nothing to test here.

use crate::helpers::*;
use crate::search_common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn string_parameters() {
    let app = spawn_app().await;
    let pat = |names: Value, active: Option<bool>| {
        let mut p = json!({"resourceType": "Patient", "name": names});
        if let Some(a) = active {
            p["active"] = json!(a);
        }
        p
    };
    let (p1, _) = app
        .create(&pat(
            json!([{"family": "Chalmers", "given": ["Peter", "James"]}, {"use": "nickname", "given": ["Jim"]}]),
            Some(true),
        ))
        .await;
    let (p2, _) = app
        .create(&pat(
            json!([{"family": "Núñez", "given": ["Inés"]}]),
            Some(false),
        ))
        .await;
    let (p3, _) = app
        .create(&pat(
            json!([{"family": "van der Berg", "given": ["Chalice"], "text": "Chalice van der Berg"}]),
            None,
        ))
        .await;
    let (p4, _) = app.create(&pat(json!([{"given": ["Solo"]}]), None)).await;
    let (pr, _) = app
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Smith", "given": ["Anna"]}]}))
        .await;

    // search.html#string: default match is case- and accent-insensitive
    // "equals or starts with", on any part of any HumanName (name), or on the
    // one element the parameter names (family, given).
    assert_eq!(ids(&app, "Patient?name=jim").await, vec![p1.clone()]);
    assert_eq!(ids(&app, "Patient?name=PET").await, vec![p1.clone()]);
    assert_eq!(ids(&app, "Patient?given=ines").await, vec![p2.clone()]);
    assert_eq!(
        ids(&app, "Patient?family=N%C3%9A%C3%91").await,
        vec![p2.clone()]
    );
    assert_eq!(ids(&app, "Patient?name=chal").await, set(&[&p1, &p3]));
    assert_eq!(ids(&app, "Patient?given=chal").await, vec![p3.clone()]);
    assert_eq!(ids(&app, "Patient?family=chal").await, vec![p1.clone()]);
    // Starts-with applies to the whole value: "van der Berg" starts with "van der",
    // not with "berg" (a search string may contain spaces).
    assert_eq!(
        ids(&app, "Patient?family=van%20der").await,
        vec![p3.clone()]
    );
    assert_eq!(ids(&app, "Patient?family=berg").await, NONE);
    assert_eq!(ids(&app, "Patient?family=halmers").await, NONE);

    // search.html#modifiers :exact: the whole string, case and accents included.
    assert_eq!(
        ids(&app, "Patient?family:exact=Chalmers").await,
        vec![p1.clone()]
    );
    assert_eq!(ids(&app, "Patient?family:exact=chalmers").await, NONE);
    assert_eq!(ids(&app, "Patient?family:exact=Chal").await, NONE);
    assert_eq!(
        ids(&app, "Patient?given:exact=In%C3%A9s").await,
        vec![p2.clone()]
    );
    assert_eq!(ids(&app, "Patient?given:exact=Ines").await, NONE);

    // search.html#combining: a comma is OR, a repeated parameter is AND (the two
    // values may match different repetitions: name=peter matches the first
    // HumanName, name=jim the second).
    assert_eq!(ids(&app, "Patient?family=nun,van").await, set(&[&p2, &p3]));
    assert_eq!(
        ids(&app, "Patient?name=peter&name=jim").await,
        vec![p1.clone()]
    );
    assert_eq!(ids(&app, "Patient?name=peter&name=ines").await, NONE);

    // search.html#missing on a string.
    assert_eq!(
        ids(&app, "Patient?family:missing=true").await,
        vec![p4.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?family:missing=false").await,
        set(&[&p1, &p2, &p3])
    );

    // Parameters are per type: the Practitioner is found only as a Practitioner.
    assert_eq!(ids(&app, "Practitioner?name=smi").await, vec![pr.clone()]);
    assert_eq!(
        ids(&app, "Practitioner?family=smith").await,
        vec![pr.clone()]
    );
    assert_eq!(ids(&app, "Patient?name=smi").await, NONE);

    // search.html#token on a boolean (Patient.active).
    assert_eq!(ids(&app, "Patient?active=true").await, vec![p1.clone()]);
    assert_eq!(ids(&app, "Patient?active=false").await, vec![p2.clone()]);

    // :contains on PHI strings (and telecom tokens) is refused by design
    // (docs/security.md: it cannot be answered from blind indexes).
    for q in [
        "Patient?name:contains=alm",
        "Patient?family:contains=alm",
        "Patient?given:contains=ete",
        "Patient?address:contains=Erewhon",
        "Patient?address-city:contains=ville",
        "Patient?address-postalcode:contains=99",
        "Patient?phone:contains=555",
        "Patient?email:contains=example",
        "Patient?telecom:contains=555",
        "Practitioner?name:contains=mit",
        "Practitioner?family:contains=mit",
        "Observation?value-string:contains=abc",
    ] {
        refused(&app, q).await;
    }
}

#[tokio::test]
async fn token_parameters() {
    let app = spawn_app().await;
    let cat = |code: &str| json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": code}]}]);
    let o = |status: &str, code: Value| json!({"resourceType": "Observation", "status": status, "code": code});
    let mut v1 = o(
        "final",
        json!({"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}], "text": "Systolic BP"}),
    );
    v1["category"] = cat("vital-signs");
    v1["identifier"] = json!([{"system": "urn:obs", "value": "A1"}]);
    let mut v2 = o(
        "preliminary",
        json!({"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]}),
    );
    v2["category"] = cat("vital-signs");
    v2["meta"] = json!({"tag": [{"system": "http://example.org/tags", "code": "t1"}]});
    let v3 = o(
        "final",
        json!({"coding": [{"system": "http://example.org/codes", "code": "8867-4"}]}),
    );
    let v4 = o("amended", json!({"coding": [{"code": "X1"}]}));
    let mut v5 = o(
        "final",
        json!({"coding": [{"system": "http://example.org/codes", "code": "a,b"}]}),
    );
    v5["category"] = cat("laboratory");
    let (o1, _) = app.create(&v1).await;
    let (o2, _) = app.create(&v2).await;
    let (o3, _) = app.create(&v3).await;
    let (o4, _) = app.create(&v4).await;
    let (o5, _) = app.create(&v5).await;

    // search.html#token: [code] matches any system; [system]|[code] only that
    // system; |[code] only codings without a system; [system]| any code in it.
    assert_eq!(ids(&app, "Observation?code=8867-4").await, set(&[&o2, &o3]));
    assert_eq!(
        ids(&app, "Observation?code=http://loinc.org|8867-4").await,
        vec![o2.clone()]
    );
    assert_eq!(ids(&app, "Observation?code=%7CX1").await, vec![o4.clone()]);
    assert_eq!(ids(&app, "Observation?code=|8867-4").await, NONE);
    assert_eq!(
        ids(&app, "Observation?code=http://loinc.org|").await,
        set(&[&o1, &o2])
    );
    assert_eq!(
        ids(&app, "Observation?status=final").await,
        set(&[&o1, &o3, &o5])
    );

    // search.html#escaping: "\," is a literal comma; an unescaped comma is OR.
    assert_eq!(
        ids(&app, "Observation?code=http://example.org/codes|a%5C,b").await,
        vec![o5.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?code=http://example.org/codes|a,b").await,
        NONE
    );

    // search.html#combining: OR within a value, AND across repeats.
    assert_eq!(
        ids(&app, "Observation?status=preliminary,amended").await,
        set(&[&o2, &o4])
    );
    assert_eq!(
        ids(&app, "Observation?status=final&code=8867-4").await,
        vec![o3.clone()]
    );

    // search.html#modifiers :not reverses the match, and "includes resources
    // that have no value for the parameter" (o3 and o4 have no category).
    assert_eq!(
        ids(&app, "Observation?status:not=final").await,
        set(&[&o2, &o4])
    );
    assert_eq!(
        ids(&app, "Observation?category:not=vital-signs").await,
        set(&[&o3, &o4, &o5])
    );
    assert_eq!(
        ids(
            &app,
            "Observation?category:not=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
        )
        .await,
        set(&[&o1, &o2, &o3, &o4])
    );

    // search.html#modifiers :text: a string search on CodeableConcept.text and
    // Coding.display (default string match: case-insensitive starts-with).
    assert_eq!(
        ids(&app, "Observation?code:text=systolic").await,
        vec![o1.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?code:text=HEART").await,
        vec![o2.clone()]
    );

    // search.html#missing.
    assert_eq!(
        ids(&app, "Observation?category:missing=true").await,
        set(&[&o3, &o4])
    );
    assert_eq!(
        ids(&app, "Observation?category:missing=false").await,
        set(&[&o1, &o2, &o5])
    );

    // Identifier (a PHI token: exact system|value and value), _id, _tag
    // (search.html#id, #tag).
    assert_eq!(
        ids(&app, "Observation?identifier=urn:obs|A1").await,
        vec![o1.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?identifier=A1").await,
        vec![o1.clone()]
    );
    assert_eq!(ids(&app, "Observation?identifier=urn:other|A1").await, NONE);
    assert_eq!(
        ids(&app, &format!("Observation?_id={o1},{o4}")).await,
        set(&[&o1, &o4])
    );
    assert_eq!(
        ids(&app, "Observation?_tag=http://example.org/tags|t1").await,
        vec![o2.clone()]
    );
}

#[tokio::test]
async fn reference_parameters() {
    let app = spawn_app().await;
    let (pa, _) = app.create(&patient("Refa", "R-1")).await;
    let (pb, _) = app.create(&patient("Refb", "R-2")).await;
    let (pr, _) = app
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Doc"}]}))
        .await;
    let subj = |r: Value| with(obs("8867-4"), json!({ "subject": r }));
    let mut v1 = subj(json!({"reference": format!("Patient/{pa}")}));
    v1["performer"] = json!([{"reference": format!("Practitioner/{pr}")}]);
    let (r1, _) = app.create(&v1).await;
    let (r2, _) = app
        .create(&subj(json!({"reference": format!("Patient/{pb}")})))
        .await;
    // Same id as pa, but on another server.
    let (r3, _) = app
        .create(&subj(
            json!({"reference": format!("http://other.example.org/fhir/Patient/{pa}")}),
        ))
        .await;
    let (r4, _) = app
        .create(&subj(
            json!({"identifier": {"system": "urn:mrn", "value": "M-77"}}),
        ))
        .await;
    let (r5, _) = app.create(&subj(json!({"reference": "Group/g1"}))).await;
    let (r6, _) = app.create(&obs("8867-4")).await;

    // search.html#reference: [type]/[id], [id] (local references of any type),
    // the :[type] modifier, and an absolute URL.
    assert_eq!(
        ids(&app, &format!("Observation?subject=Patient/{pa}")).await,
        vec![r1.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Observation?subject={pa}")).await,
        vec![r1.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Observation?subject:Patient={pa}")).await,
        vec![r1.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Observation?subject:Group={pa}")).await,
        NONE
    );
    assert_eq!(
        ids(
            &app,
            &format!("Observation?subject=http://other.example.org/fhir/Patient/{pa}")
        )
        .await,
        vec![r3.clone()]
    );
    // An absolute URL on this server's base is the same resource as the relative
    // reference Patient/{pa} (search.html#reference).
    assert_eq!(
        ids(
            &app,
            &format!("Observation?subject={}/Patient/{pa}", app.base)
        )
        .await,
        vec![r1.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?subject=Group/g1").await,
        vec![r5.clone()]
    );
    // patient = subject.where(resolve() is Patient): a Group subject is not a patient.
    assert_eq!(
        ids(&app, &format!("Observation?patient={pa}")).await,
        vec![r1.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Observation?patient=Patient/{pb}")).await,
        vec![r2.clone()]
    );
    assert_eq!(ids(&app, "Observation?patient=g1").await, NONE);
    // OR across references.
    assert_eq!(
        ids(
            &app,
            &format!("Observation?subject=Patient/{pa},Patient/{pb}")
        )
        .await,
        set(&[&r1, &r2])
    );
    // search.html#modifiers :identifier matches Reference.identifier.
    assert_eq!(
        ids(&app, "Observation?subject:identifier=urn:mrn|M-77").await,
        vec![r4.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?subject:identifier=urn:mrn|M-78").await,
        NONE
    );
    // search.html#missing: r4's subject has a value (an identifier).
    assert_eq!(
        ids(&app, "Observation?subject:missing=true").await,
        vec![r6.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?subject:missing=false").await,
        set(&[&r1, &r2, &r3, &r4, &r5])
    );
    assert_eq!(
        ids(&app, &format!("Observation?performer=Practitioner/{pr}")).await,
        vec![r1.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Observation?performer:Practitioner={pr}")).await,
        vec![r1.clone()]
    );
}

#[tokio::test]
async fn uri_parameters() {
    let app = spawn_app().await;
    let prof = |url: &str| json!({"resourceType": "Patient", "meta": {"profile": [url]}, "gender": "other"});
    let (u1, _) = app
        .create(&prof(
            "http://example.org/fhir/StructureDefinition/base-patient",
        ))
        .await;
    let (u2, _) = app
        .create(&prof(
            "http://example.org/fhir/StructureDefinition/base-patient-extended",
        ))
        .await;
    let (_u3, _) = app
        .create(&prof("http://other.org/fhir/StructureDefinition/x"))
        .await;
    let (u4, _) = app
        .create(
            &json!({"resourceType": "Patient", "meta": {"source": "http://example.org/feeds/lab"}}),
        )
        .await;
    // search.html#uri: the default is an exact match of the whole URI (not
    // starts-with, unlike string); :below matches URIs under the given one.
    assert_eq!(
        ids(
            &app,
            "Patient?_profile=http://example.org/fhir/StructureDefinition/base-patient"
        )
        .await,
        vec![u1.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?_profile:below=http://example.org/fhir/").await,
        set(&[&u1, &u2])
    );
    assert_eq!(
        ids(&app, "Patient?_source=http://example.org/feeds/lab").await,
        vec![u4.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?_source=http://example.org/feeds").await,
        NONE
    );
}

#[tokio::test]
async fn unknown_parameters_and_post_search() {
    let app = spawn_app().await;
    let (a, _) = app.create(&patient("Chalmers", "U-1")).await;
    let mut male = patient("Chapman", "U-2");
    male["gender"] = json!("male");
    let (b, _) = app.create(&male).await;
    let (_c, _) = app.create(&patient("Smith", "U-3")).await;

    // search.html#errors: unknown parameters are ignored by default, and the
    // server reports them in an OperationOutcome entry with search.mode outcome.
    let bundle = search(&app, "Patient?family=cha&bogus=1").await;
    let mut m = match_ids(&bundle);
    m.sort();
    assert_eq!(m, set(&[&a, &b]));
    let outcomes = mode_entries(&bundle, "outcome");
    assert_eq!(outcomes.len(), 1, "{bundle}");
    assert_eq!(outcomes[0]["resourceType"], "OperationOutcome");
    // ... and with Prefer: handling=strict they are an error (400); lenient is the default.
    for (prefer, status) in [("handling=strict", 400), ("handling=lenient", 200)] {
        let resp = app
            .client
            .get(app.url("Patient?family=cha&bogus=1"))
            .header("prefer", prefer)
            .send()
            .await
            .unwrap();
        if status == 400 {
            assert_outcome(resp, 400).await;
        } else {
            assert_eq!(resp.status(), 200);
        }
    }

    // search.html#search (http.html#search): POST [type]/_search with a form body
    // is the same search as GET; parameters may be in the URL and the body.
    let post = |path: &str, body: &str| {
        app.client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
    };
    for body in [
        "family=cha",
        "family=cha&gender=male",
        "name=smi,cha",
        "_id=nope",
    ] {
        let resp = post("Patient/_search", body).await.unwrap();
        assert_eq!(resp.status(), 200, "{body}");
        let pb: Value = resp.json().await.unwrap();
        assert_eq!(pb["type"], "searchset");
        let mut got = match_ids(&pb);
        got.sort();
        assert_eq!(got, ids(&app, &format!("Patient?{body}")).await, "{body}");
    }
    let resp = post("Patient/_search?gender=male", "family=cha")
        .await
        .unwrap();
    let pb: Value = resp.json().await.unwrap();
    assert_eq!(match_ids(&pb), vec![b.clone()]);
}
