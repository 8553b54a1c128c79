//! HTTPS and MLLP over TLS with rustls 0.23 (aws-lc-rs provider), from PEM
//! files; MLLP client certificates (issue #17).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use sha2::Digest;

use crate::config::hl7::clients::{ClientAuth, ClientIdentity};

fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing the certificates of {}", path.display()))
}

pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    mllp_server_config(cert, key, None)
}

/// The server's certificate and key, and with `client` the client certificates
/// it asks for: rustls' WebPkiClientVerifier checks the chain to the CA bundle,
/// the validity period and the clientAuth extended key usage; without a
/// certificate the handshake fails unless `client.required` is off.
pub fn mllp_server_config(
    cert: &Path,
    key: &Path,
    client: Option<&ClientAuth>,
) -> anyhow::Result<rustls::ServerConfig> {
    let certs = certificates(cert)?;
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match client {
        None => builder.with_no_client_auth(),
        Some(c) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in certificates(&c.ca)? {
                roots
                    .add(ca)
                    .with_context(|| format!("a CA certificate of {}", c.ca.display()))?;
            }
            anyhow::ensure!(!roots.is_empty(), "{} holds no certificate", c.ca.display());
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots));
            let verifier = if c.required {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .context("building the client certificate verifier")?,
            )
        }
    };
    builder
        .with_single_cert(certs, key)
        .context("building the TLS configuration")
}

/// The identity of a client's end-entity certificate, which rustls has
/// verified: its SHA-256 fingerprint, and its subject CN parsed by OpenSSL.
/// A subject with several CNs has none here (which one names the client
/// would be a guess), so only its fingerprint can match.
pub fn client_identity(der: &CertificateDer<'_>) -> anyhow::Result<ClientIdentity> {
    let fingerprint = sha2::Sha256::digest(der.as_ref()).into();
    let x509 =
        openssl::x509::X509::from_der(der.as_ref()).context("parsing a client certificate")?;
    let mut cns = x509
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .map(|e| e.data().to_string());
    let cn = match (cns.next(), cns.next()) {
        (Some(Ok(cn)), None) => Some(cn),
        _ => None,
    };
    Ok(ClientIdentity { fingerprint, cn })
}
