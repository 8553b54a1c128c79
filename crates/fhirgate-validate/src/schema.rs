//! The official FHIR R4 JSON Schema (http://hl7.org/fhir/R4/json.html#schema), adapted in memory
//! and compiled once per resource type.
//!
//! Adaptations (the file on disk is never modified):
//! - The copy in `schemas/` is not pristine: it lists ~58 non-R4 resource types (Project, Bot,
//!   Login, ...) and adds non-R4 elements (`Meta.project`, `Reference.resource`, ...). Only the
//!   146 R4 resource types are accepted and the extra elements are removed ([`NOT_R4`]).
//! - `ResourceList` (a `oneOf` over every resource type, used by `contained`,
//!   `Bundle.entry.resource`, `Parameters.parameter.resource`, ...) becomes "an object whose
//!   `resourceType` is an R4 resource type". A `oneOf` over ~200 branches is slow and its errors
//!   are unreadable; `lib.rs` validates each contained resource against its own type instead.
//! - Every date/dateTime/instant/time `pattern` (in the primitive definitions *and* the inline
//!   copies used by choice types like `valueDate`) gets a `format` checked by `dates.rs`,
//!   because the regexes accept impossible dates (datatypes.html: "Dates SHALL be valid dates").
//! - `integer`, `positiveInt` and `unsignedInt` are JSON numbers whose regex the schema cannot
//!   apply (`pattern` only constrains strings), so they get a custom keyword that checks the
//!   number's literal text and the 32-bit range (http://hl7.org/fhir/R4/datatypes.html#integer).
//! - `xhtml` has no type at all in the schema; it becomes a string checked by `narrative.rs`.

use std::collections::HashMap;

use jsonschema::{Draft, Registry};
use serde_json::{json, Map, Value};

use crate::r4types::R4_RESOURCE_TYPES;
use crate::{dates, keywords, narrative, required};

/// Elements this copy of the schema adds to R4 definitions (a server vendor's extensions to the
/// official schema, and a few R5 elements); they are not R4 and so are refused as unknown.
/// Found by diffing every definition against the R4 (4.0.1) element lists.
pub(crate) const NOT_R4: &[(&str, &[&str])] = &[
    ("Meta", &["project", "author", "account", "compartment"]),
    ("OperationOutcome", &["status", "resource"]),
    ("Reference", &["resource"]),
    ("DeviceDefinition", &["classification"]),
    ("HealthcareService", &["offeredIn"]),
    ("ObservationDefinition", &["publisher"]),
];

const SCHEMA_TEXT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schemas/fhir.schema.json"
));

/// Where the adapted document lives in the jsonschema registry; never fetched.
const BASE_URI: &str = "urn:fhirgate:fhir-r4-schema";

/// Name of the custom keyword for integer types.
pub const INTEGER_KEYWORD: &str = "fhirgate-integer";
/// Name of the custom keyword for required primitive and choice elements (`required.rs`).
pub const REQUIRED_KEYWORD: &str = "fhirgate-required";
/// Name of the format for Narrative.div.
pub const FORMAT_XHTML: &str = "fhir-xhtml";

/// The adapted schema document plus what we learned while adapting it.
pub struct Prepared {
    /// The adapted document, registered under [`BASE_URI`].
    pub registry: Registry<'static>,
    /// Every R4 resource type name.
    pub resource_types: Vec<String>,
    /// Primitive regex -> FHIR type name, to name the type in diagnostics.
    pub pattern_types: HashMap<String, String>,
}

pub fn prepare() -> Result<Prepared, String> {
    let mut doc: Value =
        serde_json::from_str(SCHEMA_TEXT).map_err(|e| format!("fhir.schema.json: {e}"))?;
    let definitions = doc
        .get_mut("definitions")
        .and_then(Value::as_object_mut)
        .ok_or("fhir.schema.json has no definitions")?;

    // Only R4's own resource types: this copy of the schema adds non-R4 ones to ResourceList.
    let listed: Vec<&str> = definitions
        .get("ResourceList")
        .and_then(|r| r.get("oneOf"))
        .and_then(Value::as_array)
        .ok_or("fhir.schema.json has no ResourceList")?
        .iter()
        .filter_map(|branch| branch.get("$ref").and_then(Value::as_str))
        .filter_map(|r| r.strip_prefix("#/definitions/"))
        .collect();
    if let Some(missing) = R4_RESOURCE_TYPES.iter().find(|t| !listed.contains(t)) {
        return Err(format!(
            "fhir.schema.json does not define the R4 resource {missing}"
        ));
    }
    let resource_types: Vec<String> = R4_RESOURCE_TYPES.iter().map(|t| (*t).to_owned()).collect();
    for (def, elements) in NOT_R4 {
        let Some(Value::Object(target)) = definitions.get_mut(*def) else {
            continue;
        };
        if let Some(Value::Object(props)) = target.get_mut("properties") {
            for e in *elements {
                props.remove(*e);
                props.remove(&format!("_{e}"));
            }
        }
    }

    definitions.insert(
        "ResourceList".to_owned(),
        json!({
            "type": "object",
            "required": ["resourceType"],
            "properties": { "resourceType": { "enum": resource_types } }
        }),
    );
    if let Some(Value::Object(xhtml)) = definitions.get_mut("xhtml") {
        xhtml.insert("type".to_owned(), json!("string"));
        xhtml.insert("format".to_owned(), json!(FORMAT_XHTML));
    }

    let mut pattern_types = HashMap::new();
    for (name, def) in definitions.iter() {
        if let Some(pattern) = def.get("pattern").and_then(Value::as_str) {
            pattern_types
                .entry(pattern.to_owned())
                .or_insert_with(|| name.clone());
        }
    }
    // uri, url and canonical share a regex; "uri" names it best.
    if let Some(uri) = definitions
        .get("uri")
        .and_then(|d| d.get("pattern"))
        .and_then(Value::as_str)
    {
        pattern_types.insert(uri.to_owned(), "uri".to_owned());
    }
    let by_type = |t: &str| {
        definitions
            .get(t)
            .and_then(|d| d.get("pattern"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("fhir.schema.json: no pattern for {t}"))
    };
    let formats = [
        (by_type("date")?, dates::FORMAT_DATE),
        (by_type("dateTime")?, dates::FORMAT_DATE_TIME),
        (by_type("instant")?, dates::FORMAT_INSTANT),
        (by_type("time")?, dates::FORMAT_TIME),
    ];
    let integers = [
        (by_type("integer")?, "integer"),
        (by_type("positiveInt")?, "positiveInt"),
        (by_type("unsignedInt")?, "unsignedInt"),
    ];
    let string_pattern = by_type("string")?;
    for def in definitions.values_mut() {
        annotate(def, &string_pattern, &formats, &integers);
    }
    add_required(definitions)?;

    // Only the definitions are needed; the root oneOf/discriminator would be dead weight.
    let mut adapted = Map::new();
    adapted.insert(
        "$schema".to_owned(),
        json!("http://json-schema.org/draft-06/schema#"),
    );
    if let Some(defs) = doc.get_mut("definitions") {
        adapted.insert("definitions".to_owned(), defs.take());
    }
    let registry = Registry::new()
        .draft(Draft::Draft6)
        .add(BASE_URI, Value::Object(adapted))
        .and_then(|r| r.prepare())
        .map_err(|e| format!("schema registry: {e}"))?;
    Ok(Prepared {
        registry,
        resource_types,
        pattern_types,
    })
}

/// Walks a schema node and attaches `format` / the integer keyword next to matching patterns.
///
/// The `string`/`markdown` regex `[ \r\n\t\S]+` is written with XML Schema semantics, where
/// `\s` is only space, TAB, CR and LF, so it accepts every non-empty string. Rust's (and
/// ECMAScript's) `\S` is Unicode-aware and would refuse a no-break space or an ideographic
/// space (U+3000, common in CJK names). It is dropped; `rules.rs` enforces what it meant
/// (non-empty) and what datatypes.html adds (no control characters, some non-whitespace).
fn annotate(
    node: &mut Value,
    string_pattern: &str,
    formats: &[(String, &str)],
    integers: &[(String, &str)],
) {
    match node {
        Value::Object(map) => {
            if map.get("pattern").and_then(Value::as_str) == Some(string_pattern) {
                map.remove("pattern");
            }
            if let Some(pattern) = map.get("pattern").and_then(Value::as_str) {
                let format = formats.iter().find(|(p, _)| p == pattern).map(|(_, f)| *f);
                let integer = integers.iter().find(|(p, _)| p == pattern).map(|(_, k)| *k);
                if let Some(format) = format {
                    map.insert("format".to_owned(), json!(format));
                } else if let Some(kind) = integer {
                    map.insert(INTEGER_KEYWORD.to_owned(), json!(kind));
                }
            }
            for child in map.values_mut() {
                annotate(child, string_pattern, formats, integers);
            }
        }
        Value::Array(items) => {
            for child in items {
                annotate(child, string_pattern, formats, integers);
            }
        }
        _ => {}
    }
}

/// Attaches [`REQUIRED_KEYWORD`] to every definition with required primitive or choice
/// elements: a list of element names, a choice written `name[x]` followed by its properties.
fn add_required(definitions: &mut Map<String, Value>) -> Result<(), String> {
    let mut lists: HashMap<&str, Vec<Value>> = HashMap::new();
    for (def, names) in required::REQUIRED_PRIMITIVES {
        let list = lists.entry(def).or_default();
        list.extend(names.iter().map(|n| json!([n])));
    }
    for (def, choices) in required::REQUIRED_CHOICES {
        let list = lists.entry(def).or_default();
        for (name, variants) in *choices {
            let mut entry = vec![json!(format!("{name}[x]"))];
            entry.extend(variants.iter().map(|v| json!(v)));
            list.push(Value::Array(entry));
        }
    }
    for (def, list) in lists {
        let Some(Value::Object(target)) = definitions.get_mut(def) else {
            return Err(format!("required.rs names an unknown definition {def}"));
        };
        target.insert(REQUIRED_KEYWORD.to_owned(), Value::Array(list));
    }
    Ok(())
}

/// Compiles the validator whose root is `#/definitions/<resource_type>`.
pub fn compile(
    registry: &Registry<'static>,
    resource_type: &str,
) -> Result<jsonschema::Validator, String> {
    let root = json!({
        "$schema": "http://json-schema.org/draft-06/schema#",
        "$ref": format!("{BASE_URI}#/definitions/{resource_type}"),
    });
    jsonschema::options()
        .with_draft(Draft::Draft6)
        .with_registry(registry)
        .with_format(dates::FORMAT_DATE, dates::is_valid_date)
        .with_format(dates::FORMAT_DATE_TIME, dates::is_valid_date_time)
        .with_format(dates::FORMAT_INSTANT, dates::is_valid_instant)
        .with_format(dates::FORMAT_TIME, dates::is_valid_time)
        .with_format(FORMAT_XHTML, |s: &str| narrative::check(s).is_none())
        .should_validate_formats(true)
        .with_keyword(INTEGER_KEYWORD, |_, value, _| {
            Ok(Box::new(keywords::IntegerKeyword::new(value)))
        })
        .with_keyword(REQUIRED_KEYWORD, |_, value, _| {
            Ok(Box::new(keywords::RequiredKeyword::new(value)))
        })
        .build(&root)
        .map_err(|e| format!("compiling the schema for {resource_type}: {}", e.masked()))
}
