//! Which search-index values carry PHI, and the normalisations shared by the
//! index writer and the search engine (both sides must fold identically).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// True when values of this parameter identify or describe a person: names,
/// identifiers, birth/death dates, telecom, addresses and free text (issue #2,
/// "Field-level encryption"). Such values are stored only as blind indexes.
pub fn is_phi(resource_type: &str, param: &str) -> bool {
    if param == "identifier" {
        // Every identifier (MRN, accession, order number) can single out a patient.
        return true;
    }
    match resource_type {
        "Patient" | "Practitioner" | "RelatedPerson" | "Person" => matches!(
            param,
            "name"
                | "family"
                | "given"
                | "phonetic"
                | "address"
                | "address-city"
                | "address-country"
                | "address-postalcode"
                | "address-state"
                | "birthdate"
                | "death-date"
                | "phone"
                | "email"
                | "telecom"
        ),
        "Observation" => matches!(param, "value-string" | "code-value-string"),
        // AuditEvent `address` is the network address of a system (client or
        // server), not of a patient; agent and entity names may name people.
        "AuditEvent" => matches!(param, "agent-name" | "entity-name" | "altid"),
        _ => false,
    }
}

/// The FHIR default string match is case- and accent-insensitive
/// (http://hl7.org/fhir/R4/search.html#string): decompose (NFD), drop combining
/// marks, lower-case, and collapse runs of whitespace.
pub fn fold(s: &str) -> String {
    let stripped: String = s.nfd().filter(|c| !is_combining_mark(*c)).collect();
    stripped
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Longest prefix (in characters) given its own blind index: starts-with search
/// on PHI strings works for search strings up to this length.
pub const MAX_PREFIX: usize = 32;

/// The blind-index column name for a (type, param, purpose), e.g. "Patient|family|prefix".
pub fn column(resource_type: &str, param: &str, purpose: &str) -> String {
    format!("{resource_type}|{param}|{purpose}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_follows_the_default_string_match() {
        assert_eq!(fold("Chalmers"), "chalmers");
        assert_eq!(fold("Ñúñez  Álvarez"), "nunez alvarez");
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold(" van  der Berg "), "van der berg");
    }

    #[test]
    fn phi_policy() {
        assert!(is_phi("Patient", "family"));
        assert!(is_phi("Observation", "identifier"));
        assert!(is_phi("Patient", "birthdate"));
        assert!(!is_phi("Patient", "gender"));
        assert!(!is_phi("Observation", "code"));
    }
}
