//! HL7 v2 over MLLP: acknowledgements, durability and duplicates (issue #5).
//! Expectations come from HL7 v2.5.1 chapter 2 (2.9 acknowledgement rules,
//! 2.15.8 MSA, 2.15.5 ERR) and from the text of the messages sent.

use std::time::Duration;

use diesel::RunQueryDsl;

use crate::helpers::*;
use crate::hl7_client::*;

/// An ORU^R01 with five results for one patient, after HL7 v2.5.1 7.3.1.
pub fn oru(control: &str, mrn: &str) -> String {
    msg(&[
        &format!("MSH|^~\\&|LABSYS|CITYLAB|FHIRGATE|HOSP|20261201083000+0100||ORU^R01^ORU_R01|{control}|P|2.5.1"),
        &format!("PID|1||{mrn}^^^CITYHOSP&1.2.3.4.5&ISO^MR||Quimby^Harriet^J||19710412|F|||12 Elm St^^Springfield^IL^62701"),
        &format!("OBR|1|P{control}^LABSYS|F{control}^CITYLAB|24323-8^Comprehensive metabolic panel^LN|||20261201073000+0100"),
        "OBX|1|NM|2345-7^Glucose^LN||182|mg/dL^mg/dL^UCUM|70-105|H|||F|||20261201073000+0100",
        "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L^mmol/L^UCUM|136-145|N|||F|||20261201073000+0100",
        "OBX|3|NM|2823-3^Potassium^LN||3.1|mmol/L^mmol/L^UCUM|3.5-5.1|L|||F|||20261201073000+0100",
        "OBX|4|NM|2160-0^Creatinine^LN||0.9|mg/dL^mg/dL^UCUM|0.6-1.2|N|||F|||20261201073000+0100",
        "OBX|5|ST|5778-6^Color of Urine^LN||Yellow||||||F|||20261201073000+0100",
    ])
}

pub fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<N>(&mut app.conn())
        .unwrap()
        .n
}

/// 2.9.2 original mode: AA once the message is applied; MSA-2 echoes MSH-10;
/// the ACK's MSH swaps sending and receiving application and facility.
#[tokio::test]
async fn oru_is_acknowledged_after_its_results_are_stored() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let ack = c.send(&oru("CTRL-001", "MRN12345")).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    assert_eq!(field(&ack, "MSA", 2), "CTRL-001");
    assert_eq!(field(&ack, "MSH", 3), "FHIRGATE");
    assert_eq!(field(&ack, "MSH", 4), "HOSP");
    assert_eq!(field(&ack, "MSH", 5), "LABSYS");
    assert_eq!(field(&ack, "MSH", 6), "CITYLAB");
    assert!(field(&ack, "MSH", 9).starts_with("ACK^R01"), "{ack}");
    assert_eq!(field(&ack, "MSH", 12), "2.5.1");
    assert!(segments(&ack, "ERR").is_empty(), "{ack}");

    // The ACK is sent after commit, so the results are there at once.
    let patients = matches(&app, "Patient?identifier=MRN12345").await;
    assert_eq!(patients.len(), 1);
    assert_eq!(patients[0]["name"][0]["family"], "Quimby");
    assert_eq!(patients[0]["birthDate"], "1971-04-12");
    let glucose = matches(&app, "Observation?code=http://loinc.org|2345-7").await;
    assert_eq!(glucose.len(), 1, "{glucose:?}");
    let g = &glucose[0];
    assert_eq!(g["status"], "final");
    assert_eq!(g["valueQuantity"]["value"].to_string(), "182");
    assert_eq!(g["valueQuantity"]["unit"], "mg/dL");
    assert_eq!(g["referenceRange"][0]["low"]["value"].to_string(), "70");
    assert_eq!(g["referenceRange"][0]["high"]["value"].to_string(), "105");
    assert_eq!(g["effectiveDateTime"], "2026-12-01T07:30:00+01:00");
    let pid = patients[0]["id"].as_str().unwrap();
    assert_eq!(g["subject"]["reference"], format!("Patient/{pid}"));
    // Abnormal results stay queryable by interpretation (OBX-8 H and L).
    let high = matches(&app, "Observation?interpretation=H").await;
    assert_eq!(high.len(), 1);
    let low = matches(&app, "Observation?interpretation=L").await;
    assert_eq!(low.len(), 1);
    assert_eq!(low[0]["code"]["coding"][0]["code"], "2823-3");
    let strings = matches(&app, "Observation?code=http://loinc.org|5778-6").await;
    assert_eq!(strings[0]["valueString"], "Yellow");

    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM hl7_messages WHERE ack_code = 'AA'"
        ),
        1
    );
}

/// A message whose MSH-10 was already accepted from the same sender is not
/// applied twice: it gets the original ACK back, byte for byte.
#[tokio::test]
async fn a_resent_message_gets_its_original_ack_and_is_not_applied_twice() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let first = c.send(&oru("DUP-1", "MRN-D1")).await;
    assert_eq!(field(&first, "MSA", 1), "AA");
    let again = c.send(&oru("DUP-1", "MRN-D1")).await;
    assert_eq!(again, first);
    // On another connection too.
    let mut c2 = Mllp::connect(app.mllp_port()).await;
    assert_eq!(c2.send(&oru("DUP-1", "MRN-D1")).await, first);
    assert_eq!(
        matches(&app, "Observation?code=http://loinc.org|2345-7")
            .await
            .len(),
        1
    );
    // The same control id from another sender is another message.
    let other = oru("DUP-1", "MRN-D1").replace("|LABSYS|CITYLAB|", "|LABSYS2|CITYLAB|");
    let ack = c.send(&other).await;
    assert_eq!(field(&ack, "MSA", 1), "AA");
    assert_ne!(ack, first);
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(m.contains("fhirgate_hl7_duplicates_total 2"), "{m}");
    assert!(m.contains("fhirgate_hl7_accepted_total 2"), "{m}");
}

/// Racing deliveries of one message on many connections apply it once.
#[tokio::test]
async fn racing_deliveries_of_one_message_apply_it_once() {
    let app = spawn_app().await;
    let port = app.mllp_port();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(tokio::spawn(async move {
            let mut c = Mllp::connect(port).await;
            c.send(&oru("RACE-1", "MRN-R1")).await
        }));
    }
    let mut acks = Vec::new();
    for t in tasks {
        acks.push(t.await.unwrap());
    }
    assert!(
        acks.iter()
            .all(|a| field(a, "MSA", 1) == "AA" && *a == acks[0]),
        "{acks:?}"
    );
    assert_eq!(
        matches(&app, "Observation?code=http://loinc.org|2345-7")
            .await
            .len(),
        1
    );
    assert_eq!(matches(&app, "Patient?identifier=MRN-R1").await.len(), 1);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM hl7_messages"), 1);
}

/// AR (2.9.2: "unacceptable"): not HL7, an unsupported version or message type;
/// the raw message is kept all the same, and MSA-2 echoes MSH-10 when it can be read.
#[tokio::test]
async fn unacceptable_messages_get_ar_and_are_kept_raw() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;

    let ack = c.send("this is not an HL7 message\r").await;
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert!(!segments(&ack, "ERR").is_empty(), "{ack}");

    let v9 = oru("V-9", "MRN-V").replace("|P|2.5.1", "|P|9.9");
    let ack = c.send(&v9).await;
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert_eq!(field(&ack, "MSA", 2), "V-9");
    assert!(field(&ack, "ERR", 3).starts_with("203"), "{ack}");

    // MDM^T02 is HL7, but not a type the gateway maps.
    let ack = c.send(&sample("MDM-T02-01.hl7")).await;
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    let code = field(&ack, "ERR", 3);
    assert!(code.starts_with("200") || code.starts_with("201"), "{ack}");

    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM hl7_messages WHERE ack_code = 'AR'"
        ),
        3
    );
    assert_eq!(matches(&app, "Observation").await.len(), 0);
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(m.contains("fhirgate_hl7_rejected_total 3"), "{m}");
    assert!(m.contains("fhirgate_hl7_received_total 3"), "{m}");
}

/// AE with an ERR segment: understood, but the resources could not be stored
/// (here a double booking of one practitioner, refused by the store).
#[tokio::test]
async fn a_double_booking_gets_ae_with_err() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let s12 = |ctl: &str, appt: &str| {
        msg(&[
            &format!("MSH|^~\\&|SCHED|CLINIC|FHIRGATE|HOSP|20261201090000||SIU^S12^SIU_S12|{ctl}|P|2.5.1"),
            &format!("SCH|{appt}^SCHED|{appt}^SCHED|||||ROUTINE^Routine|||^^30^20261210090000+0000^20261210093000+0000|||||||||||||Booked"),
            "PID|1||SIU-MRN-1^^^CLINIC^MR||Doe^Jane||19800101|F",
            "RGS|1|A",
            "AIP|1||DOC77^Osler^William^^^Dr^^^CLINIC|||20261210090000+0000|||30|min",
        ])
    };
    let first = c.send(&s12("S12-A", "APPT-1")).await;
    assert_eq!(field(&first, "MSA", 1), "AA", "{first}");
    let clash = c.send(&s12("S12-B", "APPT-2")).await;
    assert_eq!(field(&clash, "MSA", 1), "AE", "{clash}");
    assert_eq!(field(&clash, "MSA", 2), "S12-B");
    assert_eq!(field(&clash, "ERR", 4), "E");
    assert!(field(&clash, "ERR", 8).contains("overlaps"), "{clash}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM hl7_messages WHERE ack_code = 'AE'"
        ),
        1
    );
    assert_eq!(matches(&app, "Appointment").await.len(), 1);
}

/// Framing (Appendix C.4): several messages in one write, one message over many
/// writes, and bytes before a start block are discarded.
#[tokio::test]
async fn mllp_framing_in_every_shape() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let mut two = b"garbage before the start block".to_vec();
    two.extend(frame(&oru("F-1", "MRN-F")));
    two.extend(frame(&oru("F-2", "MRN-F")));
    c.write_raw(&two).await;
    assert_eq!(field(&c.read_frame().await, "MSA", 2), "F-1");
    assert_eq!(field(&c.read_frame().await, "MSA", 2), "F-2");
    for chunk in frame(&oru("F-3", "MRN-F")).chunks(7) {
        c.write_raw(chunk).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ack = c.read_frame().await;
    assert_eq!(
        (field(&ack, "MSA", 1), field(&ack, "MSA", 2)),
        ("AA".into(), "F-3".into())
    );
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(m.contains("fhirgate_hl7_discarded_bytes_total 30"), "{m}");
}

/// A batch (2.10.3) is split into its messages and answered as a batch of ACKs.
#[tokio::test]
async fn a_batch_is_answered_message_by_message() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let mut batch = String::from("BHS|^~\\&|LABSYS|CITYLAB|FHIRGATE|HOSP|20261201083000\r");
    batch.push_str(&oru("B-1", "MRN-B1"));
    batch.push_str(&oru("B-2", "MRN-B2"));
    batch.push_str("BTS|2\r");
    let reply = c.send(&batch).await;
    let msas = segments(&reply, "MSA");
    assert_eq!(msas.len(), 2, "{reply}");
    assert!(msas[0].starts_with("MSA|AA|B-1"), "{reply}");
    assert!(msas[1].starts_with("MSA|AA|B-2"), "{reply}");
    assert_eq!(matches(&app, "Patient").await.len(), 2);
}

/// Enhanced mode (2.9.3): MSH-15 AL asks for a commit accept (CA) once the
/// message is safely stored; MSH-16 AL then for the application ack.
#[tokio::test]
async fn enhanced_mode_sends_ca_then_the_application_ack() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let m = oru("E-1", "MRN-E").replacen("|P|2.5.1", "|P|2.5.1|||AL|AL", 1);
    c.write_raw(&frame(&m)).await;
    let accept = c.read_frame().await;
    assert_eq!(field(&accept, "MSA", 1), "CA", "{accept}");
    assert_eq!(field(&accept, "MSA", 2), "E-1");
    let app_ack = c.read_frame().await;
    assert_eq!(field(&app_ack, "MSA", 1), "AA", "{app_ack}");
    // NE/NE: nothing comes back at all.
    let quiet = oru("E-2", "MRN-E").replacen("|P|2.5.1", "|P|2.5.1|||NE|NE", 1);
    c.write_raw(&frame(&quiet)).await;
    assert!(c
        .read_frame_within(Duration::from_millis(1500))
        .await
        .is_none());
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM hl7_messages WHERE ack_code = 'AA'"
        ),
        2
    );
}

/// No plaintext PHI at rest from HL7 either: the raw message, its ACK and the
/// resources made from it are sealed or blind-indexed (docs/security.md).
#[tokio::test]
async fn hl7_messages_leave_no_plaintext_phi_in_pg_dump() {
    use crate::encryption::{pg_dump, strip_hex_runs, strip_uuids};
    let app = spawn_app().await;
    let secrets = [
        "Xandrovitch",
        "Perpetua",
        "MRN-77120934",
        "19530914",
        "1953-09-14",
        "88 Quillfeather Lane",
    ];
    let adt = msg(&[
        "MSH|^~\\&|REG|CLINIC|FHIRGATE|HOSP|20261201101500||ADT^A04^ADT_A01|PHI-1|P|2.5.1",
        "EVN|A04|20261201101500",
        "PID|1||MRN-77120934^^^CLINIC^MR||Xandrovitch^Perpetua||19530914|F|||88 Quillfeather Lane^^Leeds",
    ]);
    // One accepted, and one refused (its raw message is stored as well).
    let bad = adt
        .replace("|19530914|", "|19530230|")
        .replace("PHI-1", "PHI-2");
    let mut c = Mllp::connect(app.mllp_port()).await;
    assert_eq!(field(&c.send(&adt).await, "MSA", 1), "AA");
    assert_ne!(field(&c.send(&bad).await, "MSA", 1), "AA");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM hl7_messages"), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dump = pg_dump(&app);
    assert!(
        dump.contains("COPY public.hl7_messages"),
        "the dump is not of our schema"
    );
    let text = strip_uuids(&strip_hex_runs(&dump));
    // Control: the plaintext columns are seen (the sender and control id are not PHI).
    assert!(
        text.contains("REG|CLINIC") && text.contains("PHI-2"),
        "the scan sees no plaintext"
    );
    for s in secrets {
        assert!(!text.contains(s), "plaintext PHI {s:?} in pg_dump");
        assert!(
            !dump.contains(&hex::encode(s.as_bytes())),
            "PHI {s:?} hex-encoded in pg_dump"
        );
    }
}
