//! Sorted, keyset-paged result pages (http://hl7.org/fhir/R4/search.html#sort,
//! #count). A page link carries the sort-key values and id of the row it
//! continues from, so links keep working while resources are created or deleted:
//! no row that still matches is skipped or repeated. Sort keys are never PHI
//! (sorting on encrypted fields is refused), so links carry no patient data.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::sql_types::{Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use fhirgate_search::ParamType;
use fhirgate_validate::IssueCode;
use serde::{Deserialize, Serialize};

use super::audit;
use super::dates::Prefix;
use super::sql::{unsupported, Bind, Query};
use super::values::parse_number;
use crate::fhir::error::FhirError;
use crate::model::ResourceId;
use crate::store::index::phi::is_phi;

/// At most this many `_sort` keys.
pub const MAX_SORT_KEYS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyKind {
    Text,
    Time,
    Numeric,
}

/// One `_sort` key, resolved against the parameter's definition.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub param: String,
    /// As [`super::criteria::Leaf::rows_of`].
    pub rows_of: Vec<String>,
    pub param_type: ParamType,
    pub desc: bool,
}

/// Where a page starts: after (or, going back, before) this row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "b")]
    pub back: bool,
    #[serde(rename = "k")]
    pub keys: Vec<Option<String>>,
    #[serde(rename = "i")]
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(s: &str) -> Result<Self, FhirError> {
        let bad = || {
            FhirError::invalid(
                IssueCode::Invalid,
                None,
                "_page is not a page link this server issued",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Text>)]
    k0: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k3: Option<String>,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// At most `limit` ids matching `q`, for conditional interactions, which expect
/// zero, one or two matches (http.html#cond-update, #trules).
///
/// The matching rows are computed first (`OFFSET 0` keeps the subquery from
/// being pulled up), then ordered. Without that fence the planner may answer
/// `ORDER BY id LIMIT n` by walking the primary key in id order and testing
/// every row: PostgreSQL estimates an array containment (`keys @> ...`) at
/// dozens of rows when the key is in fact unique, so it expects to stop early
/// and instead reads the whole index. Measured on the HL7 benchmark: 6-21 ms
/// per lookup that way, 0.1 ms by `idx_keys_gin`.
pub fn few_ids(
    conn: &mut diesel::PgConnection,
    q: Query<'_>,
    limit: i64,
) -> Result<Vec<ResourceId>, FhirError> {
    let sql = few_ids_sql(&q, 0, limit);
    // A prepared statement: a transaction Bundle from HL7 v2 makes one such
    // lookup per resource, each with the same text; the OFFSET 0 fence keeps
    // the plan on the index whatever the values.
    let rows: Vec<IdRow> = q.statement(sql, true).load(conn)?;
    Ok(rows
        .iter()
        .filter_map(|r| ResourceId::parse(&r.id))
        .collect())
}

/// The text of a [`few_ids`] lookup; its rows carry `tag` as `k` (for several
/// lookups in one statement, `conditional::find_many`).
pub(super) fn few_ids_sql(q: &Query<'_>, tag: usize, limit: i64) -> String {
    let (from, wh) = q.sql_parts();
    format!(
        "SELECT {tag}::int4 AS k, m.id FROM (SELECT r.id AS id FROM {from} WHERE {wh} OFFSET 0) m ORDER BY m.id LIMIT {}",
        limit.max(0)
    )
}

pub struct Page {
    pub ids: Vec<ResourceId>,
    /// Continues after the last row, when more rows follow.
    pub next: Option<Cursor>,
    /// Continues before the first row, when rows precede it.
    pub previous: Option<Cursor>,
}

fn agg(desc: bool) -> &'static str {
    if desc {
        "max"
    } else {
        "min"
    }
}

/// The SQL expression of a sort key over row `r`, and its kind. A resource with
/// several values sorts by its lowest ascending and its highest descending.
fn key_expr(q: &mut Query<'_>, k: &SortKey) -> Result<(String, KeyKind), FhirError> {
    let rtype = q.rtype;
    match (rtype, k.param.as_str()) {
        (_, "_id") => return Ok(("r.id".into(), KeyKind::Text)),
        (t, p) if audit::is_projected(t) => {
            return Ok((audit::sort_column(p)?.into(), KeyKind::Time))
        }
        (_, "_lastUpdated") => return Ok((q.resource_column_of_r("last_updated"), KeyKind::Time)),
        _ => {}
    }
    if is_phi(rtype.as_str(), &k.param) {
        return Err(FhirError::invalid(
            IssueCode::NotSupported,
            None,
            format!(
                "_sort={}: this field is encrypted and only blind-indexed, which hides its order (docs/security.md)",
                k.param
            ),
        ));
    }
    let a = agg(k.desc);
    let (table, col, kind) = match k.param_type {
        ParamType::String => ("idx_string", format!("{a}(x.value_norm)"), KeyKind::Text),
        ParamType::Token => ("idx_token", format!("{a}(x.code)"), KeyKind::Text),
        ParamType::Date if k.desc => ("idx_date", "max(x.high)".into(), KeyKind::Time),
        ParamType::Date => ("idx_date", "min(x.low)".into(), KeyKind::Time),
        ParamType::Number => ("idx_number", format!("{a}(x.value)"), KeyKind::Numeric),
        ParamType::Quantity => ("idx_quantity", format!("{a}(x.value)"), KeyKind::Numeric),
        ParamType::Uri => ("idx_uri", format!("{a}(x.uri)"), KeyKind::Text),
        ParamType::Reference => (
            "idx_reference",
            format!("{a}(coalesce(x.target_type || '/' || x.target_id, x.url))"),
            KeyKind::Text,
        ),
        _ => return Err(unsupported(&k.param, "sorting on this parameter type")),
    };
    let p = q.param_condition("x.param", &k.rows_of);
    Ok((
        format!(
            "(SELECT {col} FROM {table} x WHERE x.tenant_id = $1 AND x.resource_type = '{}' AND x.resource_id = r.id AND {p})",
            rtype.as_str()
        ),
        kind,
    ))
}

fn cursor_value(q: &mut Query<'_>, kind: KeyKind, v: &str) -> Result<String, FhirError> {
    let bad = || {
        FhirError::invalid(
            IssueCode::Invalid,
            None,
            "_page does not fit this search's _sort",
        )
    };
    Ok(match kind {
        KeyKind::Text => q.text(v),
        KeyKind::Time => {
            let t = chrono::DateTime::parse_from_rfc3339(v).map_err(|_| bad())?;
            q.bind(Bind::Time(t.with_timezone(&chrono::Utc)))
        }
        KeyKind::Numeric => {
            let n = parse_number(v)
                .filter(|n| n.prefix == Prefix::Eq && n.text == v)
                .ok_or_else(bad)?;
            format!("{}::numeric", q.text(n.text))
        }
    })
}

/// One page of ids in `_sort` order (ties and unsorted searches by id).
pub fn page(
    conn: &mut diesel::PgConnection,
    mut q: Query<'_>,
    sort: &[SortKey],
    cursor: Option<&Cursor>,
    count: i64,
) -> Result<Page, FhirError> {
    let back = cursor.is_some_and(|c| c.back);
    let mut select = vec!["r.id AS id".to_owned()];
    let mut outer = vec!["m.id".to_owned()];
    let mut order = Vec::new();
    let mut kinds = Vec::new();
    for (i, k) in sort.iter().enumerate() {
        let (expr, kind) = key_expr(&mut q, k)?;
        select.push(format!("{expr} AS s{i}"));
        outer.push(match kind {
            KeyKind::Text => format!("m.s{i} AS k{i}"),
            KeyKind::Time => format!("to_json(m.s{i}) #>> '{{}}' AS k{i}"),
            KeyKind::Numeric => format!("m.s{i}::text AS k{i}"),
        });
        // Nulls last in the requested direction; reversed when paging back.
        let desc = k.desc != back;
        order.push(format!(
            "m.s{i} {} NULLS {}",
            if desc { "DESC" } else { "ASC" },
            if back { "FIRST" } else { "LAST" }
        ));
        kinds.push(kind);
    }
    for i in sort.len()..MAX_SORT_KEYS {
        outer.push(format!("NULL::text AS k{i}"));
    }
    order.push(format!("m.id {}", if back { "DESC" } else { "ASC" }));
    let mut cond = String::from("TRUE");
    if let Some(c) = cursor {
        if c.keys.len() != sort.len() {
            return Err(FhirError::invalid(
                IssueCode::Invalid,
                None,
                "_page does not fit this search's _sort",
            ));
        }
        let id = q.text(c.id.as_str());
        cond = format!("m.id {} {id}", if back { "<" } else { ">" });
        for (i, (k, v)) in sort.iter().zip(&c.keys).enumerate().rev() {
            let s = format!("m.s{i}");
            let desc = k.desc != back;
            let (after, eq) = match v {
                // Nulls sort last going forward, first going back.
                None if back => (format!("{s} IS NOT NULL"), format!("{s} IS NULL")),
                None => ("FALSE".to_owned(), format!("{s} IS NULL")),
                Some(v) => {
                    let b =
                        cursor_value(&mut q, kinds.get(i).copied().unwrap_or(KeyKind::Text), v)?;
                    let op = if desc { "<" } else { ">" };
                    let after = if back {
                        format!("{s} {op} {b}")
                    } else {
                        format!("({s} {op} {b} OR {s} IS NULL)")
                    };
                    (after, format!("{s} = {b}"))
                }
            };
            cond = format!("({after} OR ({eq} AND {cond}))");
        }
    }
    let (from, wh) = q.sql_parts();
    let sql = format!(
        "SELECT {} FROM (SELECT {} FROM {} WHERE {}) m WHERE {cond} ORDER BY {} LIMIT {}",
        outer.join(", "),
        select.join(", "),
        from,
        wh,
        order.join(", "),
        count.saturating_add(1)
    );
    let mut rows: Vec<PageRow> = q.statement(sql, false).load(conn)?;
    let more = rows.len() as i64 > count;
    rows.truncate(usize::try_from(count).unwrap_or(0));
    if back {
        rows.reverse();
    }
    let to_cursor = |r: &PageRow, back: bool| Cursor {
        back,
        keys: [&r.k0, &r.k1, &r.k2, &r.k3]
            .into_iter()
            .take(sort.len())
            .cloned()
            .collect(),
        id: r.id.clone(),
    };
    // Going forward, rows precede this page whenever it continued from a cursor;
    // going back, rows follow it (the page we came from).
    let has_next = if back { true } else { more };
    let has_prev = if back { more } else { cursor.is_some() };
    Ok(Page {
        next: rows
            .last()
            .filter(|_| has_next)
            .map(|r| to_cursor(r, false)),
        previous: rows
            .first()
            .filter(|_| has_prev)
            .map(|r| to_cursor(r, true)),
        ids: rows
            .iter()
            .filter_map(|r| ResourceId::parse(&r.id))
            .collect(),
    })
}
