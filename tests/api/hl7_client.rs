//! A minimal MLLP client written from the framing rules (HL7 v2.5.1 Appendix
//! C.4: <VT> message <FS><CR>), independent of the gateway's own codec.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const VT: u8 = 0x0B;
pub const FS: u8 = 0x1C;
pub const CR: u8 = 0x0D;

pub fn frame(msg: &str) -> Vec<u8> {
    let mut out = vec![VT];
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(&[FS, CR]);
    out
}

pub struct Mllp {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Mllp {
    pub async fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// A connection from the loopback address `ip` (all of 127.0.0.0/8 is
    /// loopback on Linux), to tell client addresses apart.
    pub async fn connect_from(ip: &str, port: u16) -> Self {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{ip}:0").parse().unwrap()).unwrap();
        let stream = sock
            .connect(format!("127.0.0.1:{port}").parse().unwrap())
            .await
            .unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// The next frame's content, or None when the server closed the connection
    /// (or nothing came within `wait`).
    pub async fn read_frame_within(&mut self, wait: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(start) = self.buf.iter().position(|b| *b == VT) {
                if let Some(end) = self.buf[start..].windows(2).position(|w| w == [FS, CR]) {
                    let body = self.buf[start + 1..start + end].to_vec();
                    self.buf.drain(..start + end + 2);
                    return Some(String::from_utf8(body).unwrap());
                }
            }
            let mut chunk = [0u8; 8192];
            let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) => n,
                _ => return None,
            };
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn read_frame(&mut self) -> String {
        self.read_frame_within(Duration::from_secs(30))
            .await
            .expect("an acknowledgement frame")
    }

    /// Sends one message and returns its acknowledgement.
    pub async fn send(&mut self, msg: &str) -> String {
        self.write_raw(&frame(msg)).await;
        self.read_frame().await
    }

    /// True when the server has closed the connection (read gives EOF or an error).
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let mut chunk = [0u8; 64];
        match tokio::time::timeout(wait, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }
}

/// One message, `\r` segment endings, from lines.
pub fn msg(lines: &[&str]) -> String {
    let mut s = lines.join("\r");
    s.push('\r');
    s
}

/// Field `n` of the first `seg` segment of an ACK (MSH numbered as the
/// standard does: MSH-1 is the field separator).
pub fn field(ack: &str, seg: &str, n: usize) -> String {
    let line = ack
        .split('\r')
        .find(|l| l.starts_with(seg))
        .unwrap_or_else(|| panic!("no {seg} segment in {ack:?}"));
    let parts: Vec<&str> = line.split('|').collect();
    let i = if seg == "MSH" { n - 1 } else { n };
    parts.get(i).copied().unwrap_or("").to_owned()
}

/// Every `seg` segment of a message.
pub fn segments<'a>(text: &'a str, seg: &'a str) -> Vec<&'a str> {
    text.split('\r').filter(|l| l.starts_with(seg)).collect()
}

/// A shared sample message (../shared/examples/hl7v2) exactly as shipped: most
/// end segments with LF, some start with a UTF-8 BOM; the gateway takes both.
pub fn sample(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/examples/hl7v2")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The matches of a FHIR search (entries with search.mode "match").
pub async fn matches(app: &crate::helpers::TestApp, q: &str) -> Vec<serde_json::Value> {
    let b: serde_json::Value = app.get_value(q).await;
    b["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"].clone())
        .collect()
}
