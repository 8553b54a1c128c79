//! Shared by the cross-tenant attack tests of issue #18
//! (tenancy_attacks*.rs): a FHIR base with its own client, two clinics
//! holding data the same queries match, and the comparison of an attack's
//! answer with the answer to the same request naming something that exists
//! nowhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{patient, spawn_app, Clinic, TestApp, FHIR_JSON};

pub const MRN_SYSTEM: &str = "urn:oid:1.2.36.146.595.217.0.1";
pub const LOINC: &str = "http://loinc.org";

/// One FHIR base and a client whose token that base's authorization server
/// issued (a clinic's, or the default tenant's at /fhir).
#[derive(Clone)]
pub struct Side {
    pub base: String,
    pub client: reqwest::Client,
}

impl Side {
    pub fn of(c: &Clinic) -> Self {
        Self {
            base: c.base.clone(),
            client: c.client.clone(),
        }
    }

    pub fn default_of(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            client: app.client.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// `method path` with `headers`; a body goes as FHIR JSON unless a
    /// content-type is among the headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut r = self.client.request(method, self.url(path));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                r = r.header("content-type", FHIR_JSON);
            }
            r = r.body(b.to_string());
        }
        r.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(Method::GET, path, &[], None).await
    }

    /// The JSON of `GET path`, which must answer 200.
    pub async fn ok(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "GET {} -> {text}", self.url(path));
        serde_json::from_str(&text).unwrap()
    }

    pub async fn create(&self, resource: &Value) -> String {
        let rtype = resource["resourceType"].as_str().unwrap();
        let resp = self.send(Method::POST, rtype, &[], Some(resource)).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 201, "create {rtype}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["id"].as_str().unwrap().to_owned()
    }
}

/// What an answer tells a client about the target: its status, the type of
/// its body, the OperationOutcome's issues (code and diagnostics) and the
/// version it names.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub kind: String,
    pub codes: Vec<String>,
    /// Each issue's diagnostics, with the id or identifier asked for masked
    /// ([`answer_masking`]).
    pub diagnostics: Vec<String>,
    pub version: Option<String>,
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    answer_masking(resp, &[]).await.0
}

/// The [`Answer`] and the JSON body (Null when there is none).
pub async fn answer_and_body(resp: reqwest::Response) -> (Answer, Value) {
    answer_masking(resp, &[]).await
}

/// [`answer_and_body`], with `masks` (what the request named) replaced by
/// `<target>` in the diagnostics, so that two answers naming different
/// targets compare equal when they tell the same.
pub async fn answer_masking(resp: reqwest::Response, masks: &[&str]) -> (Answer, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let issues = v["issue"].as_array().cloned().unwrap_or_default();
    let codes = issues
        .iter()
        .map(|i| i["code"].as_str().unwrap_or("").to_owned())
        .collect();
    let diagnostics = issues
        .iter()
        .map(|i| masked(i["diagnostics"].as_str().unwrap_or(""), masks))
        .collect();
    let a = Answer {
        status,
        kind: v["resourceType"].as_str().unwrap_or("").to_owned(),
        codes,
        diagnostics,
        version: v["meta"]["versionId"].as_str().map(str::to_owned),
    };
    (a, v)
}

/// `text` with each of `masks` replaced by `<target>`.
pub fn masked(text: &str, masks: &[&str]) -> String {
    masks
        .iter()
        .filter(|m| !m.is_empty())
        .fold(text.to_owned(), |t, m| t.replace(m, "<target>"))
}

/// An id no tenant has (ids are UUIDv7, like the server's own).
pub fn unknown_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// One tenant's data: a patient named "Shared" (as in every tenant), a
/// second one with a name of its own, a practitioner, and an Observation of
/// the first by the practitioner, with the same LOINC code everywhere, so
/// that a search, chain or `_has` that crossed tenants would find matches.
pub struct Data {
    pub patient: String,
    pub patient2: String,
    pub prac: String,
    pub obs: String,
    pub mrn: String,
    pub mrn2: String,
    pub family2: String,
}

impl Data {
    /// "Type/id" of every resource.
    pub fn refs(&self) -> Vec<String> {
        let mut v = vec![
            format!("Patient/{}", self.patient),
            format!("Patient/{}", self.patient2),
            format!("Practitioner/{}", self.prac),
            format!("Observation/{}", self.obs),
        ];
        v.sort();
        v
    }

    /// What must never appear in another tenant's answers.
    pub fn secrets(&self) -> Vec<String> {
        vec![
            self.patient.clone(),
            self.patient2.clone(),
            self.prac.clone(),
            self.obs.clone(),
            self.mrn.clone(),
            self.mrn2.clone(),
            self.family2.clone(),
        ]
    }
}

pub fn observation(subject: &str, performer: Option<&str>) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8480-6"}], "text": "systolic"},
        "subject": {"reference": subject},
        "effectiveDateTime": "2024-03-04",
        "valueQuantity": {"value": 120, "unit": "mm[Hg]"}});
    if let Some(p) = performer {
        o["performer"] = json!([{"reference": p}]);
    }
    o
}

pub async fn populate(side: &Side, tag: &str) -> Data {
    let (mrn, mrn2) = (format!("MRN-{tag}-1"), format!("MRN-{tag}-2"));
    let family2 = format!("Only{tag}");
    let patient1 = side.create(&patient("Shared", &mrn)).await;
    let patient2 = side.create(&patient(&family2, &mrn2)).await;
    let prac = side
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Doc"}]}))
        .await;
    let obs = side
        .create(&observation(
            &format!("Patient/{patient1}"),
            Some(&format!("Practitioner/{prac}")),
        ))
        .await;
    Data {
        patient: patient1,
        patient2,
        prac,
        obs,
        mrn,
        mrn2,
        family2,
    }
}

/// A gateway with clinics A and B, each with its [`Data`].
pub struct World {
    pub app: TestApp,
    pub a_clinic: Clinic,
    pub b_clinic: Clinic,
    pub a: Side,
    pub b: Side,
    pub da: Data,
    pub db: Data,
}

pub async fn world() -> World {
    let app = spawn_app().await;
    let a_clinic = app.add_clinic("clinic-a").await;
    let b_clinic = app.add_clinic("clinic-b").await;
    let (a, b) = (Side::of(&a_clinic), Side::of(&b_clinic));
    let da = populate(&a, "a").await;
    let db = populate(&b, "b").await;
    World {
        app,
        a_clinic,
        b_clinic,
        a,
        b,
        da,
        db,
    }
}

/// `v` (a Bundle's entries, say) names none of `secrets`.
pub fn assert_no_mention(v: &Value, secrets: &[String], what: &str) {
    let text = v.to_string();
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} reveals {s}: {text}");
    }
}

/// B's resource as B reads it: its version and content are what `populate`
/// wrote.
pub async fn assert_untouched(b: &Side, path: &str, family: &str) {
    let v = b.ok(path).await;
    assert_eq!(v["meta"]["versionId"], "1", "{path} changed: {v}");
    assert_eq!(v["name"][0]["family"], family, "{path} changed: {v}");
    assert_eq!(v["gender"], "female", "{path} changed: {v}");
    let h = b.ok(&format!("{path}/_history")).await;
    assert_eq!(h["entry"].as_array().map_or(0, Vec::len), 1, "{path}: {h}");
}

/// The answers at `at` for `path(target)` and `path(control)` are the same;
/// the answer.
pub async fn same_as_control(
    at: &Side,
    method: Method,
    path: impl Fn(&str) -> String,
    target: &str,
    control: &str,
    headers: &[(&str, &str)],
    body: impl Fn(&str) -> Option<Value>,
) -> Answer {
    let send = |what: &str| {
        let (p, b, m) = (path(what), body(what), method.clone());
        async move { at.send(m, &p, headers, b.as_ref()).await }
    };
    let real = answer_masking(send(target).await, &[target]).await.0;
    let none = answer_masking(send(control).await, &[control]).await.0;
    assert_eq!(
        real,
        none,
        "{method} {}: another tenant's target is told apart from one that exists nowhere",
        path(target)
    );
    real
}

pub fn no_body(_: &str) -> Option<Value> {
    None
}
