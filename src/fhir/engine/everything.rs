//! `Patient/[id]/$everything` and `Patient/$everything`
//! (http://hl7.org/fhir/R4/patient-operation-everything.html): the patient(s),
//! every resource in their compartment (the R4 Patient CompartmentDefinition,
//! schemas/compartmentdefinition-patient.json), and the Practitioners those
//! resources reference; `_since`, `_type` and `_count` with `next` links.
//!
//! AuditEvents are in the R4 Patient compartment but are left out: every read
//! of the patient (this operation included) writes one, so the answer would grow
//! with each call, and they are searchable on their own (`AuditEvent?patient=`).

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, RunQueryDsl};
use fhirgate_validate::IssueCode;
use serde_json::Value;

use super::access::Action;
use super::{Engine, Outcome, Query, Services};
use crate::audit::AuditRecord;
use crate::fhir::bundle::{raw, Bundle, Entry, EntrySearch, Link};
use crate::fhir::error::FhirError;
use crate::fhir::search::bundle::{outcome_entry, unreadable_issues};
use crate::model::{ResourceId, ResourceType};

const COMPARTMENT: &str = include_str!("../../../schemas/compartmentdefinition-patient.json");
const DEFAULT_COUNT: i64 = 100;
const MAX_COUNT: i64 = 1000;

/// `Type|param` pairs that put a served resource in a patient's compartment.
fn membership() -> &'static [String] {
    static M: OnceLock<Vec<String>> = OnceLock::new();
    M.get_or_init(|| {
        let v: Value = serde_json::from_str(COMPARTMENT).unwrap_or(Value::Null);
        let mut out = Vec::new();
        for r in v
            .get("resource")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(t) = r
                .get("code")
                .and_then(Value::as_str)
                .and_then(ResourceType::parse)
            else {
                continue;
            };
            if !t.descriptor().in_everything {
                continue;
            }
            for p in r
                .get("param")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(p) = p.as_str() {
                    out.push(format!("{t}|{p}"));
                }
            }
        }
        out
    })
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    t: String,
    #[diesel(sql_type = Text)]
    i: String,
}

fn bad(msg: &str) -> FhirError {
    FhirError::invalid(IssueCode::Invalid, None, msg)
}

struct Params {
    since: Option<DateTime<Utc>>,
    types: Option<Vec<String>>,
    count: i64,
    after: Option<(String, String)>,
}

fn params(query: &[(String, String)]) -> Result<Params, FhirError> {
    let mut p = Params {
        since: None,
        types: None,
        count: DEFAULT_COUNT,
        after: None,
    };
    for (k, v) in query {
        match k.as_str() {
            "_since" => {
                p.since = Some(
                    DateTime::parse_from_rfc3339(v)
                        .map_err(|_| bad("_since must be an instant, e.g. 2024-01-01T00:00:00Z"))?
                        .with_timezone(&Utc),
                )
            }
            "_type" => {
                let mut ts = Vec::new();
                for t in v.split(',') {
                    let t = ResourceType::parse(t.trim()).ok_or_else(|| {
                        bad("_type names a resource type this server does not serve")
                    })?;
                    ts.push(t.as_str().to_owned());
                }
                p.types = Some(ts);
            }
            "_count" => {
                p.count = v
                    .parse::<i64>()
                    .ok()
                    .filter(|c| *c > 0)
                    .ok_or_else(|| bad("_count must be a positive integer"))?
                    .min(MAX_COUNT)
            }
            "_page" => {
                let raw = URL_SAFE_NO_PAD
                    .decode(v)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                let (t, i) = raw
                    .as_deref()
                    .and_then(|s| s.split_once('/'))
                    .ok_or_else(|| bad("_page is not a page link this server issued"))?;
                p.after = Some((t.to_owned(), i.to_owned()));
            }
            _ => {}
        }
    }
    Ok(p)
}

/// One page of (type, id), ordered by type then id, after `p.after`.
fn page(
    conn: &mut diesel::PgConnection,
    tenant: &str,
    patient: Option<&ResourceId>,
    p: &Params,
) -> Result<Vec<Row>, FhirError> {
    let pats = if patient.is_some() {
        "SELECT $2::text AS id"
    } else {
        "SELECT id FROM resources WHERE tenant_id = $1 AND resource_type = 'Patient' AND NOT deleted AND version_id > 0"
    };
    let sql = format!(
        "WITH pats AS ({pats}), \
         comp AS (SELECT x.resource_type AS t, x.resource_id AS i FROM idx_reference x JOIN pats ON x.target_id = pats.id \
                  WHERE x.tenant_id = $1 AND x.target_type = 'Patient' AND x.url IS NULL \
                    AND (x.resource_type || '|' || x.param) = ANY($3) \
                  UNION SELECT 'Patient', id FROM pats), \
         prac AS (SELECT x.target_type AS t, x.target_id AS i FROM idx_reference x JOIN comp c ON x.resource_type = c.t AND x.resource_id = c.i \
                  WHERE x.tenant_id = $1 AND x.target_type = 'Practitioner' AND x.url IS NULL), \
         everything AS (SELECT t, i FROM comp UNION SELECT t, i FROM prac) \
         SELECT r.resource_type AS t, r.id AS i FROM resources r JOIN everything a ON r.resource_type = a.t AND r.id = a.i \
         WHERE r.tenant_id = $1 AND NOT r.deleted AND r.version_id > 0 \
           AND ($4::timestamptz IS NULL OR r.last_updated >= $4) \
           AND ($5::text[] IS NULL OR r.resource_type = ANY($5)) \
           AND ($6::text IS NULL OR (r.resource_type, r.id) > ($6, $7)) \
         ORDER BY r.resource_type, r.id LIMIT $8"
    );
    let (after_t, after_i) = match &p.after {
        Some((t, i)) => (Some(t.as_str()), Some(i.as_str())),
        None => (None, None),
    };
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(tenant)
        .bind::<Text, _>(patient.map_or("", ResourceId::as_str))
        .bind::<Array<Text>, _>(membership())
        .bind::<Nullable<Timestamptz>, _>(p.since)
        .bind::<Nullable<Array<Text>>, _>(p.types.as_deref())
        .bind::<Nullable<Text>, _>(after_t)
        .bind::<Nullable<Text>, _>(after_i)
        .bind::<BigInt, _>(p.count.saturating_add(1))
        .load(conn)?)
}

impl Engine {
    pub(super) async fn everything(
        &self,
        svc: &Services,
        base: &str,
        patient: Option<ResourceId>,
        query: Query,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        if let Some(id) = &patient {
            record.patients = vec![format!("Patient/{id}")];
        }
        let p = params(&query)?;
        let path = match &patient {
            Some(id) => format!("/Patient/{id}/$everything"),
            None => "/Patient/$everything".to_owned(),
        };
        let (rows, found, more, skipped) = self
            .read_only(svc, move |svc, conn| {
                // The compartment query is a search of every member type.
                svc.decide(Action::Search, ResourceType::Patient, None)?;
                if let Some(id) = &patient {
                    match svc.read(conn, ResourceType::Patient, id, None)? {
                        Some(v) if v.body.is_some() => {}
                        Some(_) => {
                            return Err(FhirError::Gone(format!("Patient/{id} was deleted")))
                        }
                        None => {
                            return Err(FhirError::NotFound(format!("Patient/{id} does not exist")))
                        }
                    }
                }
                let mut rows = page(conn, svc.tenant.as_str(), patient.as_ref(), &p)?;
                let more = rows.len() as i64 > p.count;
                rows.truncate(usize::try_from(p.count).unwrap_or(0));
                let (mut found, mut skipped) = (Vec::new(), Vec::new());
                for t in ResourceType::ALL {
                    let ids: Vec<ResourceId> = rows
                        .iter()
                        .filter(|r| r.t == t.as_str())
                        .filter_map(|r| ResourceId::parse(&r.i))
                        .collect();
                    if !ids.is_empty() {
                        found.extend(svc.bodies(conn, t, &ids, &mut skipped)?);
                    }
                }
                Ok::<_, FhirError>((rows, found, more, skipped))
            })
            .await?;
        let mut bundle = Bundle::new("searchset");
        if !more && query.iter().all(|(k, _)| k != "_page") {
            bundle.total = i64::try_from(found.len()).ok();
        }
        let qs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "_page")
            .cloned()
            .collect();
        let link = |page: Option<String>| {
            let mut q = qs.clone();
            if let Some(c) = page {
                q.push(("_page".into(), c));
            }
            format!(
                "{base}{path}?{}",
                serde_urlencoded::to_string(&q).unwrap_or_default()
            )
        };
        bundle.link.push(Link {
            relation: "self",
            url: link(
                query
                    .iter()
                    .find(|(k, _)| k == "_page")
                    .map(|(_, v)| v.clone()),
            ),
        });
        if more {
            if let Some(last) = rows.last() {
                bundle.link.push(Link {
                    relation: "next",
                    url: link(Some(
                        URL_SAFE_NO_PAD.encode(format!("{}/{}", last.t, last.i)),
                    )),
                });
            }
        }
        for (t, id, body) in found {
            bundle.entry.push(Entry {
                full_url: Some(format!("{base}/{t}/{id}")),
                resource: Some(raw(body.0)?),
                search: Some(EntrySearch { mode: "match" }),
                ..Entry::default()
            });
        }
        bundle
            .entry
            .extend(outcome_entry(&unreadable_issues(&skipped))?);
        Ok(Outcome::Document(bundle.to_json()?))
    }
}
