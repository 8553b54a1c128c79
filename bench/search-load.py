#!/usr/bin/env python3
"""Search benchmark data (issue #3): generate and load, and write the query lists.

    bench/search-load.py load    --base http://127.0.0.1:18081/fhir --db postgres://root@127.0.0.1:5432/fhirgate_bench_search
    bench/search-load.py queries --out target/bench-search

`load` PUTs (update-as-create) 1,000 Patients bp0001..bp1000 and 200 Observations
per Patient bo000001..bo200000 into a running gateway over the FHIR API, with
CONCURRENCY requests in flight. Every resource is a pure function of its index
(seeded per resource), so a re-run sends the same content, and ids already
current in the database (asked with psql, the gateway has no cheap count in
every build) are skipped: an interrupted load resumes, a complete one is a no-op.

`queries` writes the request paths the wrk scripts pick from at random:
  obs-queries.txt      /fhir/Observation?patient=bpNNNN&code=LOINC&date=geYYYY-MM-DD
  patient-queries.txt  /fhir/Patient?name=<3 letters>&birthdate=YYYY[-MM-DD]
The Patient ones are built from generated patients (a 3-letter prefix of the
family or a given name, and that patient's birth year or birth date), so each
matches at least one patient.

Standard library only (http.client in threads, psql for the counts).
FHIRGATE_BENCH_TOKEN, when set, is sent as `Authorization: Bearer`.
"""
import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

SEED = 3  # issue #3; changing any generator detail below needs RELOAD=1 (bench/search.sh)
PATIENTS = 1000
PER_PATIENT = 200

# Syllables: a family name is 2-3 of FAMILY, a given name 2 of GIVEN, so a 3-letter
# prefix ("bre", "tal", ...) is shared by a handful to a few dozen patients.
FAMILY = ["al", "bar", "bre", "cal", "dan", "del", "fer", "gal", "har", "hol", "kel", "lan",
          "mar", "mor", "nor", "ol", "pen", "quin", "ros", "sal", "tal", "tor", "val", "wes",
          "ber", "ca", "den", "ford", "ley", "lin", "man", "mond", "ner", "ri", "son", "ston",
          "ton", "vik", "wood", "zel"]
GIVEN = ["a", "ad", "be", "cla", "da", "e", "el", "fi", "ga", "ha", "i", "jo", "ka", "li",
         "ma", "no", "o", "pa", "ra", "sa", "te", "u", "vi", "ya", "za",
         "bel", "dra", "en", "la", "lie", "na", "nie", "ra", "rick", "ron", "sha", "tha", "vin",
         "win", "xa"]

# (code, display, category, UCUM unit code, unit display, low, high, decimals)
LOINC = [
    ("8867-4", "Heart rate", "vital-signs", "/min", "beats/minute", 48, 120, 0),
    ("9279-1", "Respiratory rate", "vital-signs", "/min", "breaths/minute", 10, 26, 0),
    ("8310-5", "Body temperature", "vital-signs", "Cel", "C", 35.8, 39.2, 1),
    ("8480-6", "Systolic blood pressure", "vital-signs", "mm[Hg]", "mmHg", 90, 180, 0),
    ("8462-4", "Diastolic blood pressure", "vital-signs", "mm[Hg]", "mmHg", 50, 110, 0),
    ("29463-7", "Body weight", "vital-signs", "kg", "kg", 3, 140, 1),
    ("8302-2", "Body height", "vital-signs", "cm", "cm", 50, 200, 1),
    ("39156-5", "Body mass index (BMI) [Ratio]", "vital-signs", "kg/m2", "kg/m2", 14, 42, 1),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "vital-signs", "%", "%", 86, 100, 0),
    ("2339-0", "Glucose [Mass/volume] in Blood", "laboratory", "mg/dL", "mg/dL", 60, 260, 0),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", "mg/dL", 0.4, 2.5, 2),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "laboratory", "g/dL", "g/dL", 8, 18, 1),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "laboratory", "%", "%", 4.2, 11, 1),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", "mg/dL", 110, 320, 0),
    ("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", "mg/dL", 40, 450, 0),
    ("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", "mg/dL", 20, 95, 0),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "laboratory", "mmol/L", "mmol/L", 128, 150, 0),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "laboratory", "mmol/L", "mmol/L", 3.0, 5.8, 1),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "laboratory", "10*3/uL", "10*3/uL", 2.5, 16, 1),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "laboratory", "10*3/uL", "10*3/uL", 100, 480, 0),
]
CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "laboratory": "Laboratory"}
OFFSETS = ["+00:00", "+01:00", "+02:00", "-05:00", "-08:00", "+05:30", "+09:00", "-03:00"]
BIRTH_START = datetime(1930, 1, 1)
BIRTH_DAYS = (datetime(2020, 12, 31) - BIRTH_START).days
OBS_START = datetime(2015, 1, 1)
OBS_SECONDS = int((datetime(2025, 12, 31, 23, 59, 59) - OBS_START).total_seconds())


def patient_id(i):  # i in 1..PATIENTS
    return f"bp{i:04d}"


def obs_id(j):  # j in 1..PATIENTS*PER_PATIENT
    return f"bo{j:06d}"


def word(rng, syllables, n):
    return "".join(rng.choice(syllables) for _ in range(n)).capitalize()


def patient(i):
    rng = random.Random(f"{SEED}-patient-{i}")
    family = word(rng, FAMILY, rng.choice([2, 2, 3]))
    given = [word(rng, GIVEN, 2)] + ([word(rng, GIVEN, 2)] if rng.random() < 0.3 else [])
    birth = (BIRTH_START + timedelta(days=rng.randrange(BIRTH_DAYS + 1))).date().isoformat()
    return {
        "resourceType": "Patient",
        "id": patient_id(i),
        "identifier": [{
            "use": "usual",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "system": "urn:oid:1.2.36.146.595.217.0.1",
            "value": f"MRN{100000 + i * 7919 % 900000:06d}",
        }],
        "active": True,
        "name": [{"use": "official", "family": family, "given": given}],
        "gender": rng.choice(["female", "male", "female", "male", "other", "unknown"]),
        "birthDate": birth,
    }


def observation(j):
    rng = random.Random(f"{SEED}-observation-{j}")
    pat = (j - 1) // PER_PATIENT + 1
    code, display, cat, ucum, unit, lo, hi, dec = rng.choice(LOINC)
    when = OBS_START + timedelta(seconds=rng.randrange(OBS_SECONDS))
    off = rng.choice(OFFSETS)
    value = round(rng.uniform(lo, hi), dec)
    if dec == 0:
        value = int(value)
    return {
        "resourceType": "Observation",
        "id": obs_id(j),
        "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": cat, "display": CATEGORY_DISPLAY[cat]}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient_id(pat)}"},
        "effectiveDateTime": when.strftime("%Y-%m-%dT%H:%M:%S") + off,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": ucum},
    }


def psql_lines(db, sql):
    out = subprocess.run(["psql", db, "-XAtqc", sql], check=True, capture_output=True, text=True)
    return out.stdout.split()


def existing_ids(db, rtype, prefix):
    return set(psql_lines(db, f"SELECT id FROM resources WHERE resource_type = '{rtype}' "
                              f"AND NOT deleted AND id LIKE '{prefix}%'"))


class Loader:
    def __init__(self, base, concurrency):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.path = u.hostname, u.port or 80, u.path.rstrip("/")
        self.concurrency = concurrency
        self.headers = {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
        # Every FHIR request needs a bearer token (bench/lib.sh bench_token).
        token = os.environ.get("FHIRGATE_BENCH_TOKEN")
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.lock = threading.Lock()
        self.errors = []

    def run(self, label, rtype, todo, make):
        """PUT make(i) for every i in todo, CONCURRENCY at a time, with progress."""
        it = iter(todo)
        total = len(todo)
        done = [0]
        t0 = time.monotonic()

        def worker():
            conn = None
            while True:
                with self.lock:
                    i = next(it, None)
                if i is None:
                    break
                res = make(i)
                body = json.dumps(res, separators=(",", ":")).encode()
                url = f"{self.path}/{rtype}/{res['id']}"
                for attempt in range(5):
                    try:
                        if conn is None:
                            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                        conn.request("PUT", url, body, self.headers)
                        r = conn.getresponse()
                        text = r.read()
                        if r.status in (200, 201):
                            break
                        if r.status >= 500 and attempt < 4:
                            time.sleep(0.2 * (attempt + 1))
                            continue
                        with self.lock:
                            self.errors.append(f"PUT {url}: {r.status} {text[:300]!r}")
                        break
                    except (OSError, http.client.HTTPException) as e:
                        if conn is not None:
                            conn.close()
                        conn = None
                        if attempt == 4:
                            with self.lock:
                                self.errors.append(f"PUT {url}: {e!r}")
                        time.sleep(0.2 * (attempt + 1))
                with self.lock:
                    done[0] += 1
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        last = t0
        while any(t.is_alive() for t in threads):
            time.sleep(0.1)
            now = time.monotonic()
            if now - last >= 5:
                last = now
                print(f"  {label}: {done[0]:,}/{total:,} ({done[0] / (now - t0):,.0f}/s, "
                      f"{len(self.errors)} errors)", file=sys.stderr, flush=True)
        el = time.monotonic() - t0
        rate = total / el if el > 0 else 0
        print(f"{label}: loaded {total:,} in {el:.1f} s = {rate:,.0f}/s", flush=True)
        return rate


def cmd_load(a):
    pats = {patient_id(i): i for i in range(1, a.patients + 1)}
    obs = {obs_id(j): j for j in range(1, a.patients * a.per_patient + 1)}
    have_p = existing_ids(a.db, "Patient", "bp")
    have_o = existing_ids(a.db, "Observation", "bo")
    todo_p = [i for k, i in pats.items() if k not in have_p]
    todo_o = [j for k, j in obs.items() if k not in have_o]
    print(f"present: {len(have_p & pats.keys()):,}/{len(pats):,} Patients, "
          f"{len(have_o & obs.keys()):,}/{len(obs):,} Observations", flush=True)
    if not todo_p and not todo_o:
        print("nothing to load")
        return 0
    loader = Loader(a.base, a.concurrency)
    if todo_p:
        loader.run("Patient", "Patient", todo_p, patient)
    if todo_o:
        loader.run("Observation", "Observation", todo_o, observation)
    for e in loader.errors[:20]:
        print("error:", e, file=sys.stderr)
    if loader.errors:
        print(f"{len(loader.errors)} failed requests", file=sys.stderr)
        return 1
    return 0


def cmd_queries(a):
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"{SEED}-queries")
    with open(os.path.join(a.out, "obs-queries.txt"), "w") as f:
        for _ in range(a.n):
            p = patient_id(rng.randint(1, a.patients))
            code = rng.choice(LOINC)[0]
            since = (OBS_START + timedelta(days=rng.randrange(OBS_SECONDS // 86400))).date().isoformat()
            f.write(f"/fhir/Observation?patient={p}&code={code}&date=ge{since}\n")
    prefixes = {}
    with open(os.path.join(a.out, "patient-queries.txt"), "w") as f:
        for _ in range(a.n):
            p = patient(rng.randint(1, a.patients))
            name = p["name"][0]
            part = rng.choice([name["family"]] + name["given"])
            prefix = part[:3].lower()
            prefixes[prefix] = prefixes.get(prefix, 0) + 1
            birth = p["birthDate"] if rng.random() < 0.5 else p["birthDate"][:4]
            f.write(f"/fhir/Patient?name={prefix}&birthdate={birth}\n")
    # How many patients each prefix matches (any name part starts with it).
    parts = [[w.lower() for w in [patient(i)["name"][0]["family"]] + patient(i)["name"][0]["given"]]
             for i in range(1, a.patients + 1)]
    counts = sorted(sum(any(w.startswith(pf) for w in ws) for ws in parts) for pf in prefixes)
    print(f"queries: {a.n} per file in {a.out}; {len(prefixes)} distinct name prefixes matching "
          f"{counts[0]}..{counts[-1]} patients (median {counts[len(counts) // 2]})")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    ld = sub.add_parser("load")
    ld.add_argument("--base", default="http://127.0.0.1:18081/fhir")
    ld.add_argument("--db", default="postgres://root@127.0.0.1:5432/fhirgate_bench_search")
    ld.add_argument("--concurrency", type=int, default=int(os.environ.get("CONCURRENCY", 24)))
    q = sub.add_parser("queries")
    q.add_argument("--out", default="target/bench-search")
    q.add_argument("-n", type=int, default=5000)
    for p in (ld, q):
        p.add_argument("--patients", type=int, default=PATIENTS)
        p.add_argument("--per-patient", type=int, default=PER_PATIENT)
    a = ap.parse_args()
    # observation(j) belongs to patient (j - 1) // PER_PATIENT + 1
    globals()["PER_PATIENT"] = a.per_patient
    sys.exit(cmd_load(a) if a.cmd == "load" else cmd_queries(a))


if __name__ == "__main__":
    main()
