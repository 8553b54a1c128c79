//! The layer rule of the server crate (docs/architecture.md, "Layers inside the
//! server"): a module may use its own layer and the layers below it, never one
//! above. Read from the sources (`src/`, every `crate::`, `super::`, `self::` and
//! child-module path, `use` or inline; tests/layers/scan.rs), so it needs
//! neither a build of the crate nor a dependency.
//!
//! Three narrower rules come with it:
//! - under `src/fhir/`, only `fhir/handlers/` may import `fhir::handlers` (the
//!   HTTP adapter is the top of the FHIR tree, nothing below calls into it);
//! - `hl7` and `import` reach FHIR through its semantics, never through HTTP:
//!   they do not import `fhir::handlers`, `fhir::context` or `startup`, do not
//!   name actix, and do not import a FHIR module that answers HTTP requests
//!   (one whose file builds an `HttpResponse`);
//! - every module has a layer (a new top-level module must be placed).
//!
//! What still breaks the rule is listed in [`KNOWN`]: the list may only
//! shrink, since an entry that no longer occurs fails the test too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "layers/lex.rs"]
mod lex;
#[path = "layers/scan.rs"]
mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use scan::{File, Target};

/// The layers, lowest first: (name, module paths). A module belongs to the
/// layer of the longest listed path it is under; `""` is the crate root.
const LAYERS: &[(&str, &[&str])] = &[
    ("values", &["model", "tenant", "time"]),
    (
        "infrastructure",
        &["config", "metrics", "limits", "telemetry", "tls"],
    ),
    ("crypto", &["crypto"]),
    ("store", &["store"]),
    ("audit", &["audit"]),
    ("auth", &["auth"]),
    ("FHIR semantics", &["fhir"]),
    ("runtime", &["runtime"]),
    (
        "protocol adapters",
        &["fhir::handlers", "fhir::context", "hl7", "import", "oauth"],
    ),
    (
        "application",
        &["startup", "cli", "keys_cmd", "auth_cmd", "tenants_cmd", ""],
    ),
];

/// Imports that break the rule today, as "file -> module" (file under `src/`,
/// the module its path names). Each goes when the code stops importing it, and
/// must then be removed here.
const KNOWN: &[&str] = &[];

fn layer_of(module: &[String]) -> Option<(usize, &'static str)> {
    let path = module.join("::");
    LAYERS
        .iter()
        .enumerate()
        .flat_map(|(rank, (name, prefixes))| prefixes.iter().map(move |p| (rank, *name, *p)))
        .filter(|(_, _, p)| path == *p || (!p.is_empty() && path.starts_with(&format!("{p}::"))))
        .max_by_key(|(_, _, p)| p.len())
        .map(|(rank, name, _)| (rank, name))
}

fn under(module: &[String], prefix: &str) -> bool {
    let path = module.join("::");
    path == prefix || path.starts_with(&format!("{prefix}::"))
}

/// A violation per (file, target module), at its first line.
#[derive(Default)]
struct Found {
    violations: BTreeMap<String, (String, usize, String)>,
    unplaced: BTreeSet<String>,
}

impl Found {
    fn add(&mut self, file: &File, line: usize, target: &str, why: String) {
        self.violations
            .entry(format!("{} -> {target}", file.rel))
            .or_insert_with(|| (file.rel.clone(), line, why));
    }
}

/// Files that answer HTTP requests: they build an `HttpResponse`.
fn http_handlers(files: &[File]) -> BTreeSet<Vec<String>> {
    files
        .iter()
        .filter(|f| {
            f.tokens
                .iter()
                .any(|t| matches!(t, lex::Tok::Ident(s, _) if s == "HttpResponse"))
        })
        .map(|f| f.module.clone())
        .collect()
}

fn check(files: &[File]) -> Found {
    let modules = scan::declared_modules(files);
    let handlers = http_handlers(files);
    let mut found = Found::default();
    for file in files.iter().filter(|f| f.rel != "main.rs") {
        let Some((rank, layer)) = layer_of(&file.module) else {
            found.unplaced.insert(file.module.join("::"));
            continue;
        };
        let adapter = under(&file.module, "hl7") || under(&file.module, "import");
        for r in scan::references(file, &modules) {
            let target = match r.target {
                Target::Other(first) if adapter && first.starts_with("actix") => {
                    found.add(
                        file,
                        r.line,
                        &first,
                        "HL7 and import do not name actix".into(),
                    );
                    continue;
                }
                Target::Other(_) => continue,
                Target::Crate(path) => scan::module_of(&path, &modules),
            };
            let name = target.join("::");
            let Some((t_rank, t_layer)) = layer_of(&target) else {
                found.unplaced.insert(name);
                continue;
            };
            if t_rank > rank {
                found.add(
                    file,
                    r.line,
                    &name,
                    format!("the {layer} layer uses the {t_layer} layer, above it"),
                );
            }
            if under(&file.module, "fhir")
                && !under(&file.module, "fhir::handlers")
                && under(&target, "fhir::handlers")
            {
                found.add(
                    file,
                    r.line,
                    &name,
                    "only fhir/handlers/ imports fhir::handlers".into(),
                );
            }
            if adapter {
                let banned = ["fhir::handlers", "fhir::context", "startup"]
                    .iter()
                    .any(|b| under(&target, b));
                if banned || handlers.contains(&target) {
                    found.add(
                        file,
                        r.line,
                        &name,
                        "HL7 and import do not go through HTTP".into(),
                    );
                }
            }
        }
    }
    found
}

#[test]
fn lower_layers_do_not_use_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = scan::read_tree(&src);
    assert!(
        files.len() > 50,
        "read {} files from {}",
        files.len(),
        src.display()
    );
    let found = check(&files);
    let mut problems = Vec::new();
    for m in &found.unplaced {
        problems.push(format!(
            "module {m} has no layer: add it to LAYERS (tests/layers.rs) and docs/architecture.md"
        ));
    }
    for (key, (file, line, why)) in &found.violations {
        if !KNOWN.contains(&key.as_str()) {
            problems.push(format!("src/{file}:{line}: {key}: {why}"));
        }
    }
    for known in KNOWN {
        if !found.violations.contains_key(*known) {
            problems.push(format!(
                "KNOWN entry \"{known}\" no longer occurs: remove it from tests/layers.rs"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "layer rule (docs/architecture.md):\n{}",
        problems.join("\n")
    );
}

/// The scanner on the forms the crate uses; what it misses, the rule misses.
#[test]
fn scanner_finds_paths_in_every_form() {
    let text = r##"
use crate::{audit::AuditRecord, store::{self, keys::WrappedKey as W}};
use super::{aead, BlindIndexer};
// use crate::startup::not_this;
/* crate::cli::nor_this */
const S: &str = "crate::keys_cmd::nor_this";
const R: &str = r#"crate::keys_cmd::"nor_this"#;
fn f<'a>(x: &'a str) -> char { let _ = crate::fhir::handlers::common::g(x); '"' }
mod tests {
    use super::*;
    use actix_web::web;
}
fn g() { child::h(); }
"##;
    let file = File {
        rel: "crypto/keyring.rs".into(),
        module: scan::file_module("crypto/keyring.rs"),
        tokens: lex::tokenize(&lex::strip(text)),
    };
    let v = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    let modules: BTreeSet<Vec<String>> = [
        v("crypto"),
        v("crypto::keyring"),
        v("crypto::keyring::child"),
    ]
    .into_iter()
    .collect();
    let got: Vec<(usize, String)> = scan::references(&file, &modules)
        .into_iter()
        .map(|r| {
            let t = match r.target {
                Target::Crate(p) => p.join("::"),
                Target::Other(o) => format!("other {o}"),
            };
            (r.line, t)
        })
        .collect();
    let want = [
        (2, "audit::AuditRecord"),
        (2, "store"),
        (2, "store::keys::WrappedKey"),
        (3, "crypto::aead"),
        (3, "crypto::BlindIndexer"),
        (8, "fhir::handlers::common::g"),
        (10, "crypto::keyring"),
        (11, "other actix_web"),
        (13, "crypto::keyring::child::h"),
    ];
    let want: Vec<(usize, String)> = want.iter().map(|(l, s)| (*l, (*s).to_owned())).collect();
    assert_eq!(got, want);
}

/// The rule itself: a store module that imports the HTTP adapter is found, and
/// named by file and line.
#[test]
fn a_lower_layer_importing_a_higher_one_is_found() {
    let file = |rel: &str, text: &str| File {
        rel: rel.into(),
        module: scan::file_module(rel),
        tokens: lex::tokenize(&lex::strip(text)),
    };
    let files = [
        file("store/mod.rs", "pub mod keys;"),
        file(
            "store/keys.rs",
            "\nuse crate::fhir::handlers::common::etag;",
        ),
        file("fhir/mod.rs", "pub mod handlers;"),
        file("fhir/handlers/mod.rs", "pub mod common;"),
        file("fhir/handlers/common.rs", "fn f() -> HttpResponse {}"),
        file("hl7/mod.rs", "pub mod ingest;"),
        file("hl7/ingest.rs", "use crate::fhir::handlers::common;"),
    ];
    let found = check(&files);
    let keys: Vec<&String> = found.violations.keys().collect();
    assert_eq!(
        keys,
        [
            "hl7/ingest.rs -> fhir::handlers::common",
            "store/keys.rs -> fhir::handlers::common"
        ]
    );
    assert_eq!(
        found.violations["store/keys.rs -> fhir::handlers::common"].1,
        2
    );
    assert!(found.unplaced.is_empty());
}
