//! Equality keys of token and local-reference values, one array per resource in
//! `idx_keys` under GIN (the migration explains why). The writer and the search
//! engine both build keys here, so they cannot disagree; the migration's backfill
//! uses the same encoding in SQL, and a test compares the two.

/// The value part of a token key: the code itself, or the hex of its blind index
/// for PHI parameters (never the plaintext).
pub fn token_keys(
    rtype: &str,
    param: &str,
    system: Option<&str>,
    code: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::with_capacity(3);
    if let Some(c) = code {
        out.push(format!("{rtype}|{param}|c|{c}"));
        out.push(match system {
            Some(s) => format!("{rtype}|{param}|sc|{s}|{c}"),
            None => format!("{rtype}|{param}|nc|{c}"),
        });
    }
    if let Some(s) = system {
        out.push(format!("{rtype}|{param}|s|{s}"));
    }
    out
}

/// The key a token search value must find (search.html#token): `code` (any
/// system), `system|code`, `|code` (no system) or `system|` (any code).
pub fn token_search_key(
    rtype: &str,
    param: &str,
    system: Option<&str>,
    code: &str,
) -> Option<String> {
    Some(match (system, code) {
        (None, "") | (Some(""), "") => return None,
        (None, c) => format!("{rtype}|{param}|c|{c}"),
        (Some(""), c) => format!("{rtype}|{param}|nc|{c}"),
        (Some(s), "") => format!("{rtype}|{param}|s|{s}"),
        (Some(s), c) => format!("{rtype}|{param}|sc|{s}|{c}"),
    })
}

/// Keys of a local reference (`Type/id`, or an id whose type is unknown).
pub fn reference_keys(
    rtype: &str,
    param: &str,
    target_type: Option<&str>,
    target_id: &str,
) -> Vec<String> {
    let mut out = vec![format!("{rtype}|{param}|id|{target_id}")];
    if let Some(t) = target_type {
        out.push(format!("{rtype}|{param}|r|{t}/{target_id}"));
    }
    out
}

/// The key a relative reference search value must find.
pub fn reference_search_key(
    rtype: &str,
    param: &str,
    target_type: Option<&str>,
    target_id: &str,
) -> String {
    match target_type {
        Some(t) => format!("{rtype}|{param}|r|{t}/{target_id}"),
        None => format!("{rtype}|{param}|id|{target_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_search_form_finds_its_stored_key() {
        let stored = token_keys(
            "Observation",
            "code",
            Some("http://loinc.org"),
            Some("8867-4"),
        );
        for (s, c) in [
            (None, "8867-4"),
            (Some("http://loinc.org"), "8867-4"),
            (Some("http://loinc.org"), ""),
        ] {
            let k = token_search_key("Observation", "code", s, c);
            assert!(k.is_some_and(|k| stored.contains(&k)), "{s:?} {c}");
        }
        // `|code` means "no system": it must not find a code that has one.
        let k = token_search_key("Observation", "code", Some(""), "8867-4");
        assert!(k.is_some_and(|k| !stored.contains(&k)));
        let bare = token_keys("Observation", "status", None, Some("final"));
        let k = token_search_key("Observation", "status", Some(""), "final");
        assert!(k.is_some_and(|k| bare.contains(&k)));
        let r = reference_keys("Observation", "subject", Some("Patient"), "p1");
        assert!(r.contains(&reference_search_key("Observation", "subject", None, "p1")));
        assert!(r.contains(&reference_search_key(
            "Observation",
            "subject",
            Some("Patient"),
            "p1"
        )));
        assert!(!r.contains(&reference_search_key(
            "Observation",
            "subject",
            Some("Group"),
            "p1"
        )));
    }
}
