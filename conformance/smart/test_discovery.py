"""Discovery: `[base]/.well-known/smart-configuration` (conformance.html),
the id_token keys (scopes-and-launch-context.html "Steps for using an ID
token") and the CapabilityStatement's security (conformance.html: "In
previous versions of SMART, some of these details were also conveyed in a
server's CapabilityStatement; this mechanism is now deprecated" - but clients
such as fhirclient still read it).
"""

from urllib.parse import urlsplit

from harness import check

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def _absolute(url):
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def test_well_known_is_json_whatever_accept(ctx):
    """conformance.html "Using .well-known": application/json regardless of Accept (none, text/html, fhir+json)."""
    url = f"{ctx.env.base}/.well-known/smart-configuration"
    for accept in (None, "text/html", "application/fhir+json"):
        headers = {"Accept": accept} if accept else {}
        r = ctx.env.http.get(url, headers=headers, timeout=30)
        check(r.status_code == 200, f"GET with Accept {accept}: {r.status_code} (it needs no token)")
        ctype = r.headers.get("Content-Type", "").split(";")[0].strip()
        check(ctype == "application/json", f"Accept {accept}: Content-Type {ctype}, SHALL be application/json")
        r.json()


def test_well_known_required_fields(ctx):
    """conformance.html "Metadata": the REQUIRED fields, with their types (Inferno well_known_capabilities_stu2)."""
    c = ctx.env.config
    for key in ("authorization_endpoint", "token_endpoint"):
        check(isinstance(c.get(key), str) and _absolute(c[key]), f"{key} is an absolute URL: {c.get(key)!r}")
    for key in ("capabilities", "grant_types_supported", "code_challenge_methods_supported"):
        check(isinstance(c.get(key), list) and c[key], f"{key} is a non-empty array: {c.get(key)!r}")
    check(all(isinstance(x, str) for x in c["capabilities"]), "capabilities is an array of strings")
    check("authorization_code" in c["grant_types_supported"],
          "grant_types_supported has authorization_code (SMART App Launch is supported)")
    check("client_credentials" in c["grant_types_supported"],
          "grant_types_supported has client_credentials (Backend Services are supported)")


def test_pkce_methods_s256_not_plain(ctx):
    """conformance.html: "The S256 method SHALL be included in this list, and the plain method SHALL NOT"."""
    methods = ctx.env.config["code_challenge_methods_supported"]
    check("S256" in methods, f"S256 listed: {methods}")
    check("plain" not in methods, f"plain not listed: {methods}")


def test_openid_fields_with_sso(ctx):
    """conformance.html "Metadata": issuer and jwks_uri are required with sso-openid-connect."""
    c = ctx.env.config
    check("sso-openid-connect" in c["capabilities"], "sso-openid-connect is claimed (the suite tests id_tokens)")
    check(isinstance(c.get("issuer"), str) and _absolute(c["issuer"]), f"issuer: {c.get('issuer')!r}")
    check(isinstance(c.get("jwks_uri"), str) and _absolute(c["jwks_uri"]), f"jwks_uri: {c.get('jwks_uri')!r}")


def test_capability_sets(ctx):
    """conformance.html "Capability Sets": patient and clinician access, standalone and EHR launch, all complete."""
    caps = set(ctx.env.config["capabilities"])
    client = {"client-public", "client-confidential-symmetric"} & caps
    sets = {
        "Patient Access for Standalone Apps": {"launch-standalone", "context-standalone-patient", "permission-patient"},
        "Patient Access for EHR Launch": {"launch-ehr", "context-ehr-patient", "permission-patient"},
        "Clinician Access for Standalone": {"launch-standalone", "permission-user", "permission-patient"},
        "Clinician Access for EHR Launch": {"launch-ehr", "context-ehr-patient", "context-ehr-encounter",
                                            "permission-user", "permission-patient"},
    }
    check(client, "at least one of client-public or client-confidential-symmetric")
    for name, needed in sets.items():
        check(needed <= caps, f"{name}: missing {sorted(needed - caps)}")
    # What the rest of the suite exercises, claimed as such.
    for cap in ("client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
                "permission-offline", "permission-v1", "permission-v2", "context-banner", "authorize-post"):
        check(cap in caps, f"capability {cap} (exercised by this suite) is listed")


def test_asymmetric_discovery(ctx):
    """client-confidential-asymmetric.html "Discovery requirements": private_key_jwt, RS384 and ES384."""
    c = ctx.env.config
    check("private_key_jwt" in c.get("token_endpoint_auth_methods_supported", []),
          f"token_endpoint_auth_methods_supported: {c.get('token_endpoint_auth_methods_supported')}")
    algs = c.get("token_endpoint_auth_signing_alg_values_supported", [])
    check({"RS384", "ES384"} <= set(algs), f"token_endpoint_auth_signing_alg_values_supported: {algs}")
    check("client_secret_basic" in c.get("token_endpoint_auth_methods_supported", []),
          "client_secret_basic listed (client-confidential-symmetric is claimed)")


def test_recommended_fields(ctx):
    """conformance.html "Metadata": RECOMMENDED scopes_supported, response_types_supported, introspection and revocation endpoints."""
    c = ctx.env.config
    check("code" in c.get("response_types_supported", []), f"response_types_supported: {c.get('response_types_supported')}")
    scopes = c.get("scopes_supported", [])
    for s in ("openid", "fhirUser", "launch", "launch/patient", "offline_access"):
        check(s in scopes, f"scopes_supported lists {s}: {scopes}")
    for key in ("introspection_endpoint", "revocation_endpoint"):
        check(_absolute(c.get(key)), f"{key}: {c.get(key)!r}")
        r = ctx.env.http.post(c[key], data={"token": "x"}, timeout=30)
        check(r.status_code != 404, f"{key} is served (POST answered {r.status_code})")


def test_jwks_bare_public_keys(ctx):
    """scopes-and-launch-context.html "sso-openid-connect": keys published as bare JWKs, RS256-capable, no private parts."""
    r = ctx.env.http.get(ctx.env.config["jwks_uri"], timeout=30)
    check(r.status_code == 200, f"jwks_uri answers {r.status_code}")
    keys = r.json().get("keys", [])
    check(keys, "the JWKS has keys")
    check(any(k.get("kty") == "RSA" and k.get("n") and k.get("e") for k in keys), "an RSA key (n, e) for RS256")
    for k in keys:
        check(k.get("kid"), f"each key has a kid: {k}")
        leaked = {"d", "p", "q", "dp", "dq", "qi", "k"} & set(k)
        check(not leaked, f"no private key members in the JWKS: {sorted(leaked)}")


def test_openid_configuration(ctx):
    """scopes-and-launch-context.html "Steps for using an ID token" 2: GET {issuer}/.well-known/openid-configuration."""
    issuer = ctx.env.config["issuer"]
    r = ctx.env.http.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=30)
    check(r.status_code == 200, f"GET {{issuer}}/.well-known/openid-configuration: {r.status_code} {r.text[:200]}")
    doc = r.json()
    check(doc.get("issuer") == issuer, f"its issuer {doc.get('issuer')!r} is the id_token issuer {issuer!r}")
    check(doc.get("jwks_uri") == ctx.env.config["jwks_uri"], "its jwks_uri is the one in smart-configuration")
    check("RS256" in doc.get("id_token_signing_alg_values_supported", []), "RS256 id_tokens")


def test_capability_statement_security(ctx):
    """conformance.html (deprecated CapabilityStatement route): rest.security service SMART-on-FHIR and the oauth-uris extension."""
    r = ctx.env.get("metadata", None)
    check(r.status_code == 200, f"GET [base]/metadata without a token: {r.status_code}")
    rest = r.json().get("rest", [])
    check(rest, "the CapabilityStatement has rest")
    security = rest[0].get("security", {})
    codings = [c for s in security.get("service", []) for c in s.get("coding", [])]
    check(any(c.get("system") == SECURITY_SERVICE and c.get("code") == "SMART-on-FHIR" for c in codings),
          f"security.service has {SECURITY_SERVICE}|SMART-on-FHIR: {codings}")
    ext = [e for e in security.get("extension", []) if e.get("url") == OAUTH_URIS]
    check(len(ext) == 1, f"one oauth-uris extension: {ext}")
    uris = {e.get("url"): e.get("valueUri") for e in ext[0].get("extension", [])}
    c = ctx.env.config
    check(uris.get("authorize") == c["authorization_endpoint"], f"authorize {uris.get('authorize')} = authorization_endpoint")
    check(uris.get("token") == c["token_endpoint"], f"token {uris.get('token')} = token_endpoint")
    for name, key in (("introspect", "introspection_endpoint"), ("revoke", "revocation_endpoint"),
                      ("register", "registration_endpoint"), ("manage", "management_endpoint")):
        if name in uris:
            check(uris[name] == c.get(key), f"oauth-uris {name} {uris[name]} = smart-configuration {key} {c.get(key)}")
