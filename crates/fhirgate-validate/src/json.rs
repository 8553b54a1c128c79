//! Strict parsing of a request body as FHIR JSON (http://hl7.org/fhir/R4/json.html).
//!
//! `serde_json::from_slice::<Value>` is too lenient for a gateway: it silently keeps the last of
//! two duplicate keys (so two parties can read different values from the same bytes), and it
//! accepts any JSON value at the top level. We therefore drive serde_json's tokenizer with our
//! own visitor that builds the `Value`, refuses duplicate keys at every depth and enforces a
//! nesting limit well below serde_json's own recursion limit (128), so that hostile input such
//! as 10,000 nested arrays is refused long before the stack is at risk.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::{Issue, IssueCode};

/// Deepest nesting of objects and arrays accepted (the root object is level 1). FHIR resources
/// are far shallower; deep nesting is a denial-of-service vector, not data.
pub const MAX_DEPTH: usize = 100;

/// The key serde_json (feature `arbitrary_precision`) uses to smuggle a number's text through
/// serde's data model as a one-entry map. See `serde_json::number` (`TOKEN`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Parse a request body as FHIR JSON, strictly.
///
/// Refused, as an [`Issue`] with code `structure`: bytes that are not UTF-8, a byte order mark,
/// anything but a single JSON object, duplicate keys at any depth, nesting deeper than
/// [`MAX_DEPTH`], and trailing non-whitespace after the object. Diagnostics carry only the
/// line/column of the problem, never the client's data.
pub fn parse_json(bytes: &[u8]) -> Result<Value, Issue> {
    // RFC 8259 §8.1: senders MUST NOT add a BOM; parsers MAY refuse it. We refuse, so that the
    // stored bytes are always plain JSON.
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(structure(
            "JSON must not start with a byte order mark (RFC 8259 §8.1)",
        ));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(structure(&format!(
            "Request body is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = ValueSeed { depth: 0 }
        .deserialize(&mut de)
        .map_err(|e| structure(&describe(&e)))?;
    de.end().map_err(|e| {
        structure(&format!(
            "Unexpected content after the JSON object ({})",
            position(&e)
        ))
    })?;
    if !value.is_object() {
        return Err(structure(
            "A FHIR resource must be a JSON object (http://hl7.org/fhir/R4/json.html)",
        ));
    }
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

/// Builds a `Value` one level deeper than its parent.
struct ValueSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor { depth: self.depth })
    }
}

struct ValueVisitor {
    /// Nesting level of the container that holds the value being visited.
    depth: usize,
}

impl ValueVisitor {
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

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed { depth })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            self.enter::<A::Error>()?;
            return Ok(Value::Object(Map::new()));
        };
        if first == NUMBER_TOKEN {
            // Either serde_json handing us a number (arbitrary_precision), or a client object
            // whose first key is that magic string. Only the former arrives via `visit_string`.
            let text = map.next_value_seed(NumberText)?;
            return text
                .parse::<Number>()
                .map(Value::Number)
                .map_err(|_| de::Error::custom("invalid number"));
        }
        let depth = self.enter()?;
        let mut object = Map::new();
        let mut key = first;
        loop {
            let value = map.next_value_seed(ValueSeed { depth })?;
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
