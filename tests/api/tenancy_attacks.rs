//! The cross-tenant attack table of issue #18, by id: each attack from clinic
//! A (or the default tenant) names a resource of clinic B, and is answered
//! exactly as the same request naming an id or identifier that exists
//! nowhere: the same status, OperationOutcome issue codes and diagnostics
//! (404, never 403, so the answer is no oracle of what B holds), and B's
//! resource is unchanged when read at B's own base. Tokens across bases are
//! here too. Searches, includes, chains, `_has`, `$everything`, history and
//! paging are in tenancy_attacks_search.rs; transactions and conditional
//! writes in tenancy_attacks_writes.rs; the audit trail in
//! tenancy_attacks_audit.rs; the shared setup in tenancy_attacks_support.rs.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{bearer_headers, patient, system_token, FHIR_JSON};
use crate::tenancy_attacks_support::{
    assert_no_mention, assert_untouched, no_body, populate, same_as_control, unknown_id, world,
    Side, MRN_SYSTEM,
};

/// 1. read, vread, instance history (and a conditional read) of B's ids at
///    A's base: 404, as for an id never created.
#[tokio::test]
async fn reading_another_clinics_ids_is_404_as_for_an_id_never_created() {
    let w = world().await;
    let unknown = unknown_id();
    for (t, id) in [
        ("Patient", &w.db.patient),
        ("Observation", &w.db.obs),
        ("Practitioner", &w.db.prac),
    ] {
        // Real at B.
        assert_eq!(w.b.get(&format!("{t}/{id}")).await.status(), 200);
        for suffix in ["", "/_history/1"] {
            let got = same_as_control(
                &w.a,
                Method::GET,
                |i| format!("{t}/{i}{suffix}"),
                id,
                &unknown,
                &[],
                no_body,
            )
            .await;
            assert_eq!(got.status, 404, "{t}/{id}{suffix}: {got:?}");
            assert_eq!(got.kind, "OperationOutcome");
        }
        // Instance history: an id that never existed here is 404, as its
        // read is; B's id alike.
        let path = |i: &str| format!("{t}/{i}/_history");
        let got = same_as_control(&w.a, Method::GET, path, id, &unknown, &[], no_body).await;
        assert_eq!(got.status, 404, "{got:?}");
        assert_eq!(got.kind, "OperationOutcome");
        let h = w.a.get(&path(id)).await.json::<Value>().await.unwrap();
        assert_no_mention(&h, &w.db.secrets(), "history at A");
        // A conditional read naming B's current version: not a 304.
        let got = same_as_control(
            &w.a,
            Method::GET,
            |i| format!("{t}/{i}"),
            id,
            &unknown,
            &[("if-none-match", "W/\"1\"")],
            no_body,
        )
        .await;
        assert_eq!(got.status, 404);
        // HEAD (not served here, 405): the same for both.
        let head = |i: &str| w.a.client.head(w.a.url(&format!("{t}/{i}"))).send();
        assert_eq!(
            head(id).await.unwrap().status(),
            head(&unknown).await.unwrap().status()
        );
    }
    // A resource B deleted: 410 at B, and at A still 404 like any id (no
    // "deleted" oracle); PUT of it at A creates A's own version 1.
    let gone = &w.db.patient2;
    let del =
        w.b.send(Method::DELETE, &format!("Patient/{gone}"), &[], None)
            .await;
    assert_eq!(del.status(), 204);
    assert_eq!(w.b.get(&format!("Patient/{gone}")).await.status(), 410);
    for suffix in ["", "/_history/2", "/_history/1"] {
        let got = same_as_control(
            &w.a,
            Method::GET,
            |i| format!("Patient/{i}{suffix}"),
            gone,
            &unknown,
            &[],
            no_body,
        )
        .await;
        assert_eq!(got.status, 404, "{suffix}: {got:?}");
    }
    let put = |i: &str| {
        let mut p = patient("Intruder", "MRN-X");
        p["id"] = json!(i);
        Some(p)
    };
    let path = |i: &str| format!("Patient/{i}");
    let got = same_as_control(&w.a, Method::PUT, path, gone, &unknown_id(), &[], put).await;
    assert_eq!(
        (got.status, got.version.as_deref()),
        (201, Some("1")),
        "{got:?}"
    );
    assert_eq!(w.b.get(&path(gone)).await.status(), 410);
}

/// 2. DELETE, PATCH (JSON Patch), PUT with If-Match and PUT of B's id at A:
///    as for a never-seen id (PUT of a new id is update-as-create,
///    http.html#upsert: A gets a resource of its own under that id), and
///    B's resource unchanged at B.
#[tokio::test]
async fn writing_another_clinics_ids_acts_as_on_an_id_never_created() {
    let w = world().await;
    let (a, b, bid) = (&w.a, &w.b, w.db.patient.clone());
    let path = |i: &str| format!("Patient/{i}");
    let unknown = unknown_id();
    let got = same_as_control(a, Method::DELETE, path, &bid, &unknown, &[], no_body).await;
    assert_eq!(got.status, 404, "{got:?}");
    // JSON Patch, and FHIRPath Patch (a Parameters resource).
    let json_patch = json!([{"op": "replace", "path": "/gender", "value": "male"}]);
    let fhirpath_patch = json!({"resourceType": "Parameters", "parameter": [{"name": "operation",
        "part": [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.gender"},
                 {"name": "value", "valueCode": "male"}]}]});
    for (ct, ops) in [
        ("application/json-patch+json", &json_patch),
        (FHIR_JSON, &fhirpath_patch),
    ] {
        let got = same_as_control(
            a,
            Method::PATCH,
            path,
            &bid,
            &unknown,
            &[("content-type", ct)],
            |_| Some(ops.clone()),
        )
        .await;
        assert_eq!(got.status, 404, "{ct}: {got:?}");
    }
    let intruder = |i: &str| {
        let mut p = patient("Intruder", "MRN-X");
        p["id"] = json!(i);
        Some(p)
    };
    // If-Match naming B's version: the precondition fails as for no resource.
    let got = same_as_control(
        a,
        Method::PUT,
        path,
        &bid,
        &unknown,
        &[("if-match", "W/\"1\"")],
        intruder,
    )
    .await;
    assert_eq!(got.status, 412, "{got:?}");
    assert_untouched(b, &path(&bid), "Shared").await;
    // The plain PUT: the control gets a new id of its own, so B's id is
    // compared with another id never seen.
    let got = same_as_control(a, Method::PUT, path, &bid, &unknown_id(), &[], intruder).await;
    assert_eq!(
        (got.status, got.version.as_deref()),
        (201, Some("1")),
        "{got:?}"
    );
    // A now has a Patient of its own under that id; B's is as it was.
    assert_eq!(a.ok(&path(&bid)).await["name"][0]["family"], "Intruder");
    assert_untouched(b, &path(&bid), "Shared").await;
    let found = b.ok("Patient?family=Intruder").await;
    assert_eq!(found["total"], 0, "{found}");
    // Two tenants now hold Patient/<bid>, and B's Observation references
    // B's: from A, that id leads to A's copy alone (its one version), never
    // to B's versions or to what references B's.
    let h = a.ok(&format!("Patient/{bid}/_history")).await;
    assert_eq!(h["entry"].as_array().map_or(0, Vec::len), 1, "{h}");
    assert_eq!(h["entry"][0]["resource"]["name"][0]["family"], "Intruder");
    let v1 = a.ok(&format!("Patient/{bid}/_history/1")).await;
    assert_eq!(v1["name"][0]["family"], "Intruder", "{v1}");
    for q in [
        format!("Patient?_id={bid}&_revinclude=Observation:subject"),
        format!("Patient/{bid}/$everything"),
        format!("Observation?subject=Patient/{bid}"),
        "Observation?subject:Patient.family=Intruder".to_owned(),
        format!("Patient?_id={bid}&_has:Observation:subject:code=8480-6"),
    ] {
        let got = a.ok(&q).await;
        assert_no_mention(&got["entry"], &w.db.secrets()[1..], &q);
        for e in got["entry"].as_array().into_iter().flatten() {
            let r = &e["resource"];
            assert!(
                r["resourceType"] == "Patient" && r["id"] == bid.as_str(),
                "{q}: {got}"
            );
        }
    }
    // Deleting A's own copy deletes nothing of B's.
    assert_eq!(
        a.send(Method::DELETE, &path(&bid), &[], None)
            .await
            .status(),
        204
    );
    assert_untouched(b, &path(&bid), "Shared").await;
    assert_untouched(b, &path(&w.db.patient2), &w.db.family2).await;
}

/// 9. B's token works with B's ids at B's base, and is 401 at A's and at
///    the default base, also once B's base has verified (and cached) it.
#[tokio::test]
async fn a_clinics_token_opens_its_own_base_only() {
    let w = world().await;
    let token = system_token(&w.b_clinic.authority, "system/*.rs");
    let client = reqwest::Client::builder()
        .default_headers(bearer_headers(&token))
        .build()
        .unwrap();
    let bid = &w.db.patient;
    let at_b = client
        .get(w.b.url(&format!("Patient/{bid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(at_b.status(), 200);
    for url in [
        w.a.url(&format!("Patient/{bid}")),
        w.a.url(&format!("Patient/{}", w.da.patient)),
        w.a.url("Patient"),
        w.app.url(&format!("Patient/{bid}")),
    ] {
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{url}");
        assert!(resp.headers().contains_key("www-authenticate"), "{url}");
    }
    // A's introspection (asked with A's system token, RFC 7662) knows
    // nothing of B's token: exactly as for garbage; A's own is active.
    let ask = |t: String| {
        let req =
            w.a.client
                .post(w.a.url("auth/introspect"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string([("token", t)]).unwrap());
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let own = ask(system_token(&w.a_clinic.authority, "system/*.rs")).await;
    assert!(own.1.contains("\"active\":true"), "{own:?}");
    let garbage = ask("not.a.token".into()).await;
    assert_eq!(garbage, (200, r#"{"active":false}"#.into()));
    assert_eq!(ask(token.clone()).await, garbage);
    // Revoking B's token at A (RFC 7009): answered as for garbage, and B's
    // token still works at B.
    let revoke = |t: String| {
        let req =
            w.a.client
                .post(w.a.url("auth/revoke"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([("token", t.as_str()), ("client_id", "test")])
                        .unwrap(),
                );
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    assert_eq!(
        revoke(token.clone()).await,
        revoke("not.a.token".into()).await
    );
    // Still good at B afterwards.
    let at_b = client
        .get(w.b.url(&format!("Patient/{bid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(at_b.status(), 200);
}

/// 10. The default tenant and a clinic: attacks in both directions.
#[tokio::test]
async fn the_default_tenant_and_a_clinic_are_as_apart_as_two_clinics() {
    let w = world().await;
    let d = Side::default_of(&w.app);
    let dd = populate(&d, "d").await;
    let unknown = unknown_id();
    // Clinic A at the default tenant's ids, and the default tenant at B's.
    for (at, target, owner, family) in [
        (&w.a, &dd.patient, &d, "Shared"),
        (&d, &w.db.patient, &w.b, "Shared"),
        (&d, &w.db.patient2, &w.b, w.db.family2.as_str()),
    ] {
        let path = |i: &str| format!("Patient/{i}");
        for m in [Method::GET, Method::DELETE] {
            let got = same_as_control(at, m, path, target, &unknown, &[], no_body).await;
            assert_eq!(got.status, 404, "{got:?}");
        }
        let got = same_as_control(
            at,
            Method::GET,
            |i| format!("Patient/{i}/$everything"),
            target,
            &unknown,
            &[],
            no_body,
        )
        .await;
        assert_eq!(got.status, 404, "{got:?}");
        assert_untouched(owner, &path(target), family).await;
    }
    // Searches by the other's identifiers find nothing.
    for (at, mrn) in [(&w.a, &dd.mrn), (&d, &w.db.mrn), (&d, &w.da.mrn2)] {
        let found = at.ok(&format!("Patient?identifier={mrn}")).await;
        assert_eq!(found["total"], 0, "{mrn}: {found}");
        let found = at
            .ok(&format!(
                "Observation?subject:Patient.identifier={MRN_SYSTEM}|{mrn}"
            ))
            .await;
        assert_eq!(found["total"], 0, "{mrn}: {found}");
    }
    // Each sees its own.
    let found = d.ok(&format!("Patient?identifier={}", dd.mrn)).await;
    assert_eq!(found["total"], 1, "{found}");
    let all = d.ok("Patient?_count=100").await;
    assert_no_mention(
        &all["entry"],
        &w.db.secrets(),
        "the default tenant's Patients",
    );
    assert_no_mention(
        &all["entry"],
        &w.da.secrets(),
        "the default tenant's Patients",
    );
    let all = w.a.ok("Patient?_count=100").await;
    assert_no_mention(&all["entry"], &dd.secrets(), "A's Patients");
}
