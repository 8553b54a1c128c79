//! RDE^O11 expectations written by hand from the message text.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{check, map, of_type};
use serde_json::json;

#[test]
fn rde_o11_medication_request() {
    let m = map("RDE-O11-01");
    check("RDE-O11-01", &m);
    let mrs = of_type(&m, "MedicationRequest");
    assert_eq!(mrs.len(), 1);
    // ORC|NW|1163422591^EPC: placer number (no filler) is the key.
    assert_eq!(
        mrs[0]["request"]["url"],
        "MedicationRequest?identifier=urn%3Afhirgate%3Av2%3Aaa%3AEPC%7C1163422591"
    );
    let r = &mrs[0]["resource"];
    assert_eq!(r["status"], "active");
    assert_eq!(r["intent"], "order");
    // ORC-9 20191104062726+0215
    assert_eq!(r["authoredOn"], "2019-11-04T06:27:26+02:15");
    // RXE-2 0143963401^200 ML BAG : NICARDIPINE ...^NDC^^^^^^niCARdipine (CARDENE) ...
    let med = &r["medicationCodeableConcept"];
    assert_eq!(med["coding"][0]["system"], "http://hl7.org/fhir/sid/ndc");
    assert_eq!(med["coding"][0]["code"], "0143963401");
    assert_eq!(
        med["text"],
        "niCARdipine (CARDENE) in NaCl IV infusion 40 mg/200 mL (0.2 mg/mL)"
    );
    let d = &r["dosageInstruction"][0];
    // RXE-3 5, RXE-5 43^mg/hr: "43" is not a UCUM code, so the unit is text only.
    assert_eq!(
        d["doseAndRate"][0]["doseQuantity"],
        json!({"value": 5, "unit": "mg/hr"})
    );
    // The RXR after the RXE: IV^Intravenous|HAND^HAND.
    assert_eq!(
        d["route"]["coding"][0],
        json!({"system": "http://terminology.hl7.org/CodeSystem/v2-0162", "code": "IV", "display": "Intravenous"})
    );
    assert_eq!(d["site"]["coding"][0]["code"], "HAND");
    // The TQ1 after the RXE: 20191104103000+0215 to 20191104113000+0215, priority S.
    assert_eq!(
        d["timing"]["repeat"]["boundsPeriod"],
        json!({"start": "2019-11-04T10:30:00+02:15", "end": "2019-11-04T11:30:00+02:15"})
    );
    assert_eq!(r["priority"], "stat");
    assert!(d["text"]
        .as_str()
        .unwrap()
        .starts_with("Titrate to BP less than 180\n"));
    // RXE-10 3, RXE-11 BG^Bag, RXE-12 12.
    assert_eq!(
        r["dispenseRequest"],
        json!({"numberOfRepeatsAllowed": 12, "quantity": {"value": 3, "unit": "Bag"}})
    );
    let p = &of_type(&m, "Patient")[0];
    assert_eq!(
        p["request"]["ifNoneExist"],
        "identifier=urn%3Aoid%3A2.16.1%7CPATID1234"
    );
    assert_eq!(r["subject"]["reference"], p["fullUrl"]);
}

#[test]
fn dose_falls_back_to_rxo_then_tq1() {
    let text = String::from_utf8(common::raw("RDE-O11-01")).unwrap();
    // Without the RXE: RXO-2 2, RXO-4 caps^capsule; RXO-1 00047040230^Ampicillin 250 mg caps^NDC.
    let no_rxe: Vec<&str> = text.split('\r').filter(|s| !s.starts_with("RXE")).collect();
    let msg = fhirgate_hl7::parse(no_rxe.join("\r").as_bytes()).unwrap();
    let m = fhirgate_v2fhir::to_bundle(&msg, &Default::default()).unwrap();
    check("RDE without RXE", &m);
    let r = &of_type(&m, "MedicationRequest")[0]["resource"];
    assert_eq!(
        r["medicationCodeableConcept"]["coding"][0]["code"],
        "00047040230"
    );
    let d = &r["dosageInstruction"][0];
    assert_eq!(
        d["doseAndRate"][0]["doseQuantity"],
        json!({"value": 2, "unit": "capsule"})
    );
    // RXO-11 10, RXO-12 caps^capsule, RXO-13 12.
    assert_eq!(
        r["dispenseRequest"],
        json!({"numberOfRepeatsAllowed": 12, "quantity": {"value": 10, "unit": "capsule"}})
    );
    // First TQ1 (before the RXE group): TQ1-3 TID, TQ1-6 3^D&day&ISO+, TQ1-9 R.
    assert_eq!(d["timing"]["code"]["coding"][0]["code"], "TID");
    assert_eq!(
        d["timing"]["repeat"]["boundsDuration"],
        json!({"value": 3, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"})
    );
    assert_eq!(r["priority"], "routine");
    // RXR before the RXE group: IV^IV Infusion.
    assert_eq!(d["route"]["coding"][0]["display"], "IV Infusion");

    // Without RXE, RXO-2 and the first TQ1: the dose is TQ1-2 2^&cp of the second TQ1.
    let no_dose: Vec<String> = no_rxe
        .iter()
        .filter(|s| !s.starts_with("TQ1|1||TID"))
        .map(|s| {
            if s.starts_with("RXO") {
                s.replacen("|2||caps^capsule|", "||||", 1)
            } else {
                (*s).to_owned()
            }
        })
        .collect();
    let msg = fhirgate_hl7::parse(no_dose.join("\r").as_bytes()).unwrap();
    let m = fhirgate_v2fhir::to_bundle(&msg, &Default::default()).unwrap();
    check("RDE dose from TQ1", &m);
    let r = &of_type(&m, "MedicationRequest")[0]["resource"];
    assert_eq!(
        r["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"],
        json!({"value": 2, "unit": "cp"})
    );
}

#[test]
fn omp_o09_maps_like_the_rxo_part_of_rde() {
    // No OMP^O09 sample exists: the RDE sample as an OMP (no RXE; RXO carries the order).
    let text = String::from_utf8(common::raw("RDE-O11-01")).unwrap();
    let omp: Vec<&str> = text.split('\r').filter(|s| !s.starts_with("RXE")).collect();
    let omp = omp
        .join("\r")
        .replacen("|RDE^O11^RDE_O11|", "|OMP^O09^OMP_O09|", 1);
    let msg = fhirgate_hl7::parse(omp.as_bytes()).unwrap();
    let m = fhirgate_v2fhir::to_bundle(&msg, &Default::default()).unwrap();
    check("OMP^O09", &m);
    assert_eq!(m.message_type, "OMP");
    let r = &of_type(&m, "MedicationRequest")[0]["resource"];
    assert_eq!(
        r["medicationCodeableConcept"]["coding"][0]["display"],
        "Ampicillin 250 mg caps"
    );
    assert_eq!(
        r["dosageInstruction"][0]["text"],
        "1 tablet by oral route 2 times daily."
    );
    // OMP^O11 is not an event of OMP.
    let bad = omp.replacen("|OMP^O09^OMP_O09|", "|OMP^O11^OMP_O09|", 1);
    let msg = fhirgate_hl7::parse(bad.as_bytes()).unwrap();
    let e = fhirgate_v2fhir::to_bundle(&msg, &Default::default()).expect_err("201");
    assert_eq!(e.code.code(), "201");
}
