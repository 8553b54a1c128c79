//! Searches over free text held only as blind indexes (issue #15):
//! `:text` on tokens (search.html#modifiers: "either CodeableConcept.text,
//! Coding.display, or Identifier.type.text", with the default string match of
//! search.html#string: case- and accent-insensitive starts-with, here per
//! word), and the unit of a quantity (search.html#quantity: with no system,
//! `||code` "is matched against the code and/or unit").

use serde_json::json;

use crate::helpers::*;
use crate::search_common::{ids, set, NONE};

#[tokio::test]
async fn text_matches_words_of_concept_text_and_display() {
    let app = spawn_app().await;
    let obs = |text: Option<&str>, display: &str| {
        let mut code = json!({"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": display}]});
        if let Some(t) = text {
            code["text"] = json!(t);
        }
        json!({"resourceType": "Observation", "status": "final", "code": code})
    };
    let (a, _) = app
        .create(&obs(Some("Suspected abuse by caregiver"), "Heart rate"))
        .await;
    let (b, _) = app
        .create(&obs(None, "Glucose [Mass/volume] in Blood"))
        .await;
    let (c, _) = app.create(&obs(None, "Résumé of findings")).await;

    // The concept text and the coding's display are both searched.
    assert_eq!(
        ids(&app, "Observation?code:text=suspected").await,
        vec![a.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?code:text=heart").await,
        vec![a.clone()]
    );
    // Any word of the text, by its start, case- and accent-insensitively.
    assert_eq!(
        ids(&app, "Observation?code:text=ABU").await,
        vec![a.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?code:text=blood").await,
        vec![b.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?code:text=resume").await,
        vec![c.clone()]
    );
    // Several words: each must start a word of the text.
    assert_eq!(
        ids(&app, "Observation?code:text=abuse%20suspected").await,
        vec![a.clone()]
    );
    assert_eq!(ids(&app, "Observation?code:text=abuse%20blood").await, NONE);
    // A word's middle is not its start.
    assert_eq!(ids(&app, "Observation?code:text=buse").await, NONE);
    // Alternatives OR (search.html#combining).
    assert_eq!(
        ids(&app, "Observation?code:text=glucose,resume").await,
        set(&[&b, &c])
    );
    // A union parameter (combo-code = code | component-code) reads the rows of
    // both, each digest under its own parameter's key.
    assert_eq!(
        ids(&app, "Observation?combo-code:text=glucose").await,
        vec![b.clone()]
    );
    let (d, _) = app
        .create(&json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "component": [{"code": {"text": "Systolic pressure"}, "valueQuantity": {"value": 120}}]}))
        .await;
    assert_eq!(
        ids(&app, "Observation?combo-code:text=systolic").await,
        vec![d.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?component-code:text=systolic").await,
        vec![d]
    );
    assert_eq!(ids(&app, "Observation?code:text=systolic").await, NONE);
    // Identifier.type.text of a PHI identifier is searchable too.
    let (p, _) = app
        .create(&json!({"resourceType": "Patient", "identifier": [{
            "type": {"text": "Hospital record number"}, "system": "urn:h", "value": "H-1"}]}))
        .await;
    assert_eq!(ids(&app, "Patient?identifier:text=record").await, vec![p]);
    assert_outcome(app.get("Observation?code:text=%20").await, 400).await;
}

#[tokio::test]
async fn a_quantity_unit_matches_through_its_blind_index() {
    let app = spawn_app().await;
    let obs = |unit: &str, code: Option<&str>| {
        let mut q = json!({"value": 2, "unit": unit});
        if let Some(c) = code {
            q["system"] = json!("http://unitsofmeasure.org");
            q["code"] = json!(c);
        }
        json!({"resourceType": "Observation", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
               "valueQuantity": q})
    };
    let (tabs, _) = app.create(&obs("tablets", None)).await;
    let (mg, _) = app.create(&obs("milligram", Some("mg"))).await;
    assert_eq!(
        ids(&app, "Observation?value-quantity=2||tablets").await,
        vec![tabs.clone()]
    );
    // By code, and by unit text, without a system.
    assert_eq!(
        ids(&app, "Observation?value-quantity=2||mg").await,
        vec![mg.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?value-quantity=2||milligram").await,
        vec![mg.clone()]
    );
    // With a system, the code only.
    assert_eq!(
        ids(
            &app,
            "Observation?value-quantity=2|http://unitsofmeasure.org|milligram"
        )
        .await,
        NONE
    );
    // The union parameter reads value-quantity's rows under their own key.
    assert_eq!(
        ids(&app, "Observation?combo-value-quantity=2||tablets").await,
        vec![tabs]
    );
}
