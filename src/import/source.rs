//! The input: files and directories (recursed into for `*.json` and `*.ndjson`),
//! read as Bundles, single resources or NDJSON (one resource per line,
//! http://hl7.org/fhir/R4/nd-json.html), each turned into source Bundles.
//!
//! A malformed file sends nothing at all: a `.json` file is parsed whole before
//! anything is sent, and an NDJSON file is checked line by line first (without
//! keeping it in memory) and only then read again in groups.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// One source Bundle and the share of its file's bytes it stands for (progress).
pub struct Unit {
    pub bundle: Value,
    pub bytes: u64,
    /// For NDJSON groups, the lines they came from.
    pub lines: Option<(usize, usize)>,
}

/// The files under `paths`, sorted (so the summary's file numbers are
/// reproducible), and the paths that could not be read.
pub fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut files, &mut errors),
            Ok(_) => files.push(p.clone()),
            Err(e) => errors.push((p.clone(), e.to_string())),
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

fn importable(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("json" | "ndjson")
    )
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push((dir.to_owned(), e.to_string())),
    };
    for entry in entries {
        match entry {
            Ok(e) => {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, files, errors);
                } else if importable(&p) {
                    files.push(p);
                }
            }
            Err(e) => errors.push((dir.to_owned(), e.to_string())),
        }
    }
}

fn is_ndjson(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()) == Some("ndjson")
}

/// A line of NDJSON, or a whole `.json` file's resource: an object with a resourceType.
fn resource(v: Value) -> Result<Value, String> {
    match v.get("resourceType").and_then(Value::as_str) {
        Some(_) => Ok(v),
        None => Err("not a FHIR resource (no resourceType)".into()),
    }
}

/// Reads `path` and hands each source Bundle to `emit` (which returns false to
/// stop early). An error means nothing of the file was emitted.
#[tracing::instrument(skip_all)]
pub fn read(path: &Path, group: usize, emit: &mut dyn FnMut(Unit) -> bool) -> Result<(), String> {
    if is_ndjson(path) {
        return read_ndjson(path, group.max(1), emit);
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    // serde_json's syntax errors carry a position, never the offending text.
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let v = resource(v)?;
    let bundle = if v.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
        v
    } else {
        // A single resource: a collection of one.
        json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": v}]})
    };
    emit(Unit {
        bundle,
        bytes: bytes.len() as u64,
        lines: None,
    });
    Ok(())
}

fn lines(path: &Path) -> Result<std::io::Lines<BufReader<std::fs::File>>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    Ok(BufReader::new(f).lines())
}

fn read_ndjson(
    path: &Path,
    group: usize,
    emit: &mut dyn FnMut(Unit) -> bool,
) -> Result<(), String> {
    // Pass 1: every line parses as a resource, or nothing is sent.
    for (n, line) in lines(path)?.enumerate() {
        let line = line.map_err(|e| format!("line {}: cannot read: {e}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("line {}: not valid JSON: {e}", n + 1))?;
        resource(v).map_err(|e| format!("line {}: {e}", n + 1))?;
    }
    // Pass 2: groups of `group` resources, each a collection.
    let mut entries = Vec::with_capacity(group);
    let (mut bytes, mut first, mut last) = (0u64, 1usize, 0usize);
    for (n, line) in lines(path)?.enumerate() {
        let line = line.map_err(|e| format!("line {}: cannot read: {e}", n + 1))?;
        bytes += line.len() as u64 + 1;
        last = n + 1;
        if !line.trim().is_empty() {
            let v: Value = serde_json::from_str(&line)
                .map_err(|e| format!("line {}: changed while reading: {e}", n + 1))?;
            entries.push(json!({"resource": v}));
        }
        if entries.len() >= group {
            let unit = Unit {
                bundle: json!({"resourceType": "Bundle", "type": "collection", "entry": std::mem::take(&mut entries)}),
                bytes: std::mem::take(&mut bytes),
                lines: Some((first, n + 1)),
            };
            first = n + 2;
            if !emit(unit) {
                return Ok(());
            }
        }
    }
    if !entries.is_empty() || bytes > 0 {
        emit(Unit {
            bundle: json!({"resourceType": "Bundle", "type": "collection", "entry": entries}),
            bytes,
            lines: Some((first, last)),
        });
    }
    Ok(())
}
