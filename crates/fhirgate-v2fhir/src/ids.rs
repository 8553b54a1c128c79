//! Identifier systems and the conditional URLs built on them.
//!
//! The IG takes `Identifier.system` from the assigning authority (CX-4, EI-2..4,
//! XCN-9: an HD), http://hl7.org/fhir/uv/v2mappings/ConceptMap/datatype-hd-to-identifier
//! ... when the HD names an OID (`HD-3 = ISO`, or HD-2 has the OID form) the system
//! is `urn:oid:<HD-2>`. For what the IG leaves to the implementer this crate uses
//! stable URNs under `urn:fhirgate:v2:` (README "Identifier systems"):
//! - `urn:fhirgate:v2:aa:<HD-1>` for an authority known only by its namespace id,
//!   unless `MapOptions::authorities` maps it to a URI (or it is a well-known one);
//! - `urn:fhirgate:v2:<kind>:<MSH-3.1>:<MSH-4.1>` for a value with no authority at
//!   all: it is then only unique within its sender, and `kind` keeps the id spaces
//!   of one sender apart (`patient`, `practitioner`, `placer`, `filler`, `message`).
//!
//! Everything variable is percent-encoded so that the system is a valid FHIR `uri`.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// Namespace ids whose system is published (http://hl7.org/fhir/R4/identifier-registry.html).
const KNOWN: &[(&str, &str)] = &[
    ("SSA", "http://hl7.org/fhir/sid/us-ssn"),
    ("USSSA", "http://hl7.org/fhir/sid/us-ssn"),
    ("NPI", "http://hl7.org/fhir/sid/us-npi"),
];

/// RFC 3986 percent-encoding of everything but unreserved characters.
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Does `s` have the form of an OID (ISO/IEC 8824: arcs of digits, first 0-2)?
pub fn is_oid(s: &str) -> bool {
    let mut arcs = s.split('.');
    let first_ok = matches!(arcs.next(), Some("0" | "1" | "2"));
    first_ok
        && s.contains('.')
        && s.split('.').all(|a| {
            !a.is_empty()
                && a.bytes().all(|b| b.is_ascii_digit())
                && (a == "0" || !a.starts_with('0'))
        })
}

/// The system of an HD (namespace id, universal id, universal id type), or None
/// when all three are empty.
pub fn hd_system(
    namespace: &str,
    universal: &str,
    universal_type: &str,
    authorities: &HashMap<String, String>,
) -> Option<String> {
    let (ns, uid, ty) = (namespace.trim(), universal.trim(), universal_type.trim());
    if let Some(mapped) = authorities.get(ns).or_else(|| authorities.get(uid)) {
        return Some(mapped.clone());
    }
    if !uid.is_empty() {
        match ty.to_ascii_uppercase().as_str() {
            "UUID" => return Some(format!("urn:uuid:{}", uid.to_ascii_lowercase())),
            "URI" | "URL" if !uid.contains(char::is_whitespace) => return Some(uid.to_owned()),
            _ if is_oid(uid) => return Some(format!("urn:oid:{uid}")),
            _ => {}
        }
    }
    if !ns.is_empty() {
        if let Some((_, sys)) = KNOWN.iter().find(|(k, _)| k.eq_ignore_ascii_case(ns)) {
            return Some((*sys).to_owned());
        }
        return Some(format!("urn:fhirgate:v2:aa:{}", pct(ns)));
    }
    if !uid.is_empty() {
        return Some(format!("urn:fhirgate:v2:aa:{}", pct(uid)));
    }
    None
}

/// The sender-scoped system for values that carry no authority.
pub fn local_system(kind: &str, sending_app: &str, sending_facility: &str) -> String {
    format!(
        "urn:fhirgate:v2:{kind}:{}:{}",
        pct(sending_app.trim()),
        pct(sending_facility.trim())
    )
}

/// A FHIR search token value `system|value`, with the search escapes of
/// search.html#escaping applied to the value, then form-encoded for a URL query.
pub fn token_query(param: &str, system: &str, value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '|' | ',' | '$') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!("{param}={}%7C{}", pct(system), pct(&escaped))
}

/// A deterministic `urn:uuid:` for a Bundle entry: the same message gives the
/// same fullUrls, so a replayed translation is byte-identical (RFC 9562 v8
/// layout over SHA-256 of the entry's key).
pub fn entry_uuid(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 16];
    for (dst, src) in b.iter_mut().zip(digest.iter()) {
        *dst = *src;
    }
    if let Some(v) = b.get_mut(6) {
        *v = (*v & 0x0f) | 0x80;
    }
    if let Some(v) = b.get_mut(8) {
        *v = (*v & 0x3f) | 0x80;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or("");
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hd_systems() {
        let none = HashMap::new();
        let sys = |a, b, c| hd_system(a, b, c, &none);
        assert_eq!(sys("test1", "2.16.1", "HCD"), Some("urn:oid:2.16.1".into()));
        assert_eq!(
            sys("", "2.16.840.1.113883.19", "ISO"),
            Some("urn:oid:2.16.840.1.113883.19".into())
        );
        assert_eq!(
            sys("USSSA", "", ""),
            Some("http://hl7.org/fhir/sid/us-ssn".into())
        );
        assert_eq!(
            sys("NPI", "", ""),
            Some("http://hl7.org/fhir/sid/us-npi".into())
        );
        assert_eq!(
            sys("GHH LAB", "", ""),
            Some("urn:fhirgate:v2:aa:GHH%20LAB".into())
        );
        assert_eq!(sys("", "", ""), None);
        assert_eq!(
            sys("x", "https://h.example/ids", "URI"),
            Some("https://h.example/ids".into())
        );
        assert_eq!(
            sys("x", "Provider Master", "L"),
            Some("urn:fhirgate:v2:aa:x".into())
        );
        let mut map = HashMap::new();
        map.insert("BCBS".to_owned(), "https://bcbs.example/member".to_owned());
        assert_eq!(
            hd_system("BCBS", "", "", &map),
            Some("https://bcbs.example/member".into())
        );
    }

    #[test]
    fn oids() {
        assert!(is_oid("2.16.840.1.113883.19"));
        assert!(is_oid("1.23"));
        assert!(!is_oid("2"));
        assert!(!is_oid("3.1"));
        assert!(!is_oid("2.01"));
        assert!(!is_oid("2..1"));
        assert!(!is_oid("rt23"));
    }

    #[test]
    fn queries_are_escaped_and_encoded() {
        assert_eq!(
            token_query("identifier", "urn:oid:2.16.1", "PATID1234"),
            "identifier=urn%3Aoid%3A2.16.1%7CPATID1234"
        );
        assert_eq!(
            token_query("identifier", "s", "a|b,c d"),
            "identifier=s%7Ca%5C%7Cb%5C%2Cc%20d"
        );
    }

    #[test]
    fn uuids_are_stable_and_distinct() {
        let a = entry_uuid("Patient|x|1");
        assert_eq!(a, entry_uuid("Patient|x|1"));
        assert_ne!(a, entry_uuid("Patient|x|2"));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(a.chars().nth(9 + 14), Some('8'));
    }
}
