//! Who sent a message: MSH-3/MSH-4 as the namespace of its control id, and
//! whether the connection's client certificate may send as them (issue #17).

use fhirgate_hl7::ack::{AckError, ErrorCode, ErrorLocation, Outcome};
use fhirgate_hl7::Message;

use super::config::clients::SenderGrant;
use super::config::Hl7Settings;
use super::Hl7Error;
use crate::store::hl7::Sender;

/// MSH-3 and MSH-4, whole (every component), as the namespace of MSH-10.
pub(super) fn sender_of(msg: &Message) -> Sender {
    let whole = |n: usize| {
        msg.msh()
            .and_then(|m| m.field(n))
            .and_then(|f| f.repetition(1))
            .map(|r| {
                r.components
                    .iter()
                    .map(|c| c.sub(1))
                    .collect::<Vec<_>>()
                    .join("^")
                    .trim_end_matches('^')
                    .to_owned()
            })
            .unwrap_or_default()
    };
    Sender(format!("{}|{}", whole(3), whole(4)))
}

/// `Ok` when the connection may send as the message's MSH-3.1/MSH-4.1
/// (`grant` None: it may send as anyone); else the AR it gets.
///
/// AR, not AE (HL7 v2.5.1 section 2.9.2, table 0008): the message is refused
/// as a whole for who sent it, not for its content, and resending it will
/// not help. ERR-3 is table 0357 code 103 "Table value not found": MSH-3.1 and
/// MSH-4.1 are IS values checked against site-defined tables (v2.5.1 sections
/// 2.15.9.3-4: user-defined tables 0361 Application and 0362 Facility), and
/// for this connection the table is the senders its certificate is mapped
/// to; code 103 is defined as "a field of data type ID or IS was compared
/// against the corresponding table, and no match was found". Table 0357 (up
/// to v2.9) has no code for an unauthorised sender, 204 "Unknown key
/// identifier" is about the ids of records (a patient, an order), and 207
/// "Application error" says nothing a sender can act on.
pub(super) fn check(msg: &Message, grant: Option<&SenderGrant>) -> Result<(), Hl7Error> {
    let Some(grant) = grant else {
        return Ok(());
    };
    let (application, facility) = msg.msh().map_or(("", ""), |m| (m.get(3, 1), m.get(4, 1)));
    if grant.permits(application, facility) {
        return Ok(());
    }
    let field = if grant.knows_application(application) {
        4
    } else {
        3
    };
    let location = ErrorLocation {
        component: Some(1),
        ..ErrorLocation::field("MSH", 1, field)
    };
    let text = if grant.client.is_some() {
        "the client certificate of this connection may not send as this sending application and facility (MSH-3/MSH-4)"
    } else {
        "this connection presented no client certificate, so it may send as no sending application and facility (MSH-3/MSH-4)"
    };
    Err(Hl7Error {
        outcome: Outcome::Rejected,
        errors: vec![AckError::new(
            ErrorCode::TableValueNotFound,
            Some(location),
            text,
        )],
        summary: format!(
            "sender not allowed for the client certificate (103 Table value not found at MSH-{field})"
        ),
    })
}

/// What a TLS connection may send as, from the client certificate rustls has
/// verified (issue #17): `None` when certificates are not asked for or not
/// mapped to senders.
pub(super) fn grant_of(
    settings: &Hl7Settings,
    certs: Option<&[rustls::pki_types::CertificateDer<'_>]>,
) -> anyhow::Result<Option<SenderGrant>> {
    let Some(auth) = &settings.client_auth else {
        return Ok(None);
    };
    // The end-entity certificate comes first (RFC 8446 section 4.4.2).
    let identity = certs
        .and_then(<[_]>::first)
        .map(crate::tls::client_identity)
        .transpose()?;
    if let Some(id) = &identity {
        tracing::debug!(client = %id, "MLLP TLS client certificate");
    }
    Ok(auth.senders_for(identity.as_ref()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::hl7::clients::SenderPattern;

    fn msg(app: &str, fac: &str) -> Message {
        let raw = format!(
            "MSH|^~\\&|{app}|{fac}|GW|GW|20240101120000||ADT^A01|C1|P|2.5.1\rPID|1||MRN-1\r"
        );
        fhirgate_hl7::parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn a_sender_outside_the_grant_gets_ar_103_at_the_field_that_differs() {
        let grant = SenderGrant {
            client: Some("CN=\"lab-1\"".into()),
            senders: vec![SenderPattern::parse("LAB^HOSP").unwrap()],
            tenants: Vec::new(),
        };
        assert!(check(&msg("LAB", "HOSP"), Some(&grant)).is_ok());
        assert!(check(&msg("LAB^1.2.3^ISO", "HOSP"), Some(&grant)).is_ok());
        assert!(check(&msg("ANY", "ANY"), None).is_ok());
        let other = check(&msg("OTHER", "HOSP"), Some(&grant)).unwrap_err();
        assert_eq!(other.ack_code(), "AR");
        assert_eq!(other.code(), 103);
        let loc = other.errors.first().unwrap().location.clone().unwrap();
        assert_eq!((loc.segment.as_str(), loc.field), ("MSH", Some(3)));
        let facility = check(&msg("LAB", "ELSEWHERE"), Some(&grant)).unwrap_err();
        let loc = facility.errors.first().unwrap().location.clone().unwrap();
        assert_eq!(loc.field, Some(4));
        // The summary is kept and logged: no value from the message.
        assert!(!other.summary.contains("OTHER"));
        let nobody = SenderGrant {
            client: None,
            senders: Vec::new(),
            tenants: Vec::new(),
        };
        assert!(check(&msg("LAB", "HOSP"), Some(&nobody)).is_err());
    }
}
