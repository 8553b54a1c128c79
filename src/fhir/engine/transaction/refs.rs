//! Link rewriting inside a transaction (http://hl7.org/fhir/R4/http.html#trules,
//! bundle.html#references): what names an entry (its `fullUrl`, `urn:uuid:`,
//! `urn:oid:`, `http:` or any other, or a relative reference resolved against
//! it, links.rs) comes to name what the server wrote, and conditional
//! references (`Patient?identifier=sys|val`) the one resource they match.

use fhirgate_search::Registry;
use fhirgate_validate::IssueCode;
use serde_json::Value;

use super::links::{Links, Mapped, Resolved, Version};
use super::typed::{self, Slot};
use crate::fhir::error::FhirError;
use crate::model::ResourceType;

/// A reference that is a search (`Type?params`) on a served type.
pub fn conditional(reference: &str) -> Option<(ResourceType, &str)> {
    let (t, q) = reference.split_once('?')?;
    if t.contains('/') || t.contains(':') {
        return None;
    }
    ResourceType::parse(t).map(|t| (t, q))
}

/// What a rewrite of one entry's resource needs to know.
pub struct Rewrite<'a> {
    pub registry: &'a Registry,
    /// R4 resource type names (a relative reference is `[type]/[id]`).
    pub is_type: &'a dyn Fn(&str) -> bool,
    pub links: &'a Links,
    /// The fullUrl of the entry being rewritten.
    pub own: Option<&'a str>,
    /// The service base, for the absolute URLs of uri elements and narrative links.
    pub base: &'a str,
}

/// The database work a rewrite may need.
pub trait Lookup {
    /// The one match of a conditional reference, `Type/id` (http.html#trules).
    fn conditional(&mut self, rtype: ResourceType, query: &str) -> Result<String, FhirError>;
    /// The version an update in this transaction writes ([`Version::Next`]).
    fn next_version(&mut self, target: &Mapped) -> Result<i32, FhirError>;
}

impl Rewrite<'_> {
    /// Rewrites `v`, a `rtype`, at any depth (http.html#trules): references
    /// resolving to an entry (links.rs) become its `Type/id`, relative as
    /// references to this server are (references.html); conditional references
    /// their one match; elements of type uri and url, and narrative
    /// `<a href>`/`<img src>`, whose value is an entry's fullUrl become that
    /// resource's absolute URL, since outside a reference a relative URL has no
    /// base a reader can rely on (a browser resolves a narrative link against
    /// whatever page shows it), and R5's http.html says the same of this very
    /// rule: "that entire URL would be replaced with the new absolute URL of
    /// the created Binary resource". Canonicals are left alone ("Elements of
    /// type canonical are not replaced").
    pub fn apply(
        &self,
        lookup: &mut dyn Lookup,
        rtype: ResourceType,
        v: &mut Value,
    ) -> Result<(), FhirError> {
        typed::for_each(
            self.registry,
            rtype.as_str(),
            v,
            &mut |slot, s| match slot {
                Slot::Reference => self.reference(lookup, s),
                Slot::Uri(ty) => self.uri(ty, s),
                Slot::Xhtml => self.narrative(s),
            },
        )
    }

    fn url_of(&self, m: &Mapped) -> String {
        format!("{}/{}/{}", self.base, m.rtype, m.id)
    }

    fn reference(&self, lookup: &mut dyn Lookup, s: &mut String) -> Result<(), FhirError> {
        if let Some((t, q)) = conditional(s) {
            let q = q.to_owned();
            *s = lookup.conditional(t, &q)?;
            return Ok(());
        }
        match self.links.resolve(s, self.own, self.is_type)? {
            Some(Resolved {
                target,
                versioned: false,
            }) => *s = format!("{}/{}", target.rtype, target.id),
            Some(Resolved {
                target,
                versioned: true,
            }) => {
                let version = match target.version {
                    Version::Known(v) => v,
                    Version::Next => lookup.next_version(target)?,
                };
                *s = format!("{}/{}/_history/{version}", target.rtype, target.id);
            }
            None if s.starts_with("urn:uuid:") || s.starts_with("urn:oid:") => {
                // A urn names a Bundle entry or nothing (bundle.html#references);
                // storing it would leave a reference no reader can follow.
                return Err(FhirError::invalid(
                    IssueCode::Invalid,
                    None,
                    format!("the reference {s} names no entry of this Bundle"),
                ));
            }
            None => {}
        }
        Ok(())
    }

    fn uri(&self, ty: &str, s: &mut String) -> Result<(), FhirError> {
        let Some(target) = self.links.get(s)? else {
            return Ok(());
        };
        if matches!(ty, "oid" | "uuid") {
            // datatypes.html#oid, #uuid: the value must stay a urn:oid/urn:uuid,
            // which the resource's new URL is not; keeping the fullUrl would
            // store a link that names nothing once the transaction is done.
            return Err(FhirError::invalid(
                IssueCode::Value,
                None,
                format!(
                    "an element of type {ty} holds {s}, the fullUrl of an entry; the server would name that resource {}, which a {ty} cannot hold (http.html#trules)",
                    self.url_of(target)
                ),
            ));
        }
        *s = self.url_of(target);
        Ok(())
    }

    fn narrative(&self, div: &mut String) -> Result<(), FhirError> {
        if self.links.is_empty() {
            // Nothing to find: spare the lexing of every narrative.
            return Ok(());
        }
        let mut failed = None;
        let new = fhirgate_validate::rewrite_links(div, &mut |href| match self.links.get(href) {
            Ok(found) => found.map(|m| self.url_of(m)),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(new) = new {
            *div = new;
        }
        Ok(())
    }
}

/// Every `Type?query` reference in `v`, at any depth: what [`Rewrite::apply`] will
/// resolve (the transaction looks them all up beforehand, lookups.rs).
pub fn conditional_references(v: &Value, out: &mut Vec<(ResourceType, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match child {
                    Value::String(s) if k == "reference" => {
                        if let Some((t, q)) = conditional(s) {
                            out.push((t, q.to_owned()));
                        }
                    }
                    _ => conditional_references(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| conditional_references(i, out)),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::model::ResourceId;
    use serde_json::json;

    struct Stub(Vec<(ResourceType, String)>);

    impl Lookup for Stub {
        fn conditional(&mut self, t: ResourceType, q: &str) -> Result<String, FhirError> {
            self.0.push((t, q.to_owned()));
            Ok("Practitioner/d1".into())
        }
        fn next_version(&mut self, _: &Mapped) -> Result<i32, FhirError> {
            Ok(7)
        }
    }

    fn patient(id: &str, version: Version) -> Mapped {
        Mapped {
            rtype: ResourceType::Patient,
            id: ResourceId::parse(id).unwrap(),
            version,
        }
    }

    #[test]
    fn rewrites_by_type_at_any_depth_and_resolves_conditionals() {
        let registry = Registry::r4(&["Observation", "Patient"]).unwrap();
        let mut links = Links::default();
        links.insert("urn:uuid:1", patient("p1", Version::Known(1)));
        links.insert("http://x.org/fhir/Patient/2", patient("p2", Version::Next));
        let rw = Rewrite {
            registry: &registry,
            is_type: &|t| ResourceType::parse(t).is_some(),
            links: &links,
            own: Some("http://x.org/fhir/Observation/o"),
            base: "http://h/fhir",
        };
        let mut v = json!({
            "resourceType": "Observation",
            "subject": {"reference": "urn:uuid:1"},
            "focus": [{"reference": "Patient/2/_history/1"}, {"reference": "Patient/3"}],
            "extension": [{"url": "urn:uuid:1", "valueReference": {"reference": "Patient/2"}},
                          {"url": "x", "valueCanonical": "urn:uuid:1"},
                          {"url": "x", "valueString": "urn:uuid:1"}],
            "_status": {"extension": [{"url": "x", "valueUri": "urn:uuid:1"}]},
            "contained": [{"resourceType": "Observation", "performer": [{"reference": "Practitioner?identifier=a|b"}],
                           "code": {"coding": [{"system": "http://x.org/fhir/Patient/2"}]}}],
            "note": [{"text": "urn:uuid:1"}]
        });
        let mut stub = Stub(Vec::new());
        rw.apply(&mut stub, ResourceType::Observation, &mut v)
            .unwrap();
        assert_eq!(v["subject"]["reference"], "Patient/p1");
        assert_eq!(v["focus"][0]["reference"], "Patient/p2/_history/7");
        assert_eq!(v["focus"][1]["reference"], "Patient/3");
        assert_eq!(v["extension"][0]["url"], "http://h/fhir/Patient/p1");
        assert_eq!(
            v["extension"][0]["valueReference"]["reference"],
            "Patient/p2"
        );
        assert_eq!(v["extension"][1]["valueCanonical"], "urn:uuid:1");
        assert_eq!(v["extension"][2]["valueString"], "urn:uuid:1");
        assert_eq!(
            v["_status"]["extension"][0]["valueUri"],
            "http://h/fhir/Patient/p1"
        );
        assert_eq!(
            v["contained"][0]["performer"][0]["reference"],
            "Practitioner/d1"
        );
        assert_eq!(
            v["contained"][0]["code"]["coding"][0]["system"],
            "http://h/fhir/Patient/p2"
        );
        assert_eq!(v["note"][0]["text"], "urn:uuid:1");
        assert_eq!(
            stub.0,
            vec![(ResourceType::Practitioner, "identifier=a|b".to_owned())]
        );
        let mut found = Vec::new();
        conditional_references(
            &json!({"a": {"reference": "Practitioner?identifier=a|b"}}),
            &mut found,
        );
        assert_eq!(found.len(), 1);
        assert!(conditional("http://x/Patient?a=b").is_none());
        assert!(conditional("Encounter?a=b").is_none());
        for bad in [
            json!({"resourceType": "Observation", "subject": {"reference": "urn:uuid:2"}}),
            json!({"resourceType": "Observation", "extension": [{"url": "x", "valueUuid": "urn:uuid:1"}]}),
        ] {
            let mut bad = bad;
            assert!(
                rw.apply(&mut stub, ResourceType::Observation, &mut bad)
                    .is_err(),
                "{bad}"
            );
        }
    }
}
