//! Reads the server crate's sources as text and finds every path that names a
//! module of the crate: in `use` declarations (grouped `use crate::{a, b::c}`
//! forms expanded) and inline (`crate::a::b(..)`, `super::x::Y`, a child
//! module's `name::item`), over the tokens of tests/layers/lex.rs.
//!
//! Paths are resolved as rustc would for the forms the crate uses: `crate::`,
//! `self::`, `super::` (counted from the module the path is in, inline
//! `mod tests { .. }` blocks included), `#[path]` module files, and a child
//! module declared in the same scope. A name brought in by another `use` and
//! then used as a path prefix is not followed: the `use` that brought it is
//! already counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::lex::{strip, tokenize, Tok};

/// One source file of the crate.
pub struct File {
    /// Path under `src/`, with `/`: `fhir/history.rs`.
    pub rel: String,
    /// Its module path: `["fhir", "history"]`; empty for `lib.rs`.
    pub module: Vec<String>,
    pub tokens: Vec<Tok>,
}

/// What a path names: a module path inside the crate (resolved, without
/// `crate`), or the first segment of any other path (`actix_web`, `std`, a type).
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Crate(Vec<String>),
    Other(String),
}

/// One path found in a file.
#[derive(Debug)]
pub struct Ref {
    pub line: usize,
    pub target: Target,
}

/// Every `.rs` file under `src`, sorted, with its module path.
pub fn read_tree(src: &Path) -> Vec<File> {
    let mut paths = Vec::new();
    walk(src, &mut paths);
    paths.sort();
    let texts: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .collect();
    // `#[path = "x.rs"] mod name;` gives the file x.rs the module path of `name`.
    let mut overrides = BTreeMap::new();
    for (rel, text) in &texts {
        for (file, name) in path_attributes(text) {
            let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
            let file = if dir.is_empty() {
                file
            } else {
                format!("{dir}/{file}")
            };
            let mut module = file_module(rel);
            module.push(name);
            overrides.insert(file, module);
        }
    }
    texts
        .into_iter()
        .map(|(rel, text)| File {
            module: overrides
                .get(&rel)
                .cloned()
                .unwrap_or_else(|| file_module(&rel)),
            tokens: tokenize(&strip(&text)),
            rel,
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `fhir/handlers/mod.rs` -> `fhir::handlers`; `lib.rs` and `main.rs` -> the root.
pub fn file_module(rel: &str) -> Vec<String> {
    let stem = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|l| l == "mod") || matches!(stem, "lib" | "main") {
        parts.pop();
    }
    parts
}

/// (file, module name) of each `#[path = "file"] mod name;` in the raw text.
fn path_attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#[path = \"") {
            pending = rest.split('"').next().map(str::to_owned);
        } else if let (Some(file), Some(decl)) = (&pending, line.split("mod ").nth(1)) {
            if let Some(name) = decl.strip_suffix(';') {
                out.push((file.clone(), name.trim().to_owned()));
            }
            pending = None;
        }
    }
    out
}

/// Module scopes while walking a file's tokens: inline `mod name { .. }` blocks.
struct Scopes {
    stack: Vec<(Vec<String>, usize)>,
    depth: usize,
}

impl Scopes {
    fn new(module: &[String]) -> Self {
        Self {
            stack: vec![(module.to_vec(), 0)],
            depth: 0,
        }
    }
    fn current(&self) -> &[String] {
        &self.stack.last().unwrap().0
    }
    /// Tracks braces, and `mod name {` blocks as scopes.
    fn step(&mut self, toks: &[Tok], i: usize) {
        let before = |n: usize| i.checked_sub(n).and_then(|k| toks.get(k));
        match &toks[i] {
            Tok::Punct('{', _) => {
                self.depth += 1;
                let name = match (before(2), before(1)) {
                    (Some(Tok::Ident(m, _)), Some(Tok::Ident(name, _))) if m == "mod" => name,
                    _ => return,
                };
                let mut module = self.current().to_vec();
                module.push(name.clone());
                self.stack.push((module, self.depth));
            }
            Tok::Punct('}', _) => {
                if self.stack.len() > 1 && self.stack.last().unwrap().1 == self.depth {
                    self.stack.pop();
                }
                self.depth = self.depth.saturating_sub(1);
            }
            _ => {}
        }
    }
}

/// Every module declared in the files (`mod name;` and inline blocks), as
/// module paths: the children a bare `name::` path may start from.
pub fn declared_modules(files: &[File]) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for f in files {
        out.insert(f.module.clone());
        let mut scopes = Scopes::new(&f.module);
        for i in 0..f.tokens.len() {
            if f.tokens[i].ident() == Some("mod") {
                if let Some(name) = f.tokens.get(i + 1).and_then(Tok::ident) {
                    let mut m = scopes.current().to_vec();
                    m.push(name.to_owned());
                    out.insert(m);
                }
            }
            scopes.step(&f.tokens, i);
        }
    }
    out
}

/// Every path of `file` that names something, resolved where it is in the crate.
pub fn references(file: &File, modules: &BTreeSet<Vec<String>>) -> Vec<Ref> {
    let toks = &file.tokens;
    let mut scopes = Scopes::new(&file.module);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let starts_path = toks[i].ident().is_some()
            && !matches!(i.checked_sub(1).map(|k| &toks[k]), Some(Tok::Sep(_)))
            && matches!(toks.get(i + 1), Some(Tok::Sep(_)));
        if toks[i].ident() == Some("use") {
            let mut paths = Vec::new();
            i = use_tree(toks, i + 1, &[], &mut paths);
            for (segs, line) in paths {
                out.extend(
                    resolve(&segs, scopes.current(), modules).map(|target| Ref { line, target }),
                );
            }
        } else if starts_path {
            let line = toks[i].line();
            let mut segs = Vec::new();
            while let Some(s) = toks.get(i).and_then(Tok::ident) {
                segs.push(s.to_owned());
                if !matches!(toks.get(i + 1), Some(Tok::Sep(_))) {
                    break;
                }
                i += 2;
            }
            out.extend(
                resolve(&segs, scopes.current(), modules).map(|target| Ref { line, target }),
            );
        } else {
            scopes.step(toks, i);
        }
        i += 1;
    }
    out
}

/// Parses one use tree from `toks[i]`, pushing each full path with its line;
/// returns the index of the token that ends it (`,` `}` or `;`).
fn use_tree(
    toks: &[Tok],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, usize)>,
) -> usize {
    if matches!(toks.get(i), Some(Tok::Sep(_))) {
        i += 1; // `use ::std::..`: an extern path
    }
    let line = toks.get(i).map_or(0, Tok::line);
    let mut segs = prefix.to_vec();
    loop {
        match toks.get(i) {
            Some(Tok::Ident(s, _)) => segs.push(s.clone()),
            Some(t) if t.is_punct('*') => break,
            Some(t) if t.is_punct('{') => {
                i += 1;
                while toks.get(i).is_some_and(|t| !t.is_punct('}')) {
                    let next = use_tree(toks, i, &segs, out);
                    // Past the `,`; and past a token the tree could not start with.
                    i = if next == i || toks.get(next).is_some_and(|t| t.is_punct(',')) {
                        next + 1
                    } else {
                        next
                    };
                }
                return skip_to_end(toks, i + 1);
            }
            _ => return i,
        }
        i += 1;
        if !matches!(toks.get(i), Some(Tok::Sep(_))) {
            break;
        }
        i += 1;
    }
    if segs.len() > 1 && segs.last().is_some_and(|s| s == "self") {
        segs.pop(); // `a::b::{self, ..}` names `a::b`
    }
    out.push((segs, line));
    skip_to_end(toks, i)
}

/// Past `as name` or `*` to the `,` `}` or `;` that ends a use tree.
fn skip_to_end(toks: &[Tok], mut i: usize) -> usize {
    while toks
        .get(i)
        .is_some_and(|t| !(t.is_punct(',') || t.is_punct('}') || t.is_punct(';')))
    {
        i += 1;
    }
    i
}

/// A path's target, seen from `scope`. `None` for a path that cannot be one
/// (more `super`s than ancestors).
pub fn resolve(
    segs: &[String],
    scope: &[String],
    modules: &BTreeSet<Vec<String>>,
) -> Option<Target> {
    let first = segs.first()?;
    let rest = |n: usize| segs.get(n..).unwrap_or_default().to_vec();
    let mut child = scope.to_vec();
    child.push(first.clone());
    Some(match first.as_str() {
        "crate" => Target::Crate(rest(1)),
        "self" => Target::Crate([scope.to_vec(), rest(1)].concat()),
        "super" => {
            let ups = segs.iter().take_while(|s| *s == "super").count();
            let base = scope.get(..scope.len().checked_sub(ups)?)?.to_vec();
            Target::Crate([base, rest(ups)].concat())
        }
        _ if modules.contains(&child) => Target::Crate([scope.to_vec(), segs.to_vec()].concat()),
        _ => Target::Other(first.clone()),
    })
}

/// The deepest declared module a crate path goes through: the module it names
/// or the one holding the item it names.
pub fn module_of(path: &[String], modules: &BTreeSet<Vec<String>>) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
        .unwrap_or_default()
}
