//! Issue #18: how the serving pool meets row-level security. Reads run under
//! the session's tenant and writes in a transaction that sets it
//! (src/store/session.rs); a pooled connection must never carry one tenant's
//! setting into another tenant's work or into work for no tenant. And the
//! audit writer's batch of several tenants' records, one INSERT under the
//! batch's declared tenants (migrations/..000016_audit_writer_policy), must
//! store every record under its own tenant and no other.

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use fhirgate::store::{Db, StoreError};
use fhirgate::tenant::TenantId;

use crate::helpers::{patient, spawn_app};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> Result<i64, StoreError> {
    Ok(diesel::sql_query(sql).load::<Count>(conn)?[0].n)
}

fn resources(conn: &mut PgConnection) -> Result<i64, StoreError> {
    count(conn, "SELECT count(*) AS n FROM resources")
}

#[tokio::test]
async fn a_pooled_connection_never_carries_a_tenant_into_other_work() {
    let app = spawn_app().await;
    let a = app.add_clinic("clinic-a").await;
    let b = app.add_clinic("clinic-b").await;
    for _ in 0..2 {
        a.create(&patient("Fam-a", "M-a")).await;
    }
    let b_id = b.create(&patient("Fam-b", "M-b")).await;
    let serving = fhirgate::store::role::url_as(&app.db_url, fhirgate::store::role::DEFAULT_ROLE);
    // One connection: every unit below reuses it.
    let db = Db::connect(&serving, 1, None).unwrap();
    let (ta, tb) = (
        TenantId::parse("clinic-a").unwrap(),
        TenantId::parse("clinic-b").unwrap(),
    );
    let (on_a, on_b) = (db.for_tenant(&ta), db.for_tenant(&tb));
    let read = |d: &Db| {
        let d = d.clone();
        async move { d.read(resources).await.unwrap() }
    };
    let run = |d: &Db| {
        let d = d.clone();
        async move { d.run(resources).await.unwrap() }
    };
    assert_eq!(read(&on_a).await, 2, "A's read");
    // Unbound work after A's read (the session was set to A): nothing.
    assert_eq!(run(&db).await, 0, "unbound, after A's read");
    assert_eq!(read(&on_a).await, 2);
    assert_eq!(read(&db).await, 0, "unbound read, after A's read");
    assert_eq!(read(&on_a).await, 2);
    assert_eq!(read(&on_b).await, 1, "B's read after A's");
    assert_eq!(run(&on_a).await, 2, "A's transaction over B's session");
    assert_eq!(read(&on_b).await, 1, "B's session after A's transaction");
    assert_eq!(run(&db).await, 0);
    // A transaction that fails and rolls back leaves nothing set either.
    let failed: Result<(), StoreError> = on_a
        .run(|conn| {
            diesel::sql_query("SELECT 1/0").execute(conn)?;
            Ok(())
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(run(&db).await, 0, "unbound, after A's failed transaction");
    assert_eq!(read(&on_a).await, 2);
    // A read that fails keeps the session A's: the next read of B still
    // sets B, and unbound work still sees nothing.
    let failed: Result<i64, StoreError> = on_a.read(|conn| count(conn, "SELECT 1/0 AS n")).await;
    assert!(failed.is_err());
    assert_eq!(read(&on_b).await, 1);
    assert_eq!(read(&db).await, 0);
    // A read by id that sets its tenant itself (one statement), on the
    // connection last set to A: it finds B's patient, and leaves the
    // session set to B for what follows.
    let keyring = app.tenancy.parts().keyring.clone();
    assert_eq!(read(&on_a).await, 2);
    let id = fhirgate::model::ResourceId::parse(&b_id).unwrap();
    let (k, t) = (keyring.clone(), tb.clone());
    let found = on_b
        .read_setting_tenant(move |conn| {
            let v = fhirgate::store::tenant_reads::read_setting_tenant(
                conn,
                &k,
                &t,
                fhirgate::model::ResourceType::Patient,
                &id,
            )?;
            Ok::<_, StoreError>((v.map(|v| v.version_id), resources(conn)?))
        })
        .await
        .unwrap();
    assert_eq!(found, (Some(1), 1), "B's patient, and B's rows after it");
    assert_eq!(run(&db).await, 0, "unbound, after the self-setting read");
    assert_eq!(read(&on_a).await, 2);
    // The same read of B's id at A finds nothing.
    let id = fhirgate::model::ResourceId::parse(&b_id).unwrap();
    let (k, t) = (keyring.clone(), ta.clone());
    let at_a = on_a
        .read_setting_tenant(move |conn| {
            fhirgate::store::tenant_reads::read_setting_tenant(
                conn,
                &k,
                &t,
                fhirgate::model::ResourceType::Patient,
                &id,
            )
        })
        .await
        .unwrap();
    assert!(at_a.is_none());
    assert_eq!(read(&on_b).await, 1);
    assert_eq!(run(&db).await, 0);
}

#[tokio::test]
async fn an_audit_batch_of_several_tenants_stores_each_record_under_its_own() {
    let app = spawn_app().await;
    let a = app.add_clinic("clinic-a").await;
    let b = app.add_clinic("clinic-b").await;
    // The sites exist (their keys too).
    a.create(&patient("Fam-a", "M-a")).await;
    b.create(&patient("Fam-b", "M-b")).await;
    let serving = fhirgate::store::role::url_as(&app.db_url, fhirgate::store::role::DEFAULT_ROLE);
    let db = Db::connect(&serving, 1, None).unwrap();
    let keyring = app.tenancy.parts().keyring.clone();
    let (ta, tb) = (
        TenantId::parse("clinic-a").unwrap(),
        TenantId::parse("clinic-b").unwrap(),
    );
    let record = |id: &str| {
        let mut r = fhirgate::audit::AuditRecord::new(fhirgate::audit::Interaction::Batch);
        r.resource_type = Some("Patient".into());
        r.id = Some(id.into());
        r.status = 200;
        r
    };
    // Interleaved, so that the batch runs A, B, A, B ... (one statement).
    let groups = vec![
        (ta.clone(), vec![record("a1"), record("a2"), record("a3")]),
        (tb.clone(), vec![record("b1")]),
        (ta.clone(), vec![record("a4")]),
    ];
    let k = keyring.clone();
    db.run(move |conn| conn.transaction(|conn| fhirgate::audit::store_tenants(conn, &k, &groups)))
        .await
        .unwrap();
    let owner_url = app.db_url.clone();
    let per_tenant = tokio::task::spawn_blocking(move || {
        let mut owner = PgConnection::establish(&owner_url).unwrap();
        let n = |owner: &mut PgConnection, t: &str, ids: &str| {
            count(
                owner,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE tenant_id = '{t}' \
                     AND subtype = 'batch' AND entities && ARRAY[{ids}]"
                ),
            )
            .unwrap()
        };
        let all = "'Patient/a1','Patient/a2','Patient/a3','Patient/a4','Patient/b1'";
        (
            n(&mut owner, "clinic-a", all),
            n(&mut owner, "clinic-b", all),
            n(&mut owner, "clinic-a", "'Patient/b1'"),
            n(&mut owner, "clinic-b", "'Patient/b1'"),
        )
    })
    .await
    .unwrap();
    assert_eq!(per_tenant, (4, 1, 0, 1));
    // Each opens under its own tenant's key, through its own base.
    let found: serde_json::Value = a
        .get("AuditEvent?subtype=batch")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 4, "{found}");
    let found: serde_json::Value = b
        .get("AuditEvent?subtype=batch")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1, "{found}");
    // The batch's declaration (`app.audit_tenants`) admits an AuditEvent of
    // a declared tenant only: not of a tenant whose slug merely contains or
    // extends a declared one, not of an undeclared one.
    let insert = |tenant: &'static str, declared: &'static str| {
        let db = db.clone();
        async move {
            db.run(move |conn| {
                conn.transaction(|conn| {
                    diesel::sql_query("SELECT set_config('app.audit_tenants', $1, true)")
                        .bind::<diesel::sql_types::Text, _>(declared)
                        .execute(conn)?;
                    diesel::sql_query(format!(
                        "INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, \
                         type_code, subtype, action, outcome, entities, patients, agents) \
                         VALUES ('{tenant}', 'forged', now(), 1, '\\x00', 'rest', 'read', 'R', \
                         '0', '{{}}', '{{}}', '{{}}')"
                    ))
                    .execute(conn)?;
                    Err::<(), StoreError>(StoreError::Corrupt("rolled back".into()))
                })
            })
            .await
            .expect_err("rolled back either way")
            .to_string()
        }
    };
    let refused = |e: &str| e.contains("row-level security");
    assert!(!refused(&insert("clinic-a", ",clinic-a,clinic-b,").await));
    for (tenant, declared) in [
        ("clinic-b", ",clinic-a,"),
        ("clinic-a", ",clinic-ab,"),
        ("clinic", ",clinic-a,"),
        ("clinic-a", "clinic-a"),
        ("clinic-a", ""),
    ] {
        let e = insert(tenant, declared).await;
        assert!(refused(&e), "{tenant} under {declared:?}: {e}");
    }
    // It grants nothing else: no read of a declared tenant's rows, no write
    // to another table.
    let other = db
        .run(|conn| {
            conn.transaction(|conn| {
                diesel::sql_query("SELECT set_config('app.audit_tenants', ',clinic-a,', true)")
                    .execute(conn)?;
                let seen =
                    count(conn, "SELECT count(*) AS n FROM audit_events")? + resources(conn)?;
                let write = diesel::sql_query(
                    "INSERT INTO data_keys (tenant_id, key_id, purpose, kek_id, wrapped, active) \
                     VALUES ('clinic-a', 999, 'data', 'k', '\\x00', false)",
                )
                .execute(conn)
                .map_err(StoreError::from)
                .map(|_| ());
                Ok::<_, StoreError>((seen, write))
            })
        })
        .await
        .unwrap();
    assert_eq!(other.0, 0, "rows seen under the declaration alone");
    let e = other
        .1
        .expect_err("a data key written under the declaration alone");
    assert!(refused(&e.to_string()), "{e}");
}

/// Two `fhirgate` commands started together both grant the serving role its
/// rights (store/role.rs `ensure`); concurrent GRANTs on the same tables
/// failed one of them with "tuple concurrently updated".
#[tokio::test]
async fn commands_started_together_both_grant_the_serving_role() {
    let app = spawn_app().await;
    let url = app.db_url.clone();
    tokio::task::spawn_blocking(move || {
        let start = std::sync::Arc::new(std::sync::Barrier::new(6));
        let workers: Vec<_> = (0..6)
            .map(|_| {
                let (url, start) = (url.clone(), start.clone());
                std::thread::spawn(move || {
                    let mut conn = PgConnection::establish(&url).unwrap();
                    start.wait();
                    (0..5).try_for_each(|_| {
                        fhirgate::store::role::ensure(
                            &mut conn,
                            fhirgate::store::role::DEFAULT_ROLE,
                            None,
                        )
                    })
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap().unwrap();
        }
    })
    .await
    .unwrap();
}
