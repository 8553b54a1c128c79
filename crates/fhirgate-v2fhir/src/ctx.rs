//! What every map needs: the options, the sender, the Bundle being built, and
//! segment handles that know their place in the message (for error locations).

use fhirgate_hl7::{Field, Message, Repetition, Segment};
use serde_json::Value;

use crate::bundle::Bundle;
use crate::dtm::{self, Dtm};
use crate::error::{ErrorCode, Location, MapError};
use crate::ids;
use crate::MapOptions;

/// Where a value sits: segment id, its occurrence, field and repetition.
#[derive(Debug, Clone)]
pub struct At {
    pub seg: String,
    pub seq: usize,
    pub field: usize,
    pub rep: usize,
}

impl At {
    pub fn loc(&self, component: Option<usize>) -> Location {
        Location {
            segment: self.seg.clone(),
            sequence: self.seq,
            field: Some(self.field),
            repetition: Some(self.rep),
            component,
        }
    }

    pub fn err(&self, code: ErrorCode, component: Option<usize>, what: &str) -> MapError {
        let name = match component {
            Some(c) => format!("{}-{}.{c}", self.seg, self.field),
            None => format!("{}-{}", self.seg, self.field),
        };
        MapError::new(code, self.loc(component), format!("{name} {what}"))
    }
}

/// A segment with its occurrence number among segments of the same id.
#[derive(Clone, Copy)]
pub struct Seg<'a> {
    pub s: &'a Segment,
    pub seq: usize,
}

impl<'a> Seg<'a> {
    pub fn name(&self) -> &'a str {
        self.s.name.as_str()
    }

    pub fn value(&self, field: usize) -> &'a str {
        self.s.value(field).trim()
    }

    pub fn get(&self, field: usize, component: usize) -> &'a str {
        self.s.get(field, component).trim()
    }

    pub fn field(&self, field: usize) -> Option<&'a Field> {
        self.s.field(field)
    }

    pub fn at(&self, field: usize, rep: usize) -> At {
        At {
            seg: self.s.name.clone(),
            seq: self.seq,
            field,
            rep,
        }
    }

    /// The valued repetitions of a field, each with its location.
    pub fn reps(&self, field: usize) -> Vec<(At, &'a Repetition)> {
        self.field(field)
            .map(|f| {
                f.repetitions
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| !r.is_empty())
                    .map(|(i, r)| (self.at(field, i + 1), r))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first valued repetition.
    pub fn first(&self, field: usize) -> Option<(At, &'a Repetition)> {
        self.reps(field).into_iter().next()
    }

    pub fn err(&self, code: ErrorCode, field: usize, what: &str) -> MapError {
        self.at(field, 1).err(code, None, what)
    }

    pub fn missing(&self, field: usize) -> MapError {
        self.err(ErrorCode::RequiredFieldMissing, field, "is required here")
    }
}

/// A required segment is absent: the location names the segment, no field.
pub fn missing_segment(name: &str) -> MapError {
    MapError::new(
        ErrorCode::RequiredFieldMissing,
        Location {
            segment: name.into(),
            sequence: 1,
            ..Location::default()
        },
        format!("the message has no {name} segment"),
    )
}

/// The segment named `name` that follows `after` (index into `segs`) before
/// the next segment named in `stop`.
pub fn following<'a>(segs: &[Seg<'a>], after: usize, name: &str, stop: &[&str]) -> Option<Seg<'a>> {
    segs.iter()
        .skip(after + 1)
        .take_while(|s| !stop.contains(&s.name()))
        .find(|s| s.name() == name)
        .copied()
}

/// Every segment of the message with its occurrence number.
pub fn segments(msg: &Message) -> Vec<Seg<'_>> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    msg.segments
        .iter()
        .map(|s| {
            let n = counts.entry(s.name.as_str()).or_insert(0);
            *n += 1;
            Seg { s, seq: *n }
        })
        .collect()
}

pub struct Ctx<'a> {
    pub opts: &'a MapOptions,
    /// Offset (minutes) for times the message gives without one.
    pub offset: i32,
    /// MSH-3.1 / MSH-4.1, for sender-scoped identifier systems.
    pub app: String,
    pub facility: String,
    /// MSH-10.
    pub control_id: String,
    pub bundle: Bundle,
}

impl Ctx<'_> {
    fn dtm(&self, s: &str, at: &At, component: Option<usize>) -> Result<Option<Dtm>, MapError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        dtm::parse(s)
            .map(Some)
            .map_err(|e| at.err(ErrorCode::DataTypeError, component, e.describe()))
    }

    /// A DTM as a FHIR dateTime; `""` gives None.
    pub fn datetime(
        &self,
        s: &str,
        at: &At,
        component: Option<usize>,
    ) -> Result<Option<String>, MapError> {
        Ok(self.dtm(s, at, component)?.map(|d| d.datetime(self.offset)))
    }

    /// A DTM as a FHIR date (any time dropped).
    pub fn date(
        &self,
        s: &str,
        at: &At,
        component: Option<usize>,
    ) -> Result<Option<String>, MapError> {
        Ok(self.dtm(s, at, component)?.map(|d| d.date()))
    }

    /// A DTM parsed, for arithmetic and instants.
    pub fn parsed(
        &self,
        s: &str,
        at: &At,
        component: Option<usize>,
    ) -> Result<Option<Dtm>, MapError> {
        self.dtm(s, at, component)
    }

    /// An HD's system, or the sender-scoped one of `kind` when the HD is empty.
    pub fn system(&self, ns: &str, uid: &str, uid_type: &str, kind: &str) -> String {
        ids::hd_system(ns, uid, uid_type, &self.opts.authorities)
            .unwrap_or_else(|| ids::local_system(kind, &self.app, &self.facility))
    }

    pub fn local_system(&self, kind: &str) -> String {
        ids::local_system(kind, &self.app, &self.facility)
    }
}

/// `{"reference": url}`.
pub fn reference(url: &str) -> Value {
    serde_json::json!({ "reference": url })
}
