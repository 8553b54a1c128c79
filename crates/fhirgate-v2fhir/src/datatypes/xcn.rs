//! XCN -> Practitioner, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/datatype-xcn-to-practitioner:
//! XCN-1 identifier value, XCN-9 (HD) its system, XCN-13 its type; XCN-2..7 and
//! XCN-10 the name (see `xpn::XCN`).

use fhirgate_hl7::Repetition;
use serde_json::{Map, Value};

use super::cx::{make, Ident};
use super::xpn::{name_parts, XCN};
use super::{comp, sub};
use crate::ctx::Ctx;

/// The Practitioner of an XCN and its identifier (None when XCN-1 is empty);
/// None when the XCN has neither an id nor a name.
pub fn practitioner(ctx: &Ctx, rep: &Repetition) -> Option<(Option<Ident>, Map<String, Value>)> {
    let mut m = Map::new();
    let value = comp(rep, 1);
    let ident = (!value.is_empty()).then(|| {
        let system = ctx.system(
            sub(rep, 9, 1),
            sub(rep, 9, 2),
            sub(rep, 9, 3),
            "practitioner",
        );
        let type_code = comp(rep, 13);
        Ident {
            json: make(&system, value, type_code, sub(rep, 9, 1), None),
            system,
            value: value.to_owned(),
            type_code: type_code.to_owned(),
        }
    });
    if let Some(i) = &ident {
        m.insert("identifier".into(), Value::Array(vec![i.json.clone()]));
    }
    if let Some(name) = name_parts(rep, &XCN) {
        m.insert("name".into(), Value::Array(vec![Value::Object(name)]));
    }
    (!m.is_empty()).then_some((ident, m))
}
