//! In-crate unit tests (crate-private APIs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod date;
mod fhirpath;
mod reference;
mod registry;

use std::sync::OnceLock;

use crate::model::TypeModel;
use crate::registry::FHIR_SCHEMA;

pub(crate) fn model() -> &'static TypeModel {
    static MODEL: OnceLock<TypeModel> = OnceLock::new();
    MODEL.get_or_init(|| TypeModel::from_schema_json(FHIR_SCHEMA).unwrap())
}
