//! [`Scopes::narrow`], [`Scopes::within`] and the consent-page words, with the
//! covering rules of SMART App Launch 2.0.0 "Scopes and Launch Context".
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::tests::{p, rs, within, LAB};
use super::*;
use crate::model::ResourceType as T;

fn narrow(request: &str, ceiling: &str, allow_non_resource: bool) -> String {
    Scopes::parse(request)
        .narrow(&Scopes::parse(ceiling), allow_non_resource)
        .to_string()
}

/// A doctor's role ceiling applied to a mixed request.
#[test]
fn narrow_doctor_request() {
    let got = narrow(
        "patient/Observation.rs user/Observation.cud patient/*.rs user/AuditEvent.rs launch/patient openid",
        "user/Observation.cruds user/Patient.cruds",
        true,
    );
    // user/ covers patient/ (data "available to" the user); `patient/*.rs`
    // gets the types the ceiling names (its Observation part is already there);
    // AuditEvent is not in the ceiling.
    assert_eq!(
        got,
        "patient/Observation.rs user/Observation.cud patient/Patient.rs launch/patient openid"
    );
    let got = narrow(
        "launch/patient openid fhirUser user/Patient.r",
        "openid user/Patient.rs",
        false,
    );
    assert_eq!(got, "openid user/Patient.r");
}

#[test]
fn narrow_rules() {
    // Perms narrowed, in the client's form where v1 can say it.
    assert_eq!(
        narrow("user/Observation.write", "user/Observation.cu", false),
        "user/Observation.cu"
    );
    assert_eq!(
        narrow("user/Observation.*", "user/*.rs", false),
        "user/Observation.read"
    );
    assert_eq!(
        narrow("user/*.*", "user/Observation.rs", false),
        "user/Observation.read"
    );
    assert_eq!(
        narrow("user/*.cruds", "user/*.rs user/Patient.cruds", false),
        "user/*.rs user/Patient.cud"
    );
    // "Scope Equivalence": `.r` and `.s` together are `.rs`.
    assert_eq!(
        narrow(
            "patient/Observation.rs",
            "user/Observation.r user/Observation.s",
            false
        ),
        "patient/Observation.rs"
    );
    // system/ covers only system/, patient/ only patient/.
    assert_eq!(
        narrow(
            "user/Observation.rs patient/Observation.rs",
            "system/*.cruds",
            true
        ),
        ""
    );
    assert_eq!(
        narrow(
            "user/Observation.rs system/Patient.r",
            "patient/*.cruds",
            true
        ),
        ""
    );
    assert_eq!(
        narrow("system/Observation.rs", "system/*.r", true),
        "system/Observation.r"
    );
    // Query constraints: kept under a plain ceiling; a constrained ceiling
    // covers only the identical constraint.
    assert_eq!(
        narrow(LAB, "user/Observation.r", false),
        LAB.replace(".rs?", ".r?")
    );
    let lab_ceiling = LAB.replace("patient/", "user/");
    assert_eq!(narrow(LAB, &lab_ceiling, false), LAB);
    assert_eq!(narrow("patient/Observation.rs", &lab_ceiling, false), "");
    assert_eq!(
        narrow(
            "patient/Observation.rs?category=vital-signs",
            &lab_ceiling,
            false
        ),
        ""
    );
    // Other never survives, even with allow_non_resource or in the ceiling.
    assert_eq!(
        narrow("bogus patient/Encounter.rs", "bogus user/*.cruds", true),
        ""
    );
    assert_eq!(narrow("openid", "", false), "");
    assert_eq!(narrow("openid", "", true), "openid");
    // Whatever narrow gives is within both.
    let (req, ceil) = (
        "patient/*.cruds user/Observation.rs launch",
        "user/Observation.rs user/Patient.r launch",
    );
    let n = Scopes::parse(req).narrow(&Scopes::parse(ceil), false);
    assert!(n.within(&Scopes::parse(ceil)) && n.within(&Scopes::parse(req)));
}

#[test]
fn within_rules() {
    assert!(within("", ""));
    assert!(within("patient/Observation.r", "patient/Observation.rs"));
    assert!(!within("patient/Observation.rs", "patient/Observation.r"));
    assert!(within(
        "patient/Observation.r patient/Observation.s",
        "patient/Observation.rs"
    ));
    assert!(within(
        "patient/Observation.rs",
        "patient/Observation.r patient/Observation.s"
    ));
    assert!(within("patient/Observation.rs", "patient/*.rs"));
    assert!(within("patient/Observation.rs", "user/Observation.rs"));
    assert!(!within("user/Observation.rs", "patient/Observation.rs"));
    assert!(!within("user/Observation.rs", "system/Observation.rs"));
    assert!(!within("system/Observation.rs", "user/*.cruds"));
    // A wildcard reaches types served in the future: no list of types covers it.
    let every: Vec<String> = T::ALL.iter().map(|t| format!("patient/{t}.rs")).collect();
    assert!(!within("patient/*.rs", &every.join(" ")));
    assert!(within(LAB, "patient/Observation.rs"));
    assert!(!within("patient/Observation.rs", LAB));
    assert!(within(
        "openid launch/patient",
        "launch/patient openid fhirUser"
    ));
    assert!(!within("offline_access", "online_access"));
    assert!(!within(
        "patient/Observation.rs offline_access",
        "patient/Observation.rs"
    ));
}

#[test]
fn descriptions() {
    assert_eq!(
        rs(LAB).describe(),
        "Read and search the selected patient's Observations (only category laboratory)"
    );
    assert_eq!(
        rs("user/Patient.cruds").describe(),
        "Create, read, update, delete and search the Patients in records you can access"
    );
    assert_eq!(
        rs("system/Observation.rs").describe(),
        "Read and search all Observations"
    );
    assert_eq!(
        rs("patient/Observation.c").describe(),
        "Create the selected patient's Observations"
    );
    assert_eq!(
        rs("patient/*.read").describe(),
        "Read and search all of the selected patient's records, including kinds of data added later"
    );
    assert_eq!(
        describe(&Scope::FhirUser),
        "Know who you are (your FHIR user)"
    );
    assert!(describe(&Scope::OfflineAccess).contains("offline access"));
    assert!(describe(&Scope::Other("x".to_owned())).contains("not be granted"));
    assert_eq!(
        describe(&Scope::Resource(rs("user/*.cud"))),
        rs("user/*.cud").describe()
    );
}

#[test]
fn built_scopes_use_v2_text() {
    let r = ResourceScope::new(Context::User, Some(T::Appointment), p("cud"), None);
    assert_eq!(r.text, "user/Appointment.cud");
    assert_eq!(
        Scope::Resource(r.clone()),
        Scope::parse("user/Appointment.cud")
    );
    let q = ResourceScope::new(
        Context::Patient,
        None,
        Perms::R,
        Some("category=laboratory".to_owned()),
    );
    assert_eq!(q.text, "patient/*.r?category=laboratory");
    assert_eq!(Scope::LaunchEncounter.to_string(), "launch/encounter");
    assert_eq!(Context::parse("system"), Some(Context::System));
    assert_eq!(Context::parse("System"), None);
}
