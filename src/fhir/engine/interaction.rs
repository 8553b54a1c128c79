//! What a client asks of the engine, already parsed: the HTTP adapter, the
//! HL7 v2 listener and `fhirgate import` each build an [`Interaction`] and hand
//! it to [`super::Engine::run`]. Nothing here knows HTTP; the kinds are those of
//! http://hl7.org/fhir/R4/http.html and valueset-type-restful-interaction.html.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::access::Principal;
use crate::audit::Interaction as Code;
use crate::fhir::patch::PatchDoc;
use crate::model::{ResourceId, ResourceType};
use crate::store::resources::HistoryScope;
use crate::tenant::TenantId;

/// Query parameters as (name, value) pairs, in the order given.
pub type Query = Vec<(String, String)>;

/// One interaction: who asks, for which tenant, under which base, and what.
pub struct Interaction {
    pub tenant: TenantId,
    pub principal: Principal,
    /// The FHIR base of the answer's links, Location and fullUrls
    /// (src/fhir/base.rs decides it).
    pub base: String,
    pub origin: Origin,
    pub request: Request,
}

/// Where the interaction came from, for its AuditEvent (BALP source and client
/// network address).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub client_addr: Option<String>,
    pub server_addr: Option<String>,
}

/// The conditional-read preconditions (http.html#cread, RFC 7232).
#[derive(Debug, Clone, Default)]
pub struct ReadPreconditions {
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<DateTime<Utc>>,
}

/// A history's scope, owned (instance, type or system: http.html#history).
#[derive(Debug, Clone)]
pub enum HistoryLevel {
    Instance(ResourceType, ResourceId),
    Type(ResourceType),
    System,
}

impl HistoryLevel {
    pub fn borrow(&self) -> HistoryScope<'_> {
        match self {
            HistoryLevel::Instance(t, id) => HistoryScope::Instance(*t, id),
            HistoryLevel::Type(t) => HistoryScope::Type(*t),
            HistoryLevel::System => HistoryScope::System,
        }
    }
}

/// The interaction kinds with their parsed input.
pub enum Request {
    Capabilities,
    Read {
        rtype: ResourceType,
        id: ResourceId,
        preconditions: ReadPreconditions,
    },
    Vread {
        rtype: ResourceType,
        id: ResourceId,
        version: i32,
    },
    /// create; with `if_none_exist`, conditional create (http.html#ccreate).
    Create {
        rtype: ResourceType,
        resource: Map<String, Value>,
        if_none_exist: Option<(String, Query)>,
    },
    Update {
        rtype: ResourceType,
        id: ResourceId,
        resource: Map<String, Value>,
        if_match: Option<i32>,
    },
    /// http.html#cond-update; `raw` is the query as the client wrote it (audited).
    ConditionalUpdate {
        rtype: ResourceType,
        query: Query,
        raw: String,
        resource: Map<String, Value>,
        if_match: Option<i32>,
    },
    Patch {
        rtype: ResourceType,
        id: ResourceId,
        patch: PatchDoc,
        if_match: Option<i32>,
    },
    Delete {
        rtype: ResourceType,
        id: ResourceId,
    },
    ConditionalDelete {
        rtype: ResourceType,
        query: Query,
        raw: String,
    },
    /// `raw` is the query as written, echoed in the self link.
    History {
        level: HistoryLevel,
        query: Query,
        raw: String,
    },
    /// `strict`: `Prefer: handling=strict` (search.html#errors).
    Search {
        rtype: ResourceType,
        query: Query,
        strict: bool,
    },
    /// A transaction or batch Bundle (http.html#transaction), parsed.
    Bundle {
        bundle: Value,
    },
    /// `Patient/[id]/$everything` or `Patient/$everything`.
    Everything {
        patient: Option<ResourceId>,
        query: Query,
    },
}

impl Request {
    /// The restful interaction it is, as its AuditEvent names it.
    pub fn code(&self) -> Code {
        match self {
            Request::Capabilities => Code::Capabilities,
            Request::Read { .. } => Code::Read,
            Request::Vread { .. } => Code::Vread,
            Request::Create { .. } => Code::Create,
            Request::Update { .. } | Request::ConditionalUpdate { .. } => Code::Update,
            Request::Patch { .. } => Code::Patch,
            Request::Delete { .. } | Request::ConditionalDelete { .. } => Code::Delete,
            Request::History { level, .. } => match level {
                HistoryLevel::Instance(..) => Code::HistoryInstance,
                HistoryLevel::Type(_) => Code::HistoryType,
                HistoryLevel::System => Code::HistorySystem,
            },
            Request::Search { .. } => Code::SearchType,
            Request::Bundle { .. } => Code::Batch,
            Request::Everything { .. } => Code::Operation,
        }
    }

    /// The resource type the interaction is about, if one.
    pub fn rtype(&self) -> Option<ResourceType> {
        match self {
            Request::Read { rtype, .. }
            | Request::Vread { rtype, .. }
            | Request::Create { rtype, .. }
            | Request::Update { rtype, .. }
            | Request::ConditionalUpdate { rtype, .. }
            | Request::Patch { rtype, .. }
            | Request::Delete { rtype, .. }
            | Request::ConditionalDelete { rtype, .. }
            | Request::Search { rtype, .. } => Some(*rtype),
            Request::History { level, .. } => match level {
                HistoryLevel::Instance(t, _) | HistoryLevel::Type(t) => Some(*t),
                HistoryLevel::System => None,
            },
            Request::Everything { .. } => Some(ResourceType::Patient),
            Request::Capabilities | Request::Bundle { .. } => None,
        }
    }

    /// The resource id the interaction names, if one.
    pub fn id(&self) -> Option<&ResourceId> {
        match self {
            Request::Read { id, .. }
            | Request::Vread { id, .. }
            | Request::Update { id, .. }
            | Request::Patch { id, .. }
            | Request::Delete { id, .. } => Some(id),
            Request::History {
                level: HistoryLevel::Instance(_, id),
                ..
            } => Some(id),
            Request::Everything { patient, .. } => patient.as_ref(),
            _ => None,
        }
    }
}
