#!/usr/bin/env python3
"""Independent FHIR R4 check of what a running fhirgate returns.

Loads the shared R4 examples of the served types and, given an MLLP address,
the shared HL7 v2 samples of the mapped families; then validates, with
fhir.resources 6.1.0 (models of FHIR 4.0.1 generated from the specification,
independent of this project), every resource and Bundle the gateway answers
with: create and read replies, every searchset page and history Bundle of
every served type (AuditEvent included), a transaction-response, the
CapabilityStatement and OperationOutcomes of failed requests.

    python3 conformance/validate_r4.py --base http://127.0.0.1:8080/fhir \
        [--mllp 127.0.0.1:2575] [--shared ../shared]

FHIRGATE_TOKEN in the environment is sent as `Authorization: Bearer` (every
FHIR request but /metadata needs one: `fhirgate token --scope "system/*.cruds"`).

Exits 1 when anything is invalid or a load step fails. conformance/run.sh
starts a gateway on a fresh database and runs this in a virtualenv.
"""
import argparse
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

from fhir.resources import construct_fhir_element

SERVED = ["Patient", "Practitioner", "Observation", "Appointment", "MedicationRequest"]
# The message types and events the gateway maps (issue #5); every other
# sample must be refused with AR.
MAPPED = {
    "ADT": {"A01", "A04", "A05", "A08", "A28", "A31", "A40"},
    "ORU": {"R01"},
    "SIU": {"S12", "S13", "S14", "S15", "S17", "S26"},
    "RDE": {"O11"},
    "OMP": {"O09"},
}
JSON = "application/fhir+json"


class Check:
    def __init__(self, base, token=None):
        self.base = base.rstrip("/")
        self.token = token
        self.checked = 0
        self.problems = []

    def request(self, method, path, body=None, headers=None):
        url = path if path.startswith("http") else self.base + path
        data = json.dumps(body).encode() if body is not None else None
        h = {"Accept": JSON}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            h["Content-Type"] = JSON
        h.update(headers or {})
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"null")

    def valid(self, resource, where):
        """Validates one resource (a Bundle's entries with it, as its model does)."""
        self.checked += 1
        if not isinstance(resource, dict) or "resourceType" not in resource:
            self.problems.append(f"{where}: not a resource: {str(resource)[:200]}")
            return
        try:
            construct_fhir_element(resource["resourceType"], resource)
        except Exception as e:  # pydantic's ValidationError, or an unknown type
            self.problems.append(f"{where}: {resource['resourceType']}/{resource.get('id')}: {e}")

    def fail(self, what):
        self.problems.append(what)


def load_examples(c, shared):
    ids = {}
    for f in sorted((shared / "examples" / "fhir").glob("*.json")):
        rtype = f.name.split("-", 1)[0]
        if rtype not in SERVED:
            continue
        res = json.loads(f.read_text())
        status, headers, body = c.request("POST", f"/{rtype}", res, {"Prefer": "return=representation"})
        if status != 201:
            c.fail(f"create {f.name}: {status} {str(body)[:300]}")
            continue
        c.valid(body, f"create {f.name}")
        status, _, read = c.request("GET", f"/{rtype}/{body['id']}")
        c.valid(read, f"read {f.name}")
        ids.setdefault(rtype, []).append(body["id"])
    return ids


def load_hl7(c, shared, addr):
    host, port = addr.rsplit(":", 1)
    sent = 0
    # Several samples reuse a sender's MSH-10 (MSG00001): the gateway answers
    # a message already accepted from that sender with its first ACK, unapplied.
    first_acks = {}
    for f in sorted((shared / "examples" / "hl7v2").glob("*.hl7")):
        msg = f.read_bytes()
        msh = msg.lstrip(b"\xef\xbb\xbf").split(b"\r", 1)[0].split(b"|") + [b""] * 12
        kind = (msh[8].split(b"^") + [b""])[:2]
        mapped = kind[1].decode(errors="replace") in MAPPED.get(kind[0].decode(errors="replace"), ())
        key = (msh[2], msh[3], msh[9])
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"\x0b" + msg + b"\x1c\r")
            s.settimeout(3)
            ack = b""
            try:
                while not ack.endswith(b"\x1c\r"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    ack += chunk
            except socket.timeout:
                pass  # MSH-15/16 NE: no acknowledgement is sent
        sent += 1
        if key in first_acks:
            if ack and ack != first_acks[key]:
                c.fail(f"HL7 {f.name}: a repeated MSH-10 got {ack[:200]!r}, not its first ACK")
            continue
        # Original mode answers AA / AR; enhanced mode (MSH-15) first CA / CR.
        want = (b"MSA|AA", b"MSA|CA") if mapped else (b"MSA|AR", b"MSA|CR")
        if ack and not any(w in ack for w in want):
            c.fail(f"HL7 {f.name}: expected {want[0].decode()}, got {ack[:200]!r}")
        if mapped and ack:
            first_acks[key] = ack
    print(f"{sent} HL7 v2 samples sent")


def read_back(c, ids):
    for rtype in SERVED + ["AuditEvent"]:
        path, pages = f"/{rtype}?_count=100", 0
        while path and pages < 20:
            status, _, bundle = c.request("GET", path)
            c.valid(bundle, f"search {rtype} page {pages}")
            for e in (bundle or {}).get("entry", []):
                c.valid(e.get("resource"), f"search {rtype}")
            path = next((l["url"] for l in bundle.get("link", []) if l["relation"] == "next"), None)
            pages += 1
        status, _, hist = c.request("GET", f"/{rtype}/_history?_count=50")
        c.valid(hist, f"history {rtype}")
        for i in ids.get(rtype, [])[:3]:
            status, _, h = c.request("GET", f"/{rtype}/{i}/_history")
            c.valid(h, f"instance history {rtype}/{i}")
    status, _, h = c.request("GET", "/_history?_count=50")
    c.valid(h, "system history")


def transaction(c):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:8a7f0d76-2c0e-4b7a-9b51-3b3ad1d2c001",
                "resource": {"resourceType": "Patient", "name": [{"family": "Conformance"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "subject": {"reference": "urn:uuid:8a7f0d76-2c0e-4b7a-9b51-3b3ad1d2c001"},
                    "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    status, _, reply = c.request("POST", "", bundle)
    if status != 200:
        c.fail(f"transaction: {status} {str(reply)[:300]}")
    c.valid(reply, "transaction-response")


def errors(c):
    for method, path, body, headers in [
        ("GET", "/Patient/does-not-exist", None, None),
        ("GET", "/Patient?no-such-parameter=1", None, {"Prefer": "handling=strict"}),
        ("POST", "/Patient", {"resourceType": "Patient", "birthDate": "1980-02-30"}, None),
        ("POST", "/Observation", {"resourceType": "Patient"}, None),
        ("DELETE", "/metadata", None, None),
    ]:
        status, _, body = c.request(method, path, body, headers)
        if status < 400:
            c.fail(f"{method} {path}: expected an error, got {status}")
        c.valid(body, f"error {method} {path} ({status})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--mllp")
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parent.parent.parent / "shared"))
    a = ap.parse_args()
    # Every FHIR request needs a bearer token (issue #17); taken from the
    # environment rather than the command line, which other users can see.
    c = Check(a.base, os.environ.get("FHIRGATE_TOKEN"))
    shared = Path(a.shared)
    status, _, cap = c.request("GET", "/metadata")
    c.valid(cap, "metadata")
    ids = load_examples(c, shared)
    if a.mllp:
        load_hl7(c, shared, a.mllp)
    transaction(c)
    errors(c)
    read_back(c, ids)
    for p in c.problems:
        print("PROBLEM", p)
    print(f"{c.checked} resources and Bundles validated as FHIR 4.0.1; {len(c.problems)} problems")
    sys.exit(1 if c.problems else 0)


if __name__ == "__main__":
    main()
