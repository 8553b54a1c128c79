//! `fhirgate hl7 send FILE...`: an MLLP client for operators and tests. Each
//! file holds one message, several (each starting with MSH), or a batch
//! (FHS/BHS ... BTS/FTS, sent as one frame); every ACK is printed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use fhirgate_hl7::mllp::{Frame, MllpCodec};

#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// Files of HL7 v2 messages.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The gateway's MLLP address.
    #[arg(long, default_value = "127.0.0.1:2575")]
    pub addr: SocketAddr,
    /// Seconds to wait for each acknowledgement.
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
}

/// The frames one file is sent as: a batch whole, else one per MSH.
pub fn frames_of(text: &[u8]) -> Vec<Vec<u8>> {
    let text = text.strip_prefix("\u{feff}".as_bytes()).unwrap_or(text);
    // Segment endings are CR (2.5.2); files written on other systems use LF or CRLF.
    let normalised: Vec<u8> = String::from_utf8_lossy(text)
        .replace("\r\n", "\r")
        .replace('\n', "\r")
        .into_bytes();
    if normalised.starts_with(b"FHS") || normalised.starts_with(b"BHS") {
        return vec![normalised];
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for seg in normalised.split(|b| *b == b'\r').filter(|s| !s.is_empty()) {
        if seg.starts_with(b"MSH") || out.is_empty() {
            out.push(Vec::new());
        }
        if let Some(cur) = out.last_mut() {
            cur.extend_from_slice(seg);
            cur.push(b'\r');
        }
    }
    out
}

/// How many acknowledgements a message asks for (HL7 v2.5.1 2.9.3): in
/// original mode (MSH-15 and MSH-16 empty) one; in enhanced mode one for each
/// of MSH-15/MSH-16 that is not NE. A batch is answered with one batch.
fn acks_expected(frame: &[u8]) -> usize {
    if !frame.starts_with(b"MSH") {
        return 1;
    }
    let text = String::from_utf8_lossy(frame);
    let msh: Vec<&str> = text.split('\r').next().unwrap_or("").split('|').collect();
    // split('|') puts MSH-n at index n-1 (MSH-1 is the separator itself).
    let field = |n: usize| msh.get(n - 1).map_or("", |v| v.trim());
    let (accept, app) = (field(15), field(16));
    if accept.is_empty() && app.is_empty() {
        return 1;
    }
    usize::from(accept != "NE" && !accept.is_empty()) + usize::from(app != "NE" && !app.is_empty())
}

/// The MSA-1 code of an ACK, for the exit status.
fn ack_code(ack: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(ack);
    let msa = text.split(['\r', '\n']).find(|s| s.starts_with("MSA"))?;
    msa.get(4..)
        .and_then(|r| r.split('|').next())
        .map(str::to_owned)
}

pub async fn run(args: SendArgs) -> anyhow::Result<()> {
    let stream = TcpStream::connect(args.addr)
        .await
        .with_context(|| format!("connecting to {}", args.addr))?;
    let mut framed = Framed::new(
        stream,
        MllpCodec::new(fhirgate_hl7::mllp::DEFAULT_MAX_FRAME),
    );
    let wait = Duration::from_secs(args.timeout_secs);
    let mut failed = 0usize;
    for path in &args.files {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        for frame in frames_of(&text) {
            let expected = acks_expected(&frame);
            framed.send(frame).await.context("sending")?;
            if expected == 0 {
                println!(
                    "{}: sent (MSH-15/MSH-16 ask for no acknowledgement)",
                    path.display()
                );
            }
            for _ in 0..expected {
                let ack = loop {
                    let next = tokio::time::timeout(wait, framed.next())
                        .await
                        .context("no acknowledgement in time")?
                        .context("the gateway closed the connection without an acknowledgement")?
                        .context("reading the acknowledgement")?;
                    if let Frame::Message(m) = next {
                        break m;
                    }
                };
                let text = String::from_utf8_lossy(&ack);
                // A batch answer holds one MSA per message.
                for line in text.split('\r').filter(|l| l.starts_with("MSA")) {
                    if !matches!(ack_code(line.as_bytes()).as_deref(), Some("AA" | "CA")) {
                        failed += 1;
                    }
                }
                println!(
                    "{}: {}",
                    path.display(),
                    text.trim_end().replace('\r', "\n  ")
                );
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} message(s) were not accepted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_frame_per_message_and_batches_whole() {
        let two = b"MSH|^~\\&|A|B\nPID|1\r\nMSH|^~\\&|C|D\rPID|2\r";
        let f = frames_of(two);
        assert_eq!(
            f,
            vec![
                b"MSH|^~\\&|A|B\rPID|1\r".to_vec(),
                b"MSH|^~\\&|C|D\rPID|2\r".to_vec()
            ]
        );
        let batch = b"BHS|^~\\&\rMSH|^~\\&|A\rMSH|^~\\&|B\rBTS|2\r";
        assert_eq!(frames_of(batch).len(), 1);
        assert_eq!(
            ack_code(b"MSH|^~\\&|X\rMSA|AE|123\rERR|"),
            Some("AE".into())
        );
        let m = |tail: &str| format!("MSH|^~\\&|A|B|C|D|20261201||ADT^A04|1|P|2.5.1{tail}\rPID|1");
        assert_eq!(acks_expected(m("").as_bytes()), 1);
        assert_eq!(acks_expected(m("|||AL|AL").as_bytes()), 2);
        assert_eq!(acks_expected(m("|||NE|AL").as_bytes()), 1);
        assert_eq!(acks_expected(m("|||NE|NE").as_bytes()), 0);
        assert_eq!(acks_expected(b"BHS|^~\\&\rMSH|x\rBTS|1\r"), 1);
    }
}
