//! Counting what happened to every resource, and the closing summary. It holds
//! types, counts, statuses and the gateway's diagnostics (which name elements
//! and entries; the search criteria some of them quote are dropped), and names
//! files by number: file names can carry patient names (Synthea names its files
//! after the patient).

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::Value;

use super::filter::{Prepared, Sent};
use super::sink::Answer;

/// How many refusals are listed one by one before "... and N more".
const LISTED: usize = 50;

#[derive(Default)]
pub struct Summary {
    pub files: u64,
    pub files_failed: u64,
    pub bundles: u64,
    pub bundles_refused: u64,
    pub created: BTreeMap<String, u64>,
    /// POSTs whose ifNoneExist found the resource already stored.
    pub matched: BTreeMap<String, u64>,
    pub updated: BTreeMap<String, u64>,
    /// (type, reason) -> resources not imported.
    pub refused: BTreeMap<(String, String), u64>,
    pub rewritten: u64,
    /// One line per refused Bundle or entry: its first error.
    pub errors: Vec<String>,
    /// Hard failures: unreadable or malformed files, undeliverable Bundles.
    pub failures: Vec<String>,
    /// Response Bundles met in the input, not imported (filter::NotSent).
    pub skipped: Vec<String>,
}

fn bump(m: &mut BTreeMap<String, u64>, k: &str) {
    *m.entry(k.to_owned()).or_default() += 1;
}

/// The gateway's diagnostics name elements and entries, but a conditional
/// reference or criteria (`Patient?identifier=...|MRN`) it quotes carries
/// identifier values: the summary keeps the type and drops the criteria.
fn redact(diagnostics: &str) -> String {
    diagnostics
        .split(' ')
        .map(|word| match word.split_once('?') {
            Some((before, _)) => format!("{before}?(criteria)"),
            None => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "code: diagnostics" of an OperationOutcome's first issue.
fn first_error(oo: &Value) -> String {
    let issue = oo.get("issue").and_then(|i| i.get(0));
    let field = |k: &str| issue.and_then(|i| i.get(k)).and_then(Value::as_str);
    match (field("code"), field("diagnostics").map(redact)) {
        (Some(c), Some(d)) => format!("{c}: {d}"),
        (Some(c), None) => c.to_owned(),
        _ => "no OperationOutcome".to_owned(),
    }
}

/// The 3-digit code at the start of Bundle.entry.response.status.
fn entry_code(e: &Value) -> u16 {
    e.get("response")
        .and_then(|r| r.get("status"))
        .and_then(Value::as_str)
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Summary {
    /// Entries left out before sending.
    pub fn left_out(&mut self, p: &Prepared) {
        for (t, n) in &p.unserved {
            *self
                .refused
                .entry((t.clone(), "type not served".into()))
                .or_default() += n;
        }
        self.rewritten += p.rewritten;
    }

    fn refuse_all(&mut self, sent: &[Sent], reason: &str) -> u64 {
        for s in sent {
            *self
                .refused
                .entry((s.rtype.clone(), reason.to_owned()))
                .or_default() += 1;
        }
        sent.len() as u64
    }

    /// A Bundle that could not be delivered, or that the gateway failed on (5xx).
    pub fn hard(&mut self, label: &str, msg: &str, sent: &[Sent]) -> u64 {
        self.failures.push(format!("{label}: {msg}"));
        self.refuse_all(sent, "not stored: delivery failed")
    }

    /// Counts the answer to a Bundle; returns (stored, refused) resources.
    pub fn answer(&mut self, label: &str, sent: &[Sent], a: &Answer) -> (u64, u64) {
        self.bundles += 1;
        let is_bundle = a.body.get("resourceType").and_then(Value::as_str) == Some("Bundle");
        if a.status >= 500 || (a.status == 200 && !is_bundle) {
            let msg = format!(
                "the gateway answered {}: {}",
                a.status,
                first_error(&a.body)
            );
            return (0, self.hard(label, &msg, sent));
        }
        if a.status != 200 {
            // A transaction is all or nothing (http.html#transaction): none stored.
            self.bundles_refused += 1;
            self.errors
                .push(format!("{label}: {}: {}", a.status, first_error(&a.body)));
            let reason = format!("in a refused Bundle ({})", a.status);
            return (0, self.refuse_all(sent, &reason));
        }
        let empty = Vec::new();
        let entries = a
            .body
            .get("entry")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let (mut stored, mut refused) = (0, 0);
        for (i, (s, e)) in sent.iter().zip(entries).enumerate() {
            match (entry_code(e), s.method.as_str()) {
                (201, _) => bump(&mut self.created, &s.rtype),
                (200, "POST") => bump(&mut self.matched, &s.rtype),
                (200, "PUT") => bump(&mut self.updated, &s.rtype),
                (c, _) if c >= 400 || c == 0 => {
                    refused += 1;
                    let oo = e.get("response").and_then(|r| r.get("outcome"));
                    let err = oo.map_or_else(|| "no outcome".to_owned(), first_error);
                    self.errors.push(format!("{label} entry[{i}]: {c}: {err}"));
                    *self
                        .refused
                        .entry((s.rtype.clone(), format!("refused ({c})")))
                        .or_default() += 1;
                    continue;
                }
                _ => continue,
            }
            stored += 1;
        }
        (stored, refused)
    }

    pub fn failed_hard(&self) -> bool {
        !self.failures.is_empty()
    }

    pub fn print(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let sum = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
        let (c, m, u) = (sum(&self.created), sum(&self.matched), sum(&self.updated));
        writeln!(w, "import summary")?;
        writeln!(
            w,
            "  files read: {} ({} failed); bundles sent: {} ({} refused)",
            self.files, self.files_failed, self.bundles, self.bundles_refused
        )?;
        writeln!(
            w,
            "  resources stored: {} (created {c}, already present {m}, updated {u})",
            c + m + u
        )?;
        let mut types: Vec<&String> = self
            .created
            .keys()
            .chain(self.matched.keys())
            .chain(self.updated.keys())
            .collect();
        types.sort();
        types.dedup();
        for t in types {
            let n = |m: &BTreeMap<String, u64>| m.get(t).copied().unwrap_or(0);
            writeln!(
                w,
                "    {t}: created {}, already present {}, updated {}",
                n(&self.created),
                n(&self.matched),
                n(&self.updated)
            )?;
        }
        let refused: u64 = self.refused.values().sum();
        writeln!(w, "  resources not imported: {refused}")?;
        for ((t, reason), n) in &self.refused {
            writeln!(w, "    {t}: {reason}: {n}")?;
        }
        if self.rewritten > 0 {
            writeln!(
                w,
                "  references to resources not imported, rewritten to type/identifier/display: {}",
                self.rewritten
            )?;
        }
        for (title, list) in [
            ("skipped (server responses, not data)", &self.skipped),
            ("refused (first error each)", &self.errors),
            ("hard failures", &self.failures),
        ] {
            if list.is_empty() {
                continue;
            }
            writeln!(w, "  {title}:")?;
            for line in list.iter().take(LISTED) {
                writeln!(w, "    {line}")?;
            }
            if list.len() > LISTED {
                writeln!(w, "    ... and {} more", list.len() - LISTED)?;
            }
        }
        let verdict = if self.failed_hard() {
            "FAILED: some input was not imported because of the hard failures above (exit 1)"
        } else if refused > 0 {
            "done, with resources not imported as counted above (exit 0)"
        } else {
            "done: everything was imported (exit 0)"
        };
        writeln!(w, "  result: {verdict}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_are_not_quoted() {
        let oo = serde_json::json!({"issue": [{"code": "processing", "diagnostics":
            "entry[2] (urn:uuid:1): the conditional reference Patient?identifier=urn:mrn%7C123 matches no resource"}]});
        assert_eq!(
            first_error(&oo),
            "processing: entry[2] (urn:uuid:1): the conditional reference Patient?(criteria) matches no resource"
        );
    }
}
