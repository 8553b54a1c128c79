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
        "htmlChecks() is not FHIRPath but the XHTML rules of narrative.html#xhtml; narrative.rs applies them when parsing (400, before any invariant)",
    ),
    (
        "txt-2",
        "htmlChecks() is not FHIRPath but the XHTML rules of narrative.html#xhtml (non-whitespace content); narrative.rs applies them when parsing (400)",
    ),
];

pub(crate) fn native(key: &str) -> bool {
    NATIVE.iter().any(|(k, _)| *k == key)
}

pub(crate) fn excluded(key: &str) -> bool {
    EXCLUDED.iter().any(|(k, _)| *k == key)
}
