#!/usr/bin/env python3
"""Distinct copies of Synthea transaction Bundles for bench/import.sh.

    bench/synthea-copies.py OUT_DIR COPIES TAG FILE...

Each copy gets fresh urn:uuid fullUrls (every reference rewritten to match),
fresh resource ids, and every identifier value suffixed with TAG and the copy
number, so each copy is a distinct patient with distinct practitioners (no
ifNoneExist match between copies or runs). Contents are otherwise unchanged.
"""
import json
import sys
import uuid
from pathlib import Path


def rewrite(v, urls):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "reference" and isinstance(x, str) and x in urls:
                v[k] = urls[x]
            else:
                rewrite(x, urls)
    elif isinstance(v, list):
        for x in v:
            rewrite(x, urls)


def copy(bundle, tag):
    urls = {}
    for e in bundle.get("entry", []):
        new = str(uuid.uuid4())
        if "fullUrl" in e:
            urls[e["fullUrl"]] = "urn:uuid:" + new
            e["fullUrl"] = "urn:uuid:" + new
        r = e.get("resource", {})
        r["id"] = new
        for i in r.get("identifier", []):
            if "value" in i:
                i["value"] = f"{i['value']}-{tag}"
    rewrite(bundle, urls)
    return bundle


def main():
    out, copies, tag, files = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    out.mkdir(parents=True, exist_ok=True)
    sources = [Path(f).read_text() for f in files]
    for n in range(copies):
        for k, text in enumerate(sources):
            b = copy(json.loads(text), f"{tag}-{n}-{k}")
            (out / f"copy-{n:04d}-{k}.json").write_text(json.dumps(b))


if __name__ == "__main__":
    main()
