//! Which search-index values carry PHI, and the normalisations shared by the
//! index writer and the search engine (both sides must fold identically).

use chrono::{DateTime, Datelike, Utc};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::model::ResourceType;

/// True when values of this parameter identify or describe a person: names,
/// identifiers, birth/death dates, telecom, addresses and free text (issue #2,
/// "Field-level encryption"). Such values are stored only as blind indexes.
/// Each type's list is in its descriptor ([`crate::model::Descriptor::is_phi`]);
/// a type not served has no descriptor, and all its values count as PHI.
pub fn is_phi(resource_type: &str, param: &str) -> bool {
    ResourceType::parse(resource_type).is_none_or(|t| t.descriptor().is_phi(param))
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

/// American Soundex of one word (letter + 3 digits), the phonetic code behind the
/// `phonetic` parameter ("a portion of either family or given name using some
/// kind of phonetic matching algorithm", http://hl7.org/fhir/R4/patient.html#search).
/// None when the word has no ASCII letter after folding.
pub fn soundex(word: &str) -> Option<String> {
    let code = |c: char| match c {
        'b' | 'f' | 'p' | 'v' => Some('1'),
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => Some('2'),
        'd' | 't' => Some('3'),
        'l' => Some('4'),
        'm' | 'n' => Some('5'),
        'r' => Some('6'),
        _ => None,
    };
    let letters: Vec<char> = fold(word)
        .chars()
        .filter(char::is_ascii_lowercase)
        .collect();
    let (&first, rest) = letters.split_first()?;
    let mut out = first.to_ascii_uppercase().to_string();
    let mut last = code(first);
    for &c in rest {
        let d = code(c);
        // h and w do not separate letters with the same code; vowels do.
        if d.is_some() && d != last {
            if let Some(d) = d {
                out.push(d);
            }
        }
        if c != 'h' && c != 'w' {
            last = d;
        }
        if out.len() == 4 {
            break;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    Some(out)
}

/// Longest prefix (in characters) given its own blind index: starts-with search
/// on PHI strings works for search strings up to this length.
pub const MAX_PREFIX: usize = 32;

/// The prefix blind index of `prefix` (already folded) in (type, param): the one
/// definition both the index writer and the search engine use.
pub fn prefix_digest(
    ix: &crate::crypto::BlindIndexer,
    resource_type: &str,
    param: &str,
    prefix: &str,
) -> Vec<u8> {
    ix.index_len(
        &column(resource_type, param, "prefix"),
        prefix,
        crate::crypto::blind::PREFIX_LEN,
    )
    .0
}

/// The word-prefix blind indexes of free text (`CodeableConcept.text`,
/// `Coding.display`, `Identifier.type.text`: what `:text` searches,
/// search.html#modifiers), [`PREFIX_LEN`](crate::crypto::blind::PREFIX_LEN)
/// bytes each, concatenated: for every word of the folded text, every prefix
/// of it up to [`MAX_PREFIX`] characters, each once. Free text is PHI (an OBX
/// comment, a medication's free-text name), so it is never kept readable in
/// an index (docs/security.md says what these reveal).
pub fn text_digests(
    ix: &crate::crypto::BlindIndexer,
    resource_type: &str,
    param: &str,
    text: &str,
) -> Vec<u8> {
    let col = column(resource_type, param, "text");
    let n = crate::crypto::blind::PREFIX_LEN;
    let mut out: Vec<u8> = Vec::new();
    let folded = fold(text);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.dedup();
    // Words sharing a beginning share its digests; a set keeps each once in
    // time linear in the text (a scan of `out` per digest was quadratic, and a
    // text can be as long as a request body).
    let mut seen = std::collections::HashSet::new();
    for word in words {
        let ends = prefix_ends(word);
        let digests = ix.prefixes(&col, word, &ends, n);
        for d in digests.chunks_exact(n) {
            if seen.insert(d.to_vec()) {
                out.extend_from_slice(d);
            }
        }
    }
    out
}

/// The digest [`text_digests`] keeps for a search word (already folded): that
/// of its first [`MAX_PREFIX`] characters.
pub fn text_word_digest(
    ix: &crate::crypto::BlindIndexer,
    resource_type: &str,
    param: &str,
    word: &str,
) -> Vec<u8> {
    let end = word
        .char_indices()
        .nth(MAX_PREFIX)
        .map_or(word.len(), |(i, _)| i);
    ix.index_len(
        &column(resource_type, param, "text"),
        word.get(..end).unwrap_or(word),
        crate::crypto::blind::PREFIX_LEN,
    )
    .0
}

/// Byte offsets of the ends of `s`'s first [`MAX_PREFIX`] prefixes (by
/// character): what [`crate::crypto::BlindIndexer::prefixes`] digests.
pub fn prefix_ends(s: &str) -> Vec<usize> {
    s.char_indices()
        .skip(1)
        .map(|(i, _)| i)
        .chain([s.len()])
        .take(MAX_PREFIX)
        .collect()
}

/// The blind-index column name for a (type, param, purpose), e.g. "Patient|family|prefix".
pub fn column(resource_type: &str, param: &str, purpose: &str) -> String {
    format!("{resource_type}|{param}|{purpose}")
}

/// Whether Postgres `numeric` accepts the text (FHIR decimals do); checking
/// first keeps a strange value from failing the whole write.
pub fn is_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let mut parts = body.splitn(2, ['e', 'E']);
    let mantissa = parts.next().unwrap_or("");
    let digits_ok = !mantissa.is_empty()
        && mantissa.chars().filter(|c| *c == '.').count() <= 1
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().any(|c| c.is_ascii_digit());
    let exp_ok = parts.next().is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.len() < 4 && e.chars().all(|c| c.is_ascii_digit())
    });
    digits_ok && exp_ok
}

/// Blind indexes of a PHI date at each precision it has (YYYY, YYYY-MM,
/// YYYY-MM-DD), so `birthdate=1980` and `birthdate=1980-02-12` both match
/// 1980-02-12, while a value known only to the year does not match a day.
pub fn date_precisions(low: DateTime<Utc>, high: DateTime<Utc>) -> Vec<String> {
    let span = high - low;
    let mut out = vec![format!("{:04}", low.year())];
    if span < chrono::Duration::days(32) {
        out.push(format!("{:04}-{:02}", low.year(), low.month()));
    }
    if span < chrono::Duration::days(1) {
        out.push(format!(
            "{:04}-{:02}-{:02}",
            low.year(),
            low.month(),
            low.day()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A union parameter (fhirgate-search unions.rs) is searched through its
    /// parts' rows, but a PHI value's blind index is keyed by the parameter's
    /// own name (`column`), which the search code takes from the criterion:
    /// a PHI union or part would silently never match. None is, in R4.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn no_union_parameter_carries_phi() {
        let served: Vec<&str> = crate::model::ResourceType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect();
        let registry = fhirgate_search::Registry::r4(&served).unwrap();
        for rt in &served {
            for d in registry
                .params(rt)
                .iter()
                .filter(|d| !d.union_of.is_empty())
            {
                assert!(!is_phi(rt, &d.code), "{rt}.{}", d.code);
                for part in &d.union_of {
                    assert!(!is_phi(rt, part), "{rt}.{} part {part}", d.code);
                }
            }
        }
    }

    #[test]
    fn folding_follows_the_default_string_match() {
        assert_eq!(fold("Chalmers"), "chalmers");
        assert_eq!(fold("Ñúñez  Álvarez"), "nunez alvarez");
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold(" van  der Berg "), "van der berg");
    }

    #[test]
    fn soundex_matches_the_reference_examples() {
        // The examples of the US National Archives' Soundex instructions.
        for (name, code) in [
            ("Robert", "R163"),
            ("Rupert", "R163"),
            ("Rubin", "R150"),
            ("Ashcraft", "A261"),
            ("Ashcroft", "A261"),
            ("Tymczak", "T522"),
            ("Pfister", "P236"),
            ("Honeyman", "H555"),
            ("Lee", "L000"),
        ] {
            assert_eq!(soundex(name).as_deref(), Some(code), "{name}");
        }
        assert_eq!(soundex("Müller"), soundex("Muller"));
        assert_eq!(soundex("123"), None);
    }

    /// A `string` parameter indexes free text (names, addresses, descriptions),
    /// which is PHI (issue #15): every one of the served types must be stored
    /// blind, but for the listed ones, whose reason is given.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn every_string_parameter_is_phi() {
        // AuditEvent.address is the network address of a system taking part
        // (audit-event: agent.network.address), not a person's.
        let clear = [("AuditEvent", "address")];
        let served: Vec<&str> = crate::model::ResourceType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect();
        let registry = fhirgate_search::Registry::r4(&served).unwrap();
        for rt in &served {
            for d in registry.params(rt).iter().filter(|d| {
                // `_content`/`_text` have no expression: nothing is indexed for them.
                d.param_type == fhirgate_search::ParamType::String
                    && d.union_of.is_empty()
                    && !d.expression.is_empty()
            }) {
                let listed = clear.contains(&(*rt, d.code.as_str()));
                assert_eq!(is_phi(rt, &d.code), !listed, "{rt}.{}", d.code);
            }
        }
    }

    #[test]
    fn phi_policy() {
        assert!(is_phi("Patient", "family"));
        assert!(is_phi("Observation", "identifier"));
        assert!(is_phi("Patient", "birthdate"));
        assert!(!is_phi("Patient", "gender"));
        assert!(!is_phi("Observation", "code"));
    }

    #[test]
    fn decimals_accepted_by_numeric() {
        for ok in ["1", "1.50", "-0.001", "6.02e23", "1E-3"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", "-", ".", "1.2.3", "NaN", "1e", "1e99999", "abc"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
