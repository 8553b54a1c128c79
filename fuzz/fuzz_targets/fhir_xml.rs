//! FHIR XML bodies: conversion to JSON must refuse or convert, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = fhirgate_xml::xml_to_json(data) {
        let _ = fhirgate_xml::json_to_xml(&json, false);
    }
});
