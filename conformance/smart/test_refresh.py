"""Refresh tokens (app-launch.html "Refresh access token";
scopes-and-launch-context.html "Scopes for requesting a refresh token";
RFC 6749 section 6), over plain HTTP through the pages.
"""

from harness import check

SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"


def _granted(ctx, client=None, secret=None, scope=SCOPE):
    status, body = ctx.env.code_flow(client or ctx.env.public, scope, ctx.env.patient_user, secret=secret)
    check(status == 200 and body.get("refresh_token"), f"a refresh token with offline_access: {status} {body}")
    return body


def _refresh(ctx, token, client_id=None, scope=None, auth=None):
    form = {"grant_type": "refresh_token", "refresh_token": token}
    if scope is not None:
        form["scope"] = scope
    if auth is None:
        form["client_id"] = client_id or ctx.env.public
    return ctx.env.token(form, auth=auth)


def test_refresh_response(ctx):
    """app-launch.html "Refresh access token" response: access_token, token_type, expires_in (required), scope, context."""
    first = _granted(ctx)
    status, body, r = _refresh(ctx, first["refresh_token"])
    check(status == 200, f"{status} {body}")
    check(body.get("access_token") and body["access_token"] != first["access_token"], "a new access token")
    check(str(body.get("token_type")).lower() == "bearer", f"token_type {body.get('token_type')}")
    check(isinstance(body.get("expires_in"), int) and body["expires_in"] > 0, f"expires_in {body.get('expires_in')}")
    check(set(body.get("scope", "").split()) == set(first["scope"].split()),
          f"scope {body.get('scope')!r} is the original {first['scope']!r}")
    check(body.get("patient") in (None, ctx.env.patient_a), f"patient context {body.get('patient')}")
    check("no-store" in r.headers.get("Cache-Control", ""), "Cache-Control: no-store")
    check(ctx.env.get(f"Patient/{ctx.env.patient_a}", body["access_token"]).status_code == 200, "the new token reads")


def test_refresh_rotation(ctx):
    """RFC 9700 4.14.2 (public clients: rotation or sender-constraining MUST): a refresh token, once replaced, is refused (invalid_grant)."""
    first = _granted(ctx)
    status, body, _ = _refresh(ctx, first["refresh_token"])
    check(status == 200, f"{status} {body}")
    new = body.get("refresh_token")
    check(new and new != first["refresh_token"], "a new refresh token replaces the old")
    status, again, _ = _refresh(ctx, first["refresh_token"])
    check(status == 400 and again.get("error") == "invalid_grant", f"the replaced refresh token: {status} {again}")


def test_refresh_wider_scope_refused(ctx):
    """app-launch.html "Refresh access token": scope "must be a strict sub-set ... (no new permissions can be obtained at refresh time)"."""
    for wider in ("user/*.rs", "patient/*.cruds"):
        first = _granted(ctx)
        status, body, _ = _refresh(ctx, first["refresh_token"], scope=f"{first['scope']} {wider}")
        check(status == 400 and body.get("error") == "invalid_scope", f"scope + {wider!r}: {status} {body}")


def test_refused_refresh_keeps_token(ctx):
    """RFC 6749 6: the old refresh token may be revoked only "after issuing a new refresh token"; a refused request issues none."""
    first = _granted(ctx)
    status, body, _ = _refresh(ctx, first["refresh_token"], scope=first["scope"] + " user/*.rs")
    check(status == 400 and body.get("error") == "invalid_scope", f"the wider request: {status} {body}")
    status, body, _ = _refresh(ctx, first["refresh_token"])
    check(status == 200 and body.get("access_token"),
          f"the same refresh token, asked properly after an invalid_scope answer: {status} {body}")


def test_refresh_narrower_scope(ctx):
    """app-launch.html "Refresh access token": a subset of the granted scopes may be asked for, and is what is granted."""
    first = _granted(ctx)
    status, body, _ = _refresh(ctx, first["refresh_token"], scope="patient/Observation.rs")
    check(status == 200, f"{status} {body}")
    check(set(body.get("scope", "").split()) <= set(first["scope"].split()) | {"patient/Observation.rs"},
          f"no more than asked: {body.get('scope')}")
    token = body["access_token"]
    check(ctx.env.get("Observation", token).status_code == 200, "the narrowed token searches Observations")
    check(ctx.env.get("MedicationRequest", token).status_code == 403, "but not MedicationRequests any more")


def test_refresh_bound_to_client(ctx):
    """app-launch.html: "A refresh token SHALL be bound to the same client_id"; another client's use is refused."""
    first = _granted(ctx)
    status, body, _ = _refresh(ctx, first["refresh_token"], auth=ctx.env.confidential)
    check(status == 400 and body.get("error") == "invalid_grant", f"{status} {body}")


def test_refresh_confidential_needs_its_secret(ctx):
    """app-launch.html "Refresh access token": a confidential app authenticates as at step 5 (RFC 6749 6)."""
    client_id, secret = ctx.env.confidential
    first = _granted(ctx, client=client_id, secret=secret)
    status, body, _ = _refresh(ctx, first["refresh_token"], client_id=client_id)
    check(status in (400, 401) and body.get("error") == "invalid_client", f"without the secret: {status} {body}")
    status, body, _ = _refresh(ctx, first["refresh_token"], auth=(client_id, secret))
    check(status == 200 and body.get("access_token"), f"with the secret: {status} {body}")


def test_garbage_refresh_token(ctx):
    """RFC 6749 5.2: an unknown refresh token is invalid_grant."""
    status, body, _ = _refresh(ctx, "not-a-refresh-token")
    check(status == 400 and body.get("error") == "invalid_grant", f"{status} {body}")
