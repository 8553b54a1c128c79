//! Rules of the FHIR JSON format and of FHIR strings that the R4 JSON Schema cannot express.
//! They do not depend on element types, so one walk over the document checks them everywhere
//! (including extensions); embedded resources are walked by their own `validate` call.
//!
//! - json.html: "Objects are never empty", "Arrays are never empty", string values are never
//!   empty, and `null` appears only inside an array of primitives to keep it aligned with its
//!   `_element` array of extensions (and vice versa), both arrays having the same length.
//! - datatypes.html#string: no characters below U+0020 except TAB, CR and LF; strings should
//!   always contain non-whitespace content (we require it: a whitespace-only value is trimmed
//!   to nothing, which is an invalid value); at most 1,048,576 characters.
//! - Element.id: "any string value that does not contain spaces" (the resource id itself is
//!   the `id` type, checked by the schema's regex).

use serde_json::{Map, Value};

use crate::{path, Issue, IssueCode};

/// datatypes.html#string: "strings SHALL NOT exceed 1MB (1024*1024 characters) in size".
const MAX_STRING_CHARS: usize = 1024 * 1024;
/// Parsing already caps nesting at 100; this guards values built some other way.
const MAX_WALK_DEPTH: usize = 128;

/// Checks a resource (the document root or one contained resource) whose expression is `base`.
pub fn check_resource(resource: &Map<String, Value>, base: &str, cap: usize, out: &mut Vec<Issue>) {
    let mut walker = Walker { cap, out };
    let mut expr = base.to_owned();
    walker.object(resource, &mut expr, true, 0);
}

struct Walker<'a> {
    cap: usize,
    out: &'a mut Vec<Issue>,
}

impl Walker<'_> {
    fn full(&self) -> bool {
        self.out.len() >= self.cap
    }

    fn push(&mut self, code: IssueCode, expr: &str, diagnostics: &str) {
        if !self.full() {
            self.out.push(Issue {
                code,
                expression: Some(expr.to_owned()),
                diagnostics: diagnostics.to_owned(),
            });
        }
    }

    fn object(
        &mut self,
        obj: &Map<String, Value>,
        expr: &mut String,
        resource_root: bool,
        depth: usize,
    ) {
        if depth > MAX_WALK_DEPTH {
            self.push(IssueCode::TooCostly, expr, "Content is nested too deeply");
            return;
        }
        if obj.is_empty() {
            self.push(IssueCode::Structure, expr, "Empty JSON objects are not allowed: leave the element out instead (http://hl7.org/fhir/R4/json.html)");
        }
        for (key, value) in obj {
            if self.full() {
                return;
            }
            let len = expr.len();
            path::push_name(expr, key);
            match value {
                Value::Null => self.push(IssueCode::Structure, expr, "null is only allowed inside an array of primitive values that has a matching _element array (http://hl7.org/fhir/R4/json.html#primitive)"),
                Value::Array(items) => self.array(key, items, obj, expr, depth + 1),
                Value::Object(child) => self.child(child, expr, depth + 1),
                Value::String(s) => {
                    self.string(s, expr);
                    if key == "id" && !resource_root && s.chars().any(char::is_whitespace) {
                        self.push(IssueCode::Value, expr, "Element ids must not contain whitespace (http://hl7.org/fhir/R4/element-definitions.html#Element.id)");
                    }
                }
                Value::Bool(_) | Value::Number(_) => {}
            }
            expr.truncate(len);
        }
    }

    /// A nested object; an embedded resource (it has `resourceType`: `contained`,
    /// `Bundle.entry.resource`, ...) is checked by its own validation run, not here.
    fn child(&mut self, child: &Map<String, Value>, expr: &mut String, depth: usize) {
        if !child.contains_key("resourceType") {
            self.object(child, expr, false, depth);
        }
    }

    fn array(
        &mut self,
        key: &str,
        items: &[Value],
        parent: &Map<String, Value>,
        expr: &mut String,
        depth: usize,
    ) {
        if items.is_empty() {
            self.push(IssueCode::Structure, expr, "Empty JSON arrays are not allowed: leave the element out instead (http://hl7.org/fhir/R4/json.html)");
            return;
        }
        // `given` pairs with `_given` and vice versa (json.html#primitive).
        let partner = match key.strip_prefix('_') {
            Some(plain) => parent.get(plain),
            None => parent.get(&format!("_{key}")),
        }
        .and_then(Value::as_array);
        if let Some(partner) = partner {
            if partner.len() != items.len() && !key.starts_with('_') {
                self.push(IssueCode::Structure, expr, "An array of primitive values and its _element array of extensions must have the same length (http://hl7.org/fhir/R4/json.html#primitive)");
            }
        }
        for (i, item) in items.iter().enumerate() {
            if self.full() {
                return;
            }
            let len = expr.len();
            path::push_index(expr, i);
            match item {
                Value::Null => {
                    let paired = partner.and_then(|p| p.get(i)).is_some_and(|p| !p.is_null());
                    if !paired {
                        self.push(IssueCode::Structure, expr, "null in an array is only allowed where the matching entry of the paired primitive/_element array has content (http://hl7.org/fhir/R4/json.html#primitive)");
                    }
                }
                Value::Object(child) => self.child(child, expr, depth + 1),
                Value::String(s) => self.string(s, expr),
                // Nested arrays never occur in FHIR; the schema reports the wrong type.
                Value::Array(_) | Value::Bool(_) | Value::Number(_) => {}
            }
            expr.truncate(len);
        }
    }

    fn string(&mut self, s: &str, expr: &str) {
        if s.is_empty() {
            self.push(IssueCode::Value, expr, "Empty strings are not allowed: leave the element out instead (http://hl7.org/fhir/R4/json.html)");
        } else if s.len() > MAX_STRING_CHARS && s.chars().count() > MAX_STRING_CHARS {
            self.push(IssueCode::TooLong, expr, "String exceeds the FHIR limit of 1,048,576 characters (http://hl7.org/fhir/R4/datatypes.html#string)");
        } else if s
            .chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\r' | '\n'))
        {
            self.push(IssueCode::Value, expr, "String contains a control character (below U+0020 other than TAB, CR, LF), which FHIR does not allow (http://hl7.org/fhir/R4/datatypes.html#string)");
        } else if s.trim().is_empty() {
            self.push(IssueCode::Value, expr, "String must contain non-whitespace content (http://hl7.org/fhir/R4/datatypes.html#string)");
        }
    }
}
