"""Standalone and EHR launches by a real client: the Python `fhirclient`
library (it finds the endpoints in the CapabilityStatement, builds the
authorization request with PKCE S256, exchanges the code, reads resources),
its user's part played by headless Chromium on the gateway's own login,
picker and consent pages (app-launch.html, scopes-and-launch-context.html).
"""

import time

import jwt
from fhirclient import client as fhirclient
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRPermissionDeniedException

from browser import sign_in
from harness import check, query

APP_SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"


def _client(ctx, scope=APP_SCOPE, launch=None):
    settings = {"app_id": ctx.env.public, "api_base": ctx.env.base + "/",
                "redirect_uri": ctx.env.redirect, "scope": scope}
    if launch:
        settings["launch_token"] = launch
    c = fhirclient.FHIRClient(settings=settings)
    # The scope already asks for launch/patient; fhirclient would add it again.
    c.wants_patient = False
    return c


def _launch(ctx, user, label, patient=None, launch=None, scope=APP_SCOPE):
    """A launch through Chromium: the client, the URL the app was sent back
    to, and the token response's access and refresh tokens (fhirclient keeps them)."""
    c = _client(ctx, scope=scope, launch=launch)
    url = c.authorize_url
    got = sign_in(ctx.browser, ctx.callback, url, user, label, patient=patient)
    c.handle_callback(got)
    auth = c.server.auth
    return {"client": c, "authorize_url": url, "redirect": got, "context": dict(c.launch_context or {}),
            "access_token": auth.access_token, "refresh_token": auth.refresh_token}


def patient_launch(ctx):
    """The patient user's standalone launch (shared by several checks)."""
    return ctx.once("patient-launch", lambda: _launch(ctx, ctx.env.patient_user, "standalone-patient"))


def doctor_launch(ctx):
    return ctx.once("doctor-launch", lambda: _launch(ctx, ctx.env.doctor, "standalone-doctor",
                                                     patient=ctx.env.patient_a))


def _verified_id_token(ctx, token):
    """OIDC Core 3.1.3.7: signature by a key of jwks_uri (RS256), iss, aud = client_id, exp."""
    header = jwt.get_unverified_header(token)
    check(header.get("alg") == "RS256", f"id_token alg {header.get('alg')} (RS256 SHALL be supported)")
    keys = jwt.PyJWKClient(ctx.env.config["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(token, keys.key, algorithms=["RS256"], audience=ctx.env.public,
                      issuer=ctx.env.config["issuer"], options={"require": ["exp", "iat", "iss", "aud", "sub"]})


def _resolve_fhir_user(ctx, fhir_user):
    """scopes-and-launch-context.html: fhirUser is absolute or relative to the FHIR base."""
    rel = fhir_user[len(ctx.env.base) + 1:] if fhir_user.startswith(ctx.env.base + "/") else fhir_user
    check("/" in rel and not rel.startswith("http"), f"fhirUser {fhir_user} is a resource URL on this server")
    return rel


def test_standalone_patient_launch(ctx):
    """app-launch.html "Launch App: Standalone Launch": fhirclient + Chromium, the patient user signs in and allows."""
    launch = patient_launch(ctx)
    params = query(launch["authorize_url"])
    check(params.get("code_challenge_method") == "S256" and params.get("code_challenge"), "fhirclient sent PKCE S256")
    check(query(launch["redirect"]).get("state") == params.get("state"), "the redirect echoes state")
    ctx_ = launch["context"]
    check(ctx_.get("patient") == ctx.env.patient_a, f"token response patient {ctx_.get('patient')} = the user's own record")
    check(launch["client"].patient_id == ctx.env.patient_a, "fhirclient took the patient context")
    check(str(ctx_.get("token_type", "")).lower() == "bearer", f"token_type {ctx_.get('token_type')}")
    check(isinstance(ctx_.get("scope"), str) and "patient/" in ctx_["scope"], f"scope granted: {ctx_.get('scope')}")
    check(launch["access_token"] and launch["refresh_token"], "an access token, and a refresh token (offline_access)")


def test_standalone_need_patient_banner(ctx):
    """scopes-and-launch-context.html launch context: need_patient_banner is a boolean ("context-banner" claimed)."""
    banner = patient_launch(ctx)["context"].get("need_patient_banner")
    check(isinstance(banner, bool), f"need_patient_banner is a JSON boolean: {banner!r}")


def test_standalone_reads_patient(ctx):
    """app-launch.html "Access FHIR API": fhirclient reads Patient/{patient} with the token."""
    c = patient_launch(ctx)["client"]
    p = Patient.read(ctx.env.patient_a, c.server)
    check(p.id == ctx.env.patient_a, f"read Patient {p.id}")
    check(p.name and p.name[0].family == "Smartsuite", "the seeded record")


def test_standalone_id_token_fhir_user(ctx):
    """scopes-and-launch-context.html "Scopes for requesting identity data": a valid RS256 id_token whose fhirUser is the patient."""
    launch = patient_launch(ctx)
    token = launch["context"].get("id_token")
    check(token, "an id_token (openid fhirUser were granted)")
    claims = _verified_id_token(ctx, token)
    fhir_user = claims.get("fhirUser")
    check(fhir_user, f"fhirUser claim present: {claims}")
    rel = _resolve_fhir_user(ctx, fhir_user)
    check(rel == f"Patient/{ctx.env.patient_a}", f"fhirUser {fhir_user} is the patient user's record")
    r = ctx.env.get(rel, launch["access_token"])
    check(r.status_code == 200, f"GET fhirUser with the token: {r.status_code}")


def test_standalone_other_patient_forbidden(ctx):
    """scopes-and-launch-context.html: patient/ scopes reach only the patient in context; the other patient is 403."""
    c = patient_launch(ctx)["client"]
    try:
        Patient.read(ctx.env.patient_b, c.server)
    except FHIRPermissionDeniedException:
        return
    check(False, "reading the other patient succeeded; expected 403")


def test_standalone_refresh_with_fhirclient(ctx):
    """app-launch.html "Refresh access token": fhirclient.reauthorize() gets a new access token that reads."""
    launch = patient_launch(ctx)
    c = launch["client"]
    before = c.server.auth.access_token
    time.sleep(1.1)  # a new iat, so that the new token cannot equal the old
    check(c.reauthorize(), "reauthorize succeeded")
    check(c.server.auth.access_token and c.server.auth.access_token != before, "a new access token")
    check(Patient.read(ctx.env.patient_a, c.server).id == ctx.env.patient_a, "the new token reads the patient")


def test_standalone_doctor_with_picker(ctx):
    """scopes-and-launch-context.html "Standalone apps" launch/patient: the doctor picks a patient; the token carries it."""
    launch = doctor_launch(ctx)
    check(launch["context"].get("patient") == ctx.env.patient_a, f"patient {launch['context'].get('patient')}")
    c = launch["client"]
    check(Patient.read(ctx.env.patient_a, c.server).id == ctx.env.patient_a, "reads the chosen patient")
    try:
        Patient.read(ctx.env.patient_b, c.server)
        check(False, "the doctor's patient/ token read the patient not chosen")
    except FHIRPermissionDeniedException:
        pass
    claims = _verified_id_token(ctx, launch["context"]["id_token"])
    rel = _resolve_fhir_user(ctx, claims.get("fhirUser", ""))
    check(rel == f"Practitioner/{ctx.env.ids['practitioner']}", f"fhirUser {claims.get('fhirUser')} is the doctor")


def test_ehr_launch(ctx):
    """app-launch.html "Launch App: EHR Launch": $smart-launch gives a launch id; the token's patient is the bound one."""
    r = ctx.env.http.post(f"{ctx.env.base}/$smart-launch", data={"patient": ctx.env.patient_b},
                          headers={"Authorization": f"Bearer {ctx.env.operator}"}, timeout=30)
    check(r.status_code == 200, f"POST $smart-launch: {r.status_code} {r.text[:200]}")
    launch_id = r.json().get("launch")
    check(launch_id, "a launch id")
    got = _launch(ctx, ctx.env.doctor, "ehr-launch", launch=launch_id, scope="openid fhirUser patient/*.rs")
    params = query(got["authorize_url"])
    check(params.get("launch") == launch_id and "launch" in params.get("scope", "").split(),
          f"fhirclient sent launch= and the launch scope: {params.get('scope')}")
    check(got["context"].get("patient") == ctx.env.patient_b,
          f"token response patient {got['context'].get('patient')} = the patient bound to the launch")
    check(Patient.read(ctx.env.patient_b, got["client"].server).id == ctx.env.patient_b, "reads the launch patient")


def test_ehr_launch_needs_a_token(ctx):
    """RFC 6750 3.1: $smart-launch without a bearer token is 401 with a Bearer challenge."""
    r = ctx.env.http.post(f"{ctx.env.base}/$smart-launch", data={"patient": ctx.env.patient_a}, timeout=30)
    check(r.status_code == 401, f"{r.status_code}")
    check(r.headers.get("WWW-Authenticate", "").startswith("Bearer"), "a Bearer challenge")
