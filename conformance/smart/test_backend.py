"""Backend Services (backend-services.html) with client authentication by a
signed JWT (client-confidential-asymmetric.html "Authenticating to the
Token endpoint" and "Signature Verification"). Assertions are signed with
PyJWT and `cryptography` by backend_client.py, the client written apart from
the gateway; the keys are the ones run.sh registered (an RSA key for RS384,
a P-384 key for ES384).
"""

import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import backend_client
from harness import JWT_BEARER, check, load_key

SCOPE = "system/Patient.rs system/Observation.rs"


def _request(ctx, signed, scope=SCOPE, **overrides):
    form = {"grant_type": "client_credentials", "scope": scope,
            "client_assertion_type": JWT_BEARER, "client_assertion": signed}
    form.update(overrides)
    return ctx.env.token(form)


def _assertion(ctx, alg="RS384", key=None, **claims):
    """backend_client.assertion() with claims overridden where a check needs it."""
    key = key or load_key(ctx.env.keys[alg])
    if not claims:
        return backend_client.assertion(key, ctx.env.backend, ctx.env.token_endpoint)
    now = int(time.time())
    body = {"iss": ctx.env.backend, "sub": ctx.env.backend, "aud": ctx.env.token_endpoint,
            "exp": now + 240, "iat": now, "jti": str(uuid.uuid4())}
    body.update(claims)
    kid = backend_client.jwks_of(key)["keys"][0]["kid"]
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return jwt.encode(body, pem, algorithm=backend_client.alg_of(key), headers={"kid": kid, "typ": "JWT"})


def _refused(status, body, what, errors=("invalid_client",)):
    """RFC 6749 5.2 (backend-services.html "Issue Access Token"): 400, or 401 for invalid_client."""
    check(status in (400, 401) and body.get("error") in errors, f"{what}: {status} {body}")
    check("access_token" not in body, f"{what}: no token")


def _granted(ctx, alg):
    status, body, r = _request(ctx, _assertion(ctx, alg))
    check(status == 200, f"{alg}: {status} {body}")
    check(str(body.get("token_type", "")).lower() == "bearer", f"token_type {body.get('token_type')}")
    check(isinstance(body.get("expires_in"), int) and 0 < body["expires_in"] <= 300,
          f"expires_in {body.get('expires_in')} (SHALL be short-lived, SHOULD NOT exceed 300)")
    check(isinstance(body.get("scope"), str) and set(body["scope"].split()) <= set(SCOPE.split()),
          f"scope {body.get('scope')!r} within the request")
    check("refresh_token" not in body, "Refresh tokens SHOULD NOT be issued")
    check("no-store" in r.headers.get("Cache-Control", ""), "Cache-Control: no-store")
    token = body["access_token"]
    r = ctx.env.get("Patient", token)
    check(r.status_code == 200 and r.json().get("resourceType") == "Bundle", f"search Patient: {r.status_code}")
    ids = {e["resource"]["id"] for e in r.json().get("entry", [])}
    check({ctx.env.patient_a, ctx.env.patient_b} <= ids, "system/ scopes reach every patient")
    r = ctx.env.get("MedicationRequest", token)
    check(r.status_code == 403, f"a type outside the granted scopes: {r.status_code}")


def test_backend_rs384(ctx):
    """backend-services.html "Obtain access token": an RS384 assertion gets a short-lived bearer token that reads."""
    _granted(ctx, "RS384")


def test_backend_es384(ctx):
    """backend-services.html "Obtain access token": an ES384 (P-384) assertion, likewise."""
    _granted(ctx, "ES384")


def test_backend_replayed_jti_refused(ctx):
    """client-confidential-asymmetric.html "Signature Verification": a jti seen before is refused (replay)."""
    signed = _assertion(ctx)
    status, body, _ = _request(ctx, signed)
    check(status == 200, f"first use: {status} {body}")
    status, body, _ = _request(ctx, signed)
    _refused(status, body, "the same assertion again")
    jti = str(uuid.uuid4())
    status, _, _ = _request(ctx, _assertion(ctx, jti=jti))
    status2, body, _ = _request(ctx, _assertion(ctx, "ES384", jti=jti))
    _refused(status2, body, "a new assertion reusing a jti")


def test_backend_exp_more_than_five_minutes_refused(ctx):
    """client-confidential-asymmetric.html: exp "SHALL be no more than five minutes in the future"."""
    status, body, _ = _request(ctx, _assertion(ctx, exp=int(time.time()) + 360))
    _refused(status, body, "exp six minutes ahead")


def test_backend_expired_assertion_refused(ctx):
    """RFC 7523 3 / client-confidential-asymmetric.html: an expired assertion is refused."""
    now = int(time.time())
    status, body, _ = _request(ctx, _assertion(ctx, exp=now - 120, iat=now - 300))
    _refused(status, body, "exp two minutes ago")


def test_backend_unregistered_key_refused(ctx):
    """client-confidential-asymmetric.html "Signature Verification": a key not in the client's JWKS is refused."""
    for key in (rsa.generate_private_key(public_exponent=65537, key_size=2048), ec.generate_private_key(ec.SECP384R1())):
        status, body, _ = _request(ctx, _assertion(ctx, key=key, jti=str(uuid.uuid4())))
        _refused(status, body, f"an unregistered {backend_client.alg_of(key)} key")


def test_backend_wrong_claims_refused(ctx):
    """client-confidential-asymmetric.html: iss = sub = client_id, aud = the token URL; otherwise refused."""
    cases = {"aud is the FHIR base": {"aud": ctx.env.base},
             "sub is another client": {"sub": "someone-else"},
             "iss is another client": {"iss": ctx.env.public}}
    for what, claims in cases.items():
        status, body, _ = _request(ctx, _assertion(ctx, **claims))
        _refused(status, body, what)


def test_backend_tampered_signature_refused(ctx):
    """client-confidential-asymmetric.html "Signature Verification": the signature must verify."""
    head, payload, sig = _assertion(ctx).split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    status, body, _ = _request(ctx, f"{head}.{payload}.{flipped}")
    _refused(status, body, "a tampered signature")


def test_backend_refusal_status(ctx):
    """RFC 6749 5.2: 400 "unless specified otherwise"; 401 only with a WWW-Authenticate challenge (Inferno: a wrong client_assertion_type is 400)."""
    status, body, _ = _request(ctx, _assertion(ctx), client_assertion_type="not_an_assertion_type")
    check(status == 400 and body.get("error") in ("invalid_request", "invalid_client"),
          f"client_assertion_type=not_an_assertion_type: {status} {body}")
    head, payload, sig = _assertion(ctx).split(".")
    status, body, r = _request(ctx, f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}")
    check(status == 400 or (status == 401 and r.headers.get("WWW-Authenticate")),
          f"a bad signature (no Authorization header was sent): {status}, WWW-Authenticate "
          f"{r.headers.get('WWW-Authenticate')!r}; RFC 9110 15.5.2: a 401 MUST carry a challenge")


def test_backend_invalid_grant_type(ctx):
    """RFC 6749 5.2: an unknown grant_type is unsupported_grant_type (400)."""
    status, body, _ = _request(ctx, _assertion(ctx), grant_type="not_a_grant_type")
    check(status == 400 and body.get("error") == "unsupported_grant_type", f"{status} {body}")


def test_backend_scope_beyond_registration(ctx):
    """backend-services.html "Evaluate Requested Access": the scope SHALL stay within what the client is pre-authorized for."""
    status, body, _ = _request(ctx, _assertion(ctx), scope="system/MedicationRequest.rs")
    if status == 200:
        check("MedicationRequest" not in body.get("scope", ""), f"granted beyond registration: {body.get('scope')}")
        r = ctx.env.get("MedicationRequest", body["access_token"])
        check(r.status_code == 403, f"and it cannot search MedicationRequest: {r.status_code}")
    else:
        check(status == 400 and body.get("error") == "invalid_scope", f"{status} {body}")


def test_backend_client_script(ctx):
    """backend_client.py run as a program (--check-refusals): its own discovery, token, read, replay, exp, revocation."""
    import subprocess
    import sys
    for alg in ("RS384", "ES384"):
        r = subprocess.run([sys.executable, backend_client.__file__, "--base", ctx.env.base, "--client-id",
                            ctx.env.backend, "--key", ctx.env.keys[alg], "--check-refusals"],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"{alg}: exit {r.returncode}\n{r.stdout}{r.stderr}")
