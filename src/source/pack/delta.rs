//! Inflating a pack object's zlib stream and applying a git delta.
//!
//! Both take their sizes from the pack and check them: the output never
//! grows past the size the header declares (so a hostile header cannot make
//! a small stream allocate without bound beyond that, and the caller caps the
//! declared size), and a stream or delta that does not produce exactly that
//! size is an error.

use flate2::{Decompress, FlushDecompress, Status};

/// Inflates the zlib stream at the start of `input` into exactly `size`
/// bytes, checking its Adler-32 trailer (a damaged object is an error, and
/// the caller's fallback reports it). `inflater` is reused between calls.
pub(super) fn inflate(
    inflater: &mut Decompress,
    input: &[u8],
    size: usize,
) -> Result<Vec<u8>, &'static str> {
    inflater.reset(true);
    let mut out = Vec::with_capacity(size);
    let status = inflater
        .decompress_vec(input, &mut out, FlushDecompress::Finish)
        .map_err(|_| "corrupt zlib stream")?;
    let done = match status {
        Status::StreamEnd => true,
        // With no room left the inflater may not yet have read the end of
        // a stream that produced exactly `size` bytes (nor its checksum);
        // one more byte of room tells whether the stream ends there.
        Status::Ok | Status::BufError if out.len() == size => {
            let mut probe = [0u8; 1];
            let before = inflater.total_out();
            let rest = input
                .get(inflater.total_in() as usize..)
                .unwrap_or_default();
            let status = inflater
                .decompress(rest, &mut probe, FlushDecompress::Finish)
                .map_err(|_| "corrupt zlib stream")?;
            status == Status::StreamEnd && inflater.total_out() == before
        }
        _ => false,
    };
    if !done || out.len() != size {
        return Err("zlib stream does not inflate to its declared size");
    }
    Ok(out)
}

/// Reads a delta header size (little-endian base-128).
fn varint(d: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let c = *d.get(*i)?;
        *i += 1;
        if shift > 63 {
            return None;
        }
        v |= u64::from(c & 0x7f) << shift;
        shift += 7;
        if c & 0x80 == 0 {
            return Some(v);
        }
    }
}

/// Applies `delta` to `base`: copy and insert instructions, every range
/// checked against the base, the delta and the declared target size, which
/// must not exceed `max` (checked before anything is allocated).
pub(super) fn apply(base: &[u8], delta: &[u8], max: u64) -> Result<Vec<u8>, &'static str> {
    const BAD: &str = "malformed delta";
    let mut i = 0;
    let src = varint(delta, &mut i).ok_or(BAD)?;
    if src != base.len() as u64 {
        return Err("delta base size differs from the base object");
    }
    let dst = varint(delta, &mut i).ok_or(BAD)?;
    if dst > max {
        return Err("delta result larger than the limit");
    }
    let dst = usize::try_from(dst).map_err(|_| BAD)?;
    let mut out = Vec::with_capacity(dst);
    while i < delta.len() {
        let op = delta[i];
        i += 1;
        if op & 0x80 != 0 {
            let mut off = 0usize;
            let mut len = 0usize;
            for bit in 0..4 {
                if op & (1 << bit) != 0 {
                    off |= usize::from(*delta.get(i).ok_or(BAD)?) << (8 * bit);
                    i += 1;
                }
            }
            for bit in 0..3 {
                if op & (0x10 << bit) != 0 {
                    len |= usize::from(*delta.get(i).ok_or(BAD)?) << (8 * bit);
                    i += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            let piece = base.get(off..off.checked_add(len).ok_or(BAD)?).ok_or(BAD)?;
            if out.len() + len > dst {
                return Err(BAD);
            }
            out.extend_from_slice(piece);
        } else if op != 0 {
            let n = usize::from(op);
            let piece = delta.get(i..i + n).ok_or(BAD)?;
            if out.len() + n > dst {
                return Err(BAD);
            }
            out.extend_from_slice(piece);
            i += n;
        } else {
            return Err(BAD);
        }
    }
    if out.len() != dst {
        return Err(BAD);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::ZlibEncoder, Compression};
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_exactly_the_declared_size() {
        let mut z = Decompress::new(true);
        for data in [&b""[..], b"a", &[7u8; 70_000][..]] {
            let mut stream = zlib(data);
            stream.extend_from_slice(b"next object");
            assert_eq!(inflate(&mut z, &stream, data.len()).unwrap(), data);
            assert!(inflate(&mut z, &stream, data.len() + 1).is_err());
            if !data.is_empty() {
                assert!(inflate(&mut z, &stream, data.len() - 1).is_err());
            }
        }
        assert!(inflate(&mut z, b"xx", 0).is_err());
        let mut broken = zlib(b"hello world, hello world");
        let n = broken.len();
        broken[n / 2] ^= 0xff;
        broken.truncate(n - 4);
        assert!(inflate(&mut z, &broken, 24).is_err());
    }

    #[test]
    fn applies_copies_and_inserts() {
        let base = b"0123456789abcdef";
        // src 16, dst 9: copy 4 bytes from offset 10, insert "xyz", copy 2 from 0.
        let delta = [16u8, 9, 0x91, 10, 4, 3, b'x', b'y', b'z', 0x90, 2];
        assert_eq!(apply(base, &delta, 1 << 20).unwrap(), b"abcdxyz01");
        assert!(apply(base, &delta, 8).is_err());
        // Wrong base size, copy out of range, target overrun, op 0.
        assert!(apply(b"short", &delta, 1 << 20).is_err());
        assert!(apply(base, &[16, 4, 0x91, 14, 4], 1 << 20).is_err());
        assert!(apply(base, &[16, 1, 2, b'a', b'b'], 1 << 20).is_err());
        assert!(apply(base, &[16, 1, 0], 1 << 20).is_err());
        assert!(apply(base, &[16, 3, 2, b'a', b'b'], 1 << 20).is_err());
    }

    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes never panic the delta reader.
        #[test]
        fn arbitrary_deltas_are_errors_not_panics(base in proptest::collection::vec(any::<u8>(), 0..64),
                                                  delta in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = apply(&base, &delta, 1 << 20);
        }
    }
}
