//! Line and column numbers, computed only for hits.
//!
//! The matcher never splits content into lines. A [`LineCounter`] walks forward
//! through the bytes it is shown, counting line breaks with `memchr`, and only
//! as far as the next hit (or the point where a streaming buffer discards
//! bytes). A file with no hits costs no line counting at all when it fits in
//! one buffer.
//!
//! A line break is `\n`, `\r\n` (one break) or a lone `\r` (old Mac files).
//! Lines count from 1; columns are 1-based byte offsets within the line.

use memchr::{memchr2_iter, memrchr2};

/// Tracks the line number of an absolute byte offset as scanning moves forward.
#[derive(Debug, Clone)]
pub struct LineCounter {
    /// Absolute offset counted up to (exclusive).
    pos: u64,
    /// 1-based line number of the line containing `pos`.
    line: u64,
    /// Absolute offset where that line starts.
    line_start: u64,
}

impl Default for LineCounter {
    fn default() -> Self {
        LineCounter {
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }
}

/// Whether the byte at `idx` of `buf` ends a line. A `\r` directly followed
/// by `\n` does not (the `\n` does); a `\r` at the very end of `buf` does.
fn is_break(buf: &[u8], idx: usize) -> bool {
    match buf[idx] {
        b'\n' => true,
        b'\r' => buf.get(idx + 1) != Some(&b'\n'),
        _ => false,
    }
}

fn count_breaks(buf: &[u8], from: usize, to: usize) -> (u64, Option<usize>) {
    let mut n = 0;
    let mut last = None;
    for i in memchr2_iter(b'\n', b'\r', &buf[from..to]) {
        let idx = from + i;
        if is_break(buf, idx) {
            n += 1;
            last = Some(idx);
        }
    }
    (n, last)
}

impl LineCounter {
    /// A counter at offset 0, line 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Advances to absolute offset `target`. `buf` holds the bytes at absolute
    /// offsets `[buf_abs, buf_abs + buf.len())`, which must include everything
    /// between the counter's position and `target`. Positions behind the
    /// counter are ignored.
    pub fn advance(&mut self, buf: &[u8], buf_abs: u64, target: u64) {
        if target <= self.pos {
            return;
        }
        debug_assert!(self.pos >= buf_abs, "bytes were discarded before counting");
        let from = (self.pos.max(buf_abs) - buf_abs) as usize;
        let to = ((target - buf_abs) as usize).min(buf.len());
        let (n, last) = count_breaks(buf, from, to);
        self.line += n;
        if let Some(idx) = last {
            self.line_start = buf_abs + idx as u64 + 1;
        }
        self.pos = target;
    }

    /// The (line, column) of absolute offset `target`, advancing the counter
    /// when `target` is ahead of it. A target behind the counter (possible only
    /// for rules whose secret starts before their keyword) is resolved within
    /// `buf`.
    pub fn locate(&mut self, buf: &[u8], buf_abs: u64, target: u64) -> (u64, u64) {
        if target >= self.pos {
            self.advance(buf, buf_abs, target);
            return (self.line, target - self.line_start + 1);
        }
        let t = (target.max(buf_abs) - buf_abs) as usize;
        let p = ((self.pos - buf_abs) as usize).min(buf.len());
        let (n, _) = count_breaks(buf, t, p);
        if n == 0 {
            return (self.line, target - self.line_start + 1);
        }
        // The last line break before the target; a `\r` directly followed by
        // `\n` is not one (its `\n` is), which matters when the target is
        // that `\n` itself.
        let mut end = t;
        let line_start = loop {
            match memrchr2(b'\n', b'\r', &buf[..end]) {
                Some(idx) if is_break(buf, idx) => break buf_abs + idx as u64 + 1,
                Some(idx) => end = idx,
                None => break buf_abs,
            }
        };
        (self.line - n, target - line_start + 1)
    }

    /// Absolute offset where the current line starts.
    pub fn line_start(&self) -> u64 {
        self.line_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locate_all(text: &[u8], targets: &[u64]) -> Vec<(u64, u64)> {
        let mut c = LineCounter::new();
        targets.iter().map(|&t| c.locate(text, 0, t)).collect()
    }

    #[test]
    fn lf_crlf_and_lone_cr_each_count_once() {
        let text = b"a\nb\r\nc\rd";
        assert_eq!(
            locate_all(text, &[0, 2, 5, 7]),
            vec![(1, 1), (2, 1), (3, 1), (4, 1)]
        );
    }

    #[test]
    fn columns_are_byte_offsets() {
        let text = "é=xyz\nq".as_bytes();
        assert_eq!(locate_all(text, &[3, 7]), vec![(1, 4), (2, 1)]);
    }

    #[test]
    fn locating_backwards_works() {
        let text = b"one\ntwo\nthree";
        let mut c = LineCounter::new();
        assert_eq!(c.locate(text, 0, 10), (3, 3));
        assert_eq!(c.locate(text, 0, 5), (2, 2));
        assert_eq!(c.locate(text, 0, 9), (3, 2));
    }

    #[test]
    fn locating_backwards_onto_the_lf_of_a_crlf() {
        // The `\r` of a CRLF is not a line break of its own, whichever
        // direction the counter comes from (it used to be when locating
        // backwards).
        let text = b"ab\r\ncd";
        let mut c = LineCounter::new();
        assert_eq!(c.locate(text, 0, 6), (2, 3));
        assert_eq!(c.locate(text, 0, 3), (1, 4));
        assert_eq!(LineCounter::new().locate(text, 0, 3), (1, 4));
    }

    #[test]
    fn advancing_across_buffers_keeps_counts() {
        let text = b"ab\ncd\r\nef\rgh";
        for split in 1..text.len() {
            let mut c = LineCounter::new();
            // First buffer holds [0, split + 1) so a trailing \r can peek.
            let first = &text[..(split + 1).min(text.len())];
            c.advance(first, 0, split as u64);
            let rest = &text[split..];
            let got = c.locate(rest, split as u64, 10);
            assert_eq!(got, (4, 1), "split at {split}");
        }
    }
}
