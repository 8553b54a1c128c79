//! MLLP framing as a tokio-util codec.
//!
//! HL7 Version 3 Standard: Transport Specification - MLLP, Release 2 (and
//! HL7 v2.5.1 Appendix C, "Lower Layer Protocols", release 1), "Block
//! format": `<SB> dddd <EB><CR>` with SB = 0x0B (VT), EB = 0x1C (FS),
//! CR = 0x0D. The data `dddd` may not contain SB or EB, so:
//! - bytes before an SB are not part of any block: discarded and reported
//!   (a [`Frame::Discarded`]), so the listener can log them;
//! - an EB not followed by CR is not a block end, and cannot be data either:
//!   the block is malformed, so it is discarded (reported the same way) and
//!   the decoder resynchronises at the next SB;
//! - an SB inside a block means the sender abandoned the block and started
//!   again (release 2 "the receiver shall discard incomplete blocks"):
//!   the partial block is discarded and the new one read.
//!
//! A block longer than the configured maximum is an error
//! ([`MllpError::FrameTooLarge`]) and the listener closes the connection:
//! there is no way to skip it without reading it.

use bytes::{Buf, BufMut};
// Re-exported so that users (the listener, the fuzz targets) need no direct
// dependency to drive the codec.
pub use bytes::{Bytes, BytesMut};
pub use tokio_util::codec::{Decoder, Encoder};

pub const START_BLOCK: u8 = 0x0B;
pub const END_BLOCK: u8 = 0x1C;
pub const CARRIAGE_RETURN: u8 = 0x0D;
/// Default largest block payload accepted: 10 MiB.
pub const DEFAULT_MAX_FRAME: usize = 10 * 1024 * 1024;

/// One item from the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The payload of one block (the HL7 message or batch), without framing.
    Message(Bytes),
    /// This many bytes were thrown away: data outside a block, or a
    /// malformed/abandoned block. Reported as soon as they are dropped.
    Discarded(usize),
}

#[derive(Debug)]
pub enum MllpError {
    /// A block's payload grew beyond the limit before its end was seen.
    FrameTooLarge {
        limit: usize,
    },
    /// A payload to encode contains SB or EB, which would break framing.
    PayloadHasFramingByte {
        at: usize,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for MllpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MllpError::FrameTooLarge { limit } => write!(f, "MLLP block over {limit} bytes"),
            MllpError::PayloadHasFramingByte { at } => {
                write!(f, "payload byte {at} is an MLLP start/end block character")
            }
            MllpError::Io(e) => write!(f, "I/O: {e}"),
        }
    }
}

impl std::error::Error for MllpError {}

impl From<std::io::Error> for MllpError {
    fn from(e: std::io::Error) -> Self {
        MllpError::Io(e)
    }
}

/// MLLP decoder and encoder.
#[derive(Debug, Clone)]
pub struct MllpCodec {
    max_frame: usize,
    /// Bytes of `src` (after its SB) already searched for EB, so that a
    /// block arriving in many small reads is scanned once, not quadratically.
    scanned: usize,
    discarded_total: u64,
}

impl Default for MllpCodec {
    fn default() -> Self {
        MllpCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl MllpCodec {
    pub fn new(max_frame: usize) -> Self {
        MllpCodec {
            max_frame,
            scanned: 0,
            discarded_total: 0,
        }
    }

    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Bytes discarded since the codec was created (also reported one by one
    /// as [`Frame::Discarded`]).
    pub fn discarded_total(&self) -> u64 {
        self.discarded_total
    }

    fn discard(&mut self, src: &mut BytesMut, n: usize) -> Frame {
        src.advance(n);
        self.scanned = 0;
        self.discarded_total = self.discarded_total.saturating_add(n as u64);
        Frame::Discarded(n)
    }
}

impl Decoder for MllpCodec {
    type Item = Frame;
    type Error = MllpError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, MllpError> {
        // Outside a block: everything up to the next SB is garbage.
        match src.iter().position(|&b| b == START_BLOCK) {
            None if src.is_empty() => return Ok(None),
            None => {
                let n = src.len();
                return Ok(Some(self.discard(src, n)));
            }
            Some(0) => {}
            Some(n) => return Ok(Some(self.discard(src, n))),
        }
        // src[0] is SB. Look for EB, SB (restart) from where we stopped.
        let from = 1 + self.scanned;
        let hit = src
            .get(from..)
            .unwrap_or_default()
            .iter()
            .position(|&b| b == END_BLOCK || b == START_BLOCK)
            .map(|p| p + from);
        let Some(at) = hit else {
            let payload = src.len().saturating_sub(1);
            if payload > self.max_frame {
                return Err(MllpError::FrameTooLarge {
                    limit: self.max_frame,
                });
            }
            self.scanned = payload;
            src.reserve(1024);
            return Ok(None);
        };
        if at - 1 > self.max_frame {
            return Err(MllpError::FrameTooLarge {
                limit: self.max_frame,
            });
        }
        if src.get(at) == Some(&START_BLOCK) {
            // A new block starts before this one ended: drop the partial one.
            return Ok(Some(self.discard(src, at)));
        }
        match src.get(at + 1) {
            // EB is the last byte so far: wait for the next one.
            None => {
                self.scanned = at - 1;
                Ok(None)
            }
            Some(&CARRIAGE_RETURN) => {
                let mut block = src.split_to(at + 2);
                self.scanned = 0;
                block.advance(1);
                block.truncate(at - 1);
                Ok(Some(Frame::Message(block.freeze())))
            }
            // EB without CR: a malformed block, discarded up to and
            // including the EB; the byte after it is looked at afresh.
            Some(_) => Ok(Some(self.discard(src, at + 1))),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, MllpError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            // The connection closed inside a block: the partial block is lost.
            None if !src.is_empty() => {
                let n = src.len();
                Ok(Some(self.discard(src, n)))
            }
            None => Ok(None),
        }
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for MllpCodec {
    type Error = MllpError;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), MllpError> {
        let payload = item.as_ref();
        if let Some(at) = payload
            .iter()
            .position(|&b| b == START_BLOCK || b == END_BLOCK)
        {
            return Err(MllpError::PayloadHasFramingByte { at });
        }
        dst.reserve(payload.len() + 3);
        dst.put_u8(START_BLOCK);
        dst.put_slice(payload);
        dst.put_slice(&[END_BLOCK, CARRIAGE_RETURN]);
        Ok(())
    }
}

/// One payload wrapped in a block.
pub fn frame(payload: &[u8]) -> Result<Bytes, MllpError> {
    let mut dst = BytesMut::new();
    MllpCodec::default().encode(payload, &mut dst)?;
    Ok(dst.freeze())
}
