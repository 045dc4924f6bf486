//! The matcher: one aho-corasick pass over a blob's bytes, regexes only around
//! keyword hits.
//!
//! [`Matcher`] owns a single automaton built from every rule's keywords plus a
//! few *context words* (vendor hints such as `stripe`, and `<script`). One
//! pass over the bytes yields keyword hits; for each hit the rules that own
//! the keyword run their regex **anchored** at the hit (or up to the rule's
//! `lookbehind` bytes earlier) inside a bounded window of [`WINDOW_AFTER`]
//! bytes. A regex therefore never scans a whole file, and a file made of
//! nothing but keyword prefixes costs a constant amount of work per hit.
//!
//! Large files are streamed through a fixed-size buffer ([`Matcher::scan_reader`]):
//! each refill keeps the last [`WINDOW_BEFORE`] bytes, and a hit is only
//! accepted once [`WINDOW_AFTER`] bytes past it are in the buffer (or the file
//! has ended), so a key straddling a refill is found exactly once with the
//! same line and column as in a single buffer.
//!
//! The matcher knows nothing of paths, git or severities: it returns
//! [`RawMatch`]es and a few facts about the bytes ([`BlobScan`]); the judge
//! turns those into findings.

pub mod lines;

use crate::rules::RuleSet;
use aho_corasick::{packed, AhoCorasick, MatchKind};
use lines::LineCounter;
use regex_automata::{Anchored, Input};
use std::io::{self, Read};
use std::sync::Arc;

/// Most bytes a match may extend past the start of its keyword.
pub const WINDOW_AFTER: usize = 1024;
/// Bytes kept before each accepted hit: room for `lookbehind` and the line
/// prefix that vendor hints and snippets look at.
pub const WINDOW_BEFORE: usize = 256;
/// Default streaming buffer size.
pub const DEFAULT_CHUNK: usize = 4 * 1024 * 1024;
/// Smallest buffer the streaming reader accepts.
pub const MIN_CHUNK: usize = 2 * (WINDOW_AFTER + WINDOW_BEFORE);
/// Bytes examined for a NUL to call a blob binary (as git does).
pub const BINARY_SNIFF: usize = 8000;
/// Bytes of context kept on each side of a secret for snippets.
pub const SNIPPET_CONTEXT: usize = 40;
/// Bytes of a file's head examined for a `"use client"` directive.
const USE_CLIENT_REACH: usize = 4096;
/// The first streaming read is at least this long.
const HEAD_BYTES: usize = if BINARY_SNIFF > USE_CLIENT_REACH {
    BINARY_SNIFF
} else {
    USE_CLIENT_REACH
};
/// UTF-16 files larger than this are not decoded (they are counted as skipped).
pub const MAX_UTF16_BYTES: u64 = 256 * 1024 * 1024;

/// How the scanned bytes were encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 or any ASCII-compatible bytes (scanned as they are).
    #[default]
    Bytes,
    /// UTF-16 with a byte-order mark; decoded to UTF-8 before matching, so
    /// lines and columns refer to the decoded text.
    Utf16,
}

/// One regex match at a keyword hit, before judgement.
#[derive(Debug, Clone)]
pub struct RawMatch {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// The secret (capture group 1), lossily decoded.
    pub secret: String,
    /// Absolute byte offset of the secret's first byte.
    pub offset: u64,
    /// Length of the secret in bytes, as found.
    pub len: usize,
    /// 1-based line of the secret's first byte.
    pub line: u64,
    /// 1-based byte column of the secret's first byte.
    pub column: u64,
    /// Bytes of the same line before the secret (at most [`WINDOW_BEFORE`]).
    pub line_before: Vec<u8>,
    /// Up to [`SNIPPET_CONTEXT`] bytes after the secret, stopping at a line end.
    pub after: Vec<u8>,
    /// The secret's line carries the inline allow marker [`ALLOW_MARKER`].
    pub inline_allow: bool,
}

/// A line containing this text (in any comment syntax) is not reported.
pub const ALLOW_MARKER: &str = "keyscan:allow";
/// How far along a line, on each side of a secret, the allow marker is looked for.
const ALLOW_REACH: usize = 4096;

/// What the matcher learned about one blob.
#[derive(Debug, Clone, Default)]
pub struct BlobScan {
    /// Matches in order of offset.
    pub matches: Vec<RawMatch>,
    /// Which context words occur anywhere in the blob (index = context word id).
    pub context_words: Vec<bool>,
    /// Bytes scanned.
    pub bytes: u64,
    /// A NUL byte in the first [`BINARY_SNIFF`] bytes: not scanned.
    pub binary: bool,
    /// The file starts with a `"use client"` directive.
    pub use_client: bool,
    /// Project ids found near matches: (rule index, id).
    pub project_ids: Vec<(usize, String)>,
    /// Encoding the bytes were read as.
    pub encoding: Encoding,
    /// A UTF-16 file too large to decode.
    pub too_large_utf16: bool,
}

/// Context word that marks an HTML file with scripts.
pub const SCRIPT_WORD: &str = "<script";

/// The compiled prefilter plus the rules it serves.
pub struct Matcher {
    rules: Arc<RuleSet>,
    /// Every distinct rule keyword, searched leftmost-longest.
    keywords: LiteralSearcher,
    /// Per keyword pattern: the rules that own it.
    owners: Vec<Vec<usize>>,
    /// Per keyword pattern: the other keywords that are its prefixes. A
    /// leftmost-longest search reports only the longest keyword starting at a
    /// position, so the shorter ones starting there are implied.
    prefixes: Vec<Vec<usize>>,
    /// Vendor hints and `<script`, searched only in buffers that matter.
    context: LiteralSearcher,
    context_words: Vec<String>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("keywords", &self.owners.len())
            .field("context_words", &self.context_words)
            .finish()
    }
}

/// Mutable state of one blob's scan.
struct ScanState {
    lines: LineCounter,
    /// Per rule: absolute end of its last accepted match, so hits inside a
    /// match already reported are skipped.
    last_end: Vec<u64>,
    out: BlobScan,
    caps: Vec<regex_automata::util::captures::Captures>,
}

impl Matcher {
    /// Builds the automata for every keyword and context word of `rules`.
    /// The matcher owns (a share of) its rules, so one matcher can serve every
    /// worker thread and outlive the code that loaded them.
    pub fn new(rules: impl Into<Arc<RuleSet>>) -> Matcher {
        let rules: Arc<RuleSet> = rules.into();
        let mut patterns: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        for (ri, rule) in rules.rules.iter().enumerate() {
            for kw in &rule.spec.keywords {
                match patterns.iter().position(|p| p == kw) {
                    Some(pi) if !owners[pi].contains(&ri) => owners[pi].push(ri),
                    Some(_) => {}
                    None => {
                        patterns.push(kw.clone());
                        owners.push(vec![ri]);
                    }
                }
            }
        }
        let prefixes = patterns
            .iter()
            .map(|p| {
                (0..patterns.len())
                    .filter(|&q| patterns[q] != *p && p.starts_with(patterns[q].as_str()))
                    .collect()
            })
            .collect();
        let keywords = LiteralSearcher::new(&patterns);

        let mut context_words: Vec<String> = vec![SCRIPT_WORD.to_string()];
        for rule in &rules.rules {
            for w in rule.spec.vendor.iter().flat_map(|v| v.context.iter()) {
                if !context_words.contains(w) {
                    context_words.push(w.clone());
                }
            }
        }
        let context = LiteralSearcher::new(&context_words);
        Matcher {
            rules,
            keywords,
            owners,
            prefixes,
            context,
            context_words,
        }
    }

    /// The rules this matcher serves.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Id of a context word, if the matcher tracks it.
    pub fn context_word_id(&self, word: &str) -> Option<usize> {
        self.context_words.iter().position(|w| w == word)
    }

    /// Whether `word` occurs anywhere in the scanned blob.
    pub fn has_context_word(&self, scan: &BlobScan, word: &str) -> bool {
        self.context_word_id(word)
            .and_then(|id| scan.context_words.get(id).copied())
            .unwrap_or(false)
    }

    fn new_state(&self) -> ScanState {
        ScanState {
            lines: LineCounter::new(),
            last_end: vec![0; self.rules.rules.len()],
            out: BlobScan {
                context_words: vec![false; self.context_words.len()],
                ..BlobScan::default()
            },
            caps: self
                .rules
                .rules
                .iter()
                .map(|r| r.regex.create_captures())
                .collect(),
        }
    }

    /// Scans a blob held in memory (git blobs, small files).
    pub fn scan_bytes(&self, bytes: &[u8]) -> BlobScan {
        if let Some(decoded) = decode_utf16(bytes) {
            let mut scan = self.scan_bytes(decoded.as_bytes());
            scan.encoding = Encoding::Utf16;
            return scan;
        }
        let mut st = self.new_state();
        if is_binary(bytes) {
            st.out.binary = true;
            return st.out;
        }
        st.out.use_client = starts_with_use_client(bytes);
        self.scan_buffer(bytes, 0, 0, bytes.len(), false, &mut st);
        st.out.bytes = bytes.len() as u64;
        st.out
    }

    /// `text` with every secret the rules find replaced by its prefix and
    /// `…`. For text keyscan prints that is not a finding but may quote
    /// scanned or configured content — an error quoting a config value, a
    /// note quoting an invalid `.gitignore` line — so that no output path
    /// can carry a raw key.
    pub fn redact_secrets<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        let bytes = text.as_bytes();
        // Straight to the buffer scan: a message with a NUL is not "binary".
        let mut st = self.new_state();
        self.scan_buffer(bytes, 0, 0, bytes.len(), false, &mut st);
        if st.out.matches.is_empty() {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0usize;
        for m in &st.out.matches {
            let start = m.offset as usize;
            if start < at {
                continue; // the same key seen by a second rule
            }
            let (prefix, _) = self.rules.rules[m.rule].split_secret(&m.secret);
            out.extend_from_slice(&bytes[at..start]);
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice("…".as_bytes());
            at = start + m.len;
        }
        out.extend_from_slice(&bytes[at..]);
        std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
    }

    /// Scans a stream through a buffer of `chunk` bytes (at least
    /// [`MIN_CHUNK`]). `buf` is reused between calls to avoid allocation.
    pub fn scan_reader<R: Read>(
        &self,
        mut reader: R,
        chunk: usize,
        buf: &mut Vec<u8>,
    ) -> io::Result<BlobScan> {
        let chunk = chunk.max(MIN_CHUNK);
        buf.clear();
        // The first read covers everything `scan_bytes` looks at in a file's
        // head (the binary sniff, the "use client" directive), whatever the
        // chunk size, so both decide alike.
        let mut eof = fill(&mut reader, buf, chunk.max(HEAD_BYTES))?;
        if has_utf16_bom(buf) {
            let mut all = std::mem::take(buf);
            let room = MAX_UTF16_BYTES.saturating_sub(all.len() as u64);
            (&mut reader).take(room).read_to_end(&mut all)?;
            let mut probe = [0u8; 1];
            if reader.read(&mut probe)? > 0 {
                *buf = all;
                return Ok(BlobScan {
                    too_large_utf16: true,
                    ..BlobScan::default()
                });
            }
            let scan = self.scan_bytes(&all);
            *buf = all;
            return Ok(scan);
        }
        let mut st = self.new_state();
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
        Ok(st.out)
    }

    /// Finds keyword hits starting in `[accept_from, accept_end)` of `buf`
    /// (whose first byte is at absolute offset `buf_abs`) and runs their rules.
    fn scan_buffer(
        &self,
        buf: &[u8],
        buf_abs: u64,
        accept_from: usize,
        accept_end: usize,
        more_follows: bool,
        st: &mut ScanState,
    ) {
        let first_new = st.out.matches.len();
        let search_end = (accept_end + WINDOW_AFTER).min(buf.len());
        let hay = &buf[..search_end];
        let mut pos = accept_from;
        while pos < accept_end {
            let Some(hit) = self.keywords.find(hay, pos) else {
                break;
            };
            let start = hit.start();
            if start >= accept_end {
                break;
            }
            let pid = hit.pattern().as_usize();
            for &p in std::iter::once(&pid).chain(&self.prefixes[pid]) {
                for &ri in &self.owners[p] {
                    self.try_rule(ri, buf, buf_abs, start, st);
                }
            }
            // Resume one byte on, not after the hit: keywords may overlap.
            pos = start + 1;
        }
        // Context words matter only for blobs with matches (vendor hints,
        // HTML with scripts), and a file's imports sit at its top: search the
        // buffers that produced matches and the first buffer of a file.
        if st.out.matches.len() > first_new || (buf_abs == 0 && more_follows) {
            let hay = &buf[..accept_end];
            let mut pos = accept_from;
            while let Some(hit) = self.context.find(hay, pos) {
                st.out.context_words[hit.pattern().as_usize()] = true;
                pos = hit.start() + 1;
            }
        }
        if st.out.matches.len() == first_new {
            return;
        }
        // Locate new matches in offset order, then record snippets and
        // project ids while their bytes are still in the buffer.
        st.out.matches[first_new..].sort_by_key(|m| (m.offset, m.rule));
        for i in first_new..st.out.matches.len() {
            let offset = st.out.matches[i].offset;
            let (line, column) = st.lines.locate(buf, buf_abs, offset);
            let rel = (offset - buf_abs) as usize;
            let line_start_rel = rel.saturating_sub((column - 1) as usize);
            let before_from = line_start_rel.max(rel.saturating_sub(WINDOW_BEFORE));
            let m = &mut st.out.matches[i];
            m.line = line;
            m.column = column;
            m.line_before = buf[before_from..rel].to_vec();
            let end = rel + m.len;
            let after_end = (end + SNIPPET_CONTEXT).min(buf.len());
            let after = &buf[end.min(after_end)..after_end];
            let cut = memchr::memchr2(b'\n', b'\r', after).unwrap_or(after.len());
            m.after = after[..cut].to_vec();
            let reach_end = (end + ALLOW_REACH).min(buf.len());
            let line_end = end.min(reach_end)
                + memchr::memchr2(b'\n', b'\r', &buf[end.min(reach_end)..reach_end])
                    .unwrap_or(reach_end - end.min(reach_end));
            let line_from = line_start_rel.max(rel.saturating_sub(ALLOW_REACH));
            m.inline_allow =
                memchr::memmem::find(&buf[line_from..line_end], ALLOW_MARKER.as_bytes()).is_some();
        }
        // Each rule's project patterns run over the buffer at most once: a
        // buffer with thousands of keys and no project id must not be
        // searched thousands of times.
        let mut new_rules: Vec<usize> =
            st.out.matches[first_new..].iter().map(|m| m.rule).collect();
        new_rules.sort_unstable();
        new_rules.dedup();
        for ri in new_rules {
            if st.out.project_ids.iter().any(|(r, _)| *r == ri) {
                continue;
            }
            if let Some(id) = self.rules.rules[ri].find_project_id(buf) {
                st.out.project_ids.push((ri, id));
            }
        }
    }

    /// Runs rule `ri` anchored at keyword hit `hit` (relative to `buf`).
    fn try_rule(&self, ri: usize, buf: &[u8], buf_abs: u64, hit: usize, st: &mut ScanState) {
        if buf_abs + (hit as u64) < st.last_end[ri] {
            return;
        }
        let rule = &self.rules.rules[ri];
        let window_end = (hit + WINDOW_AFTER).min(buf.len());
        let first = hit.saturating_sub(rule.spec.lookbehind);
        let caps = &mut st.caps[ri];
        for at in first..=hit {
            let input = Input::new(buf).span(at..window_end).anchored(Anchored::Yes);
            rule.regex.search_captures(&input, caps);
            let Some(whole) = caps.get_match() else {
                continue;
            };
            if whole.end() <= hit {
                // Matched entirely before the keyword: not this hit's match.
                continue;
            }
            let Some(secret) = caps.get_group(1) else {
                continue;
            };
            st.last_end[ri] = buf_abs + whole.end() as u64;
            st.out.matches.push(RawMatch {
                rule: ri,
                secret: String::from_utf8_lossy(&buf[secret.start..secret.end]).into_owned(),
                offset: buf_abs + secret.start as u64,
                len: secret.end - secret.start,
                line: 0,
                column: 0,
                line_before: Vec::new(),
                after: Vec::new(),
                inline_allow: false,
            });
            return;
        }
    }
}

/// A leftmost-longest multi-literal search that uses the SIMD "Teddy"
/// searcher when the CPU has it, and an aho-corasick automaton otherwise.
///
/// The automaton's own prefilter picks a "rare byte" to skip ahead with; for
/// keywords like `mbk_`/`sk_live_` that byte is `_`, which source code is full
/// of, so it verified a candidate every few bytes. Teddy looks at the first
/// bytes of every literal at once and is what makes ripgrep fast on the same
/// search.
enum LiteralSearcher {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl LiteralSearcher {
    fn new(literals: &[String]) -> Self {
        let packed = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostLongest)
            .builder()
            .extend(literals)
            .build();
        match packed {
            Some(searcher) => LiteralSearcher::Packed(searcher),
            None => LiteralSearcher::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(literals)
                    .expect("literals are validated non-empty"),
            ),
        }
    }

    /// The leftmost-longest literal starting at or after `from`.
    fn find(&self, hay: &[u8], from: usize) -> Option<aho_corasick::Match> {
        if from >= hay.len() {
            return None;
        }
        match self {
            LiteralSearcher::Packed(s) => s.find_in(hay, aho_corasick::Span::from(from..hay.len())),
            LiteralSearcher::Automaton(ac) => {
                ac.find(aho_corasick::Input::new(hay).span(from..hay.len()))
            }
        }
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

/// A NUL in the first [`BINARY_SNIFF`] bytes, as git decides it.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF)]).is_some()
}

fn has_utf16_bom(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF])
}

/// Decodes UTF-16 with a byte-order mark (Windows tools write `.env` files that
/// way). Returns `None` for anything else.
pub fn decode_utf16(bytes: &[u8]) -> Option<String> {
    let le = if bytes.starts_with(&[0xFF, 0xFE]) {
        true
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        false
    } else {
        return None;
    };
    let units = bytes[2..].chunks_exact(2).map(|p| {
        if le {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    Some(
        char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
    )
}

/// Whether JavaScript/TypeScript source starts with a `"use client"` directive
/// (after a BOM, whitespace and comments), which makes it client code in
/// React Server Components frameworks.
pub fn starts_with_use_client(bytes: &[u8]) -> bool {
    let mut s = &bytes[..bytes.len().min(USE_CLIENT_REACH)];
    if s.starts_with(b"\xEF\xBB\xBF") {
        s = &s[3..];
    }
    loop {
        let trimmed = s.trim_ascii_start();
        if let Some(rest) = trimmed.strip_prefix(b"//") {
            match memchr::memchr(b'\n', rest) {
                Some(i) => s = &rest[i + 1..],
                None => return false,
            }
        } else if let Some(rest) = trimmed.strip_prefix(b"/*") {
            match memchr::memmem::find(rest, b"*/") {
                Some(i) => s = &rest[i + 2..],
                None => return false,
            }
        } else {
            return trimmed.starts_with(b"\"use client\"") || trimmed.starts_with(b"'use client'");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn key20() -> String {
        "mbk_".to_string() + "q8w1e7r2t6y3u5i4o0pz"
    }

    #[test]
    fn finds_a_key_with_line_and_column() {
        let rules = RuleSet::builtin().unwrap();
        let m = Matcher::new(rules);
        let text = format!("line one\nconst k = \"{}\";\n", key20());
        let scan = m.scan_bytes(text.as_bytes());
        assert_eq!(scan.matches.len(), 1);
        let hit = &scan.matches[0];
        assert_eq!(hit.secret, key20());
        assert_eq!((hit.line, hit.column), (2, 12));
        assert_eq!(hit.line_before, b"const k = \"");
        assert_eq!(hit.after, b"\";");
    }

    #[test]
    fn word_boundary_keeps_prefixed_identifiers_out() {
        let rules = RuleSet::builtin().unwrap();
        let m = Matcher::new(rules);
        let text = format!("x{} my_{}", key20(), key20());
        assert!(m.scan_bytes(text.as_bytes()).matches.is_empty());
    }

    #[test]
    fn streaming_matches_single_buffer_at_every_chunk_size() {
        let rules = RuleSet::builtin().unwrap();
        let m = Matcher::new(rules);
        let mut text = Vec::new();
        for i in 0..400 {
            text.extend_from_slice(format!("filler line {i} with words\r\n").as_bytes());
            if i % 37 == 0 {
                text.extend_from_slice(format!("k={}\n", key20()).as_bytes());
            }
        }
        let whole = m.scan_bytes(&text);
        assert!(whole.matches.len() > 5);
        for chunk in [MIN_CHUNK, MIN_CHUNK + 1, 3001, 4096, 7919] {
            let mut buf = Vec::new();
            let streamed = m.scan_reader(&text[..], chunk, &mut buf).unwrap();
            let a: Vec<_> = whole
                .matches
                .iter()
                .map(|x| (x.offset, x.line, x.column))
                .collect();
            let b: Vec<_> = streamed
                .matches
                .iter()
                .map(|x| (x.offset, x.line, x.column))
                .collect();
            assert_eq!(a, b, "chunk {chunk}");
            assert_eq!(streamed.bytes, text.len() as u64);
        }
    }

    #[test]
    fn streaming_sniffs_the_same_head_as_one_buffer() {
        // At small chunk sizes the first streaming buffer used to be shorter
        // than the binary sniff and the "use client" reach, so a NUL at byte
        // 5000 made a file binary in memory but not when streamed.
        let rules = RuleSet::builtin().unwrap();
        let m = Matcher::new(rules);
        let mut text = vec![b'x'; 6000];
        text[5000] = 0;
        text.extend_from_slice(format!("\nk={}\n", key20()).as_bytes());
        let mut buf = Vec::new();
        assert!(m.scan_bytes(&text).binary);
        assert!(
            m.scan_reader(&text[..], MIN_CHUNK, &mut buf)
                .unwrap()
                .binary
        );

        let mut js = format!("/*{}*/\n'use client';\n", "c".repeat(3000)).into_bytes();
        js.extend_from_slice(&vec![b' '; 10_000]);
        assert!(m.scan_bytes(&js).use_client);
        assert!(
            m.scan_reader(&js[..], MIN_CHUNK, &mut buf)
                .unwrap()
                .use_client
        );
    }

    #[test]
    fn many_keys_in_one_buffer_search_project_ids_once_per_rule() {
        // Project-id patterns used to run over the whole buffer once per
        // match: 100,000 keys in 2.5 MiB meant 250 GB of searching.
        let rules = RuleSet::builtin().unwrap();
        let m = Matcher::new(rules);
        let mut text = String::new();
        for i in 0..100_000u32 {
            text.push_str(&format!("k=mbk_{i:08}q8w1e7r2t6y3\n"));
        }
        text.push_str("url=/api/projects/acme-prod/keys\n");
        let scan = m.scan_bytes(text.as_bytes());
        assert_eq!(scan.matches.len(), 100_000);
        let ri = m
            .rules()
            .rules
            .iter()
            .position(|r| r.id() == "miniback-api-key")
            .unwrap();
        assert_eq!(scan.project_ids, vec![(ri, "acme-prod".to_string())]);
    }

    #[test]
    fn messages_are_redacted() {
        let rules = RuleSet::builtin().unwrap();
        let m = Matcher::new(rules);
        let msg = format!(
            "unknown severity `{}` (expected …)\0 and {}",
            key20(),
            key20()
        );
        assert_eq!(
            m.redact_secrets(&msg),
            "unknown severity `mbk_…` (expected …)\0 and mbk_…"
        );
        assert!(matches!(
            m.redact_secrets("nothing here"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn keyword_floods_stay_linear_and_find_nothing() {
        let rules = RuleSet::builtin().unwrap();
        let m = Matcher::new(rules);
        let text = "mbk_".repeat(250_000);
        let scan = m.scan_bytes(text.as_bytes());
        // One candidate at the start (body = `mbk_mbk_…` up to 128 chars then
        // no boundary): none is reported as a match.
        assert!(scan.matches.is_empty());
    }

    #[test]
    fn binary_and_utf16_are_detected() {
        let rules = RuleSet::builtin().unwrap();
        let m = Matcher::new(rules);
        assert!(m.scan_bytes(b"PNG\0\0data").binary);
        let text = format!("KEY={}\r\n", key20());
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let scan = m.scan_bytes(&utf16);
        assert_eq!(scan.encoding, Encoding::Utf16);
        assert_eq!(scan.matches.len(), 1);
        assert_eq!(scan.matches[0].column, 5);
    }

    #[test]
    fn use_client_directive_after_comments() {
        assert!(starts_with_use_client(
            b"// header\n/* x */\n'use client';\n"
        ));
        assert!(starts_with_use_client(b"\"use client\"\nexport default 1"));
        assert!(!starts_with_use_client(b"import x from 'y';\n'use client'"));
    }
}
