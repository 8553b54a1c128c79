//! A transaction Bundle that PostgreSQL aborts to break a deadlock runs again
//! (`fhir::transaction::retrying`) and succeeds, instead of answering 503
//! (https://www.postgresql.org/docs/15/explicit-locking.html#LOCKING-DEADLOCKS:
//! one of the transactions in the cycle is aborted; which one is not promised).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::helpers::*;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use serde_json::{json, Value};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Super {
    #[diesel(sql_type = Bool)]
    s: bool,
}

/// Sessions of this database other than `conn`'s own that wait for a lock.
fn lock_waiters(conn: &mut PgConnection) -> i64 {
    diesel::sql_query(
        "SELECT count(*)::int8 AS n FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
    )
    .get_result::<Count>(conn)
    .unwrap()
    .n
}

fn put(id: &str, family: &str) -> Value {
    json!({"resource": {"resourceType": "Patient", "id": id, "name": [{"family": family}]},
           "request": {"method": "PUT", "url": format!("Patient/{id}")}})
}

#[tokio::test]
async fn a_deadlocked_transaction_bundle_runs_again_and_succeeds() {
    let app = spawn_app().await;
    for id in ["dl-a", "dl-b"] {
        let r = app
            .put_json(
                &format!("Patient/{id}"),
                &json!({"resourceType": "Patient", "id": id}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    // Another session takes dl-b, then (once the Bundle holds dl-a and waits
    // for dl-b) asks for dl-a: a cycle. Its own deadlock check is put off, so
    // the Bundle's session, which waits first, is the one PostgreSQL aborts.
    let (url, (locked_tx, locked_rx), (go_tx, go_rx)) =
        (app.db_url.clone(), mpsc::channel(), mpsc::channel::<()>());
    let other = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            let superuser = diesel::sql_query(
                "SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user",
            )
            .get_result::<Super>(conn)?
            .s;
            if superuser {
                diesel::sql_query("SET LOCAL deadlock_timeout = '60s'").execute(conn)?;
            }
            diesel::sql_query("SELECT id FROM resources WHERE id = 'dl-b' FOR UPDATE")
                .execute(conn)?;
            locked_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            diesel::sql_query("SELECT id FROM resources WHERE id = 'dl-a' FOR UPDATE")
                .execute(conn)?;
            std::thread::sleep(Duration::from_millis(200));
            Ok(())
        })
    });
    locked_rx.recv().unwrap();
    let bundle = json!({"resourceType": "Bundle", "type": "transaction",
                        "entry": [put("dl-b", "Second"), put("dl-a", "First")]});
    let (client, target) = (app.client.clone(), app.url(""));
    let post = tokio::spawn(async move {
        client
            .post(target)
            .header("content-type", FHIR_JSON)
            .body(bundle.to_string())
            .send()
            .await
            .unwrap()
    });
    let mut watch = app.conn();
    let since = Instant::now();
    while lock_waiters(&mut watch) == 0 {
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "the Bundle never waited for dl-b"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    go_tx.send(()).unwrap();
    let resp = post.await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    other
        .join()
        .unwrap()
        .expect("the other session was not the deadlock victim");
    for (id, family) in [("dl-a", "First"), ("dl-b", "Second")] {
        let p = app.get_value(&format!("Patient/{id}")).await;
        assert_eq!(p["name"][0]["family"], family);
        assert_eq!(p["meta"]["versionId"], "2", "{p}");
    }
}
