//! The only place fhirbolt's generic (de)serialisers are instantiated.

use fhirbolt::serde::{DeserializationConfig, DeserializationMode};
use serde_json::Value;

use crate::XmlError;

type Model = fhirbolt::model::r4::Resource;

/// Strict is fhirbolt's default, but it is set explicitly: Compatibility and
/// Lax modes hang on an unknown XML element in fhirbolt 0.4.0.
fn strict() -> Option<DeserializationConfig> {
    Some(DeserializationConfig {
        mode: DeserializationMode::Strict,
    })
}

/// Stack for the thread fhirbolt runs on. fhirbolt recurses once per element;
/// in a debug build 100 levels of nested `Bundle.entry.resource` need ~3-8 MiB,
/// more than the 2 MiB default of Rust/tokio threads, so the caller's stack
/// is never relied on. Pages are only committed when touched.
const STACK_BYTES: usize = 16 * 1024 * 1024;

/// Runs `f` on a scoped thread with [`STACK_BYTES`] of stack. A panic inside
/// fhirbolt (it has internal `unwrap`s) becomes an error instead of taking the
/// server thread down.
fn guarded<T: Send>(f: impl FnOnce() -> Result<T, XmlError> + Send) -> Result<T, XmlError> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("fhirgate-xml".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| XmlError::Internal(format!("cannot start conversion thread: {e}")))?;
        worker
            .join()
            .unwrap_or_else(|_| Err(XmlError::Internal("fhirbolt panicked".into())))
    })
}

pub(crate) fn xml_to_value(xml: &str) -> Result<Value, XmlError> {
    guarded(|| {
        let model: Model = fhirbolt::xml::from_str(xml, strict()).map_err(XmlError::malformed)?;
        // Serialising fails only on content fhirbolt did not validate while
        // parsing, e.g. a decimal `value="abc"`: still the client's input.
        fhirbolt::json::to_json_value(model, None).map_err(XmlError::malformed)
    })
}

/// Takes JSON *text*, not a `serde_json::Value`: fhirbolt's `from_json_value`
/// receives decimals such as `0.000001` as f64 and re-prints them as `1e-6`,
/// whereas the text path hands it the exact digits (arbitrary_precision).
pub(crate) fn json_text_to_xml(json: &str) -> Result<String, XmlError> {
    guarded(|| {
        let model: Model = fhirbolt::json::from_str(json, strict()).map_err(XmlError::malformed)?;
        fhirbolt::xml::to_string(&model, None).map_err(XmlError::internal)
    })
}
