//! A control id used again: the same message gets its original ACK, another
//! message gets AE (issue #15). HL7 v2.5.1 2.15.9.10: MSH-10 "uniquely
//! identifies the message"; 2.9.2 leaves duplicate detection to the receiver,
//! and a sender that restarts its counter reuses control ids for new messages,
//! none of which may vanish behind an AA. ERR-3 comes from table 0357 (205
//! "Duplicate key identifier"), ERR-2 points at MSH-10 (2.15.5).

use diesel::RunQueryDsl;

use crate::helpers::*;
use crate::hl7::{count, oru};
use crate::hl7_client::*;

/// A resend as interface engines make them: MSH-7 stamped afresh, segments
/// ended with CRLF, trailing empty fields on MSH.
fn resent(message: &str) -> String {
    message
        .replace("|20261201083000+0100||ORU", "|20261202101500+0100||ORU")
        .replace("|P|2.5.1\r", "|P|2.5.1|||\r")
        .replace('\r', "\r\n")
}

#[tokio::test]
async fn a_resend_with_a_new_timestamp_gets_the_original_ack() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let first = c.send(&oru("RS-1", "MRN-RS1")).await;
    assert_eq!(field(&first, "MSA", 1), "AA", "{first}");
    let again = c.send(&resent(&oru("RS-1", "MRN-RS1"))).await;
    assert_eq!(again, first);
    let glucose = matches(&app, "Observation?code=http://loinc.org|2345-7").await;
    assert_eq!(glucose.len(), 1);
}

#[tokio::test]
async fn another_message_under_an_accepted_control_id_gets_ae_and_is_kept() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let first = c.send(&oru("REUSED-1", "MRN-FIRST")).await;
    assert_eq!(field(&first, "MSA", 1), "AA", "{first}");

    // The sender restarted and numbers from 1 again: another patient, another result.
    let other = oru("REUSED-1", "MRN-OTHER").replace("||182|mg/dL", "||97|mg/dL");
    let ack = c.send(&other).await;
    assert_eq!(field(&ack, "MSA", 1), "AE", "{ack}");
    assert_eq!(field(&ack, "MSA", 2), "REUSED-1");
    assert!(field(&ack, "ERR", 2).starts_with("MSH^1^10"), "{ack}");
    assert!(field(&ack, "ERR", 3).starts_with("205^"), "{ack}");
    assert!(field(&ack, "ERR", 3).contains("HL70357"), "{ack}");
    assert_eq!(field(&ack, "ERR", 4), "E");
    let text = field(&ack, "ERR", 8).to_lowercase();
    assert!(
        text.contains("control id") && text.contains("another message"),
        "{ack}"
    );

    // Not applied: the second patient and its result are nowhere.
    assert!(matches(&app, "Patient?identifier=MRN-OTHER")
        .await
        .is_empty());
    assert!(matches(&app, "Observation?value-quantity=97")
        .await
        .is_empty());
    // Kept raw with its outcome, and counted.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM hl7_messages WHERE control_id = 'REUSED-1' AND ack_code = 'AE'"
        ),
        1
    );
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(
        m.contains("fhirgate_hl7_control_id_conflicts_total 1"),
        "{m}"
    );
    assert!(m.contains("fhirgate_hl7_errored_total 1"), "{m}");
    assert!(m.contains("fhirgate_hl7_duplicates_total 0"), "{m}");

    // Sent again, it is refused again; the first message still gets its own ACK.
    let ack2 = c.send(&other).await;
    assert_eq!(field(&ack2, "MSA", 1), "AE", "{ack2}");
    assert_eq!(c.send(&oru("REUSED-1", "MRN-FIRST")).await, first);
}

/// A message whose content no longer maps (here: an unsupported trigger under
/// a control id already accepted for an ORU) is a conflict too, not a duplicate.
#[tokio::test]
async fn a_conflict_is_found_before_the_mapping() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let first = c.send(&oru("MAP-1", "MRN-M1")).await;
    assert_eq!(field(&first, "MSA", 1), "AA", "{first}");
    let unmappable = msg(&[
        "MSH|^~\\&|LABSYS|CITYLAB|FHIRGATE|HOSP|20261201083000+0100||ADT^A01^ADT_A01|MAP-1|P|2.5.1",
        "EVN|A01|20261201083000",
        "PID|1||MRN-M2^^^CITYHOSP^MR||Other^Person",
    ]);
    let ack = c.send(&unmappable).await;
    assert_eq!(field(&ack, "MSA", 1), "AE", "{ack}");
    assert!(field(&ack, "ERR", 3).starts_with("205^"), "{ack}");
    assert!(matches(&app, "Patient?identifier=MRN-M2").await.is_empty());
}

/// Rows stored before the digest existed carry none: the gateway compares the
/// stored raw message instead, so they are judged the same way.
#[tokio::test]
async fn rows_without_a_digest_are_compared_by_their_raw_message() {
    let app = spawn_app().await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let first = c.send(&oru("OLD-1", "MRN-OLD")).await;
    assert_eq!(field(&first, "MSA", 1), "AA", "{first}");
    let mut conn = app.conn();
    for sql in [
        "ALTER TABLE hl7_messages DISABLE TRIGGER hl7_messages_guard",
        "UPDATE hl7_messages SET digest = NULL",
        "ALTER TABLE hl7_messages ENABLE TRIGGER hl7_messages_guard",
    ] {
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
    assert_eq!(c.send(&resent(&oru("OLD-1", "MRN-OLD"))).await, first);
    let ack = c.send(&oru("OLD-1", "MRN-NEW")).await;
    assert_eq!(field(&ack, "MSA", 1), "AE", "{ack}");
    assert!(field(&ack, "ERR", 3).starts_with("205^"), "{ack}");
}
