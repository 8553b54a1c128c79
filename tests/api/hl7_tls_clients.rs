//! MLLP over TLS with client certificates (issue #17): a certificate the
//! client CA signs may send as the senders (MSH-3^MSH-4) it is mapped to; a
//! message as another sender gets AR, and a handshake without a certificate,
//! or with one from another CA, fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509Name, X509};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use fhirgate::hl7::config::clients::{rule_of_flag, ClientAuth, ClientCertRule};

use crate::helpers::*;
use crate::hl7::{count, oru};
use crate::hl7_client::*;

pub(crate) struct Issued {
    cert: X509,
    key: PKey<Private>,
}

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// A certificate for `cn`: a CA's own (self-signed) when `issuer` is None,
/// else an end entity with the extended key usage `usage` ("server" or "client").
fn issue(cn: &str, issuer: Option<&Issued>, usage: &str) -> Issued {
    let key = key();
    let mut name = X509Name::builder().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(rand_u32()).unwrap();
    b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&*name, |i| i.cert.subject_name()))
        .unwrap();
    b.set_pubkey(&key).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b.set_not_before(&Asn1Time::from_unix(now - 3600).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    match issuer {
        None => {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()
                    .unwrap(),
            )
            .unwrap();
        }
        Some(ca) => {
            b.append_extension(BasicConstraints::new().build().unwrap())
                .unwrap();
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .build()
                    .unwrap(),
            )
            .unwrap();
            let eku = if usage == "server" {
                ExtendedKeyUsage::new().server_auth().build().unwrap()
            } else {
                ExtendedKeyUsage::new().client_auth().build().unwrap()
            };
            b.append_extension(eku).unwrap();
            if usage == "server" {
                let san = SubjectAlternativeName::new()
                    .dns("localhost")
                    .build(&b.x509v3_context(Some(&*ca.cert), None))
                    .unwrap();
                b.append_extension(san).unwrap();
            }
        }
    }
    b.sign(issuer.map_or(&key, |i| &i.key), MessageDigest::sha256())
        .unwrap();
    Issued {
        cert: b.build(),
        key,
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u32::from_le_bytes(b) >> 1
}

fn write_pem(dir: &Path, name: &str, issued: &Issued) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&cert, issued.cert.to_pem().unwrap()).unwrap();
    std::fs::write(&key, issued.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (cert, key)
}

fn fingerprint(issued: &Issued) -> String {
    hex::encode(issued.cert.digest(MessageDigest::sha256()).unwrap())
}

/// The PKI of one test: a client CA that also signs the server's certificate,
/// lab-1 (mapped by CN to LAB^HOSP), rad-1 (mapped by fingerprint to RAD^*),
/// and a lab-1 signed by a CA the gateway does not know.
pub(crate) struct Pki {
    dir: PathBuf,
    ca: Issued,
    pub(crate) lab: Issued,
    rad: Issued,
    stranger: Issued,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("mllp-mtls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = issue("Test client CA", None, "");
        let other_ca = issue("Other CA", None, "");
        Pki {
            lab: issue("lab-1", Some(&ca), "client"),
            rad: issue("rad-1", Some(&ca), "client"),
            stranger: issue("lab-1", Some(&other_ca), "client"),
            ca,
            dir,
        }
    }

    /// A gateway whose MLLP TLS listener requires these client certificates.
    async fn gateway(&self) -> TestApp {
        let rules = vec![
            rule_of_flag("cn:lab-1=LAB^HOSP").unwrap(),
            rule_of_flag(&format!("sha256:{}=RAD^*", fingerprint(&self.rad))).unwrap(),
        ];
        self.gateway_with(rules, |_| {}).await
    }

    /// The same with these certificate entries, and `configure` after.
    pub(crate) async fn gateway_with(
        &self,
        rules: Vec<ClientCertRule>,
        configure: impl FnOnce(&mut fhirgate::config::Settings),
    ) -> TestApp {
        let server = issue("localhost", Some(&self.ca), "server");
        let (cert, key) = write_pem(&self.dir, "server", &server);
        let ca = self.dir.join("client-ca.pem");
        std::fs::write(&ca, self.ca.cert.to_pem().unwrap()).unwrap();
        spawn_app_with(move |s| {
            s.hl7.mllp_tls = Some(("127.0.0.1:0".parse().unwrap(), cert, key));
            s.hl7.client_auth = Some(ClientAuth {
                ca,
                required: true,
                rules,
            });
            configure(s);
        })
        .await
    }

    /// Sends `msg` over TLS as `client` (None: no certificate): its ACK, or
    /// why none came (handshake refused, connection closed).
    pub(crate) async fn send(
        &self,
        app: &TestApp,
        client: Option<&Issued>,
        msg: &str,
    ) -> Result<String, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.ca.cert.to_der().unwrap()))
            .unwrap();
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some(c) => {
                let (cert, key) = write_pem(&self.dir, &format!("c{}", rand_u32()), c);
                let chain = vec![CertificateDer::from_pem_file(&cert).unwrap()];
                builder
                    .with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(&key).unwrap())
                    .unwrap()
            }
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", app.mllp_tls_port()))
            .await
            .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        // In TLS 1.3 the client finishes its handshake before the server has
        // checked its certificate: a refusal may show only on the first read.
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tls.write_all(&frame(msg))
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.ends_with(&[FS, CR]) {
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(30), tls.read(&mut chunk));
            match read.await {
                Ok(Ok(0)) => return Err("closed".into()),
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => return Err(format!("read: {e}")),
                Err(_) => return Err("no answer".into()),
            }
        }
        Ok(String::from_utf8(buf[1..buf.len() - 2].to_vec()).unwrap())
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// An ORU^R01 from sending application `app` at facility `facility`.
pub(crate) fn oru_from(app: &str, facility: &str, control: &str, mrn: &str) -> String {
    oru(control, mrn).replacen("|LABSYS|CITYLAB|", &format!("|{app}|{facility}|"), 1)
}

fn stored(app: &TestApp, control: &str, code: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) AS n FROM hl7_messages WHERE control_id = '{control}' AND ack_code = '{code}'"
        ),
    )
}

#[tokio::test]
async fn hl7_tls_a_mapped_client_certificate_sends_as_its_senders() {
    let pki = Pki::new();
    let app = pki.gateway().await;
    let ack = pki
        .send(
            &app,
            Some(&pki.lab),
            &oru_from("LAB", "HOSP", "LAB-1", "MRN-LAB-1"),
        )
        .await
        .unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    assert_eq!(matches(&app, "Patient?identifier=MRN-LAB-1").await.len(), 1);
    let patient = matches(&app, "Patient?identifier=MRN-LAB-1").await;
    let id = patient[0]["id"].as_str().unwrap();
    assert_eq!(
        matches(
            &app,
            &format!("Observation?subject=Patient/{id}&code=2345-7")
        )
        .await
        .len(),
        1
    );
    // Mapped by fingerprint, with any facility.
    let ack = pki
        .send(
            &app,
            Some(&pki.rad),
            &oru_from("RAD", "CLINIC", "RAD-1", "MRN-RAD-1"),
        )
        .await
        .unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    assert_eq!(matches(&app, "Patient?identifier=MRN-RAD-1").await.len(), 1);
}

#[tokio::test]
async fn hl7_tls_a_client_certificate_sending_as_another_sender_gets_ar() {
    let pki = Pki::new();
    let app = pki.gateway().await;
    let ack = pki
        .send(
            &app,
            Some(&pki.lab),
            &oru_from("OTHER", "HOSP", "OTH-1", "MRN-OTH-1"),
        )
        .await
        .unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert_eq!(field(&ack, "MSA", 2), "OTH-1");
    assert!(field(&ack, "ERR", 2).starts_with("MSH^1^3"), "{ack}");
    assert!(field(&ack, "ERR", 3).starts_with("103"), "{ack}");
    // The right application at another facility: ERR-2 names MSH-4.
    let ack = pki
        .send(
            &app,
            Some(&pki.lab),
            &oru_from("LAB", "ELSEWHERE", "OTH-2", "MRN-OTH-2"),
        )
        .await
        .unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert!(field(&ack, "ERR", 2).starts_with("MSH^1^4"), "{ack}");
    // Nothing applied; kept raw with its outcome, counted and audited.
    assert!(matches(&app, "Patient?identifier=MRN-OTH-1")
        .await
        .is_empty());
    assert!(matches(&app, "Observation").await.is_empty());
    assert_eq!(stored(&app, "OTH-1", "AR"), 1);
    assert_eq!(stored(&app, "OTH-2", "AR"), 1);
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(m.contains("fhirgate_hl7_rejected_total 2"), "{m}");
    let mut audited = 0;
    for _ in 0..50 {
        let v = app.get_value("AuditEvent?outcome=4").await;
        audited = v["total"].as_i64().unwrap_or(0);
        if audited >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(audited >= 2, "refusals audited: {audited}");

    // A message the real OTHER^HOSP had accepted (over loopback MLLP): the
    // certificate does not get its ACK back, nor apply it.
    let mut plain = Mllp::connect(app.mllp_port()).await;
    let theirs = oru_from("OTHER", "HOSP", "SHARED-1", "MRN-SHARED-1");
    assert_eq!(field(&plain.send(&theirs).await, "MSA", 1), "AA");
    let ack = pki.send(&app, Some(&pki.lab), &theirs).await.unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");
    assert_eq!(stored(&app, "SHARED-1", "AA"), 1);
    assert_eq!(stored(&app, "SHARED-1", "AR"), 1);
}

#[tokio::test]
async fn hl7_tls_a_connection_without_a_client_certificate_is_refused() {
    let pki = Pki::new();
    let app = pki.gateway().await;
    let refused = pki
        .send(&app, None, &oru_from("LAB", "HOSP", "NOCERT-1", "MRN-NC-1"))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM hl7_messages"), 0);
}

#[tokio::test]
async fn hl7_tls_a_client_certificate_of_another_ca_is_refused() {
    let pki = Pki::new();
    let app = pki.gateway().await;
    let refused = pki
        .send(
            &app,
            Some(&pki.stranger),
            &oru_from("LAB", "HOSP", "STRANGER-1", "MRN-ST-1"),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM hl7_messages"), 0);
    // The same CN from the right CA is served.
    let ack = pki
        .send(
            &app,
            Some(&pki.lab),
            &oru_from("LAB", "HOSP", "LAB-2", "MRN-LAB-2"),
        )
        .await
        .unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
}
