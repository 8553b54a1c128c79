//! HL7 v2 message -> one FHIR R4 transaction Bundle (issue #5), after the HL7
//! Version 2 to FHIR implementation guide (http://hl7.org/fhir/uv/v2mappings/).
//!
//! Pure functions, no I/O: [`to_bundle`] takes a decoded
//! [`fhirgate_hl7::Message`] and gives the Bundle the gateway's transaction
//! path commits, or a [`MapError`] that says what to put in the AE/AR
//! acknowledgement. Only the types the gateway serves are emitted (Patient,
//! Practitioner, Observation, Appointment, MedicationRequest); where the IG
//! maps to another type, contained resources or CodeableConcepts stand in
//! (README "Types the gateway does not serve").
#![forbid(unsafe_code)]

mod adt;
mod bundle;
mod ctx;
mod datatypes;
pub mod dtm;
pub mod error;
mod ids;
mod merge;
mod obx;
mod oru;
mod patient;
mod practitioner;
mod rde;
mod siu;
mod tables;

use std::collections::HashMap;

use fhirgate_hl7::Message;
use serde_json::Value;

pub use bundle::{EntryInfo, Method};
pub use error::{ErrorCode, Location, MapError};
pub use merge::{merge, Merge};

/// Site configuration of the translation.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// Offset from UTC, in minutes, of times sent without one, by sending
    /// facility (MSH-4.1, or MSH-4.2 when MSH-4.1 is not listed).
    pub facility_offsets: HashMap<String, i32>,
    /// Offset of facilities not listed above; 0 (UTC) by default.
    pub default_offset: i32,
    /// Identifier systems of assigning authorities known by namespace id or
    /// universal id (CX-4, EI-2, XCN-9 ...), e.g. `"BCBS" -> "https://..."`;
    /// they win over the derived systems (README "Identifier systems").
    pub authorities: HashMap<String, String>,
}

/// A translated message.
#[derive(Debug, Clone)]
pub struct Mapped {
    /// The transaction Bundle (resourceType Bundle, type transaction).
    pub bundle: Value,
    /// One line per entry, in Bundle order: type, fullUrl, method, condition.
    pub entries: Vec<EntryInfo>,
    /// MSH-9.1 and MSH-9.2.
    pub message_type: String,
    pub event: String,
}

fn msh_error(code: ErrorCode, field: usize, component: Option<usize>, what: &str) -> MapError {
    let name = match component {
        Some(c) => format!("MSH-{field}.{c}"),
        None => format!("MSH-{field}"),
    };
    MapError::new(
        code,
        Location {
            segment: "MSH".into(),
            sequence: 1,
            field: Some(field),
            repetition: Some(1),
            component,
        },
        format!("{name} {what}"),
    )
}

/// Which family maps a message, or why none does.
fn family(kind: &str, event: &str) -> Result<&'static str, MapError> {
    let family = match kind {
        "ADT" => "ADT",
        "ORU" => "ORU",
        "SIU" => "SIU",
        "RDE" | "OMP" => "RDE",
        "" => {
            return Err(msh_error(
                ErrorCode::RequiredFieldMissing,
                9,
                Some(1),
                "(message type) is empty",
            ))
        }
        _ => {
            return Err(msh_error(
                ErrorCode::UnsupportedMessageType,
                9,
                Some(1),
                "names a message type this gateway does not translate",
            ))
        }
    };
    let supported = match family {
        "ADT" => matches!(event, "A01" | "A04" | "A05" | "A08" | "A28" | "A31" | "A40"),
        "ORU" => event == "R01",
        "SIU" => matches!(event, "S12" | "S13" | "S14" | "S15" | "S17" | "S26"),
        _ => (kind == "RDE" && event == "O11") || (kind == "OMP" && event == "O09"),
    };
    if supported {
        Ok(family)
    } else {
        Err(msh_error(
            ErrorCode::UnsupportedEventCode,
            9,
            Some(2),
            "names an event this gateway does not translate for this message type",
        ))
    }
}

/// Translates one message into a transaction Bundle.
pub fn to_bundle(msg: &Message, opts: &MapOptions) -> Result<Mapped, MapError> {
    let msh = msg.msh().ok_or_else(|| ctx::missing_segment("MSH"))?;
    let (kind, event) = msg.message_type();
    let (kind, event) = (kind.trim(), event.trim());
    let family = family(kind, event)?;
    let facility_ns = msh.get(4, 1).trim();
    let facility_uid = msh.get(4, 2).trim();
    let offset = opts
        .facility_offsets
        .get(facility_ns)
        .or_else(|| opts.facility_offsets.get(facility_uid))
        .copied()
        .unwrap_or(opts.default_offset);
    if !dtm::valid_offset(offset) {
        return Err(msh_error(
            ErrorCode::ApplicationInternalError,
            4,
            None,
            "(sending facility) has a configured time zone offset out of range",
        ));
    }
    let mut ctx = ctx::Ctx {
        opts,
        offset,
        app: msh.get(3, 1).trim().to_owned(),
        facility: facility_ns.to_owned(),
        control_id: msg.control_id().trim().to_owned(),
        bundle: bundle::Bundle::default(),
    };
    let segs = ctx::segments(msg);
    match family {
        "ADT" => adt::map(&mut ctx, &segs, event)?,
        "ORU" => oru::map(&mut ctx, &segs)?,
        "SIU" => siu::map(&mut ctx, &segs, event)?,
        _ => rde::map(&mut ctx, &segs)?,
    }
    let entries = ctx.bundle.infos();
    Ok(Mapped {
        bundle: ctx.bundle.into_value(),
        entries,
        message_type: kind.to_owned(),
        event: event.to_owned(),
    })
}
