//! Date `ap` (http://hl7.org/fhir/R4/search.html#prefix): "the recommended
//! value for the approximation is 10% of the stated value (or for a date, 10%
//! of the gap between now and the date)". Dates here are placed relative to
//! today so the gaps hold whenever the test runs.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::*;
use crate::search_common::*;

#[tokio::test]
async fn ap_accepts_a_tenth_of_the_gap_to_now() {
    let app = spawn_app().await;
    let day = |days_ago: i64| {
        (Utc::now() - Duration::days(days_ago))
            .format("%Y-%m-%d")
            .to_string()
    };
    let obs = |date: String| {
        json!({"resourceType": "Observation", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
               "effectiveDateTime": date})
    };
    // Ten years ago, and ten days ago.
    let (old, _) = app.create(&obs(day(3650))).await;
    let (recent, _) = app.create(&obs(day(10))).await;
    let q = |days_ago: i64| format!("Observation?date=ap{}", day(days_ago));

    // A search day d days ago ends about d - 1 days before now: its margin is
    // a tenth of that. 3350 days ago: 335 days, and the stored day is 299 days
    // before it; 3300 days ago: 330 days, and the stored day is 349 before.
    assert_eq!(ids(&app, &q(3350)).await, vec![old.clone()]);
    assert_eq!(ids(&app, &q(3300)).await, NONE);
    assert_eq!(ids(&app, &q(3650)).await, vec![old]);
    // Near now the margin is small: 11 days ago (margin about a day) reaches
    // the day after, 10 days ago; 13 days ago (about 1.2 days) does not reach
    // two days on.
    assert_eq!(ids(&app, &q(11)).await, vec![recent]);
    assert_eq!(ids(&app, &q(13)).await, NONE);
}
