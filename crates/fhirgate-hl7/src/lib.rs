//! HL7 v2 for fhirgate, with no I/O beyond the MLLP codec: framing, parsing into
//! a decoded [`Message`] model, batches and acknowledgements.
//!
//! Everything here takes untrusted bytes from the network, so it is panic-free
//! by lint (no unwrap/expect/indexing) and fuzzed (`fuzz/`).
#![forbid(unsafe_code)]

pub mod ack;
pub mod batch;
pub mod charset;
pub mod escape;
mod header;
pub mod message;
pub mod mllp;
pub mod parse;
pub mod resend;

pub use batch::{split_batch, Batch, SubBatch};
pub use charset::Charset;
pub use message::{Component, Field, Message, Repetition, Segment, Separators};
pub use mllp::{Frame, MllpCodec, MllpError};
pub use parse::{parse, ParseError};
pub use resend::resend_form;
