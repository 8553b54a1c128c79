//! What a transaction's entries are known by, and how a reference finds one
//! (http://hl7.org/fhir/R4/bundle.html#references, "Resolving references in
//! Bundles"; http.html#trules).
//!
//! Every POST and PUT entry with a fullUrl is mapped to the `Type/id` the
//! server writes. A reference resolves to an entry when
//! - it is absolute (`urn:uuid:...`, `http://example.org/fhir/Patient/x`) and
//!   equal to the entry's fullUrl, or
//! - it is relative, `[type]/[id]`, the entry containing it has a RESTful
//!   fullUrl (references.html, the RESTful URL regex), and that fullUrl's root
//!   followed by the reference is the entry's fullUrl.
//!
//! A relative reference in an entry whose fullUrl is a urn, or that has none,
//! resolves to no entry ("no resolution is possible"): it keeps meaning what it
//! means on this server. A version-specific reference is matched without its
//! version (bundle.html: "remove the version from the URL before matching
//! fullUrl") and stays version-specific (http.html#trules), naming the version
//! the transaction writes.

use std::collections::HashMap;

use fhirgate_validate::IssueCode;

use crate::fhir::error::FhirError;
use crate::model::{ResourceId, ResourceType};

/// The version of an entry's resource once the transaction is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Known(i32),
    /// An update of a resource that may exist: one past its current version.
    Next,
}

/// What an entry writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub rtype: ResourceType,
    pub id: ResourceId,
    pub version: Version,
}

/// The transaction's fullUrls. A fullUrl shared by several written entries
/// (bdl-7 allows that when their meta.versionId differ) names none of them
/// for certain: a reference to it is refused (bundle.html: "If multiple
/// matches are found, it is ambiguous which is correct. Applications MAY
/// return an error").
#[derive(Debug, Default)]
pub struct Links {
    by_url: HashMap<String, Option<Mapped>>,
}

/// A reference resolved to an entry: its target, and the version the
/// reference named, if it named one.
pub struct Resolved<'a> {
    pub target: &'a Mapped,
    pub versioned: bool,
}

impl Links {
    pub fn insert(&mut self, full_url: &str, m: Mapped) {
        self.by_url
            .entry(full_url.to_owned())
            .and_modify(|slot| *slot = None)
            .or_insert(Some(m));
    }

    /// No entry has a fullUrl.
    pub fn is_empty(&self) -> bool {
        self.by_url.is_empty()
    }

    /// The entry whose fullUrl is `url`.
    pub fn get(&self, url: &str) -> Result<Option<&Mapped>, FhirError> {
        match self.by_url.get(url) {
            None => Ok(None),
            Some(Some(m)) => Ok(Some(m)),
            Some(None) => Err(FhirError::invalid(
                IssueCode::Invalid,
                None,
                format!("{url} is the fullUrl of more than one entry, so what names it is ambiguous (bundle.html#references)"),
            )),
        }
    }

    /// The entry `reference` names, found in an entry whose fullUrl is `own`.
    /// `is_type` tells R4 resource type names.
    pub fn resolve<'a>(
        &'a self,
        reference: &str,
        own: Option<&str>,
        is_type: &dyn Fn(&str) -> bool,
    ) -> Result<Option<Resolved<'a>>, FhirError> {
        let (unversioned, versioned) = match reference.rsplit_once("/_history/") {
            Some((head, v)) if valid_id(v) => (head, true),
            _ => (reference, false),
        };
        let key = if has_scheme(unversioned) {
            unversioned.to_owned()
        } else {
            let Some(root) = own.and_then(|u| restful_root(u, is_type)) else {
                return Ok(None);
            };
            if !is_type_and_id(unversioned, is_type) {
                return Ok(None);
            }
            format!("{root}{unversioned}")
        };
        Ok(self.get(&key)?.map(|target| Resolved { target, versioned }))
    }
}

fn valid_id(s: &str) -> bool {
    fhirgate_validate::is_valid_id(s)
}

/// An absolute URI: it starts with a scheme (RFC 3986 §3.1).
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `[type]/[id]` with an R4 resource type (references.html).
fn is_type_and_id(s: &str, is_type: &dyn Fn(&str) -> bool) -> bool {
    s.split_once('/')
        .is_some_and(|(t, id)| is_type(t) && valid_id(id))
}

/// The `[root]` of a RESTful fullUrl (references.html, the RESTful URL regex
/// `((http|https)://([A-Za-z0-9\-\\\.\:\%\$]*\/)+)?[type]\/[id]`): everything
/// before `[type]/[id]`, ending in `/`. None when `full_url` is not one.
fn restful_root<'u>(full_url: &'u str, is_type: &dyn Fn(&str) -> bool) -> Option<&'u str> {
    let after_scheme = full_url
        .strip_prefix("http://")
        .or_else(|| full_url.strip_prefix("https://"))?;
    let (path, id) = after_scheme.rsplit_once('/')?;
    let (segments, rtype) = path.rsplit_once('/')?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-\\.:%$/".contains(c);
    if !is_type(rtype) || !valid_id(id) || !segments.chars().all(allowed) {
        return None;
    }
    full_url.get(..full_url.len() - rtype.len() - id.len() - 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn is_type(t: &str) -> bool {
        matches!(t, "Patient" | "Observation" | "Organization")
    }

    fn mapped(id: &str) -> Mapped {
        Mapped {
            rtype: ResourceType::Patient,
            id: ResourceId::parse(id).unwrap(),
            version: Version::Known(1),
        }
    }

    fn found(links: &Links, reference: &str, own: Option<&str>) -> Option<(String, bool)> {
        links
            .resolve(reference, own, &is_type)
            .unwrap()
            .map(|r| (r.target.id.to_string(), r.versioned))
    }

    #[test]
    fn resolves_as_bundle_html_says() {
        let mut links = Links::default();
        links.insert("http://example.org/fhir/Patient/x", mapped("new1"));
        links.insert("urn:uuid:1", mapped("new2"));
        let rest = Some("http://example.org/fhir/Observation/o");
        let urn = Some("urn:uuid:9");
        let yes = |id: &str, v: bool| Some((id.to_owned(), v));
        assert_eq!(found(&links, "Patient/x", rest), yes("new1", false));
        assert_eq!(
            found(&links, "Patient/x/_history/3", rest),
            yes("new1", true)
        );
        assert_eq!(found(&links, "Patient/x", urn), None);
        assert_eq!(found(&links, "Patient/x", None), None);
        assert_eq!(
            found(
                &links,
                "Patient/x",
                Some("https://example.org/fhir/Observation/o")
            ),
            None
        );
        assert_eq!(found(&links, "Patient/y", rest), None);
        assert_eq!(found(&links, "Unknown/x", rest), None);
        assert_eq!(found(&links, "#c1", rest), None);
        assert_eq!(
            found(&links, "http://example.org/fhir/Patient/x", urn),
            yes("new1", false)
        );
        assert_eq!(found(&links, "urn:uuid:1", rest), yes("new2", false));
        assert_eq!(found(&links, "urn:uuid:2", rest), None);
        assert_eq!(
            restful_root("http://example.org/fhir/Patient/x", &is_type),
            Some("http://example.org/fhir/")
        );
        assert_eq!(
            restful_root("http://h/Patient/x", &is_type),
            Some("http://h/")
        );
        for not in [
            "urn:uuid:1",
            "ftp://h/Patient/x",
            "http://h/Thing/x",
            "http://h/Patient/x y",
            "http://h p/Patient/x",
        ] {
            assert_eq!(restful_root(not, &is_type), None, "{not}");
        }

        links.insert("urn:uuid:1", mapped("new3"));
        assert!(links.resolve("urn:uuid:1", rest, &is_type).is_err());
    }
}
