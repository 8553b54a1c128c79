//! Constraints of the served types that are not evaluated from their FHIRPath expression.
//! Every `error` constraint in `schemas/r4-elements.json` is compiled and evaluated unless it
//! is listed here; `tests/invariants.rs` holds the generated file against this table.

/// Checked natively, for speed, on every element: the same rule as the expression, with the
/// generated key and human text in the OperationOutcome (`walk.rs`).
pub(crate) const NATIVE: &[(&str, &str)] = &[
    (
        "ele-1",
        "runs on every element: an object needs a property besides `id`, a primitive's `_` sibling a value or an extension",
    ),
    (
        "ext-1",
        "runs on every Extension: `extension` present exactly when no `value[x]` is",
    ),
];

/// Not evaluated, with the reason.
pub const EXCLUDED: &[(&str, &str)] = &[
    (
        "txt-1",
        "htmlChecks() is not FHIRPath: it stands for the XHTML rules of narrative.html#xhtml, which narrative.rs screens lexically when the resource is parsed (400, before any invariant): a div in the XHTML namespace, no forbidden elements, no scripts, event attributes or javascript: URLs",
    ),
    (
        "txt-2",
        "htmlChecks() is not FHIRPath; its rule (the narrative has non-whitespace content, text or an image) is checked by narrative.rs when the resource is parsed (400, before any invariant)",
    ),
];

pub(crate) fn native(key: &str) -> bool {
    NATIVE.iter().any(|(k, _)| *k == key)
}

pub(crate) fn excluded(key: &str) -> bool {
    EXCLUDED.iter().any(|(k, _)| *k == key)
}
