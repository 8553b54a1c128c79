#!/usr/bin/env python3
"""Synthea-shaped patients for the tenancy benchmarks (bench/tenancy.sh,
bench/fairness.sh): one transaction Bundle per patient, a directory per tenant.

    bench/tenancy-data.py OUT_DIR TENANTS PATIENTS OBSERVATIONS FILE...

OUT_DIR/t001 .. tNNN each get PATIENTS Bundles: a Patient copied from one of
the Synthea Bundles FILE... (fresh fullUrl; identifiers suffixed with tenant
and patient; family name one of 500, so `Patient?family=` matches a few) and
OBSERVATIONS of that Synthea patient's Observations in a row (vital signs,
labs, social history: codes, dates, values as generated), their `encounter`
dropped (Encounters are not copied) and `subject` pointed at the new Patient.
The same tree is imported whole into the single-tenant baseline.
"""
import copy
import json
import random
import sys
import uuid
from pathlib import Path


def patients(files):
    for f in files:
        b = json.loads(Path(f).read_text())
        entries = [e["resource"] for e in b.get("entry", [])]
        pat = next(r for r in entries if r["resourceType"] == "Patient")
        obs = [r for r in entries if r["resourceType"] == "Observation"]
        yield pat, obs


def bundle(rng, src_pat, src_obs, n_obs, tag, family):
    pid = "urn:uuid:" + str(uuid.UUID(int=rng.getrandbits(128)))
    pat = copy.deepcopy(src_pat)
    pat["id"] = pid[9:]
    for i in pat.get("identifier", []):
        if "value" in i:
            i["value"] = f"{i['value']}-{tag}"
    for n in pat.get("name", []):
        n["family"] = family
    entries = [{"fullUrl": pid, "resource": pat, "request": {"method": "POST", "url": "Patient"}}]
    start = rng.randrange(max(1, len(src_obs) - n_obs))
    for o in src_obs[start:start + n_obs]:
        o = copy.deepcopy(o)
        oid = str(uuid.UUID(int=rng.getrandbits(128)))
        o["id"] = oid
        o.pop("encounter", None)
        o["subject"] = {"reference": pid}
        entries.append({"fullUrl": "urn:uuid:" + oid, "resource": o,
                        "request": {"method": "POST", "url": "Observation"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def main():
    out, tenants, per, n_obs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    sources = list(patients(sys.argv[5:]))
    rng = random.Random(18)
    k = 0
    for t in range(1, tenants + 1):
        d = out / f"t{t:03d}"
        d.mkdir(parents=True, exist_ok=True)
        for p in range(per):
            src_pat, src_obs = sources[k % len(sources)]
            b = bundle(rng, src_pat, src_obs, n_obs, f"t{t:03d}-{p}", f"Fam{k % 500:03d}")
            (d / f"p{p:03d}.json").write_text(json.dumps(b))
            k += 1


if __name__ == "__main__":
    main()
