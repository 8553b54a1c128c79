#!/usr/bin/env python3
"""Seeds the resources the SMART suite reads (conformance/smart/run.sh): a
practitioner, two patients (A links to B, so that `_include=Patient:link`
from A's record reaches B), and for each Observations of two categories and a
MedicationRequest. Written with an operator token (`fhirgate token`), by PUT
with fixed ids, and printed as JSON: {"practitioner": id, "patient_a": id, ...}.
"""

import argparse
import json
import sys

import requests

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"


def observation(oid, patient, category, code, display, value, unit):
    return {
        "resourceType": "Observation", "id": oid, "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-11-30T09:00:00Z",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def medication(mid, patient, prescriber, text):
    return {
        "resourceType": "MedicationRequest", "id": mid, "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": text},
        "subject": {"reference": f"Patient/{patient}"},
        "requester": {"reference": f"Practitioner/{prescriber}"},
        "authoredOn": "2026-11-30",
    }


def resources():
    a, b, doc = "smart-pat-a", "smart-pat-b", "smart-doc"
    return {"practitioner": doc, "patient_a": a, "patient_b": b,
            "obs_a_vital": "smart-obs-a-hr", "obs_a_lab": "smart-obs-a-glucose",
            "obs_b_vital": "smart-obs-b-hr", "med_a": "smart-med-a", "med_b": "smart-med-b"}, [
        {"resourceType": "Practitioner", "id": doc, "active": True,
         "name": [{"family": "Suite", "given": ["Doctor"], "prefix": ["Dr."]}]},
        {"resourceType": "Patient", "id": b, "active": True, "gender": "male", "birthDate": "1971-02-03",
         "name": [{"family": "Smartsuite", "given": ["Beta"]}]},
        {"resourceType": "Patient", "id": a, "active": True, "gender": "female", "birthDate": "1980-04-05",
         "name": [{"family": "Smartsuite", "given": ["Alpha"]}],
         "generalPractitioner": [{"reference": f"Practitioner/{doc}"}],
         "link": [{"other": {"reference": f"Patient/{b}"}, "type": "seealso"}]},
        observation("smart-obs-a-hr", a, "vital-signs", "8867-4", "Heart rate", 72, "/min"),
        observation("smart-obs-a-glucose", a, "laboratory", "2339-0", "Glucose", 5.4, "mmol/L"),
        observation("smart-obs-b-hr", b, "vital-signs", "8867-4", "Heart rate", 64, "/min"),
        medication("smart-med-a", a, doc, "Metformin 500 mg tablet"),
        medication("smart-med-b", b, doc, "Amlodipine 5 mg tablet"),
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    args = p.parse_args()
    ids, items = resources()
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {args.token}", "Content-Type": "application/fhir+json",
                         "Accept": "application/fhir+json"})
    for r in items:
        url = f"{args.base}/{r['resourceType']}/{r['id']}"
        resp = http.put(url, data=json.dumps(r), timeout=60)
        if resp.status_code not in (200, 201):
            sys.exit(f"seed: PUT {r['resourceType']}/{r['id']}: {resp.status_code} {resp.text[:300]}")
    print(json.dumps(ids))


if __name__ == "__main__":
    main()
