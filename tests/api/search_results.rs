//! Issue #3, shaping the result (http://hl7.org/fhir/R4/search.html): _include,
//! _revinclude and :iterate, _sort, _total, _summary and _elements. Paging is in
//! search_paging.rs, chains and _has in search_chains.rs.

use crate::helpers::*;
use crate::search_common::*;
use serde_json::{json, Value};

fn r(t: &str, id: &str) -> String {
    format!("{t}/{id}")
}

#[tokio::test]
async fn include_revinclude_and_iterate() {
    let app = spawn_app().await;
    let (gp1, _) = app
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Gpone"}]}))
        .await;
    let (gp2, _) = app
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Gptwo"}]}))
        .await;
    let with_gp = |family: &str, gp: Option<&String>| {
        let mut p = json!({"resourceType": "Patient", "name": [{"family": family}]});
        if let Some(g) = gp {
            p["generalPractitioner"] = json!([{"reference": format!("Practitioner/{g}")}]);
        }
        p
    };
    let (pa, _) = app.create(&with_gp("Pa", Some(&gp1))).await;
    let (pb, _) = app.create(&with_gp("Pb", Some(&gp2))).await;
    let (pc, _) = app.create(&with_gp("Pc", None)).await;
    let about = |p: &str| with(obs("8867-4"), json!({"subject": {"reference": p}}));
    let mut oa1v = about(&r("Patient", &pa));
    oa1v["performer"] = json!([{"reference": r("Practitioner", &gp1)}]);
    let (oa1, _) = app.create(&oa1v).await;
    let (oa2, _) = app.create(&about(&r("Patient", &pa))).await;
    let (ob1, _) = app.create(&about(&r("Patient", &pb))).await;
    let (og, _) = app.create(&about("Group/g1")).await;

    // search.html#include: matches have search.mode match, included resources
    // mode include; each resource appears once (pa is referenced twice); the
    // total counts matches only.
    let q = "Observation?code=8867-4&_include=Observation:patient&_total=accurate";
    let b = search(&app, q).await;
    assert_no_duplicates(&b, q);
    assert_eq!(sorted(match_ids(&b)), set(&[&oa1, &oa2, &ob1, &og]));
    assert_eq!(
        included(&b),
        sorted(vec![r("Patient", &pa), r("Patient", &pb)])
    );
    assert_eq!(b["total"], 4);
    // _include=[type]:[param]:[target type] follows only references to that type.
    let q = "Observation?code=8867-4&_include=Observation:subject:Patient";
    let b = search(&app, q).await;
    assert_eq!(
        included(&b),
        sorted(vec![r("Patient", &pa), r("Patient", &pb)])
    );
    let appt = json!({"resourceType": "Appointment", "status": "booked",
        "start": "2024-03-10T09:00:00Z", "end": "2024-03-10T09:30:00Z",
        "participant": [{"actor": {"reference": r("Patient", &pa)}, "status": "accepted"},
                        {"actor": {"reference": r("Practitioner", &gp1)}, "status": "accepted"}]});
    app.create(&appt).await;
    for (inc, expected) in [
        (
            "Appointment:actor",
            vec![r("Patient", &pa), r("Practitioner", &gp1)],
        ),
        (
            "Appointment:actor:Practitioner",
            vec![r("Practitioner", &gp1)],
        ),
        ("Appointment:actor:Patient", vec![r("Patient", &pa)]),
        ("Appointment:practitioner", vec![r("Practitioner", &gp1)]),
    ] {
        let b = search(&app, &format!("Appointment?_include={inc}")).await;
        assert_eq!(included(&b), sorted(expected), "{inc}");
    }
    // _include=* follows every reference of the matches (search.html#include).
    let b = search(&app, &format!("Observation?_id={oa1}&_include=*")).await;
    assert_eq!(match_ids(&b), vec![oa1.clone()]);
    assert_eq!(
        included(&b),
        sorted(vec![r("Patient", &pa), r("Practitioner", &gp1)])
    );
    // Two _include parameters: pa is the subject of both matches, gp1 the
    // performer of one; each is in the Bundle once.
    let q = format!(
        "Observation?_id={oa1},{oa2}&_include=Observation:patient&_include=Observation:performer"
    );
    let b = search(&app, &q).await;
    assert_no_duplicates(&b, &q);
    assert_eq!(
        included(&b),
        sorted(vec![r("Patient", &pa), r("Practitioner", &gp1)])
    );

    // search.html#revinclude: resources that refer to the matches.
    let q = format!("Patient?_id={pa},{pb},{pc}&_revinclude=Observation:patient&_total=accurate");
    let b = search(&app, &q).await;
    assert_no_duplicates(&b, &q);
    assert_eq!(sorted(match_ids(&b)), set(&[&pa, &pb, &pc]));
    assert_eq!(
        included(&b),
        sorted(vec![
            r("Observation", &oa1),
            r("Observation", &oa2),
            r("Observation", &ob1)
        ])
    );
    assert_eq!(b["total"], 3);

    // search.html#revinclude :iterate applies the include to included resources
    // too: MedicationRequest -> Patient -> Practitioner.
    let mr = |p: &str| {
        json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
               "medicationCodeableConcept": {"text": "aspirin"}, "subject": {"reference": p}})
    };
    let (mr1, _) = app.create(&mr(&r("Patient", &pa))).await;
    let (mr2, _) = app.create(&mr(&r("Patient", &pc))).await;
    let q = "MedicationRequest?_include=MedicationRequest:patient&_include:iterate=Patient:general-practitioner";
    let b = search(&app, q).await;
    assert_no_duplicates(&b, q);
    assert_eq!(sorted(match_ids(&b)), set(&[&mr1, &mr2]));
    assert_eq!(
        included(&b),
        sorted(vec![
            r("Patient", &pa),
            r("Patient", &pc),
            r("Practitioner", &gp1)
        ])
    );
    for e in b["entry"].as_array().unwrap() {
        let t = e["resource"]["resourceType"].as_str().unwrap();
        let mode = if t == "MedicationRequest" {
            "match"
        } else {
            "include"
        };
        assert_eq!(e["search"]["mode"], mode, "{e}");
    }
}

#[tokio::test]
async fn includes_over_reference_cycles() {
    let app = spawn_app().await;
    let link = |id: &str, other: &str| {
        json!({"resourceType": "Patient", "id": id, "name": [{"family": "Cycle"}],
               "link": [{"other": {"reference": format!("Patient/{other}")}, "type": "seealso"}]})
    };
    let c1 = put(&app, link("cyc1", "cyc2")).await;
    let c2 = put(&app, link("cyc2", "cyc1")).await;
    // A resource that is both a match and an include target appears once, as a
    // match (search.html#include).
    let q = "Patient?_id=cyc1,cyc2&_include=Patient:link";
    let b = search(&app, q).await;
    assert_no_duplicates(&b, q);
    assert_eq!(sorted(match_ids(&b)), set(&[&c1, &c2]));
    assert_eq!(included(&b), NONE);
    // :iterate over a cycle terminates and includes each resource once.
    let q = "Patient?_id=cyc1&_include:iterate=Patient:link";
    let b = search(&app, q).await;
    assert_no_duplicates(&b, q);
    assert_eq!(match_ids(&b), vec![c1.clone()]);
    assert_eq!(included(&b), vec![r("Patient", &c2)]);
}

#[tokio::test]
async fn sort() {
    let app = spawn_app().await;
    let mut made = Vec::new();
    for (status, day) in [
        ("final", "03"),
        ("amended", "01"),
        ("final", "05"),
        ("preliminary", "02"),
        ("amended", "04"),
    ] {
        let mut o = obs("8867-4");
        o["status"] = json!(status);
        o["effectiveDateTime"] = json!(format!("2024-01-{day}T10:00:00Z"));
        made.push(app.create(&o).await.0);
        // Distinct meta.lastUpdated values (millisecond precision).
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let [s1, s2, s3, s4, s5] = <[String; 5]>::try_from(made.clone()).unwrap();
    let by = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect::<Vec<_>>();
    // search.html#sort: ascending by default, "-" for descending, several keys
    // in priority order.
    assert_eq!(
        ordered_ids(&app, "Observation?_sort=date").await,
        by(&[&s2, &s4, &s1, &s5, &s3])
    );
    assert_eq!(
        ordered_ids(&app, "Observation?_sort=-date").await,
        by(&[&s3, &s5, &s1, &s4, &s2])
    );
    // status codes sort as strings: amended < final < preliminary.
    assert_eq!(
        ordered_ids(&app, "Observation?_sort=status,-date").await,
        by(&[&s5, &s2, &s3, &s1, &s4])
    );
    assert_eq!(
        ordered_ids(&app, "Observation?_sort=_lastUpdated").await,
        made
    );
    let mut rev = made.clone();
    rev.reverse();
    assert_eq!(
        ordered_ids(&app, "Observation?_sort=-_lastUpdated").await,
        rev
    );
    let mut by_id = made.clone();
    by_id.sort();
    assert_eq!(ordered_ids(&app, "Observation?_sort=_id").await, by_id);
    by_id.reverse();
    assert_eq!(ordered_ids(&app, "Observation?_sort=-_id").await, by_id);
    // Sorting composes with a filter.
    assert_eq!(
        ordered_ids(&app, "Observation?status=final,amended&_sort=-date").await,
        by(&[&s3, &s5, &s1, &s2])
    );

    // Sorting on encrypted (PHI) fields is refused by design (docs/security.md).
    app.create(&patient("Sortme", "SO-1")).await;
    for q in [
        "Patient?_sort=name",
        "Patient?_sort=family",
        "Patient?_sort=-given",
        "Patient?_sort=birthdate",
        "Patient?_sort=gender,-birthdate",
        "Practitioner?_sort=name",
    ] {
        refused(&app, q).await;
    }
}

#[tokio::test]
async fn total() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.create(&json!({"resourceType": "Practitioner", "active": true}))
            .await;
    }
    // search.html#total: accurate is exact, none omits it, estimate may be anything.
    let b = search(&app, "Practitioner?_total=accurate&_count=2").await;
    assert_eq!(b["total"], 5);
    assert_eq!(match_ids(&b).len(), 2);
    let b = search(&app, "Practitioner?_total=none").await;
    assert!(b.get("total").is_none(), "{b}");
    assert_eq!(match_ids(&b).len(), 5);
    let b = search(&app, "Practitioner?_total=estimate&_count=2").await;
    assert!(b.get("total").is_none() || b["total"].is_u64(), "{b}");
    // This server's default: a total when the whole result is on the first page.
    let b = search(&app, "Practitioner?active=true").await;
    assert_eq!(b["total"], 5);
    let b = search(&app, "Practitioner?active=true&_count=2").await;
    assert!(b.get("total").is_none(), "{b}");
    // search.html#summary: _summary=count gives the total and no entries.
    let b = search(&app, "Practitioner?_summary=count").await;
    assert_eq!(b["total"], 5);
    assert!(b["entry"].as_array().is_none_or(|e| e.is_empty()), "{b}");
}

#[tokio::test]
async fn summary_and_elements() {
    let app = spawn_app().await;
    let full = json!({
        "resourceType": "Patient",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Ada Summary</div>"},
        "identifier": [{"system": "urn:mrn", "value": "SUM-1"}],
        "name": [{"family": "Summary", "given": ["Ada"]}],
        "telecom": [{"system": "phone", "value": "555 0100"}],
        "gender": "female",
        "birthDate": "1980-02-12",
        "address": [{"city": "Springfield"}],
        "maritalStatus": {"text": "single"},
        "photo": [{"contentType": "image/png", "data": "iVBORw0KGgo="}],
        "contact": [{"name": {"family": "Kin"}}]
    });
    let (p, _) = app.create(&full).await;
    let one = |b: &Value| {
        let m = mode_entries(b, "match");
        assert_eq!(m.len(), 1, "{b}");
        m[0].clone()
    };
    let get = |q: &'static str| {
        let app = &app;
        async move { one(&search(app, &format!("Patient?{q}")).await) }
    };

    // search.html#summary, _summary=true: only the elements marked summary in
    // the base definition (name, gender, birthDate, identifier ... yes; text,
    // photo, contact no), tagged SUBSETTED.
    let s = get("_summary=true").await;
    assert_eq!(s["id"], p.as_str());
    assert!(s.get("meta").is_some());
    for k in ["name", "gender", "birthDate", "identifier"] {
        assert!(s.get(k).is_some(), "_summary=true keeps {k}: {s}");
    }
    for k in ["photo", "contact", "text"] {
        assert!(s.get(k).is_none(), "_summary=true drops {k}: {s}");
    }
    assert!(is_subsetted(&s), "{s}");
    // _summary=text: text, id, meta and the top-level mandatory elements (Patient
    // has none).
    let s = get("_summary=text").await;
    assert!(s.get("text").is_some() && s["id"] == p.as_str(), "{s}");
    for k in ["name", "gender", "photo", "birthDate"] {
        assert!(s.get(k).is_none(), "_summary=text drops {k}: {s}");
    }
    assert!(is_subsetted(&s), "{s}");
    // _summary=data: everything but text.
    let s = get("_summary=data").await;
    assert!(s.get("text").is_none(), "{s}");
    for k in ["name", "photo", "contact", "maritalStatus"] {
        assert!(s.get(k).is_some(), "_summary=data keeps {k}: {s}");
    }
    assert!(is_subsetted(&s), "{s}");
    // _summary=false: the whole resource.
    let s = get("_summary=false").await;
    for k in ["text", "name", "photo", "contact"] {
        assert!(s.get(k).is_some(), "_summary=false keeps {k}: {s}");
    }
    // search.html#elements: the listed elements plus id and meta, SUBSETTED.
    let s = get("_elements=name,gender").await;
    assert_eq!(s["id"], p.as_str());
    assert!(s.get("name").is_some() && s.get("gender").is_some(), "{s}");
    for k in ["birthDate", "telecom", "photo", "address", "identifier"] {
        assert!(s.get(k).is_none(), "_elements drops {k}: {s}");
    }
    assert!(is_subsetted(&s), "{s}");

    // Observation: status and code are mandatory, so _summary=text keeps them.
    let (o, _) = app
        .create(&with(
            obs("8867-4"),
            json!({"subject": {"reference": format!("Patient/{p}")}, "valueQuantity": {"value": 60}}),
        ))
        .await;
    let b = search(&app, &format!("Observation?_id={o}&_summary=text")).await;
    let s = one(&b);
    assert!(s.get("status").is_some() && s.get("code").is_some(), "{s}");
    assert!(
        s.get("subject").is_none() && s.get("valueQuantity").is_none(),
        "{s}"
    );

    // The stored resource is unchanged (no SUBSETTED tag on a plain read).
    let read = app.get_value(&format!("Patient/{p}")).await;
    assert!(
        read.get("photo").is_some() && !is_subsetted(&read),
        "{read}"
    );
}
