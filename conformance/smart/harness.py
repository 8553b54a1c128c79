"""What the SMART suite's tests share (conformance/smart/README.md): the
gateway run.sh started (its URLs, users, clients, seeded ids, from the
environment), PKCE pairs, a user agent of plain HTTP that signs in and
consents through the authorization pages, and token endpoint helpers.

Nothing here knows the gateway's code: pages are read as HTML forms, like a
browser would, and every expectation in the tests comes from the SMART App
Launch 2.0.0 text (https://hl7.org/fhir/smart-app-launch/STU2/) or the RFCs
it builds on.
"""

import base64
import hashlib
import html
import json
import os
import re
import secrets
import time
from functools import cached_property
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import requests

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Failure(AssertionError):
    pass


def check(ok, message):
    """An assertion whose message says what the specification expects."""
    if not ok:
        raise Failure(message)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkce():
    """RFC 7636 4.1 and 4.2: a verifier (43-128 unreserved characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def query(url):
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


class Env:
    """The gateway and its registrations, as run.sh set them up."""

    def __init__(self):
        e = os.environ
        self.base = e["SMART_BASE"].rstrip("/")
        self.callback_port = int(e["SMART_CALLBACK_PORT"])
        self.redirect = e["SMART_REDIRECT"]
        self.operator = e["SMART_OPERATOR_TOKEN"]
        with open(e["SMART_SEED"]) as f:
            self.ids = json.load(f)
        self.doctor = (e["SMART_DOCTOR"], e["SMART_DOCTOR_PASSWORD"])
        self.patient_user = (e["SMART_PATIENT"], e["SMART_PATIENT_PASSWORD"])
        self.public = e["SMART_PUBLIC_CLIENT"]
        self.confidential = (e["SMART_CONF_CLIENT"], e["SMART_CONF_SECRET"])
        self.backend = e["SMART_BACKEND_CLIENT"]
        self.keys = {"RS384": e["SMART_RS384_KEY"], "ES384": e["SMART_ES384_KEY"]}
        self.artifacts = e.get("SMART_ARTIFACTS", "target/smart-artifacts")
        self.http = requests.Session()

    @cached_property
    def config(self):
        r = self.http.get(f"{self.base}/.well-known/smart-configuration", timeout=30)
        r.raise_for_status()
        return r.json()

    @property
    def authorize_endpoint(self):
        return self.config["authorization_endpoint"]

    @property
    def token_endpoint(self):
        return self.config["token_endpoint"]

    @property
    def patient_a(self):
        return self.ids["patient_a"]

    @property
    def patient_b(self):
        return self.ids["patient_b"]

    def fhir(self, method, path, token, **kw):
        headers = {"Accept": "application/fhir+json", **kw.pop("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, f"{self.base}/{path.lstrip('/')}", headers=headers,
                                 timeout=60, allow_redirects=False, **kw)

    def get(self, path, token, **kw):
        return self.fhir("GET", path, token, **kw)

    def token(self, form, auth=None):
        """POST the token endpoint; (status, JSON body or {}, response)."""
        r = self.http.post(self.token_endpoint, data=form, auth=auth, timeout=30, allow_redirects=False)
        try:
            body = r.json()
        except ValueError:
            body = {}
        return r.status_code, body, r

    def authorize_params(self, client_id, scope, verifier_challenge=None, **extra):
        """An authorization request (app-launch.html "Obtain authorization code")."""
        verifier, challenge = verifier_challenge or pkce()
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": self.redirect,
                  "scope": scope, "state": secrets.token_urlsafe(16), "aud": self.base,
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        params.update({k: v for k, v in extra.items() if v is not None})
        for k in [k for k, v in extra.items() if v is None]:
            params.pop(k, None)
        return verifier, params

    def code_flow(self, client_id, scope, user, patient=None, secret=None, uncheck=(), **extra):
        """Sign in and consent through the pages, exchange the code: (status, body)."""
        verifier, params = self.authorize_params(client_id, scope, **extra)
        location = Agent(self).walk(params, user, patient=patient, uncheck=uncheck)
        got = query(location)
        check("code" in got, f"a code at the redirect URI, got {location}")
        check(got.get("state") == params["state"], "the redirect echoes state exactly")
        form = {"grant_type": "authorization_code", "code": got["code"],
                "redirect_uri": self.redirect, "code_verifier": verifier}
        if secret is None:
            form["client_id"] = client_id
        status, body, _ = self.token(form, auth=(client_id, secret) if secret else None)
        return status, body


FIELD = re.compile(r'<input[^>]*\bname="([^"]+)"[^>]*>', re.I)


def form_fields(page):
    """The named inputs of a page: [(name, value, type, checked)]."""
    out = []
    for m in FIELD.finditer(page):
        tag = m.group(0)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        typ = re.search(r'\btype="([^"]*)"', tag)
        out.append((html.unescape(m.group(1)), html.unescape(value.group(1)) if value else "",
                    typ.group(1).lower() if typ else "text", " checked" in tag))
    return out


def form_action(page, page_url):
    m = re.search(r'<form[^>]*\baction="([^"]*)"', page, re.I)
    check(m is not None, f"a form on the page at {page_url}")
    return urljoin(page_url, html.unescape(m.group(1)))


class Agent:
    """A user agent of plain HTTP: one cookie jar, forms posted as a browser
    posts them, redirects not followed (the last Location is the app's)."""

    def __init__(self, env):
        self.env = env
        self.http = requests.Session()

    def authorize(self, params, method="GET"):
        url = self.env.authorize_endpoint
        if method == "GET":
            r = self.http.get(f"{url}?{urlencode(params)}", allow_redirects=False, timeout=30)
        else:
            r = self.http.post(url, data=params, allow_redirects=False, timeout=30)
        return r

    def submit(self, response, fields):
        """Posts the page's form with its hidden fields plus `fields` (a list of pairs)."""
        page = response.text
        data = [(n, v) for n, v, t, _ in form_fields(page) if t == "hidden"] + list(fields)
        return self.http.post(form_action(page, response.url), data=data, allow_redirects=False, timeout=30)

    def login(self, response, user):
        return self.submit(response, [("username", user[0]), ("password", user[1])])

    def pick(self, response, patient):
        radios = [v for n, v, t, _ in form_fields(response.text) if n == "patient" and t == "radio"]
        check(patient in radios, f"the picker lists patient {patient} (it lists {radios})")
        return self.submit(response, [("patient", patient), ("action", "select")])

    def consent(self, response, allow=True, uncheck=()):
        boxes = [(v, checked) for n, v, t, checked in form_fields(response.text) if n == "grant"]
        texts = re.findall(r'name="grant"[^>]*>\s*<label[^>]*>.*?<code>(.*?)</code>', response.text, re.S)
        keep = [v for (v, checked), text in zip(boxes, texts + [""] * len(boxes))
                if checked and html.unescape(text) not in uncheck]
        fields = [("grant", v) for v in keep] + [("decision", "allow" if allow else "deny")]
        return self.submit(response, fields)

    def walk(self, params, user, patient=None, uncheck=(), allow=True):
        """authorize -> login -> (picker) -> consent -> the Location sent to the app."""
        r = self.authorize(params)
        check(r.status_code == 200 and 'name="password"' in r.text,
              f"the authorize endpoint shows a login page ({r.status_code}: {r.headers.get('Location', '')})")
        r = self.login(r, user)
        if r.status_code == 200 and 'name="patient"' in r.text:
            r = self.pick(r, patient)
        if r.status_code == 200 and 'name="decision"' in r.text:
            r = self.consent(r, allow=allow, uncheck=uncheck)
        check(r.status_code in (302, 303) and r.headers.get("Location", "").startswith(self.env.redirect),
              f"redirected to the app ({r.status_code}, {r.headers.get('Location', '')}): {r.text[:300]}")
        return r.headers["Location"]


def wait_until(pred, timeout=15.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def load_key(path):
    from cryptography.hazmat.primitives import serialization
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def backend_token(env, alg="RS384", scope="system/Patient.rs"):
    """A Backend Services access token (client_credentials, private_key_jwt),
    signed by backend_client.py's assertion() with the registered key."""
    import backend_client
    key = load_key(env.keys[alg])
    status, body, _ = env.token({"grant_type": "client_credentials", "scope": scope,
                                 "client_assertion_type": JWT_BEARER,
                                 "client_assertion": backend_client.assertion(key, env.backend, env.token_endpoint)})
    check(status == 200 and body.get("access_token"), f"a backend token ({alg}, {scope}): {status} {body}")
    return body
