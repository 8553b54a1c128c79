//! HL7 v2 routed to clinics (issue #18): a listener bound to a clinic, routes
//! by receiving application and facility (MSH-5/MSH-6, HL7 v2.5.1 section
//! 2.14.9), and what becomes of a message no clinic claims (AR 103 at MSH-6,
//! kept raw under the server-level scope).

use diesel::{QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::helpers::*;
use crate::hl7::count;
use crate::hl7_client::*;

/// An ADT^A01 to receiving facility `to` (MSH-6).
fn admit(control: &str, mrn: &str, family: &str, to: &str) -> String {
    msg(&[
        &format!(
            "MSH|^~\\&|ADMIT|HOSP|EHR|{to}|20261201083000+0100||ADT^A01^ADT_A01|{control}|P|2.5.1"
        ),
        "EVN|A01|20261201083000+0100",
        &format!("PID|1||{mrn}^^^HOSP^MR||{family}^Ada||19700101|F"),
    ])
}

/// clinic-a has its own listener, clinic-b is the receiving facility CLINIC_B.
async fn gateway() -> TestApp {
    spawn_app_with(|s| {
        s.hl7.routing = fhirgate::config::hl7::routes::resolve(
            &[],
            &[],
            &["clinic-a=127.0.0.1:0".into()],
            &["clinic-b=*^CLINIC_B".into()],
        )
        .unwrap();
    })
    .await
}

async fn total(base_client: &reqwest::Client, url: String) -> i64 {
    let b: Value = base_client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    b["total"].as_i64().unwrap_or(-1)
}

fn rows(app: &TestApp, tenant: &str) -> i64 {
    count(
        app,
        &format!("SELECT count(*) AS n FROM hl7_messages WHERE tenant_id = '{tenant}'"),
    )
}

#[tokio::test]
async fn hl7_tenancy_a_message_on_a_clinics_listener_is_that_clinics_only() {
    let app = gateway().await;
    let (a, b) = (
        app.add_clinic("clinic-a").await,
        app.add_clinic("clinic-b").await,
    );
    let mut c = Mllp::connect(app.mllp_tenant_port("clinic-a")).await;
    let ack = c.send(&admit("TA-1", "MRN-TA-1", "Alpha", "HOSP")).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    let q = "Patient?identifier=MRN-TA-1";
    assert_eq!(total(&a.client, a.url(q)).await, 1);
    assert_eq!(total(&b.client, b.url(q)).await, 0);
    assert_eq!(total(&app.client, app.url(q)).await, 0);
    assert_eq!(rows(&app, "clinic-a"), 1);
    assert_eq!(rows(&app, "default") + rows(&app, "clinic-b"), 0);
    // MSH-6 routes to clinic-b on the main listener.
    let mut main = Mllp::connect(app.mllp_port()).await;
    let ack = main
        .send(&admit("TB-1", "MRN-TB-1", "Beta", "CLINIC_B"))
        .await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    assert_eq!(
        total(&b.client, b.url("Patient?identifier=MRN-TB-1")).await,
        1
    );
    assert_eq!(
        total(&a.client, a.url("Patient?identifier=MRN-TB-1")).await,
        0
    );
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(
        m.contains("fhirgate_hl7_tenant_accepted_total{tenant=\"clinic-a\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("fhirgate_hl7_tenant_accepted_total{tenant=\"clinic-b\"} 1"),
        "{m}"
    );
}

/// The attack table's "a B HL7 message arriving on A's route": refused, with
/// an answer that names neither clinic, and nothing stored at A or B; not
/// even the ACK B gave that message is handed out.
#[tokio::test]
async fn hl7_tenancy_a_clinic_b_message_on_clinic_as_listener_is_refused() {
    let app = gateway().await;
    let (a, b) = (
        app.add_clinic("clinic-a").await,
        app.add_clinic("clinic-b").await,
    );
    let theirs = admit("TB-2", "MRN-TB-2", "Beta", "CLINIC_B");
    let mut main = Mllp::connect(app.mllp_port()).await;
    assert_eq!(field(&main.send(&theirs).await, "MSA", 1), "AA");
    let mut on_a = Mllp::connect(app.mllp_tenant_port("clinic-a")).await;
    for m in [
        theirs.clone(),
        admit("TB-3", "MRN-TB-3", "Gamma", "CLINIC_B"),
    ] {
        let ack = on_a.send(&m).await;
        assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
        assert!(field(&ack, "ERR", 2).starts_with("MSH^1^6"), "{ack}");
        assert!(field(&ack, "ERR", 3).starts_with("103"), "{ack}");
        assert!(!ack.contains("clinic-"), "{ack}");
    }
    for q in ["Patient?identifier=MRN-TB-3", "Patient?identifier=MRN-TB-2"] {
        assert_eq!(total(&a.client, a.url(q)).await, 0);
    }
    assert_eq!(
        total(&b.client, b.url("Patient?identifier=MRN-TB-3")).await,
        0
    );
    assert_eq!(rows(&app, "clinic-a"), 0);
    assert_eq!(rows(&app, "clinic-b"), 1);
    assert_eq!(rows(&app, "_server"), 2);
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    ack_code: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    error: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    raw: Vec<u8>,
}

fn fhirgate(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(args)
        .env("FHIRGATE_DATABASE_URL", &app.db_url)
        .env("FHIRGATE_MASTER_KEY", &app.master_key_hex)
        .env("FHIRGATE_DATA_DIR", std::env::temp_dir())
        .env("FHIRGATE_LOG", "error")
        .env_remove("FHIRGATE_TENANT")
        .output()
        .unwrap()
}

/// A message no clinic claims is answered AR and kept raw (sealed) under the
/// server-level scope; the operator lists it and delivers it to a clinic.
#[tokio::test]
async fn hl7_tenancy_a_message_for_no_clinic_is_kept_under_the_server_scope() {
    let app = gateway().await;
    let mut main = Mllp::connect(app.mllp_port()).await;
    let lost = admit("LOST-1", "MRN-LOST-1", "Wolfeschlegel", "NOWHERE");
    let ack = main.send(&lost).await;
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert_eq!(field(&ack, "MSA", 2), "LOST-1");
    assert!(field(&ack, "ERR", 3).starts_with("103"), "{ack}");
    assert_eq!(total(&app.client, app.url("Patient")).await, 0);
    let row = diesel::sql_query(
        "SELECT id, ack_code, error, raw FROM hl7_messages WHERE tenant_id = '_server'",
    )
    .get_result::<Row>(&mut app.conn())
    .unwrap();
    assert_eq!(row.ack_code, "AR");
    assert!(row.error.unwrap().contains("no tenant"));
    let plain = b"Wolfeschlegel";
    assert!(!row.raw.windows(plain.len()).any(|w| w == plain), "sealed");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM data_keys WHERE tenant_id = '_server'"
        ),
        2,
        "its own data and index keys"
    );
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(
        m.contains("fhirgate_hl7_tenant_rejected_total{tenant=\"_server\"} 1"),
        "{m}"
    );

    // The operator's listing: the message, no PHI.
    let out = fhirgate(&app, &["hl7", "unrouted"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listed} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        listed.contains(&row.id) && listed.contains("LOST-1"),
        "{listed}"
    );
    assert!(
        listed.contains("ADMIT|HOSP") && listed.contains("no tenant"),
        "{listed}"
    );
    assert!(!listed.contains("Wolfeschlegel") && !listed.contains("MRN-LOST-1"));

    // Delivered to clinic-b by the operator: applied there, once.
    let b = app.add_clinic("clinic-b").await;
    let deliver = [
        "--tenant",
        "clinic-b",
        "hl7",
        "replay",
        "--unrouted",
        &row.id,
    ];
    let out = fhirgate(&app, &deliver);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        total(&b.client, b.url("Patient?identifier=MRN-LOST-1")).await,
        1
    );
    assert_eq!(rows(&app, "clinic-b"), 1);
    let again = fhirgate(&app, &deliver);
    assert!(String::from_utf8_lossy(&again.stdout).contains("delivered before"));
    assert_eq!(rows(&app, "clinic-b"), 1);
    let out = fhirgate(&app, &["hl7", "unrouted"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains(" AA "), "{listed}");
}

/// A route may name a clinic that does not exist yet: its messages get AR
/// until it is added, and again once it is disabled.
#[tokio::test]
async fn hl7_tenancy_a_route_serves_a_clinic_from_when_it_is_added() {
    let app = gateway().await;
    let mut main = Mllp::connect(app.mllp_port()).await;
    let ack = main
        .send(&admit("LATE-1", "MRN-LATE-1", "Late", "CLINIC_B"))
        .await;
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert_eq!(rows(&app, "_server"), 1);
    let b = app.add_clinic("clinic-b").await;
    let ack = main
        .send(&admit("LATE-2", "MRN-LATE-2", "Late", "CLINIC_B"))
        .await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    assert_eq!(
        total(&b.client, b.url("Patient?identifier=MRN-LATE-2")).await,
        1
    );
    diesel::sql_query("UPDATE tenants SET disabled = true WHERE id = 'clinic-b'")
        .execute(&mut app.conn())
        .unwrap();
    app.tenancy.refresh().await.unwrap();
    let ack = main
        .send(&admit("LATE-3", "MRN-LATE-3", "Late", "CLINIC_B"))
        .await;
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert_eq!(rows(&app, "_server"), 2);
    assert_eq!(rows(&app, "clinic-b"), 1);
}

/// Duplicate detection is per clinic: the same message (same sender and
/// MSH-10) sent to two clinics is two messages, applied at each.
#[tokio::test]
async fn hl7_tenancy_the_same_control_id_at_two_clinics_is_two_messages() {
    let app = spawn_app_with(|s| {
        s.hl7.routing = fhirgate::config::hl7::routes::resolve(
            &[],
            &[],
            &["clinic-a=127.0.0.1:0".into(), "clinic-b=127.0.0.1:0".into()],
            &[],
        )
        .unwrap();
    })
    .await;
    let (a, b) = (
        app.add_clinic("clinic-a").await,
        app.add_clinic("clinic-b").await,
    );
    let same = admit("SAME-1", "MRN-SAME-1", "Same", "HOSP");
    let mut on_a = Mllp::connect(app.mllp_tenant_port("clinic-a")).await;
    let mut on_b = Mllp::connect(app.mllp_tenant_port("clinic-b")).await;
    let ack_a = on_a.send(&same).await;
    let ack_b = on_b.send(&same).await;
    assert_eq!(field(&ack_a, "MSA", 1), "AA", "{ack_a}");
    assert_eq!(field(&ack_b, "MSA", 1), "AA", "{ack_b}");
    assert_ne!(ack_a, ack_b);
    for c in [&a, &b] {
        assert_eq!(
            total(&c.client, c.url("Patient?identifier=MRN-SAME-1")).await,
            1
        );
    }
    // Within a clinic it is still a duplicate: the first ACK again.
    assert_eq!(on_a.send(&same).await, ack_a);
    // The main listener is no clinic's, and no route names one.
    let mut main = Mllp::connect(app.mllp_port()).await;
    assert_eq!(field(&main.send(&same).await, "MSA", 1), "AR");
    assert_eq!((rows(&app, "clinic-a"), rows(&app, "clinic-b")), (1, 1));
}

/// The client certificate names the clinic of its senders' messages; MSH-6
/// naming another clinic is refused like a wrong listener.
#[tokio::test]
async fn hl7_tenancy_a_client_certificate_names_the_clinic_of_its_senders() {
    use fhirgate::hl7::config::clients::rule_of_flag;
    let pki = crate::hl7_tls_clients::Pki::new();
    let rules = vec![rule_of_flag("cn:lab-1=LAB^HOSP@clinic-c").unwrap()];
    let app = pki
        .gateway_with(rules, |s| {
            s.hl7.routing = fhirgate::config::hl7::routes::resolve(
                &[],
                &[],
                &[],
                &["clinic-b=*^CLINIC_B".into()],
            )
            .unwrap();
        })
        .await;
    let (b, c) = (
        app.add_clinic("clinic-b").await,
        app.add_clinic("clinic-c").await,
    );
    let oru = crate::hl7_tls_clients::oru_from("LAB", "HOSP", "TC-1", "MRN-TC-1");
    let ack = pki.send(&app, Some(&pki.lab), &oru).await.unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    assert_eq!(
        total(&c.client, c.url("Patient?identifier=MRN-TC-1")).await,
        1
    );
    assert_eq!(
        total(&app.client, app.url("Patient?identifier=MRN-TC-1")).await,
        0
    );
    // Clinic B's receiving facility from clinic C's certificate.
    let to_b = crate::hl7_tls_clients::oru_from("LAB", "HOSP", "TC-2", "MRN-TC-2").replacen(
        "|FHIRGATE|HOSP|",
        "|FHIRGATE|CLINIC_B|",
        1,
    );
    let ack = pki.send(&app, Some(&pki.lab), &to_b).await.unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert!(field(&ack, "ERR", 2).starts_with("MSH^1^6"), "{ack}");
    assert_eq!(
        total(&b.client, b.url("Patient?identifier=MRN-TC-2")).await,
        0
    );
    assert_eq!((rows(&app, "clinic-b"), rows(&app, "_server")), (0, 1));
}
