//! Custom JSON Schema keywords for what the R4 schema cannot say (attached in `schema.rs`).

use jsonschema::{Keyword, ValidationError};
use serde_json::Value;

#[derive(Clone, Copy)]
enum IntegerKind {
    Signed,
    Positive,
    Unsigned,
}

/// `integer`: -2,147,483,648..2,147,483,647; `positiveInt`: 1..; `unsignedInt`: 0..
/// (http://hl7.org/fhir/R4/datatypes.html#integer). The schema types these as JSON numbers and
/// its regex cannot apply (`pattern` only constrains strings), so `1.5`, `1e3`, `-1` for a
/// positiveInt and 2^40 would all pass. The literal must be a plain integer: `1.0` is a
/// decimal, not an integer, in FHIR's lexical space.
pub struct IntegerKeyword(IntegerKind);

impl IntegerKeyword {
    /// `kind` is the schema value of the keyword: "integer", "positiveInt" or "unsignedInt".
    pub fn new(kind: &Value) -> Self {
        IntegerKeyword(match kind.as_str() {
            Some("positiveInt") => IntegerKind::Positive,
            Some("unsignedInt") => IntegerKind::Unsigned,
            _ => IntegerKind::Signed,
        })
    }

    fn message(&self) -> &'static str {
        match self.0 {
            IntegerKind::Signed => "Not a valid FHIR integer: a whole number without fraction or exponent, -2147483648..2147483647 (http://hl7.org/fhir/R4/datatypes.html#integer)",
            IntegerKind::Positive => "Not a valid FHIR positiveInt: a whole number 1..2147483647 (http://hl7.org/fhir/R4/datatypes.html#positiveInt)",
            IntegerKind::Unsigned => "Not a valid FHIR unsignedInt: a whole number 0..2147483647 (http://hl7.org/fhir/R4/datatypes.html#unsignedInt)",
        }
    }
}

impl<'i> Keyword<'i> for IntegerKeyword {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(ValidationError::custom(self.message()))
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        // Wrong JSON types are the `type` keyword's business.
        let Value::Number(n) = instance else {
            return true;
        };
        // With arbitrary_precision, Display gives the literal as sent.
        let text = n.to_string();
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let plain = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !plain {
            return false;
        }
        let Ok(v) = text.parse::<i64>() else {
            return false;
        };
        let min = match self.0 {
            IntegerKind::Signed => i64::from(i32::MIN),
            IntegerKind::Positive => 1,
            IntegerKind::Unsigned => 0,
        };
        (min..=i64::from(i32::MAX)).contains(&v)
    }
}

/// Required primitive and choice elements (`required.rs`). A required primitive `status` is
/// present if `status` or `_status` is (json.html#primitive: a value may be replaced by
/// extensions); a required choice `medication[x]` if any of its typed properties is.
///
/// Each error's message is the missing element's name (`status`, `medication[x]`), which
/// `errors.rs` turns into the expression and text.
pub struct RequiredKeyword {
    /// (name to report, properties any of which satisfies it, each with its `_` twin)
    elements: Vec<(String, Vec<(String, String)>)>,
}

impl RequiredKeyword {
    /// `value`: a list of `[name]` (a primitive) or `[name[x], property, ...]` (a choice).
    pub fn new(value: &Value) -> Self {
        let entries = value.as_array().map(Vec::as_slice).unwrap_or_default();
        let elements = entries
            .iter()
            .filter_map(Value::as_array)
            .filter_map(|entry| {
                let (name, rest) = entry.split_first()?;
                let name = name.as_str()?.to_owned();
                let mut props: Vec<&str> = rest.iter().filter_map(Value::as_str).collect();
                if props.is_empty() {
                    props.push(&name);
                }
                let props = props
                    .into_iter()
                    .map(|p| (p.to_owned(), format!("_{p}")))
                    .collect();
                Some((name, props))
            })
            .collect();
        RequiredKeyword { elements }
    }

    fn missing<'a>(&'a self, instance: &'a Value) -> impl Iterator<Item = &'a str> + 'a {
        let object = instance.as_object();
        self.elements.iter().filter_map(move |(name, props)| {
            let object = object?;
            let present = props.iter().any(|(p, twin)| {
                object.get(p).is_some_and(|v| !v.is_null()) || object.contains_key(twin)
            });
            (!present).then_some(name.as_str())
        })
    }
}

impl<'i> Keyword<'i> for RequiredKeyword {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        match self.missing(instance).next() {
            None => Ok(()),
            Some(name) => Err(ValidationError::custom(name)),
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        self.missing(instance).next().is_none()
    }

    fn iter_errors(
        &self,
        instance: &'i Value,
    ) -> Box<dyn Iterator<Item = ValidationError<'i>> + 'i> {
        let errors: Vec<ValidationError<'i>> = self
            .missing(instance)
            .map(ValidationError::custom)
            .collect();
        Box::new(errors.into_iter())
    }
}
