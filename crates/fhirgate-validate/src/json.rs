//! Strict parsing of a request body as FHIR JSON (http://hl7.org/fhir/R4/json.html).
//!
//! `serde_json::from_slice::<Value>` is too lenient for a gateway: it silently keeps the last of
//! two duplicate keys (so two parties can read different values from the same bytes), and it
//! accepts any JSON value at the top level. We therefore drive serde_json's tokenizer with our
//! own visitor that builds the `Value`, refuses duplicate keys at every depth and enforces a
//! nesting limit well below serde_json's own recursion limit (128), so that hostile input such
//! as 10,000 nested arrays is refused long before the stack is at risk.
//!
//! It also counts the values of each resource as they are parsed and stops at a limit (issue
//! #15): a 12 MB body of a million tiny objects cost about 1 GB once parsed and validated, and
//! the body limit alone does not bound that. Every JSON value (object, array, string, number,
//! boolean, null) counts one. A resource nested in another (an object with a string
//! `resourceType`: a Bundle entry's resource, a contained resource, a Parameters resource)
//! counts for itself: a Bundle of many small entries is not refused for their sum (the body
//! limit bounds that). Counting is per object: an object's own values, plus those of the
//! objects inside it that are not resources, are added up as they arrive, so a resource over
//! the limit is refused within its first `limit` values, before the rest is read. Only
//! certainties refuse: an object whose `resourceType` comes after its content (JSON key order
//! is not significant, RFC 8259 section 4) is not counted with its container meanwhile.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::{Issue, IssueCode};

/// Deepest nesting of objects and arrays accepted (the root object is level 1). FHIR resources
/// are far shallower; deep nesting is a denial-of-service vector, not data.
pub const MAX_DEPTH: usize = 100;

/// Values per resource accepted by [`parse_json`]: about 200 times the largest resource among
/// the R4 examples (a few hundred values), and far below the million values that cost about a
/// gigabyte to parse and validate.
pub const DEFAULT_MAX_NODES: usize = 100_000;

/// Why [`parse_json_with`] refused a body.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonError {
    /// Not FHIR JSON (see [`parse_json`]), with code `structure`.
    Invalid(Issue),
    /// One resource holds more than `limit` JSON values.
    TooManyNodes { limit: usize },
}

/// The key serde_json (feature `arbitrary_precision`) uses to smuggle a number's text through
/// serde's data model as a one-entry map. See `serde_json::number` (`TOKEN`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Parse a request body as FHIR JSON, strictly, with at most [`DEFAULT_MAX_NODES`] values per
/// resource (past it: an [`Issue`] with code `too-costly`).
///
/// Refused, as an [`Issue`] with code `structure`: bytes that are not UTF-8, a byte order mark,
/// anything but a single JSON object, duplicate keys at any depth, nesting deeper than
/// [`MAX_DEPTH`], and trailing non-whitespace after the object. Diagnostics carry only the
/// line/column of the problem, never the client's data.
pub fn parse_json(bytes: &[u8]) -> Result<Value, Issue> {
    parse_json_with(bytes, DEFAULT_MAX_NODES).map_err(|e| match e {
        JsonError::Invalid(issue) => issue,
        JsonError::TooManyNodes { limit } => Issue {
            code: IssueCode::TooCostly,
            expression: None,
            diagnostics: too_many_message(limit),
        },
    })
}

/// The diagnostic of [`JsonError::TooManyNodes`].
pub fn too_many_message(limit: usize) -> String {
    format!(
        "a resource in the body holds more than {limit} JSON values; refused to protect the server"
    )
}

/// [`parse_json`] with at most `max_nodes` values per resource (see the module documentation).
pub fn parse_json_with(bytes: &[u8], max_nodes: usize) -> Result<Value, JsonError> {
    let value = parse_json_value_with(bytes, max_nodes)?;
    if !value.is_object() {
        return Err(JsonError::Invalid(structure(
            "A FHIR resource must be a JSON object (http://hl7.org/fhir/R4/json.html)",
        )));
    }
    Ok(value)
}

/// [`parse_json_with`] for a document whose top level may be any JSON value (a JSON Patch is
/// an array): the same strictness and limits; values outside any resource count together.
pub fn parse_json_value_with(bytes: &[u8], max_nodes: usize) -> Result<Value, JsonError> {
    // RFC 8259 §8.1: senders MUST NOT add a BOM; parsers MAY refuse it. We refuse, so that the
    // stored bytes are always plain JSON.
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(JsonError::Invalid(structure(
            "JSON must not start with a byte order mark (RFC 8259 §8.1)",
        )));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(JsonError::Invalid(structure(&format!(
            "Request body is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))));
    }
    let nodes = Nodes {
        limit: max_nodes,
        exceeded: Cell::new(false),
    };
    // The values of a top level that is not a resource (refused below anyway) count here.
    let outer = Cell::new(0);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = ValueSeed {
        depth: 0,
        nodes: &nodes,
        frame: &outer,
    }
    .deserialize(&mut de);
    if nodes.exceeded.get() {
        return Err(JsonError::TooManyNodes { limit: max_nodes });
    }
    let value = parsed.map_err(|e| JsonError::Invalid(structure(&describe(&e))))?;
    de.end().map_err(|e| {
        JsonError::Invalid(structure(&format!(
            "Unexpected content after the JSON object ({})",
            position(&e)
        )))
    })?;
    Ok(value)
}

fn structure(msg: &str) -> Issue {
    Issue {
        code: IssueCode::Structure,
        expression: None,
        diagnostics: msg.to_owned(),
    }
}

fn position(e: &serde_json::Error) -> String {
    format!("line {}, column {}", e.line(), e.column())
}

/// Turn a serde_json error into a diagnostic. serde_json's syntax messages ("expected `,` or
/// `}`", "invalid escape", ...) never contain input text, and our own messages below are fixed
/// strings, so echoing `Display` up to the position suffix is safe; we rebuild the position.
fn describe(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(cut) => full.get(..cut).unwrap_or("invalid JSON"),
        None => full.as_str(),
    };
    let message = match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        _ => message,
    };
    format!("Invalid JSON: {message} ({})", position(e))
}

/// The value limit of one parse, and whether it was hit (the deserializer's error cannot say).
struct Nodes {
    limit: usize,
    exceeded: Cell<bool>,
}

/// Builds a `Value` one level deeper than its parent.
struct ValueSeed<'a> {
    depth: usize,
    nodes: &'a Nodes,
    /// The count of the innermost enclosing object: its values so far, with those of the
    /// non-resource objects already closed inside it. Arrays add to it directly.
    frame: &'a Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor {
            depth: self.depth,
            nodes: self.nodes,
            frame: self.frame,
        })
    }
}

struct ValueVisitor<'a> {
    /// Nesting level of the container that holds the value being visited.
    depth: usize,
    nodes: &'a Nodes,
    frame: &'a Cell<usize>,
}

impl ValueVisitor<'_> {
    fn enter<E: de::Error>(&self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(E::custom(format_args!(
                "nesting deeper than {MAX_DEPTH} levels is not accepted"
            )));
        }
        Ok(depth)
    }
}

/// Adds `n` values to `frame`; past the limit, records it and stops the parse. A frame's
/// values all belong to one resource (the object's own, or the one holding it), so a frame
/// over the limit is a resource over the limit.
fn add<E: de::Error>(nodes: &Nodes, frame: &Cell<usize>, n: usize) -> Result<(), E> {
    let count = frame.get().saturating_add(n);
    frame.set(count);
    if count > nodes.limit {
        nodes.exceeded.set(true);
        return Err(E::custom("too many values"));
    }
    Ok(())
}

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        add(self.nodes, self.frame, 1)?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        add(self.nodes, self.frame, 1)?;
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        add(self.nodes, self.frame, 1)?;
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        add(self.nodes, self.frame, 1)?;
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        add(self.nodes, self.frame, 1)?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        add(self.nodes, self.frame, 1)?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        add(self.nodes, self.frame, 1)?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        add(self.nodes, self.frame, 1)?;
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter()?;
        add(self.nodes, self.frame, 1)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed {
            depth,
            nodes: self.nodes,
            frame: self.frame,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            self.enter::<A::Error>()?;
            add(self.nodes, self.frame, 1)?;
            return Ok(Value::Object(Map::new()));
        };
        if first == NUMBER_TOKEN {
            // Either serde_json handing us a number (arbitrary_precision), or a client object
            // whose first key is that magic string. Only the former arrives via `visit_string`.
            let text = map.next_value_seed(NumberText)?;
            add(self.nodes, self.frame, 1)?;
            return text
                .parse::<Number>()
                .map(Value::Number)
                .map_err(|_| de::Error::custom("invalid number"));
        }
        let depth = self.enter()?;
        // This object's own count; whether it is a resource is known once it is closed.
        let own = Cell::new(0);
        add(self.nodes, &own, 1)?;
        let mut object = Map::new();
        let mut key = first;
        loop {
            let value = map.next_value_seed(ValueSeed {
                depth,
                nodes: self.nodes,
                frame: &own,
            })?;
            if object.contains_key(&key) {
                // Do not echo the key: property names are client data too.
                return Err(de::Error::custom(
                    "duplicate property name in a JSON object (http://hl7.org/fhir/R4/json.html)",
                ));
            }
            object.insert(key, value);
            match map.next_key::<String>()? {
                Some(next) => key = next,
                None => break,
            }
        }
        // A resource counts for itself; any other object's values belong to the resource
        // that holds it (http://hl7.org/fhir/R4/json.html#resources: a resource is an object
        // with a resourceType).
        if !object.get("resourceType").is_some_and(Value::is_string) {
            add(self.nodes, self.frame, own.get())?;
        }
        Ok(Value::Object(object))
    }
}

/// Accepts only the owned string serde_json uses for an arbitrary-precision number's text.
struct NumberText;

impl<'de> DeserializeSeed<'de> for NumberText {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NumberText {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    // Any other shape means the client really sent the reserved key; never a FHIR element name.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<String, E> {
        Err(E::custom("reserved property name"))
    }
    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<String, E> {
        Err(E::custom("reserved property name"))
    }
}
