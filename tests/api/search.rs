//! The search slice of issue #2, from http://hl7.org/fhir/R4/search.html. Every
//! expected result set is worked out from the data below and the spec's rules.

use crate::helpers::*;
use serde_json::{json, Value};

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let resp = app.get(query).await;
    assert_eq!(resp.status(), 200, "{query}");
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["type"], "searchset");
    let mut out: Vec<String> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    assert_eq!(
        b["total"].as_u64().unwrap() as usize,
        out.len(),
        "{query}: total"
    );
    out
}

fn sorted(mut v: Vec<&String>) -> Vec<String> {
    v.sort();
    v.into_iter().cloned().collect()
}

#[tokio::test]
async fn string_token_date_and_reference_parameters() {
    let app = spawn_app().await;
    let person = |family: &str, given: &str, birth: &str, gender: &str, mrn: &str| {
        json!({"resourceType": "Patient", "name": [{"family": family, "given": [given]}], "birthDate": birth, "gender": gender,
               "identifier": [{"system": "urn:mrn", "value": mrn}]})
    };
    let (chalmers, _) = app
        .create(&person("Chalmers", "Peter", "1974-12-25", "male", "M1"))
        .await;
    let (nunez, _) = app
        .create(&person("Núñez", "Inés", "1974-03-02", "female", "M2"))
        .await;
    let (smith, _) = app
        .create(&person("Smith", "Chalice", "1990", "female", "M3"))
        .await;

    // string default: case- and accent-insensitive starts-with on any name part (search.html#string).
    assert_eq!(
        ids(&app, "Patient?family=chal").await,
        vec![chalmers.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?name=chal").await,
        sorted(vec![&chalmers, &smith])
    );
    assert_eq!(ids(&app, "Patient?family=nunez").await, vec![nunez.clone()]);
    assert_eq!(
        ids(&app, "Patient?family=halmers").await,
        Vec::<String>::new()
    );
    // :exact is case- and accent-sensitive.
    assert_eq!(
        ids(&app, "Patient?family:exact=Núñez").await,
        vec![nunez.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?family:exact=nunez").await,
        Vec::<String>::new()
    );
    // Comma is OR; repeating a parameter is AND.
    assert_eq!(
        ids(&app, "Patient?family=chal,smi").await,
        sorted(vec![&chalmers, &smith])
    );
    assert_eq!(
        ids(&app, "Patient?name=chal&name=smi").await,
        vec![smith.clone()]
    );
    // phonetic: Smyth sounds like Smith (Soundex S530).
    assert_eq!(
        ids(&app, "Patient?phonetic=Smyth").await,
        vec![smith.clone()]
    );

    // token, with and without system (search.html#token).
    assert_eq!(
        ids(&app, "Patient?gender=female").await,
        sorted(vec![&nunez, &smith])
    );
    assert_eq!(
        ids(&app, "Patient?identifier=urn:mrn|M2").await,
        vec![nunez.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?identifier=M2").await,
        vec![nunez.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?identifier=urn:other|M2").await,
        Vec::<String>::new()
    );

    // date: a value at a precision is a range; eq matches targets within it.
    assert_eq!(
        ids(&app, "Patient?birthdate=1974").await,
        sorted(vec![&chalmers, &nunez])
    );
    assert_eq!(
        ids(&app, "Patient?birthdate=1974-12").await,
        vec![chalmers.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?birthdate=1974-12-25").await,
        vec![chalmers.clone()]
    );
    // A birth date known only to the year is not within a single day.
    assert_eq!(
        ids(&app, "Patient?birthdate=1990-01-01").await,
        Vec::<String>::new()
    );
    // Ordering comparisons on an encrypted date are refused (docs/security.md).
    assert_outcome(app.get("Patient?birthdate=gt1970").await, 400).await;

    // _lastUpdated comes from the server's own clock.
    assert_eq!(
        ids(&app, "Patient?_lastUpdated=lt2000-01-01").await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&app, "Patient?_lastUpdated=ge2000-01-01").await.len(),
        3
    );
    assert_eq!(
        ids(&app, &format!("Patient?_id={smith}")).await,
        vec![smith.clone()]
    );

    // reference, by Type/id and by id (search.html#reference); non-PHI date ranges.
    let obs = |subject: &str, when: &str| {
        json!({"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
               "subject": {"reference": format!("Patient/{subject}")}, "effectiveDateTime": when})
    };
    let (o1, _) = app.create(&obs(&chalmers, "2024-05-01T10:00:00Z")).await;
    let (o2, _) = app.create(&obs(&nunez, "2024-06-15")).await;
    assert_eq!(
        ids(&app, &format!("Observation?subject=Patient/{chalmers}")).await,
        vec![o1.clone()]
    );
    assert_eq!(
        ids(&app, &format!("Observation?patient={nunez}")).await,
        vec![o2.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?code=http://loinc.org|8867-4").await,
        sorted(vec![&o1, &o2])
    );
    assert_eq!(
        ids(&app, "Observation?date=2024-05").await,
        vec![o1.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?date=ge2024-06-01").await,
        vec![o2.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?date=lt2024-06-15").await,
        vec![o1.clone()]
    );

    // Unknown parameters are ignored and reported (search.mode outcome) unless strict.
    let b = app.get_value("Patient?family=chal&bogus=1").await;
    let last = b["entry"].as_array().unwrap().last().unwrap();
    assert_eq!(last["search"]["mode"], "outcome");
    let strict = app
        .client
        .get(app.url("Patient?bogus=1"))
        .header("prefer", "handling=strict")
        .send()
        .await
        .unwrap();
    assert_outcome(strict, 400).await;

    // Paging: _count with a next link that continues where the page ended.
    let page = app.get_value("Patient?_count=2").await;
    assert_eq!(page["entry"].as_array().unwrap().len(), 2);
    let next = next_link(&page);
    let page2 = app.follow(&next).await;
    assert_eq!(page2["entry"].as_array().unwrap().len(), 1);
    let mut all: Vec<String> = [&page, &page2]
        .iter()
        .flat_map(|p| {
            p["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        })
        .collect();
    all.sort();
    assert_eq!(all, sorted(vec![&chalmers, &nunez, &smith]));
}
