//! Expectations from SMART App Launch 2.0.0 "Scopes and Launch Context"
//! (STU2) and 1.0.0's page of the same name: their examples and rules, quoted
//! where they decide the expectation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;
use crate::model::ResourceType as T;

pub(super) const LAB: &str = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";

pub(super) fn rs(token: &str) -> ResourceScope {
    match Scope::parse(token) {
        Scope::Resource(r) => r,
        other => panic!("{token} did not parse as a resource scope: {other:?}"),
    }
}

fn is_other(token: &str) -> bool {
    Scope::parse(token) == Scope::Other(token.to_owned())
}

pub(super) fn p(letters: &str) -> Perms {
    Perms::parse_v2(letters).unwrap()
}

pub(super) fn within(a: &str, b: &str) -> bool {
    Scopes::parse(a).within(&Scopes::parse(b))
}

#[test]
fn perms_bits_and_letters() {
    let rs = Perms::R.union(Perms::S);
    assert_eq!(rs.letters(), "rs");
    assert_eq!(Perms::ALL.letters(), "cruds");
    assert_eq!(Perms::default(), Perms::NONE);
    assert!(Perms::default().is_empty());
    assert!(Perms::ALL.contains(rs));
    assert!(!rs.contains(Perms::C));
    assert_eq!(Perms::ALL.intersect(rs), rs);
    assert_eq!(Perms::ALL.minus(rs).letters(), "cud");
    // Built from bits in any order, always written in "cruds" order.
    assert_eq!(Perms::S.union(Perms::C).union(Perms::D).letters(), "cds");
}

/// "Quick Start" and "Patient-specific scopes" examples.
#[test]
fn patient_scope_examples() {
    let r = rs("patient/*.rs");
    assert_eq!(
        (r.context, r.rtype, r.perms),
        (Context::Patient, None, Perms::R.union(Perms::S))
    );
    let r = rs("patient/Observation.rs");
    assert_eq!(
        (r.context, r.rtype, r.perms.letters().as_str()),
        (Context::Patient, Some(T::Observation), "rs")
    );
    assert_eq!(r.query, None);
    assert_eq!(r.text, "patient/Observation.rs");
    // "Note the difference in capitalization between "patient" the permission
    // type and "Patient" the resource."
    let r = rs("patient/Patient.r");
    assert_eq!(
        (r.context, r.rtype, r.perms),
        (Context::Patient, Some(T::Patient), Perms::R)
    );
    // "write access does not imply read access"
    assert_eq!(rs("patient/Observation.c").perms, Perms::C);
    assert_eq!(rs("patient/*.cruds").perms, Perms::ALL);
    // "to convey support for creating and updating observations, use scope
    // `patient/Observation.cu`"
    assert_eq!(rs("patient/Observation.cu").perms, Perms::C.union(Perms::U));
}

/// "User-level scopes" and "System-level scopes" examples.
#[test]
fn user_and_system_scope_examples() {
    let r = rs("user/*.cruds");
    assert_eq!(
        (r.context, r.rtype, r.perms),
        (Context::User, None, Perms::ALL)
    );
    assert_eq!(rs("user/Observation.rs").rtype, Some(T::Observation));
    assert_eq!(rs("user/Appointment.cruds").perms, Perms::ALL);
    assert_eq!(rs("user/Patient.rs").rtype, Some(T::Patient));
    let r = rs("system/*.rs");
    assert_eq!(
        (r.context, r.rtype, r.perms.letters().as_str()),
        (Context::System, None, "rs")
    );
    assert_eq!(rs("system/Observation.rs").context, Context::System);
    // `system/Encounter.cud` is a valid scope, but Encounter is not served.
    assert!(is_other("system/Encounter.cud"));
}

/// "Valid suffixes are a subset of the in-order string `.cruds`"; "a request of
/// `.dus` is not a defined scope request".
#[test]
fn v2_letters_in_order_each_once() {
    for ok in [
        "c", "r", "u", "d", "s", "rs", "cu", "cud", "crs", "cruds", "cds", "us",
    ] {
        assert_eq!(
            Perms::parse_v2(ok).map(Perms::letters).as_deref(),
            Some(ok),
            "{ok}"
        );
    }
    for bad in [
        "", "sr", "dus", "rsc", "rr", "crudss", "scrud", "x", "rw", "R", "rS", "cruds ",
    ] {
        assert_eq!(Perms::parse_v2(bad), None, "{bad:?}");
    }
    for token in [
        "patient/Observation.sr",
        "patient/Observation.dus",
        "patient/Observation.rsc",
        "user/*.rr",
        "user/*.crudss",
        "patient/Observation.",
        "patient/Observation",
        "patient/.rs",
        "patient/Observation.rs.rs",
    ] {
        assert!(is_other(token), "{token}");
    }
}

/// "v1 `.read` ⇒ v2 `.rs`", "v1 `.write` ⇒ v2 `.cud`", "v1 `.*` ⇒ v2 `.cruds`".
#[test]
fn v1_equivalences() {
    for (v1, v2) in [
        ("patient/*.read", "patient/*.rs"),
        ("user/Appointment.write", "user/Appointment.cud"),
        ("user/*.*", "user/*.cruds"),
        ("patient/Patient.*", "patient/Patient.cruds"),
        ("system/*.read", "system/*.rs"),
    ] {
        let (a, b) = (rs(v1), rs(v2));
        assert_eq!(
            (a.context, a.rtype, a.perms),
            (b.context, b.rtype, b.perms),
            "{v1}"
        );
        assert_eq!(a.text, v1, "kept as written");
        assert!(a.is_v1() && !b.is_v1());
        assert!(within(v1, v2) && within(v2, v1), "{v1} = {v2}");
    }
    // Not `.rd` ("interpreting `.read` as `.rd` and granting extraneous delete
    // permissions").
    assert!(!rs("patient/Observation.read").perms.contains(Perms::D));
    // 1.0.0: "Manage all appointments": `user/Appointment.read user/Appointment.write`.
    assert!(within(
        "user/Appointment.read user/Appointment.write",
        "user/Appointment.cruds"
    ));
    assert!(within(
        "user/Appointment.cruds",
        "user/Appointment.read user/Appointment.write"
    ));
    // v1 had no query constraints; v1 words are exact.
    assert!(is_other("patient/Observation.read?category=laboratory"));
    for bad in [
        "patient/Observation.Read",
        "patient/Observation.readwrite",
        "patient/Observation.**",
    ] {
        assert!(is_other(bad), "{bad}");
    }
}

/// "Finer-grained resource constraints using search parameters".
#[test]
fn query_constraint() {
    let r = rs(LAB);
    assert_eq!(
        (r.context, r.rtype, r.perms.letters().as_str()),
        (Context::Patient, Some(T::Observation), "rs")
    );
    let q = "category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";
    assert_eq!(r.query.as_deref(), Some(q));
    assert_eq!(r.text, LAB);
    let pair = (
        "category".to_owned(),
        "http://terminology.hl7.org/CodeSystem/observation-category|laboratory".to_owned(),
    );
    assert_eq!(r.query_pairs(), vec![pair.clone()]);
    // Kept encoded, decoded by query_pairs.
    let enc = rs("patient/Observation.rs?category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fobservation-category%7Claboratory");
    assert_eq!(
        enc.query.as_deref(),
        Some("category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fobservation-category%7Claboratory")
    );
    assert_eq!(enc.query_pairs(), vec![pair]);
    // "a series of `param=value` items separated by `&`"; the experimental
    // modifier example parses (whether it is honoured is the engine's call).
    let two = rs("user/Observation.rs?category=laboratory&status=final");
    assert_eq!(two.query_pairs().len(), 2);
    let modifier =
        rs("patient/Observation.rs?code:in=http://valueset.example.org/ValueSet/diabetes-codes");
    assert_eq!(modifier.query_pairs()[0].0, "code:in");
    assert!(rs("patient/Observation.rs").query_pairs().is_empty());
    for bad in [
        "patient/Observation.rs?",
        "patient/Observation.rs?category",
        "patient/Observation.rs?=laboratory",
        "patient/Observation.rs?a=1&&b=2",
        "patient/Observation.rs?a=1&",
    ] {
        assert!(is_other(bad), "{bad}");
    }
}

/// Non-resource scopes ("Scopes for requesting context data", "... identity
/// data", "... a refresh token"); 1.0.0's "`openid` `profile`".
#[test]
fn non_resource_scopes() {
    let all = Scopes::parse(
        "openid fhirUser launch launch/patient launch/encounter offline_access online_access profile",
    );
    let want = [
        Scope::OpenId,
        Scope::FhirUser,
        Scope::Launch,
        Scope::LaunchPatient,
        Scope::LaunchEncounter,
        Scope::OfflineAccess,
        Scope::OnlineAccess,
        Scope::Profile,
    ];
    assert_eq!(all.0, want);
    assert_eq!(all.resource_scopes().count(), 0);
    // Extensions: other launch contexts ("convert the type names to all
    // lowercase", e.g. `launch/diagnosticreport`), `__` and full-URI scopes.
    for other in [
        "launch/diagnosticreport",
        "launch/imagingstudy",
        "__profilePhoto.manage",
        "https://ehr.example.org/scopes/profilePhoto.manage",
    ] {
        assert!(is_other(other), "{other}");
    }
}

#[test]
fn case_sensitive() {
    for token in [
        "Patient/Observation.rs",
        "patient/observation.rs",
        "patient/Observation.RS",
        "USER/*.cruds",
        "OpenID",
        "fhiruser",
        "Launch",
        "launch/Patient",
        "Offline_access",
        "Profile",
    ] {
        assert!(is_other(token), "{token}");
    }
}

#[test]
fn scope_string() {
    let s = Scopes::parse(
        "  launch/patient   patient/Observation.rs openid patient/Observation.rs bogus ",
    );
    assert_eq!(s.0.len(), 5);
    assert!(s.contains(&Scope::LaunchPatient));
    assert!(s.contains(&Scope::Other("bogus".to_owned())));
    assert!(!s.contains(&Scope::FhirUser));
    assert_eq!(s.resource_scopes().count(), 2);
    // In order, each once.
    assert_eq!(
        s.to_string(),
        "launch/patient patient/Observation.rs openid bogus"
    );
    assert_eq!(Scopes::parse("").0, vec![]);
    assert_eq!(Scopes::parse(" ").to_string(), "");
    assert_eq!(Scopes::parse(LAB).to_string(), LAB);
    // RFC 6749 3.3 scope-token characters only.
    assert!(is_other("patient/Observation.rs?category=\"lab\""));
    assert!(is_other("patient/Observation.rs?category=caf\u{e9}"));
}

#[test]
fn perms_for_a_type_and_context() {
    let obs = rs("patient/Observation.rs");
    assert_eq!(obs.perms_for(T::Observation).letters(), "rs");
    assert!(obs.perms_for(T::Patient).is_empty());
    let any = rs("user/*.cruds");
    for t in T::ALL {
        assert_eq!(any.perms_for(t), Perms::ALL);
    }
    assert_eq!(
        obs.perms_in(Context::Patient, T::Observation).letters(),
        "rs"
    );
    assert!(obs.perms_in(Context::User, T::Observation).is_empty());
    assert!(any.perms_in(Context::Patient, T::Observation).is_empty());
    assert!(rs("system/*.rs")
        .perms_in(Context::User, T::Patient)
        .is_empty());
    assert_eq!(
        rs("system/*.rs")
            .perms_in(Context::System, T::Patient)
            .letters(),
        "rs"
    );
}
