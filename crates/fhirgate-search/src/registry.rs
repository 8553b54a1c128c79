//! The search-parameter registry, built once at start-up from the official
//! R4 SearchParameter Bundle (search.html, searchparameter-registry.html).
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::extract::extract_all;
use crate::fhirpath::{lex, parse, Expr, Tok};
use crate::model::TypeModel;
use crate::{IndexEntry, ParamType, SearchParamDef};

pub(crate) const SEARCH_PARAMETERS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schemas/search-parameters.json"
));
/// SearchParameters the gateway defines beyond R4 (each documented in the file).
pub(crate) const GATEWAY_PARAMETERS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schemas/search-parameters-fhirgate.json"
));
pub(crate) const FHIR_SCHEMA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schemas/fhir.schema.json"
));

/// A parameter whose expression cannot be evaluated; it extracts nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressionIssue {
    pub resource_type: String,
    pub code: String,
    pub url: String,
    pub expression: String,
    pub reason: String,
}

pub(crate) struct CompiledComponent {
    pub param_type: ParamType,
    pub expr: Expr,
}

/// The parsed form of one [`SearchParamDef`]; `expr: None` extracts nothing.
pub(crate) struct Compiled {
    pub expr: Option<Expr>,
    pub components: Vec<CompiledComponent>,
}

struct TypeParams {
    defs: Vec<SearchParamDef>,
    compiled: Vec<Compiled>,
    by_code: HashMap<String, usize>,
}

pub struct Registry {
    model: TypeModel,
    types: HashMap<String, TypeParams>,
    by_url: HashMap<String, (String, usize)>,
    issues: Vec<ExpressionIssue>,
}

#[derive(Deserialize)]
struct RawBundle {
    #[serde(default)]
    entry: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    resource: Value,
}

#[derive(Deserialize)]
struct RawParam {
    url: String,
    code: String,
    #[serde(rename = "type")]
    param_type: String,
    #[serde(default)]
    base: Vec<String>,
    expression: Option<String>,
    #[serde(default)]
    target: Vec<String>,
    #[serde(default)]
    modifier: Vec<String>,
    #[serde(default)]
    comparator: Vec<String>,
    #[serde(default)]
    component: Vec<RawComponent>,
}

#[derive(Deserialize)]
struct RawComponent {
    definition: String,
    expression: String,
}

/// Resource-level bases whose expressions are rebased onto each type.
fn is_abstract_base(name: &str) -> bool {
    name == "Resource" || name == "DomainResource"
}

/// Selects the union members of a multi-base expression that apply to
/// `rt`: the official expressions are unions over all bases
/// (`Patient.x | Practitioner.x | ...`). `Resource.x`/`DomainResource.x`
/// members are rebased to `rt.x`. Members are sliced by token spans at
/// parenthesis depth 0, and only when the whole expression parses as a
/// top-level union (otherwise a `|` could belong to a lower-precedence
/// operand).
fn members_for(expr: &str, rt: &str, model: &TypeModel) -> String {
    let (Ok(tokens), Ok(ast)) = (lex(expr), parse(expr)) else {
        return expr.to_string(); // the compile step reports the error
    };
    let mut spans = Vec::new();
    let mut start = 0;
    let mut depth = 0_i32;
    if matches!(ast, Expr::Union(..)) {
        for t in &tokens {
            match &t.tok {
                Tok::Sym("(") | Tok::Sym("[") => depth += 1,
                Tok::Sym(")") | Tok::Sym("]") => depth -= 1,
                Tok::Sym("|") if depth == 0 => {
                    spans.push((start, t.start));
                    start = t.end;
                }
                _ => {}
            }
        }
    }
    spans.push((start, expr.len()));
    let mut selected = Vec::new();
    for (s, e) in spans {
        // The member's root: its first identifier (`(Observation.value...`).
        let root = tokens
            .iter()
            .filter(|t| t.start >= s && t.end <= e)
            .find_map(|t| match &t.tok {
                Tok::Ident { name, .. } => Some((name.as_str(), t.start, t.end)),
                _ => None,
            });
        let Some(text) = expr.get(s..e) else { continue };
        match root {
            Some((name, _, _)) if name == rt => selected.push(text.trim().to_string()),
            Some((name, rs, re)) if is_abstract_base(name) => {
                let (Some(before), Some(after)) = (expr.get(s..rs), expr.get(re..e)) else {
                    continue;
                };
                selected.push(format!("{before}{rt}{after}").trim().to_string());
            }
            // A member rooted at another resource type belongs to that type.
            Some((name, _, _)) if model.is_resource(name) => {}
            _ => selected.push(text.trim().to_string()),
        }
    }
    selected.join(" | ")
}

impl Registry {
    /// Builds the registry for `resource_types` from the embedded R4
    /// definitions, plus the few the gateway defines itself
    /// (schemas/search-parameters-fhirgate.json). Fails on unknown resource types or unreadable inputs;
    /// expressions outside the FHIRPath subset are listed by [`Self::issues`].
    pub fn r4(resource_types: &[&str]) -> Result<Self, String> {
        let model = TypeModel::from_schema_json(FHIR_SCHEMA)?;
        let mut raws = Vec::new();
        for (name, text) in [
            ("search-parameters.json", SEARCH_PARAMETERS),
            ("search-parameters-fhirgate.json", GATEWAY_PARAMETERS),
        ] {
            let bundle: RawBundle =
                serde_json::from_str(text).map_err(|e| format!("{name}: {e}"))?;
            for entry in bundle.entry {
                let raw: RawParam = serde_json::from_value(entry.resource)
                    .map_err(|e| format!("{name} entry: {e}"))?;
                raws.push(raw);
            }
        }
        let mut reg = Registry {
            model,
            types: HashMap::new(),
            by_url: HashMap::new(),
            issues: Vec::new(),
        };
        for rt in resource_types {
            if !reg.model.is_resource(rt) {
                return Err(format!("unknown resource type {rt}"));
            }
            if reg.types.contains_key(*rt) {
                continue;
            }
            let tp = reg.build_type(rt, &raws)?;
            for (i, d) in tp.defs.iter().enumerate() {
                reg.by_url
                    .entry(d.url.clone())
                    .or_insert((rt.to_string(), i));
            }
            reg.types.insert(rt.to_string(), tp);
        }
        reg.compile_all();
        Ok(reg)
    }

    fn build_type(&self, rt: &str, raws: &[RawParam]) -> Result<TypeParams, String> {
        let domain = self.model.parent(rt) == Some("DomainResource");
        let mut defs = Vec::new();
        for raw in raws {
            let applies = raw
                .base
                .iter()
                .any(|b| b == rt || b == "Resource" || (b == "DomainResource" && domain));
            if !applies {
                continue;
            }
            let param_type = ParamType::from_code(&raw.param_type)
                .ok_or_else(|| format!("{}: unknown type {}", raw.url, raw.param_type))?;
            let expression = raw
                .expression
                .as_deref()
                .map(|e| members_for(e, rt, &self.model))
                .unwrap_or_default();
            defs.push(SearchParamDef {
                code: raw.code.clone(),
                url: raw.url.clone(),
                param_type,
                resource_type: rt.to_string(),
                expression,
                targets: raw.target.clone(),
                modifiers: raw.modifier.clone(),
                comparators: raw.comparator.clone(),
                components: raw
                    .component
                    .iter()
                    .map(|c| (c.definition.clone(), c.expression.clone()))
                    .collect(),
                union_of: Vec::new(),
            });
        }
        defs.sort_by(|a, b| a.code.cmp(&b.code));
        let types: std::collections::HashMap<&str, ParamType> = raws
            .iter()
            .filter_map(|r| Some((r.url.as_str(), ParamType::from_code(&r.param_type)?)))
            .collect();
        crate::unions::mark(&mut defs, |url| types.get(url).copied());
        let by_code = defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.code.clone(), i))
            .collect();
        Ok(TypeParams {
            defs,
            compiled: Vec::new(),
            by_code,
        })
    }

    /// Parses every expression; runs after all types are registered so that
    /// composite components can be looked up by URL.
    fn compile_all(&mut self) {
        let mut names: Vec<String> = self.types.keys().cloned().collect();
        names.sort();
        let mut issues = Vec::new();
        let mut compiled_by_type = Vec::new();
        for rt in &names {
            let defs = self.types.get(rt).map_or(&[][..], |t| t.defs.as_slice());
            let compiled = defs
                .iter()
                .map(|d| self.compile(d, &mut issues))
                .collect::<Vec<_>>();
            compiled_by_type.push((rt.clone(), compiled));
        }
        for (rt, compiled) in compiled_by_type {
            if let Some(tp) = self.types.get_mut(&rt) {
                tp.compiled = compiled;
            }
        }
        self.issues = issues;
    }

    fn compile(&self, d: &SearchParamDef, issues: &mut Vec<ExpressionIssue>) -> Compiled {
        let mut issue = |reason: String| {
            issues.push(ExpressionIssue {
                resource_type: d.resource_type.clone(),
                code: d.code.clone(),
                url: d.url.clone(),
                expression: d.expression.clone(),
                reason,
            });
            Compiled {
                expr: None,
                components: Vec::new(),
            }
        };
        if d.expression.is_empty() {
            return issue("no FHIRPath expression for this resource type".to_string());
        }
        let expr = match parse(&d.expression) {
            Ok(e) => e,
            Err(e) => return issue(e),
        };
        let mut components = Vec::new();
        for (url, cexpr) in &d.components {
            // search.html#composite: components are other parameters, by URL.
            let param_type = self.lookup_url(&d.resource_type, url).map(|c| c.param_type);
            let Some(param_type) = param_type else {
                return issue(format!("component {url} is not a registered parameter"));
            };
            match parse(cexpr) {
                Ok(expr) => components.push(CompiledComponent { param_type, expr }),
                Err(e) => return issue(format!("component {cexpr}: {e}")),
            }
        }
        Compiled {
            expr: Some(expr),
            components,
        }
    }

    /// A definition by URL, preferring the one registered for `rt`.
    fn lookup_url(&self, rt: &str, url: &str) -> Option<&SearchParamDef> {
        let own = self
            .types
            .get(rt)
            .and_then(|t| t.defs.iter().find(|d| d.url == url));
        own.or_else(|| self.by_url(url))
    }

    /// Parameters of a resource type, sorted by code.
    pub fn params(&self, resource_type: &str) -> &[SearchParamDef] {
        self.types
            .get(resource_type)
            .map_or(&[][..], |t| t.defs.as_slice())
    }

    pub fn get(&self, resource_type: &str, code: &str) -> Option<&SearchParamDef> {
        let t = self.types.get(resource_type)?;
        t.by_code.get(code).and_then(|&i| t.defs.get(i))
    }

    /// True when the parameter's expression compiled, so extraction yields its
    /// index values (composites also need every component to compile).
    pub fn evaluable(&self, resource_type: &str, code: &str) -> bool {
        let Some(t) = self.types.get(resource_type) else {
            return false;
        };
        t.by_code
            .get(code)
            .and_then(|&i| t.compiled.get(i))
            .is_some_and(|c| c.expr.is_some())
    }

    /// A definition by canonical URL. Multi-base definitions (e.g.
    /// `clinical-code`) are registered once per type; this returns the one
    /// for the first type (in `r4`'s argument order) that has it.
    pub fn by_url(&self, url: &str) -> Option<&SearchParamDef> {
        let (rt, i) = self.by_url.get(url)?;
        self.types.get(rt)?.defs.get(*i)
    }

    /// Parameters whose expressions cannot be evaluated (they extract nothing).
    pub fn issues(&self) -> &[ExpressionIssue] {
        &self.issues
    }

    /// The R4 type of `element` (a JSON property name; a choice member such as
    /// `valueUri` has its own type, `uri`) in `owner` (a resource, a data type,
    /// or a backbone element as the R4 JSON Schema names it, `Patient_Contact`),
    /// from the R4 JSON Schema. An element holding any resource (`contained`,
    /// `Bundle.entry.resource`) is `Resource`; its instance's `resourceType`
    /// says which. None for an element `owner` does not have.
    pub fn element_type(&self, owner: &str, element: &str) -> Option<&str> {
        let ty = self.model.get(owner)?.props.get(element)?.ty.as_str();
        // The schema types such elements as its `ResourceList` (a oneOf of every resource).
        Some(if ty == "ResourceList" { "Resource" } else { ty })
    }

    /// All index entries of `resource` (a `resource_type` instance). Never
    /// panics; malformed content simply yields fewer entries.
    pub fn extract(&self, resource_type: &str, resource: &Value) -> Vec<IndexEntry> {
        let Some((rt, tp)) = self.types.get_key_value(resource_type) else {
            return Vec::new();
        };
        if !resource.is_object() {
            return Vec::new(); // not a resource at all
        }
        extract_all(&self.model, rt, &tp.defs, &tp.compiled, resource)
    }
}
