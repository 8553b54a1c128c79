#!/usr/bin/env python3
"""Client assertions for the token endpoint benchmark (bench/auth.sh).

    assertions.py keys DIR
        A P-384 key and a 2048-bit RSA key of a bench backend client:
        DIR/es384.pem, DIR/rs384.pem (private) and DIR/jwks.json (the public
        keys, kids bench-es384 and bench-rs384) for `fhirgate clients add
        --kind backend --jwks DIR/jwks.json`.
    assertions.py make DIR ALG N CLIENT_ID TOKEN_URL SCOPE OUT
        N request bodies (one a line) of a client_credentials grant
        (SMART App Launch 2.0.0 backend-services.html#request-access-token),
        each with a fresh client assertion signed ALG (ES384 or RS384): iss =
        sub = CLIENT_ID, aud = TOKEN_URL, a unique jti, exp 290 s from now (the
        server accepts at most 300 s ahead, so the file is good for a little
        under five minutes).

Needs PyJWT and cryptography (bench/auth.sh installs them into a venv).
"""
import json
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KIDS = {"ES384": "bench-es384", "RS384": "bench-rs384"}
FILES = {"ES384": "es384.pem", "RS384": "rs384.pem"}


def keys(d):
    d.mkdir(parents=True, exist_ok=True)
    made = {
        "ES384": ec.generate_private_key(ec.SECP384R1()),
        "RS384": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    jwks = []
    for alg, k in made.items():
        pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
        (d / FILES[alg]).write_bytes(pem)
        tool = ECAlgorithm if alg == "ES384" else RSAAlgorithm
        jwk = json.loads(tool.to_jwk(k.public_key()))
        jwk.update({"kid": KIDS[alg], "alg": alg, "use": "sig"})
        jwks.append(jwk)
    (d / "jwks.json").write_text(json.dumps({"keys": jwks}, indent=1))


def make(d, alg, n, client, url, scope, out):
    key = serialization.load_pem_private_key((d / FILES[alg]).read_bytes(), password=None)
    exp = int(time.time()) + 290
    head = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": JWT_BEARER,
    })
    with open(out, "w") as f:
        for _ in range(n):
            a = jwt.encode({"iss": client, "sub": client, "aud": url, "exp": exp,
                            "jti": uuid.uuid4().hex}, key, algorithm=alg, headers={"kid": KIDS[alg]})
            f.write(head + "&" + urllib.parse.urlencode({"client_assertion": a}) + "\n")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "keys":
        keys(Path(sys.argv[2]))
    elif len(sys.argv) == 9 and sys.argv[1] == "make" and sys.argv[3] in KIDS:
        make(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), *sys.argv[5:9])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
