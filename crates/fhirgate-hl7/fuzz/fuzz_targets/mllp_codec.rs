//! An arbitrary byte stream through the MLLP decoder, fed in arbitrary chunk
//! sizes. Must never panic, never yield a frame over the maximum, and must
//! account for every byte: framed payloads + 3 framing bytes each + discarded
//! bytes == the input, unless the stream was refused as too large.
#![no_main]

use fhirgate_hl7::mllp::{BytesMut, Decoder, Encoder, Frame, MllpCodec, MllpError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let Some((&chunking, stream)) = rest.split_first() else {
        return;
    };
    // Small limits so the fuzzer reaches the size check; 0 = the default.
    let max = if cfg == 0 {
        fhirgate_hl7::mllp::DEFAULT_MAX_FRAME
    } else {
        usize::from(cfg) * 4
    };
    let mut codec = MllpCodec::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut accounted = 0usize;
    let mut refused = false;
    let mut pos = 0usize;
    let mut step = 0usize;
    'feed: while pos < stream.len() {
        // Chunk sizes 1..=16 cycling with the input, so splits land everywhere.
        let size = 1 + (usize::from(chunking).wrapping_add(step * 7) % 16);
        step += 1;
        let end = (pos + size).min(stream.len());
        buf.extend_from_slice(stream.get(pos..end).unwrap_or_default());
        pos = end;
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(MllpError::FrameTooLarge { .. }) => {
                    refused = true;
                    break 'feed;
                }
                Err(e) => panic!("unexpected decoder error {e}"),
            }
        }
    }
    if !refused {
        loop {
            match codec.decode_eof(&mut buf) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(MllpError::FrameTooLarge { .. }) => {
                    refused = true;
                    break;
                }
                Err(e) => panic!("unexpected decoder error {e}"),
            }
        }
    }
    for f in &frames {
        match f {
            Frame::Message(p) => {
                assert!(p.len() <= max, "frame of {} over max {max}", p.len());
                assert!(!p.iter().any(|&b| b == 0x0B || b == 0x1C));
                accounted += p.len() + 3;
                // What the decoder yields, the encoder wraps back losslessly.
                let mut out = BytesMut::new();
                assert!(codec.encode(&p[..], &mut out).is_ok());
                let mut again = MllpCodec::new(max);
                assert_eq!(again.decode(&mut out).ok().flatten(), Some(f.clone()));
            }
            Frame::Discarded(n) => {
                assert!(*n > 0);
                accounted += n;
            }
        }
    }
    if !refused {
        assert_eq!(accounted, stream.len());
        assert!(buf.is_empty());
    }
});
