//! Formats (http://hl7.org/fhir/R4/http.html#mime-type).

use crate::helpers::*;

#[tokio::test]
async fn xml_in_and_out() {
    let app = spawn_app().await;
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><identifier><system value="urn:x"/><value value="X-1"/></identifier><active value="true"/><name><family value="Xml"/><given value="Eve"/></name><birthDate value="1990-05-06"/></Patient>"#;
    let resp = app
        .client
        .post(app.url("Patient"))
        .header("content-type", "application/fhir+xml")
        .header("accept", "application/fhir+xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/fhir+xml"));
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    let text = resp.text().await.unwrap();
    assert!(text.contains("<family value=\"Xml\"/>"), "{text}");
    let id = loc.split('/').rev().nth(2).unwrap();
    // Stored as JSON, read back as JSON by default.
    let json = app.get_value(&format!("Patient/{id}")).await;
    assert_eq!(json["name"][0]["family"], "Xml");
    assert_eq!(json["active"], true);
    // _format overrides Accept.
    let r = app
        .client
        .get(app.url(&format!("Patient/{id}?_format=xml")))
        .header("accept", "application/fhir+json")
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/fhir+xml"));
    let pretty = app
        .get(&format!("Patient/{id}?_pretty=true"))
        .await
        .text()
        .await
        .unwrap();
    assert!(pretty.contains("\n  "));
}

#[tokio::test]
async fn negotiation_failures() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("metadata"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_outcome(r, 406).await;
    let r = app
        .client
        .get(app.url("metadata"))
        .header("accept", "application/fhir+json; fhirVersion=3.0")
        .send()
        .await
        .unwrap();
    assert_outcome(r, 406).await;
    let r = app
        .client
        .post(app.url("Patient"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_outcome(r, 415).await;
    let r = app
        .client
        .post(app.url("Patient"))
        .body(patient("A", "B").to_string())
        .send()
        .await
        .unwrap();
    assert_outcome(r, 415).await;
    // Errors follow the negotiated format too.
    let r = app
        .client
        .get(app.url("Patient/nope"))
        .header("accept", "application/fhir+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("<OperationOutcome"));
}
