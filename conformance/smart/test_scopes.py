"""Scopes (scopes-and-launch-context.html "Scopes for requesting clinical
data"): SMART v1 (`.read`) and v2 (`.rs`, `.r`, query-constrained) syntax,
and what patient/ scopes reach: the launch patient's compartment only, in
reads, searches, `_include` and `$everything`. Tokens are obtained through
the pages over plain HTTP as the patient user (harness.Env.code_flow).
"""

from harness import backend_token, check

VITALS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"


def _token(ctx, scope, user=None, patient=None):
    key = f"scope:{scope}:{(user or ctx.env.patient_user)[0]}"

    def make():
        status, body = ctx.env.code_flow(ctx.env.public, scope, user or ctx.env.patient_user, patient=patient)
        check(status == 200, f"scope {scope!r}: {status} {body}")
        return body
    return ctx.once(key, make)


def _ids(r, rtype=None):
    check(r.status_code == 200, f"{r.request.method} {r.url}: {r.status_code} {r.text[:200]}")
    bundle = r.json()
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", [])
            if rtype is None or e["resource"]["resourceType"] == rtype}


def _ids_of_type(ctx, *keys, rtype):
    return {f"{rtype}/{ctx.env.ids[k]}" for k in keys}


def test_v1_read_scope(ctx):
    """scopes-and-launch-context.html: v1 `.read` means v2 `.rs`, and v1 scopes SHOULD be returned as requested."""
    body = _token(ctx, "launch/patient patient/Observation.read")
    check("patient/Observation.read" in body["scope"].split(), f"granted scope {body['scope']!r} keeps the v1 form")
    token = body["access_token"]
    got = _ids(ctx.env.get("Observation", token), "Observation")
    check(got == _ids_of_type(ctx, "obs_a_vital", "obs_a_lab", rtype="Observation"), f"search: {sorted(got)}")
    check(ctx.env.get(f"Observation/{ctx.env.ids['obs_a_lab']}", token).status_code == 200, "read")
    check(ctx.env.get("MedicationRequest", token).status_code == 403, "another type is not granted: 403")


def test_v2_rs_scope(ctx):
    """scopes-and-launch-context.html: v2 `patient/Observation.rs` reads and searches the patient's Observations."""
    token = _token(ctx, "launch/patient patient/Observation.rs")["access_token"]
    got = _ids(ctx.env.get("Observation", token), "Observation")
    check(got == _ids_of_type(ctx, "obs_a_vital", "obs_a_lab", rtype="Observation"), f"search: {sorted(got)}")
    check(ctx.env.get(f"Observation/{ctx.env.ids['obs_a_vital']}", token).status_code == 200, "read")
    r = ctx.env.fhir("POST", "Observation", token, json={"resourceType": "Observation", "status": "final",
                                                          "code": {"text": "x"},
                                                          "subject": {"reference": f"Patient/{ctx.env.patient_a}"}},
                     headers={"Content-Type": "application/fhir+json"})
    check(r.status_code == 403, f"create without `c`: {r.status_code}")


def test_v2_read_without_search(ctx):
    """scopes-and-launch-context.html: `r` is read, `s` is search; `patient/Observation.r` reads but cannot search."""
    token = _token(ctx, "launch/patient patient/Observation.r")["access_token"]
    check(ctx.env.get(f"Observation/{ctx.env.ids['obs_a_vital']}", token).status_code == 200, "read with r")
    r = ctx.env.get("Observation", token)
    check(r.status_code == 403, f"search without s: {r.status_code}")


def test_v2_query_constrained_scope(ctx):
    """scopes-and-launch-context.html "Finer-grained resource constraints using search parameters": only matching resources."""
    scope = f"launch/patient patient/Observation.rs?category={VITALS}"
    body = _token(ctx, scope)
    check(f"patient/Observation.rs?category={VITALS}" in body["scope"].split(), f"granted as asked: {body['scope']}")
    token = body["access_token"]
    got = _ids(ctx.env.get("Observation", token), "Observation")
    check(got == _ids_of_type(ctx, "obs_a_vital", rtype="Observation"), f"search shows the vital signs only: {sorted(got)}")
    got = _ids(ctx.env.get("Observation", token, params={"category": "laboratory"}), "Observation")
    check(not got, f"a search for the laboratory ones finds none: {sorted(got)}")
    check(ctx.env.get(f"Observation/{ctx.env.ids['obs_a_vital']}", token).status_code == 200, "read a matching one")
    r = ctx.env.get(f"Observation/{ctx.env.ids['obs_a_lab']}", token)
    check(r.status_code in (403, 404), f"read a non-matching one: {r.status_code}")


def test_compartment_search(ctx):
    """scopes-and-launch-context.html: patient/ scopes are limited to the patient in context; searches show only theirs."""
    token = _token(ctx, "launch/patient patient/*.rs")["access_token"]
    a, b = ctx.env.patient_a, ctx.env.patient_b
    check(_ids(ctx.env.get("Patient", token), "Patient") == {f"Patient/{a}"}, "Patient search: only the patient")
    check(_ids(ctx.env.get("Observation", token), "Observation")
          == _ids_of_type(ctx, "obs_a_vital", "obs_a_lab", rtype="Observation"), "Observation search: only theirs")
    check(_ids(ctx.env.get("MedicationRequest", token), "MedicationRequest")
          == _ids_of_type(ctx, "med_a", rtype="MedicationRequest"), "MedicationRequest search: only theirs")
    for params in ({"subject": f"Patient/{b}"}, {"patient": b}):
        r = ctx.env.get("Observation", token, params=params)
        check(r.status_code == 403 or not _ids(r), f"Observation?{params}: {r.status_code} {r.text[:200]}")
    for path in (f"Patient/{b}", f"Observation/{ctx.env.ids['obs_b_vital']}", f"MedicationRequest/{ctx.env.ids['med_b']}"):
        r = ctx.env.get(path, token)
        check(r.status_code in (403, 404), f"read {path}: {r.status_code}")


def test_compartment_include_leaves_out_other_patient(ctx):
    """scopes-and-launch-context.html: an `_include` reaching the other patient (Patient.link) leaves them out."""
    token = _token(ctx, "launch/patient patient/*.rs")["access_token"]
    a, b = ctx.env.patient_a, ctx.env.patient_b
    system = backend_token(ctx.env, scope="system/Patient.rs")["access_token"]
    got = _ids(ctx.env.get("Patient", system, params={"_id": a, "_include": "Patient:link"}))
    check(f"Patient/{b}" in got, f"(control) with a system/ token the _include does reach {b}: {sorted(got)}")
    got = _ids(ctx.env.get("Patient", token, params={"_id": a, "_include": "Patient:link"}))
    check(f"Patient/{a}" in got and f"Patient/{b}" not in got, f"Patient?_id={a}&_include=Patient:link: {sorted(got)}")
    got = _ids(ctx.env.get("Observation", token, params={"_include": "Observation:subject"}))
    check(f"Patient/{b}" not in got and f"Patient/{a}" in got, f"Observation?_include=Observation:subject: {sorted(got)}")
    got = _ids(ctx.env.get("Patient", token, params={"_revinclude": "Observation:subject"}))
    check(f"Observation/{ctx.env.ids['obs_b_vital']}" not in got, f"_revinclude: {sorted(got)}")


def test_compartment_everything(ctx):
    """scopes-and-launch-context.html: Patient/$everything of the other patient is refused; of the launch patient, only theirs."""
    token = _token(ctx, "launch/patient patient/*.rs")["access_token"]
    r = ctx.env.get(f"Patient/{ctx.env.patient_b}/$everything", token)
    check(r.status_code == 403, f"Patient/{ctx.env.patient_b}/$everything: {r.status_code} {r.text[:200]}")
    got = _ids(ctx.env.get(f"Patient/{ctx.env.patient_a}/$everything", token))
    others = {i for i in got if ctx.env.patient_b in i or i.split("/")[1] in
              (ctx.env.ids["obs_b_vital"], ctx.env.ids["med_b"])}
    check(f"Patient/{ctx.env.patient_a}" in got and not others, f"$everything of the launch patient: {sorted(got)}")


def test_user_scope_doctor(ctx):
    """scopes-and-launch-context.html "user/": the doctor's user/ token (no launch patient) reaches both patients."""
    token = _token(ctx, "openid fhirUser user/Observation.rs", user=ctx.env.doctor)["access_token"]
    got = _ids(ctx.env.get("Observation", token), "Observation")
    want = _ids_of_type(ctx, "obs_a_vital", "obs_a_lab", "obs_b_vital", rtype="Observation")
    check(want <= got, f"all seeded Observations: {sorted(got)}")
    check(ctx.env.get("MedicationRequest", token).status_code == 403, "a type not granted: 403")


def test_patient_user_cannot_get_user_scope(ctx):
    """scopes-and-launch-context.html "SMART's scopes are used to delegate access": never more than the user has."""
    status, body = ctx.env.code_flow(ctx.env.public, "launch/patient user/Observation.rs patient/Observation.rs",
                                     ctx.env.patient_user)
    if status == 200:
        check(not any(s.startswith("user/") for s in body["scope"].split()),
              f"a patient user was granted a user/ scope: {body['scope']}")
        got = _ids(ctx.env.get("Observation", body["access_token"]), "Observation")
        check(f"Observation/{ctx.env.ids['obs_b_vital']}" not in got, "and sees no other patient's Observations")


def test_system_scope_sees_all(ctx):
    """backend-services.html: system/ scopes are not limited to a patient (the contrast to the checks above)."""
    token = backend_token(ctx.env, scope="system/Observation.rs")["access_token"]
    got = _ids(ctx.env.get("Observation", token), "Observation")
    check(_ids_of_type(ctx, "obs_a_vital", "obs_a_lab", "obs_b_vital", rtype="Observation") <= got, f"{sorted(got)}")


def test_consent_untick_narrows_grant(ctx):
    """app-launch.html "Obtain access token": the granted scope "can be different from the scopes requested"; an unticked one is not granted."""
    scope = "launch/patient patient/Observation.rs patient/MedicationRequest.rs"
    status, body = ctx.env.code_flow(ctx.env.public, scope, ctx.env.patient_user, uncheck=("patient/MedicationRequest.rs",))
    check(status == 200, f"{status} {body}")
    check("patient/MedicationRequest.rs" not in body["scope"].split() and "patient/Observation.rs" in body["scope"].split(),
          f"granted {body['scope']!r} without the unticked scope")
    check(ctx.env.get("MedicationRequest", body["access_token"]).status_code == 403, "the unticked type is refused")
    check(ctx.env.get("Observation", body["access_token"]).status_code == 200, "the ticked one reads")
