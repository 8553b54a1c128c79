"""Token introspection (token-introspection.html, RFC 7662) and revocation
(RFC 7009, the smart-configuration's revocation_endpoint). The introspecting
party authenticates as token-introspection.html "Authorization to perform
Token Introspection" allows: "an appropriately-scoped SMART App or SMART
Backend Service bearer token in the Authorization header".
"""

import json
import time

import jwt

from harness import backend_token, check

SCOPE = "launch/patient openid fhirUser patient/*.rs"


def _introspect(ctx, token, bearer=None, auth=None, raw=False):
    headers = {"Accept": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    r = ctx.env.http.post(ctx.env.config["introspection_endpoint"], data={"token": token},
                          headers=headers, auth=auth, timeout=30)
    return r if raw else (r.status_code, r.json() if r.content else {})


def _introspector(ctx):
    return ctx.once("introspector", lambda: backend_token(ctx.env, scope="system/Patient.rs")["access_token"])


def _app_token(ctx):
    def make():
        status, body = ctx.env.code_flow(ctx.env.public, SCOPE, ctx.env.patient_user)
        check(status == 200, f"an app token: {status} {body}")
        return body
    return ctx.once("introspected-app-token", make)


def test_introspect_active_token(ctx):
    """token-introspection.html "Required fields": active, scope, client_id and exp as in the token response."""
    body = _app_token(ctx)
    status, got = _introspect(ctx, body["access_token"], bearer=_introspector(ctx))
    check(status == 200, f"{status} {got}")
    check(got.get("active") is True, f"active is true: {got}")
    check(set(got.get("scope", "").split()) == set(body["scope"].split()),
          f"scope {got.get('scope')!r} as in the token response {body['scope']!r}")
    check(got.get("client_id") == ctx.env.public, f"client_id {got.get('client_id')}")
    check(isinstance(got.get("exp"), int), f"exp is an integer timestamp: {got.get('exp')!r}")
    now = time.time()
    check(now < got["exp"] <= now + body["expires_in"] + 5, f"exp {got['exp']} agrees with expires_in {body['expires_in']}")


def test_introspect_launch_context_and_id_token_claims(ctx):
    """token-introspection.html "Conditional fields": patient; iss and sub of the id_token (SHALL); fhirUser (SHOULD)."""
    body = _app_token(ctx)
    status, got = _introspect(ctx, body["access_token"], bearer=_introspector(ctx))
    check(status == 200 and got.get("active") is True, f"{status} {got}")
    check(got.get("patient") == body.get("patient") == ctx.env.patient_a, f"patient {got.get('patient')}")
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    check(got.get("iss") == id_claims["iss"], f"iss {got.get('iss')} = the id_token's {id_claims['iss']}")
    check(got.get("sub") == id_claims["sub"], f"sub {got.get('sub')} = the id_token's {id_claims['sub']}")
    # fhirUser may be absolute or relative to the base (scopes-and-launch-context.html): compared resolved.
    resolve = lambda u: (u or "").removeprefix(ctx.env.base + "/")  # noqa: E731
    check(resolve(got.get("fhirUser")) == resolve(id_claims.get("fhirUser")) == f"Patient/{ctx.env.patient_a}",
          f"fhirUser {got.get('fhirUser')} names the id_token's {id_claims.get('fhirUser')}")


def test_introspect_garbage_inactive(ctx):
    """RFC 7662 2.2: a token that is not active gets exactly {"active": false}."""
    for token in ("garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", _app_token(ctx)["access_token"] + "x"):
        status, got = _introspect(ctx, token, bearer=_introspector(ctx))
        check(status == 200 and got == {"active": False}, f"token {token[:16]}...: {status} {got}")


def test_revoked_token_inactive_and_refused(ctx):
    """RFC 7009 2.1 + RFC 7662 2.2: a revoked access token introspects as exactly {"active": false} and reads 401."""
    status, body = ctx.env.code_flow(ctx.env.public, SCOPE, ctx.env.patient_user)
    check(status == 200, f"{status} {body}")
    access = body["access_token"]
    check(ctx.env.get(f"Patient/{ctx.env.patient_a}", access).status_code == 200, "it reads before")
    r = ctx.env.http.post(ctx.env.config["revocation_endpoint"],
                          data={"token": access, "client_id": ctx.env.public}, timeout=30)
    check(r.status_code == 200, f"RFC 7009 2.2: revocation answers 200 ({r.status_code} {r.text[:200]})")
    deadline = time.time() + 5
    while True:
        status, got = _introspect(ctx, access, bearer=_introspector(ctx))
        if got == {"active": False} or time.time() > deadline:
            break
        time.sleep(0.25)
    check(status == 200 and got == {"active": False}, f"introspected after revocation: {status} {got}")
    r = ctx.env.get(f"Patient/{ctx.env.patient_a}", access)
    check(r.status_code == 401 and 'error="invalid_token"' in r.headers.get("WWW-Authenticate", ""),
          f"read after revocation: {r.status_code} {r.headers.get('WWW-Authenticate')}")


def test_revoke_unknown_token_is_200(ctx):
    """RFC 7009 2.2: "invalid tokens do not cause an error response" (200)."""
    r = ctx.env.http.post(ctx.env.config["revocation_endpoint"],
                          data={"token": "never-issued", "client_id": ctx.env.public}, timeout=30)
    check(r.status_code == 200, f"{r.status_code} {r.text[:200]}")


def test_introspect_needs_authorization(ctx):
    """RFC 7662 2.1: "the endpoint MUST also require some form of authorization"; without any, 401."""
    r = _introspect(ctx, _app_token(ctx)["access_token"], raw=True)
    check(r.status_code == 401, f"no authorization: {r.status_code} {r.text[:200]}")
    check(b'"active":true' not in r.content.replace(b" ", b""), "and no token data")


def test_introspect_response_headers(ctx):
    """RFC 7662 2.2: the response is application/json."""
    r = _introspect(ctx, _app_token(ctx)["access_token"], bearer=_introspector(ctx), raw=True)
    check(r.headers.get("Content-Type", "").startswith("application/json"), f"{r.headers.get('Content-Type')}")
    json.loads(r.text)


def test_introspect_by_confidential_client(ctx):
    """RFC 7662 2.1 (client credentials as at the token endpoint): the confidential app introspects its own token."""
    client_id, secret = ctx.env.confidential
    status, body = ctx.env.code_flow(client_id, SCOPE, ctx.env.patient_user, secret=secret)
    check(status == 200, f"{status} {body}")
    status, got = _introspect(ctx, body["access_token"], auth=(client_id, secret))
    check(status == 200 and got.get("active") is True and got.get("client_id") == client_id, f"{status} {got}")
