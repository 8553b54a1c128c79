//! MLLP codec: block format `<SB> data <EB><CR>` (MLLP release 2, "Block
//! format"; SB 0x0B, EB 0x1C, CR 0x0D).
#![allow(clippy::indexing_slicing)] // fixed test vectors

use bytes::{Bytes, BytesMut};
use fhirgate_hl7::mllp::{frame, Frame, MllpCodec, MllpError};
use tokio_util::codec::{Decoder, Encoder};

const A: &[u8] = b"MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rPID|1";
const B: &[u8] = b"MSH|^~\\&|A|B|C|D|2024||ADT^A01|2|P|2.5\rPID|2";

fn block(p: &[u8]) -> Vec<u8> {
    let mut v = vec![0x0B];
    v.extend_from_slice(p);
    v.extend_from_slice(&[0x1C, 0x0D]);
    v
}

/// Feed `input` in chunks of `chunk` bytes; collect every item, then EOF.
fn run(codec: &mut MllpCodec, input: &[u8], chunk: usize) -> Result<Vec<Frame>, String> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(f) = codec.decode(&mut buf).map_err(|e| e.to_string())? {
            out.push(f);
        }
    }
    while let Some(f) = codec.decode_eof(&mut buf).map_err(|e| e.to_string())? {
        out.push(f);
    }
    Ok(out)
}

fn msg(p: &[u8]) -> Frame {
    Frame::Message(Bytes::copy_from_slice(p))
}

#[test]
fn several_blocks_in_one_read() {
    let mut input = block(A);
    input.extend(block(B));
    let got = run(&mut MllpCodec::default(), &input, input.len());
    assert_eq!(got, Ok(vec![msg(A), msg(B)]));
}

#[test]
fn one_block_over_many_reads() {
    let mut input = block(A);
    input.extend(block(B));
    for chunk in [1, 2, 3, 7, 45] {
        let got = run(&mut MllpCodec::default(), &input, chunk);
        assert_eq!(got, Ok(vec![msg(A), msg(B)]), "chunk {chunk}");
    }
}

#[test]
fn bytes_before_the_start_block_are_discarded_and_counted() {
    let mut input = b"\r\nnoise".to_vec();
    input.extend(block(A));
    let mut codec = MllpCodec::default();
    let got = run(&mut codec, &input, input.len());
    assert_eq!(got, Ok(vec![Frame::Discarded(7), msg(A)]));
    assert_eq!(codec.discarded_total(), 7);
}

#[test]
fn end_block_without_cr_is_a_malformed_block() {
    // <SB>A<EB>x is not a block end and EB cannot be data: discard, resync.
    let mut input = vec![0x0B];
    input.extend_from_slice(A);
    input.extend_from_slice(&[0x1C, b'x']);
    input.extend(block(B));
    let got = run(&mut MllpCodec::default(), &input, 5);
    assert_eq!(
        got,
        Ok(vec![
            Frame::Discarded(A.len() + 2),
            Frame::Discarded(1),
            msg(B)
        ])
    );
}

#[test]
fn a_start_block_inside_a_block_abandons_it() {
    let mut input = vec![0x0B];
    input.extend_from_slice(b"MSH|partial");
    input.extend(block(B));
    let got = run(&mut MllpCodec::default(), &input, 4);
    assert_eq!(got, Ok(vec![Frame::Discarded(12), msg(B)]));
}

#[test]
fn connection_closed_inside_a_block() {
    let input = &block(A)[..20];
    let got = run(&mut MllpCodec::default(), input, 3);
    assert_eq!(got, Ok(vec![Frame::Discarded(20)]));
}

#[test]
fn maximum_frame_size() {
    let payload = vec![b'x'; 100];
    let at_limit = run(&mut MllpCodec::new(100), &block(&payload), 9);
    assert_eq!(at_limit, Ok(vec![msg(&payload)]));
    let over: Vec<u8> = vec![b'x'; 101];
    for chunk in [1, 50, 200] {
        let mut codec = MllpCodec::new(100);
        let mut buf = BytesMut::new();
        let mut err = None;
        for piece in block(&over).chunks(chunk) {
            buf.extend_from_slice(piece);
            if let Err(e) = codec.decode(&mut buf) {
                err = Some(e);
                break;
            }
        }
        assert!(
            matches!(err, Some(MllpError::FrameTooLarge { limit: 100 })),
            "chunk {chunk}"
        );
    }
    // An endless block with no end byte is refused before it fills memory.
    let mut codec = MllpCodec::new(100);
    let mut buf = BytesMut::from(&[0x0B; 1][..]);
    buf.extend_from_slice(&[b'y'; 150]);
    assert!(codec.decode(&mut buf).is_err());
}

#[test]
fn encoder_wraps_and_refuses_framing_bytes() {
    let mut dst = BytesMut::new();
    let mut codec = MllpCodec::default();
    assert!(codec.encode(A, &mut dst).is_ok());
    assert_eq!(&dst[..], &block(A)[..]);
    assert_eq!(frame(B).ok().as_deref(), Some(&block(B)[..]));
    assert!(matches!(
        codec.encode(&b"a\x1cb"[..], &mut dst),
        Err(MllpError::PayloadHasFramingByte { at: 1 })
    ));
}

#[tokio::test]
async fn framed_read_over_a_stream() {
    use futures_util::StreamExt;
    let mut input = b"junk".to_vec();
    input.extend(block(A));
    input.extend(block(B));
    let mut framed = tokio_util::codec::FramedRead::new(&input[..], MllpCodec::default());
    let mut got = Vec::new();
    while let Some(item) = framed.next().await {
        got.push(item.map_err(|e| e.to_string()));
    }
    assert_eq!(got, vec![Ok(Frame::Discarded(4)), Ok(msg(A)), Ok(msg(B))]);
}
