//! v2 tables to FHIR codes, after the IG's vocabulary ConceptMaps
//! (http://hl7.org/fhir/uv/v2mappings/terminology_maps.html). Where the IG
//! leaves a code unmapped, the choice made here is marked "local".

/// Table 0001 (administrative sex) -> administrative-gender
/// (ConceptMap table-hl70001-to-administrative-gender).
pub fn gender(code: &str) -> Option<&'static str> {
    Some(match code {
        "F" => "female",
        "M" => "male",
        "O" | "A" | "N" => "other",
        "U" => "unknown",
        _ => return None,
    })
}

pub const V3_MARITAL: &str = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus";
pub const V3_NULL: &str = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";

/// Table 0002 (marital status) -> (system, code) of v3-MaritalStatus / NullFlavor
/// (ConceptMap table-hl70002-to-v3-maritalstatus).
pub fn marital(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "A" | "E" => (V3_MARITAL, "L"),
        "D" => (V3_MARITAL, "D"),
        "M" => (V3_MARITAL, "M"),
        "S" => (V3_MARITAL, "S"),
        "W" => (V3_MARITAL, "W"),
        "C" => (V3_MARITAL, "C"),
        "G" | "P" | "R" => (V3_MARITAL, "T"),
        "N" => (V3_MARITAL, "A"),
        "I" => (V3_MARITAL, "I"),
        "B" => (V3_MARITAL, "U"),
        "U" | "T" => (V3_NULL, "UNK"),
        "O" => (V3_NULL, "OTH"),
        _ => return None,
    })
}

/// Table 0085 (OBX-11) -> observation-status (ConceptMap
/// table-hl70085-to-observation-status: A amended, C corrected, D/W
/// entered-in-error, F final, P preliminary, X cancelled). Local, for codes
/// the IG leaves unmapped: B appended -> amended, I / O -> registered,
/// R / S -> preliminary, N -> cancelled (not asked: no result will come).
pub fn observation_status(code: &str) -> Option<&'static str> {
    Some(match code {
        "A" | "B" => "amended",
        "C" => "corrected",
        "D" | "W" => "entered-in-error",
        "F" => "final",
        "P" | "R" | "S" => "preliminary",
        "X" | "N" => "cancelled",
        "I" | "O" => "registered",
        _ => return None,
    })
}

/// Table 0123 (OBR-25 result status) -> observation-status for the grouping
/// Observation (the IG maps it to DiagnosticReport.status, whose codes
/// partial/preliminary both fold into `preliminary` here).
pub fn result_status(code: &str) -> Option<&'static str> {
    Some(match code {
        "O" | "I" | "S" => "registered",
        "A" | "P" | "R" => "preliminary",
        "C" | "M" => "corrected",
        "F" => "final",
        "X" => "cancelled",
        _ => return None,
    })
}

pub const V3_INTERPRETATION: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";

/// Table 0078 (OBX-8) codes that v3-ObservationInterpretation defines with the
/// same code (ConceptMap table-hl70078-to-v3-observationinterpretation maps
/// each to itself).
pub fn interpretation(code: &str) -> Option<&'static str> {
    const CODES: &[&str] = &[
        "<", ">", "A", "AA", "AC", "B", "CAR", "D", "DET", "E", "EX", "EXP", "H", "HH", "HU", "HX",
        "I", "IE", "IND", "L", "LL", "LU", "LX", "MS", "N", "NCL", "ND", "NEG", "NR", "NS", "OBX",
        "POS", "QCF", "R", "RR", "S", "SDD", "SYN-R", "SYN-S", "TOX", "U", "UNE", "VS", "W", "WR",
    ];
    CODES.iter().copied().find(|c| *c == code)
}

/// Table 0278 (filler status, SCH-25) -> appointmentstatus (ConceptMap
/// table-hl70278-to-appointmentstatus). Case-insensitive: v2.8 writes
/// `Booked`, THO 3.0 `BOOKED`. `Blocked` is a slot, not an appointment: None.
pub fn appointment_status(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_lowercase().as_str() {
        "pending" => "pending",
        "waitlist" => "waitlist",
        "booked" | "overbook" => "booked",
        "started" => "checked-in",
        "complete" => "fulfilled",
        "cancelled" | "dc" => "cancelled",
        "deleted" => "entered-in-error",
        "noshow" => "noshow",
        _ => return None,
    })
}

/// Table 0278 (AIP-12 / AIS-10 ...) -> participationstatus (local: the IG maps
/// the resource's filler status, not the participant's).
pub fn participation_status(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_lowercase().as_str() {
        "booked" | "overbook" | "started" | "complete" => "accepted",
        "pending" | "waitlist" => "tentative",
        "cancelled" | "dc" | "deleted" | "noshow" => "declined",
        _ => return None,
    })
}

/// Table 0038 (ORC-5 order status) -> medicationrequest-status (ConceptMap
/// table-hl70038-to-medicationrequest-status).
pub fn order_status(code: &str) -> Option<&'static str> {
    Some(match code {
        "A" | "IP" | "SC" => "active",
        "CA" => "cancelled",
        "CM" => "completed",
        "DC" | "RP" => "stopped",
        "ER" => "entered-in-error",
        "HD" => "on-hold",
        _ => return None,
    })
}

/// Table 0119 (ORC-1 order control), used when ORC-5 is empty (IG: "IF ORC-5
/// NOT VALUED", ConceptMap table-hl70119-to-medicationrequest-status).
pub fn order_control_status(code: &str) -> Option<&'static str> {
    Some(match code {
        "NW" | "OK" | "SC" | "RL" | "XO" | "XX" | "RE" | "RO" | "RP" | "RU" | "PA" | "CH" => {
            "active"
        }
        "CA" | "CR" | "OC" => "cancelled",
        "DC" | "DR" | "OD" => "stopped",
        "HD" | "HR" | "OH" => "on-hold",
        _ => return None,
    })
}

/// Table 0485 (TQ1-9 priority) -> request-priority; other codes are not a priority FHIR has.
pub fn priority(code: &str) -> Option<&'static str> {
    Some(match code {
        "S" => "stat",
        "A" => "asap",
        "R" => "routine",
        _ => return None,
    })
}
