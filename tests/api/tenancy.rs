//! Multi-clinic tenancy (issue #18): clinics side by side on one gateway,
//! each at its own base with its own authorization server; and the isolation
//! PostgreSQL enforces by itself (row-level security) for the serving role.

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use crate::helpers::{assert_outcome, patient, spawn_app};

#[tokio::test]
async fn clinics_run_side_by_side_each_with_its_own_base_and_smart_configuration() {
    let app = spawn_app().await;
    let a = app.add_clinic("clinic-a").await;
    let b = app.add_clinic("clinic-b").await;

    // SMART App Launch 2.0.0 "Retrieve .well-known/smart-configuration":
    // each base publishes its own endpoints, under itself.
    for c in [&a, &b] {
        let conf: Value = reqwest::get(c.url(".well-known/smart-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = conf["token_endpoint"].as_str().unwrap();
        assert!(
            token.starts_with(&c.base),
            "{token} is not under {}",
            c.base
        );
        assert_eq!(conf["issuer"].as_str(), Some(c.base.as_str()), "{conf}");
    }

    let id = a.create(&patient("Alpha", "A-1")).await;
    assert_eq!(a.get(&format!("Patient/{id}")).await.status(), 200);
    // The same id at B's base and at the default base: not there.
    assert_outcome(b.get(&format!("Patient/{id}")).await, 404).await;
    assert_outcome(app.get(&format!("Patient/{id}")).await, 404).await;
    // Searches see their own clinic's patients only.
    let found: Value = b.get("Patient?identifier=A-1").await.json().await.unwrap();
    assert_eq!(found["total"], 0, "{found}");
    let found: Value = a.get("Patient?identifier=A-1").await.json().await.unwrap();
    assert_eq!(found["total"], 1, "{found}");
    // Links name the clinic's base.
    let self_link = found["link"][0]["url"].as_str().unwrap();
    assert!(self_link.starts_with(&a.base), "{self_link}");
}

#[tokio::test]
async fn a_token_of_one_clinic_is_not_valid_at_another() {
    let app = spawn_app().await;
    let a = app.add_clinic("clinic-a").await;
    let b = app.add_clinic("clinic-b").await;
    // A's client (A's token) at B's base and at the default base: 401.
    for url in [b.url("Patient"), app.url("Patient")] {
        let resp = a.client.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().contains_key("www-authenticate"));
    }
    // The default tenant's token at A's base: 401 too.
    let resp = app.client.get(a.url("Patient")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn the_clinic_header_may_confirm_the_base_never_choose_it() {
    let app = spawn_app().await;
    let a = app.add_clinic("clinic-a").await;
    let ok = a
        .client
        .get(a.url("Patient"))
        .header("X-Clinic-ID", "clinic-a")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let other = a
        .client
        .get(a.url("Patient"))
        .header("X-Clinic-ID", "clinic-b")
        .send()
        .await
        .unwrap();
    assert_outcome(other, 400).await;
}

#[tokio::test]
async fn unknown_and_disabled_clinics_are_not_served() {
    let app = spawn_app().await;
    let a = app.add_clinic("clinic-a").await;
    let resp = a
        .client
        .get(format!("{}/t/nowhere/fhir/Patient", app_server(&app)))
        .send()
        .await
        .unwrap();
    assert_outcome(resp, 404).await;
    // The default tenant has one base, /fhir.
    let resp = app
        .client
        .get(format!("{}/t/default/fhir/metadata", app_server(&app)))
        .send()
        .await
        .unwrap();
    assert_outcome(resp, 404).await;
    let mut conn = app.conn();
    diesel::sql_query("UPDATE tenants SET disabled = true WHERE id = 'clinic-a'")
        .execute(&mut conn)
        .unwrap();
    app.tenancy.refresh().await.unwrap();
    assert_outcome(a.get("Patient").await, 404).await;
}

fn app_server(app: &crate::helpers::TestApp) -> String {
    app.base.trim_end_matches("/fhir").to_owned()
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Issue #18: "A test connects as the serving role with the tenant set to A
/// and runs raw SQL without any tenant filter over every table: it sees none
/// of tenant B's rows and cannot insert one for B."
#[tokio::test]
async fn the_serving_role_sees_and_writes_only_its_tenants_rows() {
    let app = spawn_app().await;
    let a = app.add_clinic("clinic-a").await;
    let b = app.add_clinic("clinic-b").await;
    for c in [&a, &b] {
        let pid = c
            .create(&patient(
                &format!("Fam-{}", c.slug),
                &format!("M-{}", c.slug),
            ))
            .await;
        c.create(&json!({"resourceType": "Observation", "status": "final",
            "code": {"text": "weight"}, "subject": {"reference": format!("Patient/{pid}")},
            "valueQuantity": {"value": 70, "unit": "kg"}, "effectiveDateTime": "2024-01-02"}))
            .await;
        c.create(&json!({"resourceType": "Practitioner", "name": [{"family": "Doc"}]}))
            .await;
        // A read, so that AuditEvents exist for both.
        assert_eq!(c.get(&format!("Patient/{pid}")).await.status(), 200);
    }
    // Let the audit writer commit.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let owner_url = app.db_url.clone();
    tokio::task::spawn_blocking(move || {
        let mut owner = PgConnection::establish(&owner_url).unwrap();
        let tables: Vec<Name> = diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1",
        )
        .load(&mut owner)
        .unwrap();
        assert!(tables.len() >= 25, "{} tenant tables", tables.len());
        let app_url = fhirgate::store::role::url_as(&owner_url, fhirgate::store::role::DEFAULT_ROLE);
        let mut app = PgConnection::establish(&app_url).unwrap();
        let count = |conn: &mut PgConnection, sql: &str| -> i64 {
            diesel::sql_query(sql).load::<Count>(conn).unwrap()[0].n
        };
        let mut tables_with_b_rows = 0;
        for Name { name: t } in &tables {
            let b_rows = count(&mut owner, &format!("SELECT count(*) AS n FROM {t} WHERE tenant_id = 'clinic-b'"));
            let a_rows = count(&mut owner, &format!("SELECT count(*) AS n FROM {t} WHERE tenant_id = 'clinic-a'"));
            if b_rows > 0 {
                tables_with_b_rows += 1;
            }
            // Without a tenant: nothing at all.
            assert_eq!(count(&mut app, &format!("SELECT count(*) AS n FROM {t}")), 0, "{t} without a tenant");
            app.transaction::<_, diesel::result::Error, _>(|conn| {
                diesel::sql_query("SELECT set_config('app.tenant', 'clinic-a', true)").execute(conn)?;
                // No filter: exactly A's rows.
                assert_eq!(count(conn, &format!("SELECT count(*) AS n FROM {t}")), a_rows, "{t}");
                assert_eq!(
                    count(conn, &format!("SELECT count(*) AS n FROM {t} WHERE tenant_id <> 'clinic-a'")),
                    0,
                    "{t}"
                );
                Ok(())
            })
            .unwrap();
            // Writing a row for B, as a copy of one of A's with B's tenant:
            // refused by the policy (SQLSTATE 42501), whatever else holds.
            if a_rows > 0 {
                let cols: Vec<Name> = diesel::sql_query(format!(
                    "SELECT string_agg(CASE WHEN column_name = 'tenant_id' THEN '''clinic-b''' \
                     ELSE quote_ident(column_name) END, ', ' ORDER BY ordinal_position) AS name \
                     FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{t}'"
                ))
                .load(&mut owner)
                .unwrap();
                let insert = format!("INSERT INTO {t} SELECT {} FROM {t} LIMIT 1", cols[0].name);
                let refused = app.transaction::<(), diesel::result::Error, _>(|conn| {
                    diesel::sql_query("SELECT set_config('app.tenant', 'clinic-a', true)").execute(conn)?;
                    diesel::sql_query(&insert).execute(conn)?;
                    Ok(())
                });
                let e = refused.expect_err(&format!("{t}: a row for B was written"));
                assert!(
                    e.to_string().contains("row-level security"),
                    "{t}: refused for another reason: {e}"
                );
                let moved = app.transaction::<(), diesel::result::Error, _>(|conn| {
                    diesel::sql_query("SELECT set_config('app.tenant', 'clinic-a', true)").execute(conn)?;
                    diesel::sql_query(format!("UPDATE {t} SET tenant_id = 'clinic-b'")).execute(conn)?;
                    Ok(())
                });
                assert!(moved.is_err(), "{t}: a row of A was moved to B");
            }
        }
        assert!(tables_with_b_rows >= 8, "only {tables_with_b_rows} tables hold B's rows");
        // The serving role is neither superuser nor BYPASSRLS, and cannot
        // change the tenants.
        assert!(!fhirgate::store::role::bypasses_rls(&mut app).unwrap());
        assert!(diesel::sql_query("UPDATE tenants SET disabled = true").execute(&mut app).is_err());
        assert!(diesel::sql_query("ALTER TABLE resources DISABLE ROW LEVEL SECURITY").execute(&mut app).is_err());
    })
    .await
    .unwrap();
}

/// Issue #18, fairness: a clinic's own limits (the tenants table, as
/// `fhirgate tenants set-limits` writes them) spend its budget only.
#[tokio::test]
async fn a_clinics_rate_limit_is_its_own() {
    let app = spawn_app().await;
    let a = app.add_clinic("clinic-a").await;
    let b = app.add_clinic("clinic-b").await;
    let mut conn = app.conn();
    diesel::sql_query("UPDATE tenants SET rate_per_sec = 0.5, burst = 3 WHERE id = 'clinic-a'")
        .execute(&mut conn)
        .unwrap();
    app.tenancy.refresh().await.unwrap();
    for _ in 0..3 {
        assert_eq!(a.get("metadata").await.status(), 200);
    }
    let refused = a.get("metadata").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // B and the default clinic are not slowed by A's spending.
    for _ in 0..6 {
        assert_eq!(b.get("metadata").await.status(), 200);
        assert_eq!(app.get("metadata").await.status(), 200);
    }
}
