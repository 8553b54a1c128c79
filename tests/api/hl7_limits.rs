//! MLLP listener limits (issue #5): frame size, idle timeout, connection cap,
//! and a stuck sender not blocking the others.

use std::time::Duration;

use crate::helpers::*;
use crate::hl7::oru;
use crate::hl7_client::*;

#[tokio::test]
async fn a_frame_over_the_maximum_closes_the_connection() {
    let app = spawn_app_with(|s| s.hl7.max_frame_bytes = 4096).await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let mut big = vec![VT];
    big.extend(std::iter::repeat_n(b'A', 10_000));
    c.write_raw(&big).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
    // The listener itself carries on.
    let mut c2 = Mllp::connect(app.mllp_port()).await;
    assert_eq!(
        field(&c2.send(&oru("BIG-OK", "MRN-BIG")).await, "MSA", 1),
        "AA"
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_its_timeout() {
    let app = spawn_app_with(|s| s.hl7.idle_timeout = Duration::from_millis(500)).await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_and_a_stuck_sender_blocks_nobody() {
    let app = spawn_app_with(|s| s.hl7.max_connections = 2).await;
    // A sender stuck in the middle of a frame holds one slot...
    let mut stuck = Mllp::connect(app.mllp_port()).await;
    let half = frame(&oru("STUCK", "MRN-S"));
    stuck.write_raw(&half[..half.len() / 2]).await;
    // ...another sender is served meanwhile...
    let mut live = Mllp::connect(app.mllp_port()).await;
    let ack = live.send(&oru("LIVE-1", "MRN-L")).await;
    assert_eq!(field(&ack, "MSA", 1), "AA");
    // ...and a third connection is over the cap: closed at once.
    let mut third = Mllp::connect(app.mllp_port()).await;
    assert!(third.closed_within(Duration::from_secs(5)).await);
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(
        m.contains("fhirgate_hl7_connections_refused_total 1"),
        "{m}"
    );
    assert!(m.contains("fhirgate_hl7_connections 2"), "{m}");
    // The stuck sender finishes its message and is answered.
    stuck.write_raw(&half[half.len() / 2..]).await;
    assert_eq!(field(&stuck.read_frame().await, "MSA", 2), "STUCK");
}

/// MLLP over TLS (rustls): the same listener behind a TLS handshake.
#[tokio::test]
async fn mllp_over_tls() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = std::env::temp_dir().join(format!("mllp-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    // A CA and a server certificate it signs: webpki refuses a self-signed CA
    // certificate as the server's own (CaUsedAsEndEntity).
    let openssl = |args: &[&str]| {
        let ok = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "req.pem",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.pem",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    let (c2, k2) = (cert.clone(), key.clone());
    let app = spawn_app_with(move |s| {
        s.hl7.mllp_tls = Some(("127.0.0.1:0".parse().unwrap(), c2, k2));
    })
    .await;

    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for c in rustls::pki_types::CertificateDer::pem_file_iter(&ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", app.mllp_tls_port()))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(&frame(&oru("TLS-1", "MRN-TLS")))
        .await
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.ends_with(&[FS, CR]) {
        let n = tls.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before the ACK");
        buf.extend_from_slice(&chunk[..n]);
    }
    let ack = String::from_utf8(buf[1..buf.len() - 2].to_vec()).unwrap();
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    assert_eq!(field(&ack, "MSA", 2), "TLS-1");
    // Plain MLLP on the TLS port gets no ACK.
    let mut plain = Mllp::connect(app.mllp_tls_port()).await;
    plain.write_raw(&frame(&oru("TLS-2", "MRN-TLS"))).await;
    assert!(plain
        .read_frame_within(Duration::from_secs(2))
        .await
        .is_none());
    std::fs::remove_dir_all(&dir).ok();
}
