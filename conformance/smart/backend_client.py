#!/usr/bin/env python3
"""A SMART Backend Services client written apart from the gateway
(conformance/smart/README.md), after SMART App Launch 2.0.0
backend-services.html and client-confidential-asymmetric.html:

  --make-key   generate a key pair (RS384: RSA 2048; ES384: EC P-384), write
               the private key (PEM, mode 0600) and print the JWKS to register:
                 fhirgate clients add X --kind backend --jwks FILE --scopes "system/*.rs"
  otherwise    discover the token endpoint ([base]/.well-known/smart-configuration),
               sign an authentication JWT (iss = sub = client_id, aud = token
               endpoint, exp <= 5 minutes, a fresh jti; header alg, kid, typ JWT),
               obtain an access token with grant_type=client_credentials, and
               read [base]/Patient with it. With --check-refusals it also checks
               that the server refuses a replayed assertion and one whose exp is
               more than five minutes ahead, and that a token revoked at the
               revocation endpoint no longer reads.

The key id is the key's RFC 7638 thumbprint, so the same key file always
signs under the kid registered for it. Exit status 0 when every step did what
the specification says, 1 otherwise (each problem printed).

Needs PyJWT, cryptography and requests.
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import time
import uuid

try:
    import jwt
    import requests
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError as e:  # pragma: no cover
    sys.exit(f"needs PyJWT, cryptography and requests ({e}): pip install PyJWT cryptography requests")

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64url_uint(n, length=None):
    raw = n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(key):
    """The public JWK of a private key (RFC 7517), without kid and alg."""
    pub = key.public_key()
    if isinstance(key, rsa.RSAPrivateKey):
        nums = pub.public_numbers()
        return {"kty": "RSA", "e": b64url_uint(nums.e), "n": b64url_uint(nums.n)}
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        nums = pub.public_numbers()
        return {"crv": "P-384", "kty": "EC", "x": b64url_uint(nums.x, 48), "y": b64url_uint(nums.y, 48)}
    raise SystemExit("the key must be RSA or EC P-384")


def thumbprint(jwk):
    """RFC 7638: SHA-256 over the required members, sorted, no whitespace."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def alg_of(key):
    return "RS384" if isinstance(key, rsa.RSAPrivateKey) else "ES384"


def jwks_of(key):
    jwk = public_jwk(key)
    jwk.update({"kid": thumbprint(jwk), "alg": alg_of(key), "use": "sig"})
    return {"keys": [jwk]}


def make_key(path, alg, jwks_path):
    if os.path.exists(path):
        raise SystemExit(f"{path} exists; not overwriting a key")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg == "RS384" \
        else ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    text = json.dumps(jwks_of(key), indent=2)
    if jwks_path:
        with open(jwks_path, "w") as f:
            f.write(text + "\n")
    print(text)
    print(f"private key written to {path}; register the JWKS above with:\n"
          f"  fhirgate clients add CLIENT_ID --kind backend --jwks {jwks_path or 'FILE'} "
          f"--scopes \"system/*.rs\"", file=sys.stderr)


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def assertion(key, client_id, aud, exp_in=240, jti=None):
    """The authentication JWT (client-confidential-asymmetric.html#authenticating-to-the-token-endpoint)."""
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + exp_in,
              "iat": now, "jti": jti or str(uuid.uuid4())}
    kid = jwks_of(key)["keys"][0]["kid"]
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return jwt.encode(claims, pem, algorithm=alg_of(key), headers={"kid": kid, "typ": "JWT"})


class Run:
    def __init__(self, base, verify):
        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.http.verify = verify
        self.problems = []

    def check(self, ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            self.problems.append(what)
        return ok

    def discover(self):
        r = self.http.get(f"{self.base}/.well-known/smart-configuration",
                          headers={"Accept": "application/json"}, timeout=30)
        if r.status_code == 200:
            conf = r.json()
            self.check("client-confidential-asymmetric" in conf.get("capabilities", []),
                       "smart-configuration lists client-confidential-asymmetric")
            self.check("private_key_jwt" in conf.get("token_endpoint_auth_methods_supported", []),
                       "smart-configuration lists private_key_jwt")
            return conf["token_endpoint"], conf.get("revocation_endpoint")
        print(f"note  no smart-configuration ({r.status_code}); using {self.base}/auth/token")
        return f"{self.base}/auth/token", f"{self.base}/auth/revoke"

    def token(self, endpoint, signed, scope):
        r = self.http.post(endpoint, data={
            "grant_type": "client_credentials", "scope": scope,
            "client_assertion_type": JWT_BEARER, "client_assertion": signed}, timeout=30)
        try:
            body = r.json()
        except ValueError:
            body = {}
        return r.status_code, body


def run(args):
    key = load_key(args.key)
    s = Run(args.base, not args.insecure)
    token_endpoint, revocation_endpoint = s.discover()
    status, body = s.token(token_endpoint, assertion(key, args.client_id, token_endpoint), args.scope)
    if not s.check(status == 200 and "access_token" in body,
                   f"client_credentials granted ({status}: {body.get('error_description', body.get('scope'))})"):
        return s
    s.check(str(body.get("token_type", "")).lower() == "bearer", "token_type is bearer")
    s.check(isinstance(body.get("expires_in"), int) and 0 < body["expires_in"] <= 300,
            f"expires_in {body.get('expires_in')} is at most 300 (backend-services.html)")
    s.check(isinstance(body.get("scope"), str) and body["scope"].strip() != "", f"scope granted: {body.get('scope')}")
    s.check("refresh_token" not in body, "no refresh token")
    access = body["access_token"]
    r = s.http.get(f"{s.base}/{args.resource}", headers={"Authorization": f"Bearer {access}",
                                                          "Accept": "application/fhir+json"}, timeout=60)
    ok = r.status_code == 200 and r.json().get("resourceType") == "Bundle"
    s.check(ok, f"GET {args.resource} with the token: {r.status_code}"
            + (f", total {r.json().get('total')}" if ok else ""))
    if args.check_refusals:
        refusals(s, key, args, token_endpoint, revocation_endpoint, access)
    return s


def refusals(s, key, args, token_endpoint, revocation_endpoint, access):
    jti = str(uuid.uuid4())
    once = assertion(key, args.client_id, token_endpoint, jti=jti)
    first, _ = s.token(token_endpoint, once, args.scope)
    again, body = s.token(token_endpoint, once, args.scope)
    s.check(first == 200 and again == 400 and body.get("error") == "invalid_client",
            f"a replayed jti is refused with invalid_client ({first}, then {again} {body.get('error')})")
    status, body = s.token(token_endpoint, assertion(key, args.client_id, token_endpoint, exp_in=360), args.scope)
    s.check(status == 400 and body.get("error") == "invalid_client",
            f"exp six minutes ahead is refused with invalid_client ({status} {body.get('error')})")
    r = s.http.get(f"{s.base}/{args.resource}", timeout=30)
    s.check(r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Bearer"),
            f"no token: 401 with a Bearer challenge ({r.status_code})")
    if revocation_endpoint:
        r = s.http.post(revocation_endpoint, data={
            "token": access, "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion(key, args.client_id, token_endpoint)}, timeout=30)
        s.check(r.status_code == 200, f"revocation answered {r.status_code}")
        r = s.http.get(f"{s.base}/{args.resource}", headers={"Authorization": f"Bearer {access}"}, timeout=30)
        s.check(r.status_code == 401 and 'error="invalid_token"' in r.headers.get("WWW-Authenticate", ""),
                f"the revoked token is refused: {r.status_code} {r.headers.get('WWW-Authenticate', '')}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--make-key", action="store_true", help="generate a key pair and print its JWKS")
    p.add_argument("--alg", choices=["RS384", "ES384"], default="RS384", help="with --make-key (default RS384)")
    p.add_argument("--jwks", help="with --make-key: also write the JWKS to this file")
    p.add_argument("--key", required=True, help="the private key (PEM)")
    p.add_argument("--base", help="the FHIR base URL, e.g. http://127.0.0.1:8080/fhir")
    p.add_argument("--client-id", help="the registered backend client id")
    p.add_argument("--scope", default="system/Patient.rs", help="scopes to request (default system/Patient.rs)")
    p.add_argument("--resource", default="Patient", help="the type to search (default Patient)")
    p.add_argument("--check-refusals", action="store_true",
                   help="also check replay, the five-minute limit, a missing token and revocation")
    p.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    args = p.parse_args()
    if args.make_key:
        make_key(args.key, args.alg, args.jwks)
        return 0
    if not args.base or not args.client_id:
        p.error("--base and --client-id are required (or --make-key)")
    s = run(args)
    if s.problems:
        print(f"{len(s.problems)} problem(s)", file=sys.stderr)
        return 1
    print("backend services: every step as specified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
