//! Streaming: a file of any size through one fixed-size buffer.
//!
//! Each refill keeps the last [`WINDOW_BEFORE`] bytes before the accepted
//! region's end, and a hit is only accepted once [`WINDOW_AFTER`] bytes past
//! it are in the buffer (or the file has ended), so a key straddling a refill
//! is found exactly once with the same line and column as in a single buffer
//! (a property test and a fuzz target hold it to that).

use super::buffer::ScanState;
use super::encoding::{self, is_binary, BINARY_SNIFF};
use super::sniff::{starts_with_use_client, USE_CLIENT_REACH};
use super::{BlobScan, Encoding, Matcher, MIN_CHUNK, WINDOW_AFTER, WINDOW_BEFORE};
use std::io::{self, Read};

/// The first streaming read is at least this long, so that every decision
/// about a file's head (binary, UTF-16, `"use client"`) sees the same bytes
/// whatever the chunk size.
const HEAD_BYTES: usize = if BINARY_SNIFF > USE_CLIENT_REACH {
    BINARY_SNIFF
} else {
    USE_CLIENT_REACH
};

impl Matcher {
    /// Scans a stream through a buffer of `chunk` bytes (at least
    /// [`MIN_CHUNK`]). `buf` is reused between calls to avoid allocation.
    /// UTF-16 (decided by content) is decoded while streaming.
    pub fn scan_reader<R: Read>(
        &self,
        mut reader: R,
        chunk: usize,
        buf: &mut Vec<u8>,
    ) -> io::Result<BlobScan> {
        let chunk = chunk.max(MIN_CHUNK);
        buf.clear();
        let eof = fill(&mut reader, buf, chunk.max(HEAD_BYTES))?;
        if let Some(enc) = encoding::utf16_encoding(buf) {
            let head = std::mem::take(buf);
            let mut decoded = encoding::utf16_reader(enc, head, reader);
            buf.clear();
            let eof = fill(&mut decoded, buf, chunk.max(HEAD_BYTES))?;
            let mut scan = self.scan_stream(decoded, chunk, buf, eof)?;
            scan.encoding = Encoding::Utf16;
            return Ok(scan);
        }
        self.scan_stream(reader, chunk, buf, eof)
    }

    /// Scans `buf` (a stream's head, `eof` if that is all) and the rest of
    /// `reader`.
    fn scan_stream<R: Read>(
        &self,
        mut reader: R,
        chunk: usize,
        buf: &mut Vec<u8>,
        mut eof: bool,
    ) -> io::Result<BlobScan> {
        let mut st = ScanState::new(self, self.limits.max_matches);
        if is_binary(buf) {
            st.out.binary = true;
            return Ok(st.out);
        }
        st.out.use_client = starts_with_use_client(buf);
        let mut buf_abs: u64 = 0;
        let mut accept_from = 0usize;
        loop {
            let accept_end = if eof {
                buf.len()
            } else {
                buf.len() - WINDOW_AFTER
            };
            self.scan_buffer(buf, buf_abs, accept_from, accept_end, !eof, &mut st);
            if eof {
                st.out.bytes = buf_abs + buf.len() as u64;
                break;
            }
            let keep_from = accept_end - WINDOW_BEFORE;
            st.lines.advance(buf, buf_abs, buf_abs + keep_from as u64);
            buf.drain(..keep_from);
            buf_abs += keep_from as u64;
            accept_from = accept_end - keep_from;
            eof = fill(&mut reader, buf, chunk)?;
        }
        // Each buffer's matches are sorted, but a `lookbehind` rule may report
        // a secret starting before the previous buffer's last match: keep the
        // promise of offset order across buffers too.
        st.out.matches.sort_by_key(|m| (m.offset, m.rule));
        Ok(st.finish(self))
    }
}

/// Reads until `buf` holds `chunk` bytes or the reader ends; returns true at EOF.
/// Uses `read_to_end` on a `Take`, which grows the buffer as data arrives
/// instead of zeroing a whole chunk for every small file.
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, chunk: usize) -> io::Result<bool> {
    let want = chunk.saturating_sub(buf.len());
    if want == 0 {
        return Ok(false);
    }
    let got = reader.take(want as u64).read_to_end(buf)?;
    Ok(got < want)
}
