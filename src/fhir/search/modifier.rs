//! Search modifiers (http://hl7.org/fhir/R4/search.html#modifiers), parsed once
//! from the parameter name (`name:exact`, `subject:Patient`, `_include:iterate`).
//! Which modifiers a parameter accepts depends on its type: each parser under
//! `leaf/` turns the ones its type takes into its own match mode and refuses
//! the others (400), as it refuses a modifier this server does not know.

/// One modifier, as written after the parameter's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modifier {
    /// `:missing` (all types, search.html#missing).
    Missing,
    /// `:exact`, `:contains` (string, search.html#string).
    Exact,
    Contains,
    /// `:text`, `:not`, `:above`, `:below`, `:in`, `:not-in`, `:of-type`
    /// (token, search.html#token; `:above`/`:below` also uri, search.html#uri).
    Text,
    Not,
    Above,
    Below,
    In,
    NotIn,
    OfType,
    /// `:identifier` (reference, search.html#reference).
    Identifier,
    /// `:iterate` (`_include`/`_revinclude`, search.html#include).
    Iterate,
    /// `:[type]` (reference, search.html#reference; the type of a chain,
    /// search.html#chaining): a name shaped like a resource type, an ASCII
    /// upper-case letter then ASCII letters and digits. Whether the type may
    /// be used is for the parameter to say (its targets).
    Type(String),
    /// Anything else, kept as written.
    Unknown(String),
}

impl Modifier {
    pub fn parse(s: &str) -> Self {
        match s {
            "missing" => Self::Missing,
            "exact" => Self::Exact,
            "contains" => Self::Contains,
            "text" => Self::Text,
            "not" => Self::Not,
            "above" => Self::Above,
            "below" => Self::Below,
            "in" => Self::In,
            "not-in" => Self::NotIn,
            "of-type" => Self::OfType,
            "identifier" => Self::Identifier,
            "iterate" => Self::Iterate,
            t if t.starts_with(|c: char| c.is_ascii_uppercase())
                && t.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                Self::Type(t.to_owned())
            }
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The modifier as written (parsing is exact, so this is its text).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Missing => "missing",
            Self::Exact => "exact",
            Self::Contains => "contains",
            Self::Text => "text",
            Self::Not => "not",
            Self::Above => "above",
            Self::Below => "below",
            Self::In => "in",
            Self::NotIn => "not-in",
            Self::OfType => "of-type",
            Self::Identifier => "identifier",
            Self::Iterate => "iterate",
            Self::Type(t) | Self::Unknown(t) => t,
        }
    }

    /// `:iterate`, or `:recurse`, its name before R4 (still accepted on
    /// `_include`/`_revinclude`).
    pub fn iterates(&self) -> bool {
        match self {
            Self::Iterate => true,
            Self::Unknown(s) => s == "recurse",
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_is_exact_and_keeps_the_text() {
        for s in [
            "missing",
            "exact",
            "contains",
            "text",
            "not",
            "above",
            "below",
            "in",
            "not-in",
            "of-type",
            "identifier",
            "iterate",
            "Patient",
            "Group2",
            "",
            "Missing",
            "patient",
            "x;y",
            "Pat-ient",
        ] {
            assert_eq!(Modifier::parse(s).as_str(), s);
        }
        assert_eq!(Modifier::parse("Patient"), Modifier::Type("Patient".into()));
        assert_eq!(Modifier::parse("Missing"), Modifier::Type("Missing".into()));
        assert_eq!(
            Modifier::parse("Pat-ient"),
            Modifier::Unknown("Pat-ient".into())
        );
        assert_eq!(Modifier::parse("EXACT"), Modifier::Type("EXACT".into()));
        assert!(Modifier::parse("iterate").iterates());
        assert!(Modifier::parse("recurse").iterates());
        assert!(!Modifier::parse("not").iterates());
    }
}
