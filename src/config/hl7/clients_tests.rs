//! Tests of `clients.rs`: sender patterns, certificate entries and what
//! they grant.
#![allow(clippy::unwrap_used)]

use super::*;

fn id(cn: Option<&str>, fp: u8) -> ClientIdentity {
    ClientIdentity {
        fingerprint: [fp; 32],
        cn: cn.map(str::to_owned),
    }
}

#[test]
fn senders_are_msh3_caret_msh4_with_wildcards() {
    let p = SenderPattern::parse("LAB^HOSP").unwrap();
    assert!(p.matches("LAB", "HOSP"));
    assert!(!p.matches("LAB", "OTHER") && !p.matches("OTHER", "HOSP"));
    let any_fac = SenderPattern::parse("LAB^*").unwrap();
    assert!(any_fac.matches("LAB", "") && any_fac.matches("LAB", "X"));
    assert!(SenderPattern::parse("*^*").unwrap().matches("", ""));
    for bad in ["LAB", "LAB^HOSP^X", "^HOSP", "LAB^", ""] {
        assert!(SenderPattern::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_certificate_gets_the_senders_of_every_entry_it_matches() {
    let fp = hex::encode([7u8; 32]);
    let auth = ClientAuth {
        ca: PathBuf::new(),
        required: true,
        rules: vec![
            rule_of_flag("cn:lab-1=LAB^HOSP").unwrap(),
            rule_of_flag(&format!("sha256:{fp}=RAD^*")).unwrap(),
            rule_of(&ClientCertFile {
                cn: Some("lab-1".into()),
                fingerprint: Some(hex::encode([9u8; 32])),
                senders: vec!["PHARM^HOSP".into()],
                tenant: None,
            })
            .unwrap(),
        ],
    };
    let g = auth.senders_for(Some(&id(Some("lab-1"), 7))).unwrap();
    assert!(g.permits("LAB", "HOSP") && g.permits("RAD", "ANY"));
    // The third entry wants both the CN and its fingerprint.
    assert!(!g.permits("PHARM", "HOSP"));
    assert!(!g.permits("LAB", "OTHER"));
    assert!(g.knows_application("LAB") && !g.knows_application("OTHER"));
    // A certificate matching nothing, or none at all, may send as nobody.
    assert!(!auth
        .senders_for(Some(&id(Some("lab-2"), 1)))
        .unwrap()
        .permits("LAB", "HOSP"));
    assert!(auth.senders_for(None).unwrap().senders.is_empty());
    // No mapping: no restriction.
    let open = ClientAuth {
        rules: Vec::new(),
        ..auth
    };
    assert!(open.senders_for(Some(&id(None, 1))).is_none());
}

#[test]
fn a_client_ca_requires_certificates_and_the_tls_listener() {
    let ca = || Some(PathBuf::from("ca.pem"));
    let flags = ["cn:lab-1=LAB^HOSP".to_owned()];
    let auth = resolve(ca(), false, &[], &flags, true).unwrap().unwrap();
    assert!(auth.required && auth.rules.len() == 1);
    assert!(
        !resolve(ca(), true, &[], &[], true)
            .unwrap()
            .unwrap()
            .required
    );
    assert!(resolve(None, false, &[], &[], false).unwrap().is_none());
    // Settings that would do nothing are refused, not ignored.
    assert!(resolve(ca(), false, &[], &[], false).is_err());
    assert!(resolve(None, false, &[], &flags, true).is_err());
    assert!(resolve(None, true, &[], &[], true).is_err());
}

#[test]
fn entries_are_checked() {
    let colons = [0xABu8; 32].map(|b| format!("{b:02X}")).join(":");
    assert_eq!(
        rule_of_flag(&format!("sha256:{colons}=A^B"))
            .unwrap()
            .fingerprint,
        Some([0xAB; 32])
    );
    for bad in [
        "lab-1=LAB^HOSP",
        "cn:lab-1",
        "dn:lab-1=LAB^HOSP",
        "sha256:abcd=LAB^HOSP",
        "cn:=LAB^HOSP",
        "cn:lab-1=LAB",
    ] {
        assert!(rule_of_flag(bad).is_err(), "{bad}");
    }
    assert!(rule_of(&ClientCertFile::default()).is_err());
}

#[test]
fn an_entry_may_name_the_tenant_of_its_senders() {
    let auth = ClientAuth {
        ca: PathBuf::new(),
        required: true,
        rules: vec![
            rule_of_flag("cn:lab-1=LAB^HOSP,LAB^ANNEX@clinic-a").unwrap(),
            rule_of_flag("cn:lab-1=RAD^HOSP@clinic-b").unwrap(),
            rule_of_flag("cn:lab-1=PHARM^HOSP").unwrap(),
        ],
    };
    let g = auth.senders_for(Some(&id(Some("lab-1"), 1))).unwrap();
    let names = |a: &str, f: &str| {
        g.tenants_for(a, f)
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(g.permits("LAB", "ANNEX"));
    assert_eq!(names("LAB", "ANNEX"), ["clinic-a"]);
    assert_eq!(names("RAD", "HOSP"), ["clinic-b"]);
    // Permitted by an entry naming no tenant: the certificate names none.
    assert!(names("PHARM", "HOSP").is_empty());
    // Permitted by none: every tenant of the certificate (its refusal is
    // kept with its clinic, or under the server when they disagree).
    assert_eq!(names("OTHER", "X"), ["clinic-a", "clinic-b"]);
    for bad in [
        "cn:lab-1=LAB^HOSP@",
        "cn:lab-1=LAB^HOSP@Clinic",
        "cn:lab-1=@clinic-a",
    ] {
        assert!(rule_of_flag(bad).is_err(), "{bad}");
    }
}
