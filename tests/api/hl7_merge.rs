//! ADT^A40 against patients the gateway already holds: "the surviving Patient
//! is kept and the other is linked" (issue #5). The retired record keeps what
//! it had (patient.html#links: a link says where the record went, it does not
//! rewrite it), and the survivor keeps its links through later updates.
//! Expected values are read off the message texts below.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::hl7_client::*;
use crate::hl7_samples::deliver;

const HEAD: &str = "MSH|^~\\&|Ntierprise|Ntierprise Clinic|Healthmatics EHR|Healthmatics Clinic|20190423140000+0215||";

fn message(kind_and_control: &str, rest: &[&str]) -> String {
    let mut segs = vec![format!("{HEAD}{kind_and_control}|P|2.8")];
    segs.extend(rest.iter().map(|s| s.to_string()));
    segs.join("\r") + "\r"
}

async fn one(app: &TestApp, identifier: &str) -> Value {
    let found = matches(app, &format!("Patient?identifier={identifier}")).await;
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

#[tokio::test]
async fn a40_keeps_the_retired_record_and_links_it() {
    let app = spawn_app().await;
    let admit = message(
        "ADT^A01^ADT_A01|MERGE-1",
        &[
            "EVN|A01|20190423140000+0215",
            "PID|1||56789^^^BCBS^MR||Retired^Rita||19610304|F|||9 Old Road^^Durham^NC^27701",
        ],
    );
    assert_eq!(deliver(&app, &admit).await, "AA");
    let before = one(&app, "56789").await;
    assert_eq!(before["meta"]["versionId"], "1");

    // The shared sample: PID-3 12345^^^BCBS^MR survives, MRG-1 56789^^^BCBS^MR is merged into it.
    assert_eq!(deliver(&app, &sample("ADT-A40-01.hl7")).await, "AA");
    let survivor = one(&app, "12345").await;
    let retired = one(&app, "56789").await;
    assert_eq!(
        retired["id"], before["id"],
        "the retired record is the one stored"
    );
    assert_eq!(retired["meta"]["versionId"], "2");
    // Kept from the A01 (the A40 carries none of it).
    assert_eq!(
        retired["name"],
        json!([{"family": "Retired", "given": ["Rita"]}])
    );
    assert_eq!(retired["birthDate"], "1961-03-04");
    assert_eq!(retired["address"][0]["line"], json!(["9 Old Road"]));
    assert_eq!(retired["address"][0]["city"], "Durham");
    // Changed by the merge.
    assert_eq!(retired["active"], false);
    let sid = survivor["id"].as_str().unwrap();
    let mid = retired["id"].as_str().unwrap();
    assert_eq!(
        retired["link"],
        json!([{"other": {"reference": format!("Patient/{sid}")}, "type": "replaced-by"}])
    );
    assert_eq!(
        survivor["link"],
        json!([{"other": {"reference": format!("Patient/{mid}")}, "type": "replaces"}])
    );
    assert_eq!(survivor["active"], true);

    // A later update of the survivor (A08: the message is the source of truth
    // for its demographics) keeps the link no PID carries.
    let update = message(
        "ADT^A08^ADT_A01|MERGE-2",
        &[
            "EVN|A08|20190424090000+0215",
            "PID|1||12345^^^BCBS^MR||Test^Tess^A||20180205|F",
        ],
    );
    assert_eq!(deliver(&app, &update).await, "AA");
    let updated = one(&app, "12345").await;
    assert_eq!(updated["id"], survivor["id"]);
    assert_eq!(updated["name"][0]["given"], json!(["Tess", "A"]));
    assert_eq!(updated["link"], survivor["link"]);
    // ...and replaces its address: the A08 has none (PID-11 empty).
    assert!(updated.get("address").is_none(), "{updated}");
}
