"""The authorization code grant's protections, driven over plain HTTP
through the same pages (harness.Agent): PKCE (app-launch.html
"Considerations for PKCE Support", RFC 7636), redirect URI matching and
error redirects (RFC 6749 3.1.2, 4.1.2.1), state, single-use codes
(RFC 6749 4.1.2), the token response (app-launch.html "Obtain access token")
and client authentication (client-confidential-symmetric.html).
"""

import secrets
import time

from harness import Agent, check, pkce, query

SCOPE = "launch/patient openid fhirUser patient/*.rs"


def _no_code(ctx, params, what):
    """The request must not yield a code: an error page, or an error redirect carrying state."""
    r = Agent(ctx.env).authorize(params)
    location = r.headers.get("Location", "")
    if r.status_code in (302, 303):
        got = query(location)
        check("code" not in got, f"{what}: a code was issued ({location})")
        check(got.get("error"), f"{what}: the redirect carries an error ({location})")
        if location.startswith(ctx.env.redirect):
            check(got.get("state") == params.get("state"), f"{what}: the error redirect echoes state")
        return got.get("error")
    check(r.status_code >= 400 and 'name="password"' not in r.text,
          f"{what}: refused before any login ({r.status_code})")
    return None


def _code(ctx, params, user=None):
    location = Agent(ctx.env).walk(params, user or ctx.env.patient_user)
    got = query(location)
    check("code" in got, f"a code: {location}")
    return got["code"]


def _exchange(ctx, code, verifier, client_id=None, redirect=None, auth=None):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect or ctx.env.redirect}
    if verifier is not None:
        form["code_verifier"] = verifier
    if auth is None:
        form["client_id"] = client_id or ctx.env.public
    return ctx.env.token(form, auth=auth)


def test_pkce_plain_refused(ctx):
    """app-launch.html "Considerations for PKCE Support": servers SHALL NOT support the plain method."""
    verifier = secrets.token_urlsafe(48)
    _, params = ctx.env.authorize_params(ctx.env.public, SCOPE, verifier_challenge=(verifier, verifier),
                                         code_challenge_method="plain")
    error = _no_code(ctx, params, "code_challenge_method=plain")
    check(error in (None, "invalid_request"), f"error {error} (RFC 7636 4.4.1: invalid_request)")


def test_pkce_missing_challenge_refused(ctx):
    """app-launch.html "Obtain authorization code": code_challenge and its method are required."""
    _, params = ctx.env.authorize_params(ctx.env.public, SCOPE, code_challenge=None, code_challenge_method=None)
    _no_code(ctx, params, "no code_challenge")
    _, params = ctx.env.authorize_params(ctx.env.public, SCOPE, code_challenge_method=None)
    _no_code(ctx, params, "a code_challenge without code_challenge_method (plain by default)")


def test_pkce_wrong_verifier_refused(ctx):
    """RFC 7636 4.6: a verifier that does not hash to the challenge gets invalid_grant."""
    _, params = ctx.env.authorize_params(ctx.env.public, SCOPE)
    status, body, _ = _exchange(ctx, _code(ctx, params), pkce()[0])
    check(status == 400 and body.get("error") == "invalid_grant", f"{status} {body}")


def test_pkce_missing_verifier_refused(ctx):
    """app-launch.html "Obtain authorization code": the EHR SHALL ensure the code_verifier is present and valid."""
    _, params = ctx.env.authorize_params(ctx.env.public, SCOPE)
    status, body, _ = _exchange(ctx, _code(ctx, params), None)
    check(status == 400 and body.get("error") in ("invalid_request", "invalid_grant"), f"{status} {body}")


def test_redirect_uri_mismatch_not_redirected(ctx):
    """RFC 6749 3.1.2.4 and 4.1.2.1: an unregistered redirect_uri gets an error page, never a redirect."""
    for uri in (ctx.env.redirect + "x", ctx.env.redirect.replace("/callback", "/other"),
                "https://attacker.example/callback"):
        _, params = ctx.env.authorize_params(ctx.env.public, SCOPE, redirect_uri=uri)
        r = Agent(ctx.env).authorize(params)
        check(r.status_code not in (301, 302, 303, 307, 308) and "Location" not in r.headers,
              f"redirect_uri {uri}: {r.status_code} Location {r.headers.get('Location')}")
        check(r.status_code >= 400 and 'name="password"' not in r.text, f"redirect_uri {uri}: an error page ({r.status_code})")


def test_redirect_uri_must_match_at_token(ctx):
    """RFC 6749 4.1.3: the token request's redirect_uri must be the authorization request's."""
    verifier, params = ctx.env.authorize_params(ctx.env.public, SCOPE)
    status, body, _ = _exchange(ctx, _code(ctx, params), verifier, redirect=ctx.env.redirect + "x")
    check(status == 400 and body.get("error") == "invalid_grant", f"{status} {body}")


def test_state_echoed_exactly(ctx):
    """app-launch.html "Obtain authorization code" response: state is "the exact value received from the client"."""
    state = "s t/a+t=e&?%" + secrets.token_urlsafe(16)
    _, params = ctx.env.authorize_params(ctx.env.public, SCOPE, state=state)
    location = Agent(ctx.env).walk(params, ctx.env.patient_user)
    check(query(location).get("state") == state, f"state came back as {query(location).get('state')!r}")


def test_consent_denied_redirects_access_denied(ctx):
    """RFC 6749 4.1.2.1: a refusal by the user is error=access_denied at the redirect URI, with state."""
    _, params = ctx.env.authorize_params(ctx.env.public, SCOPE)
    location = Agent(ctx.env).walk(params, ctx.env.patient_user, allow=False)
    got = query(location)
    check(got.get("error") == "access_denied" and "code" not in got, f"{location}")
    check(got.get("state") == params["state"], "state echoed")


def test_code_replay_refused_and_tokens_revoked(ctx):
    """RFC 6749 4.1.2: a code used twice is refused, and the tokens issued from it SHOULD be revoked (then 401)."""
    verifier, params = ctx.env.authorize_params(ctx.env.public, SCOPE)
    code = _code(ctx, params)
    status, first, _ = _exchange(ctx, code, verifier)
    check(status == 200, f"first exchange: {status} {first}")
    access = first["access_token"]
    check(ctx.env.get(f"Patient/{ctx.env.patient_a}", access).status_code == 200, "the token reads before the replay")
    status, body, _ = _exchange(ctx, code, verifier)
    check(status == 400 and body.get("error") == "invalid_grant", f"replay: {status} {body}")
    deadline = time.time() + 5  # revocations reach every server process within a poll
    while True:
        r = ctx.env.get(f"Patient/{ctx.env.patient_a}", access)
        if r.status_code == 401 or time.time() > deadline:
            break
        time.sleep(0.25)
    check(r.status_code == 401, f"the first exchange's access token after the replay: {r.status_code}")
    check('error="invalid_token"' in r.headers.get("WWW-Authenticate", ""), "RFC 6750 3.1 invalid_token")


def test_code_bound_to_client(ctx):
    """RFC 6749 4.1.3: a code issued to the public app is refused to the confidential one."""
    verifier, params = ctx.env.authorize_params(ctx.env.public, SCOPE)
    status, body, _ = _exchange(ctx, _code(ctx, params), verifier, auth=ctx.env.confidential)
    check(status == 400 and body.get("error") == "invalid_grant", f"{status} {body}")


def test_token_response(ctx):
    """app-launch.html "Obtain access token" response: fields, types, and Cache-Control no-store / Pragma no-cache."""
    verifier, params = ctx.env.authorize_params(ctx.env.public, SCOPE)
    status, body, r = _exchange(ctx, _code(ctx, params), verifier)
    check(status == 200, f"{status} {body}")
    check(r.headers.get("Content-Type", "").startswith("application/json"), "JSON")
    check(isinstance(body.get("access_token"), str) and body["access_token"], "access_token")
    check(str(body.get("token_type")).lower() == "bearer", f"token_type {body.get('token_type')}")
    check(isinstance(body.get("scope"), str) and body["scope"], "scope")
    check(isinstance(body.get("expires_in"), int) and 0 < body["expires_in"] <= 3600,
          f"expires_in {body.get('expires_in')} (SHOULD be no more than one hour)")
    check(body.get("patient") == ctx.env.patient_a, "patient context")
    check("no-store" in r.headers.get("Cache-Control", ""), f"Cache-Control {r.headers.get('Cache-Control')}")
    check("no-cache" in r.headers.get("Pragma", ""), f"Pragma {r.headers.get('Pragma')}")


def test_confidential_client_basic_auth(ctx):
    """client-confidential-symmetric.html: HTTP Basic with the secret; none or a wrong one is invalid_client (RFC 6749 5.2)."""
    client_id, secret = ctx.env.confidential
    verifier, params = ctx.env.authorize_params(client_id, SCOPE)
    code = _code(ctx, params)
    status, body, r = _exchange(ctx, code, verifier, client_id=client_id)
    check(status in (400, 401) and body.get("error") == "invalid_client", f"without the secret: {status} {body}")
    status, body, r = _exchange(ctx, code, verifier, auth=(client_id, secret + "x"))
    check(status == 401 and body.get("error") == "invalid_client", f"wrong secret: {status} {body}")
    check(r.headers.get("WWW-Authenticate", "").lower().startswith("basic"), "RFC 6749 5.2: a Basic challenge")
    verifier, params = ctx.env.authorize_params(client_id, SCOPE)
    status, body, _ = _exchange(ctx, _code(ctx, params), verifier, auth=(client_id, secret))
    check(status == 200 and body.get("access_token"), f"with the secret: {status} {body}")


def test_authorize_post(ctx):
    """app-launch.html (OIDC Core 3.1.2.1): the authorization endpoint SHALL support POST ("authorize-post")."""
    verifier, params = ctx.env.authorize_params(ctx.env.public, SCOPE)
    agent = Agent(ctx.env)
    r = agent.authorize(params, method="POST")
    check(r.status_code == 200 and 'name="password"' in r.text, f"POST answered {r.status_code}")
    r = agent.login(r, ctx.env.patient_user)
    r = agent.consent(r)
    got = query(r.headers.get("Location", ""))
    check(got.get("code") and got.get("state") == params["state"], f"{r.status_code} {r.headers.get('Location')}")
    status, body, _ = _exchange(ctx, got["code"], verifier)
    check(status == 200, f"{status} {body}")


def test_aud_must_be_this_server(ctx):
    """app-launch.html "Obtain authorization code": aud is the FHIR server's URL (prevents token leaks); another is refused."""
    _, params = ctx.env.authorize_params(ctx.env.public, SCOPE, aud="https://counterfeit.example/fhir")
    _no_code(ctx, params, "aud of another server")
