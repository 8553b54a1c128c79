//! FHIR search query strings: arbitrary bytes, decoded as a URL query exactly as
//! actix's `web::Query<Vec<(String, String)>>` does (serde_urlencoded), then parsed
//! into criteria for every served resource type (src/fhir/search/criteria.rs).
//! Errors are fine (they become 400 OperationOutcomes); panics, hangs and
//! unbounded memory are not.
//!
//! Only what `fhirgate::fhir::search` exports is reachable: `parse_criteria`
//! (with the type-specific value parsers, leaf/*.rs) and `searchable`.
//! `parse_options` (options.rs) and `Query::add` (sql.rs, which builds the SQL)
//! are private to that module; fuzz/README.md names the re-exports that would
//! let this target reach them.
#![no_main]

use std::sync::OnceLock;

use fhirgate::fhir::search::{parse_criteria, searchable};
use fhirgate::model::ResourceType;
use fhirgate_search::Registry;
use libfuzzer_sys::fuzz_target;

static REGISTRY: OnceLock<Registry> = OnceLock::new();

fn registry() -> &'static Registry {
    REGISTRY.get_or_init(|| {
        // As FhirModel::load builds it (src/fhir/mod.rs).
        let served: Vec<&str> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
        match Registry::r4(&served) {
            Ok(r) => r,
            Err(e) => panic!("Registry::r4 failed: {e}"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) else {
        return;
    };
    let reg = registry();
    for rtype in ResourceType::ALL {
        let _ = parse_criteria(reg, rtype, &query);
        // The part of parse_options reachable from outside: `_sort` keys are
        // checked with `searchable` (options.rs).
        for (k, v) in &query {
            if k == "_sort" {
                for key in v.split(',') {
                    let code = key.strip_prefix('-').unwrap_or(key);
                    let _ = searchable(reg, rtype, code);
                }
            }
        }
    }
});
