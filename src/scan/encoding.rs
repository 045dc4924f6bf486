//! What the bytes are: binary (as git decides), UTF-16 (by content, not by
//! the first two bytes alone), or ASCII-compatible bytes scanned as they are.
//!
//! UTF-16 is decoded to UTF-8 *while streaming* with `encoding_rs`, through
//! `encoding_rs_io`'s decoding reader, as ripgrep does: a UTF-16 file of any
//! size costs one streaming buffer, never its whole decoded text. The small
//! files read whole (dotenv files, manifests) use [`decode_utf16`], which
//! gives exactly the text the stream gives, so byte offsets agree.
//!
//! A byte-order mark alone does not make a file UTF-16: `FF FE` followed by
//! plain ASCII is an ASCII file with two odd bytes in front, and its keys must
//! be found. A file is UTF-16 when it starts with a byte-order mark **and** its
//! head holds a code unit below 0x80 (a NUL in the high byte of a unit, as
//! every ASCII character encoded in UTF-16 has). Keys are ASCII, so a UTF-16
//! file that could hold one passes; an ASCII file cannot (a NUL would make it
//! binary), so it falls back to being scanned as bytes.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE};
use encoding_rs_io::DecodeReaderBytesBuilder;
use std::io::Read;

/// Bytes examined for a NUL to call a blob binary (as git does), and for the
/// code units that make a file with a byte-order mark UTF-16.
pub const BINARY_SNIFF: usize = 8000;

/// A NUL in the first [`BINARY_SNIFF`] bytes, as git decides it.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF)]).is_some()
}

/// The UTF-16 flavour of a file whose first bytes are `head`, decided by its
/// content (see the module docs); `None` for anything else.
pub fn utf16_encoding(head: &[u8]) -> Option<&'static Encoding> {
    let (enc, high) = if head.starts_with(&[0xFF, 0xFE]) {
        (UTF_16LE, 1)
    } else if head.starts_with(&[0xFE, 0xFF]) {
        (UTF_16BE, 0)
    } else {
        return None;
    };
    let units = &head[2..head.len().min(BINARY_SNIFF)];
    units.chunks_exact(2).any(|u| u[high] == 0).then_some(enc)
}

/// Decodes a UTF-16 file held in memory (Windows tools write `.env` files that
/// way) to the same text the streaming decoder gives: the byte-order mark
/// removed, malformed units replaced by U+FFFD. `None` when the bytes are not
/// UTF-16 by [`utf16_encoding`].
pub fn decode_utf16(bytes: &[u8]) -> Option<String> {
    let enc = utf16_encoding(bytes)?;
    Some(enc.decode_with_bom_removal(bytes).0.into_owned())
}

/// A reader of the UTF-8 text of the UTF-16 stream `head` + `rest` (`head`
/// starts with the byte-order mark, which is dropped).
///
/// The decoder cannot write a multi-byte character into a read of fewer
/// bytes than it needs, and answers such a read with 0, which looks like the
/// end of the stream: a `BufReader` in front makes every read of the decoder
/// a large one.
pub(crate) fn utf16_reader<R: Read>(enc: &'static Encoding, head: Vec<u8>, rest: R) -> impl Read {
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(Some(enc))
        .build(std::io::Cursor::new(head).chain(rest));
    std::io::BufReader::with_capacity(64 * 1024, decoder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, be: bool) -> Vec<u8> {
        let mut out = if be {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for u in text.encode_utf16() {
            out.extend_from_slice(&if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    }

    #[test]
    fn utf16_is_decided_by_content_not_by_the_mark_alone() {
        assert_eq!(utf16_encoding(&utf16("KEY=x", false)), Some(UTF_16LE));
        assert_eq!(utf16_encoding(&utf16("KEY=x", true)), Some(UTF_16BE));
        // A mark followed by ASCII: bytes.
        assert_eq!(utf16_encoding(b"\xFF\xFEKEY=value\n"), None);
        assert_eq!(utf16_encoding(b"\xFE\xFFKEY=value\n"), None);
        // Unit order matters: a NUL in the low byte is not an ASCII unit.
        assert_eq!(utf16_encoding(b"\xFF\xFE\x00A"), None);
        assert_eq!(utf16_encoding(b"plain"), None);
    }

    #[test]
    fn in_memory_and_streamed_decoding_agree() {
        let mut bytes = utf16("a=\u{1F600}\r\nb", false);
        bytes.extend_from_slice(&[0x00, 0xD8, b'x']); // lone surrogate, odd byte
        let whole = decode_utf16(&bytes).unwrap();
        let mut streamed = String::new();
        utf16_reader(UTF_16LE, bytes[..5].to_vec(), &bytes[5..])
            .read_to_string(&mut streamed)
            .unwrap();
        assert_eq!(whole, streamed);
        // Read a byte at a time: a three-byte U+FFFD must not end the stream.
        let mut bytewise = Vec::new();
        let mut r = utf16_reader(UTF_16LE, bytes[..5].to_vec(), &bytes[5..]);
        let mut one = [0u8; 1];
        while r.read(&mut one).unwrap() == 1 {
            bytewise.push(one[0]);
        }
        assert_eq!(bytewise, whole.as_bytes());
        assert!(whole.starts_with("a=\u{1F600}\r\nb\u{FFFD}"), "{whole:?}");
    }
}
