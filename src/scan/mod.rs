//! The matcher: one literal pass over a blob's bytes, regexes only around
//! keyword hits.
//!
//! [`Matcher`] owns a single automaton built from every rule's keywords plus a
//! few *context words* (vendor hints such as `stripe`, and `<script`). One
//! pass over the bytes yields keyword hits (`literal`); for each hit the
//! rules that own the keyword run their regex **anchored** at the hit (or up
//! to the rule's `lookbehind` bytes earlier) inside a bounded window of
//! [`WINDOW_AFTER`] bytes (`buffer`). A regex therefore never scans a whole
//! file.
//!
//! Large files are streamed through a fixed-size buffer
//! ([`Matcher::scan_reader`], `stream`); UTF-16 files are decoded while
//! streaming ([`encoding`]). The matcher knows nothing of paths, git or
//! severities: it returns [`RawMatch`]es and a few facts about the bytes
//! ([`BlobScan`]); the judge turns those into findings.
//!
//! # Bounds
//!
//! Everything the matcher does per blob is bounded, and whatever a bound cuts
//! is counted in [`BlobScan::shortfall`] for the summary (and `--strict`):
//!
//! - **Memory**: at most [`Limits::max_matches`] matches are kept per blob;
//!   more are counted, not kept. A file of a million keyword hits that match
//!   nothing keeps nothing.
//! - **Overlapping attempts**: a run of hits whose anchored attempts fail
//!   (`-sk_live_-sk_live_…`, where each attempt reads up to the rule's
//!   maximum length before failing) is covered by one unanchored lazy-DFA
//!   search instead of one attempt per hit, so floods cost linear time.
//! - **Rules from a config**: their regexes are compiled with a smaller size
//!   limit than the built-in ones, and each has a time budget per blob
//!   ([`Limits::config_rule_time_per_blob`]) and per scan; past it the rule is
//!   not run on the rest of the blob (or scan) and its unchecked hits are
//!   counted. Built-in rules are vetted and never cut.

mod buffer;
pub mod decode;
pub mod encoding;
pub mod lines;
mod literal;
mod nested;
mod redact;
mod sniff;
mod stream;

pub use decode::Encoded;
pub use encoding::{decode_utf16, is_binary, BINARY_SNIFF};
pub use sniff::starts_with_use_client;

use crate::rules::RuleSet;
use buffer::ScanState;
use literal::{Keywords, LiteralSearcher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Most bytes a match may extend past the start of its keyword.
pub const WINDOW_AFTER: usize = 1024;
/// Bytes kept before each accepted hit: room for `lookbehind` and the line
/// prefix that vendor hints and snippets look at.
pub const WINDOW_BEFORE: usize = 256;
/// Default streaming buffer size.
pub const DEFAULT_CHUNK: usize = 4 * 1024 * 1024;
/// Smallest buffer the streaming reader accepts.
pub const MIN_CHUNK: usize = 2 * (WINDOW_AFTER + WINDOW_BEFORE);
/// Bytes of context kept on each side of a secret for snippets.
pub const SNIPPET_CONTEXT: usize = 40;
/// Default most matches kept per blob ([`Limits::max_matches`]).
pub const MAX_MATCHES_PER_BLOB: usize = 50_000;

/// How the scanned bytes were encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 or any ASCII-compatible bytes (scanned as they are).
    #[default]
    Bytes,
    /// UTF-16 with a byte-order mark; decoded to UTF-8 while streaming, so
    /// lines and columns refer to the decoded text.
    Utf16,
}

/// One regex match at a keyword hit, before judgement.
#[derive(Debug, Clone, Default)]
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
    /// 1-based column in UTF-16 code units (SARIF's default), when the line
    /// start was in the buffer (`None` only within a line longer than the
    /// streaming buffer).
    pub column_utf16: Option<u64>,
    /// Bytes of the same line before the secret (at most [`WINDOW_BEFORE`]).
    pub line_before: Vec<u8>,
    /// Up to [`SNIPPET_CONTEXT`] bytes after the secret, stopping at a line end.
    pub after: Vec<u8>,
    /// The secret's line carries the inline allow marker [`ALLOW_MARKER`].
    pub inline_allow: bool,
    /// Found glued inside the match at this absolute offset (a key pasted
    /// right after a redaction marker, `nested`).
    pub inside: Option<u64>,
    /// Found decoded from this encoding ([`decode`]); `offset` and `len`
    /// then span the encoded text.
    pub encoded: Option<Encoded>,
}

/// A line containing this text (in any comment syntax) is not reported.
pub const ALLOW_MARKER: &str = "keyscan:allow";

/// Why a config rule stopped running on a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutReason {
    /// It used up its time on this blob.
    BlobBudget,
    /// It used up its time for the whole scan.
    ScanBudget,
}

/// A config rule that was not run on every keyword hit of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCut {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// Why.
    pub reason: CutReason,
    /// Keyword hits the rule was not run on.
    pub hits_skipped: u64,
}

/// What the matcher's bounds cut from one blob (empty for almost every blob).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shortfall {
    /// Matches found beyond [`Limits::max_matches`]: counted, not kept.
    pub matches_dropped: u64,
    /// Config rules that ran out of time.
    pub rules_cut: Vec<RuleCut>,
}

impl Shortfall {
    /// Nothing was cut.
    pub fn is_empty(&self) -> bool {
        self.matches_dropped == 0 && self.rules_cut.is_empty()
    }
}

/// What the matcher learned about one blob.
#[derive(Debug, Clone, Default)]
pub struct BlobScan {
    /// Matches in order of offset (at most [`Limits::max_matches`]).
    pub matches: Vec<RawMatch>,
    /// Which context words occur anywhere in the blob (index = context word id).
    pub context_words: Vec<bool>,
    /// Bytes scanned (for UTF-16, bytes of the decoded UTF-8 text).
    pub bytes: u64,
    /// A NUL byte in the first [`BINARY_SNIFF`] bytes: not scanned.
    pub binary: bool,
    /// The file starts with a `"use client"` directive.
    pub use_client: bool,
    /// Project ids found near matches: (rule index, id).
    pub project_ids: Vec<(usize, String)>,
    /// Encoding the bytes were read as.
    pub encoding: Encoding,
    /// What the matcher's bounds cut.
    pub shortfall: Shortfall,
}

/// The matcher's bounds (see the module docs).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most matches kept per blob.
    pub max_matches: usize,
    /// Time one config rule may spend on one blob.
    pub config_rule_time_per_blob: Duration,
    /// Time one config rule may spend in the whole scan.
    pub config_rule_time_per_scan: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_matches: MAX_MATCHES_PER_BLOB,
            config_rule_time_per_blob: Duration::from_secs(1),
            config_rule_time_per_scan: Duration::from_secs(20),
        }
    }
}

/// Context word that marks an HTML file with scripts.
pub const SCRIPT_WORD: &str = "<script";

/// The compiled prefilter plus the rules it serves.
pub struct Matcher {
    rules: Arc<RuleSet>,
    keywords: Keywords,
    /// Vendor hints and `<script`, searched only in buffers that matter.
    context: LiteralSearcher,
    context_words: Vec<String>,
    /// Per rule: the lazy DFA that covers runs of failing hits, built the
    /// first time a rule has such a run (most scans of a few files never do).
    skip: Vec<std::sync::OnceLock<Option<regex_automata::hybrid::regex::Regex>>>,
    limits: Limits,
    /// Per rule: nanoseconds spent in the whole scan (config rules only).
    spent: Vec<AtomicU64>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("keywords", &self.keywords.owners.len())
            .field("context_words", &self.context_words)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Matcher {
    /// Builds the automata for every keyword and context word of `rules`,
    /// with the default [`Limits`]. The matcher owns (a share of) its rules,
    /// so one matcher can serve every worker thread and outlive the code that
    /// loaded them.
    pub fn new(rules: impl Into<Arc<RuleSet>>) -> Matcher {
        Matcher::with_limits(rules, Limits::default())
    }

    /// Like [`Matcher::new`], with explicit bounds.
    pub fn with_limits(rules: impl Into<Arc<RuleSet>>, limits: Limits) -> Matcher {
        let rules: Arc<RuleSet> = rules.into();
        let mut context_words: Vec<String> = vec![SCRIPT_WORD.to_string()];
        for rule in &rules.rules {
            for w in rule.spec.vendor.iter().flat_map(|v| v.context.iter()) {
                if !context_words.contains(w) {
                    context_words.push(w.clone());
                }
            }
        }
        Matcher {
            keywords: Keywords::new(&rules),
            context: LiteralSearcher::new(&context_words),
            context_words,
            skip: rules
                .rules
                .iter()
                .map(|_| std::sync::OnceLock::new())
                .collect(),
            spent: rules.rules.iter().map(|_| AtomicU64::new(0)).collect(),
            limits,
            rules,
        }
    }

    /// The rules this matcher serves.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The matcher's bounds.
    pub fn limits(&self) -> &Limits {
        &self.limits
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

    /// Scans a blob held in memory (git blobs, small files). Gives exactly
    /// what [`Matcher::scan_reader`] gives for the same bytes.
    pub fn scan_bytes(&self, bytes: &[u8]) -> BlobScan {
        if encoding::utf16_encoding(bytes).is_some() {
            // Decoded while streaming, like a file, in one buffer's memory.
            return self
                .scan_reader(bytes, DEFAULT_CHUNK, &mut Vec::new())
                .expect("reading a byte slice cannot fail");
        }
        let mut st = ScanState::new(self, self.limits.max_matches);
        if is_binary(bytes) {
            st.out.binary = true;
            return st.out;
        }
        st.out.use_client = starts_with_use_client(bytes);
        self.scan_buffer(bytes, 0, 0, bytes.len(), false, &mut st);
        st.out.bytes = bytes.len() as u64;
        st.finish(self)
    }

    /// What a blob's [`Shortfall`] means, one sentence per cut, for the
    /// summary (empty when nothing was cut).
    pub fn describe_shortfall(&self, s: &Shortfall) -> Vec<String> {
        let mut out = Vec::new();
        if s.matches_dropped > 0 {
            out.push(format!(
                "more than {} candidate keys: the first {} were judged, {} more were counted and not judged",
                self.limits.max_matches, self.limits.max_matches, s.matches_dropped
            ));
        }
        for cut in &s.rules_cut {
            let rule = &self.rules.rules[cut.rule];
            let (budget, scope) = match cut.reason {
                CutReason::BlobBudget => (self.limits.config_rule_time_per_blob, "this file"),
                CutReason::ScanBudget => (self.limits.config_rule_time_per_scan, "the scan"),
            };
            out.push(format!(
                "rule `{}` from {} used up its time budget ({} s for {scope}); its regex was not run at {} keyword hit(s) here: simplify its pattern",
                rule.id(),
                rule.source_file,
                budget.as_secs_f64(),
                cut.hits_skipped
            ));
        }
        out
    }

    /// Nanoseconds rule `ri` has spent in this scan so far.
    fn scan_spent(&self, ri: usize) -> u64 {
        self.spent[ri].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{RuleSet, RuleSpec};
    use regex_automata::{Anchored, Input};
    use std::sync::Arc;

    fn key20() -> String {
        "mbk_".to_string() + "q8w1e7r2t6y3u5i4o0pz"
    }

    fn utf16le(text: &str) -> Vec<u8> {
        let mut out = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    }

    fn positions(scan: &BlobScan) -> Vec<(usize, u64, u64, u64, String)> {
        scan.matches
            .iter()
            .map(|x| (x.rule, x.offset, x.line, x.column, x.secret.clone()))
            .collect()
    }

    #[test]
    fn finds_a_key_with_line_and_column() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
        let text = format!("line one\nconst k = \"{}\";\n", key20());
        let scan = m.scan_bytes(text.as_bytes());
        assert_eq!(scan.matches.len(), 1);
        let hit = &scan.matches[0];
        assert_eq!(hit.secret, key20());
        assert_eq!((hit.line, hit.column), (2, 12));
        assert_eq!(hit.line_before, b"const k = \"");
        assert_eq!(hit.after, b"\";");
        assert!(scan.shortfall.is_empty());
    }

    #[test]
    fn word_boundary_keeps_prefixed_identifiers_out() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
        let text = format!("x{} my_{}", key20(), key20());
        assert!(m.scan_bytes(text.as_bytes()).matches.is_empty());
    }

    #[test]
    fn streaming_matches_single_buffer_at_every_chunk_size() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
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
            assert_eq!(positions(&whole), positions(&streamed), "chunk {chunk}");
            assert_eq!(streamed.bytes, text.len() as u64);
        }
    }

    #[test]
    fn streaming_sniffs_the_same_head_as_one_buffer() {
        // At small chunk sizes the first streaming buffer used to be shorter
        // than the binary sniff and the "use client" reach, so a NUL at byte
        // 5000 made a file binary in memory but not when streamed.
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
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
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::with_limits(
            rules.clone(),
            Limits {
                max_matches: usize::MAX,
                ..Limits::default()
            },
        );
        let mut text = String::new();
        for i in 0..100_000u32 {
            text.push_str(&format!("k=mbk_{i:08}q8w1e7r2t6y3\n"));
        }
        text.push_str("url=/api/projects/acme-prod/keys\n");
        let scan = m.scan_bytes(text.as_bytes());
        assert_eq!(scan.matches.len(), 100_000);
        let ri = rules
            .rules
            .iter()
            .position(|r| r.id() == "miniback-api-key")
            .unwrap();
        assert_eq!(scan.project_ids, vec![(ri, "acme-prod".to_string())]);
    }

    #[test]
    fn matches_beyond_the_cap_are_counted_not_kept() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::with_limits(
            rules.clone(),
            Limits {
                max_matches: 100,
                ..Limits::default()
            },
        );
        let text = "k=mbk_aaaaaaaaaaaaaaaaaaaa\n".repeat(30_000);
        for scan in [
            m.scan_bytes(text.as_bytes()),
            m.scan_reader(text.as_bytes(), MIN_CHUNK, &mut Vec::new())
                .unwrap(),
        ] {
            assert_eq!(scan.matches.len(), 100);
            assert_eq!(scan.shortfall.matches_dropped, 29_900);
            assert_eq!(scan.matches[99].line, 100);
        }
        assert_eq!(Limits::default().max_matches, MAX_MATCHES_PER_BLOB);
    }

    /// One anchored attempt per keyword hit and rule, as the matcher worked
    /// before runs of failing hits were settled by a skip-ahead search.
    fn one_attempt_per_hit(rules: &RuleSet, text: &[u8]) -> Vec<(usize, u64, String)> {
        let mut out = Vec::new();
        for (ri, rule) in rules.rules.iter().enumerate() {
            let mut caps = rule.regex().create_captures();
            let mut last_end = 0;
            let mut hits: Vec<usize> = rule
                .spec
                .keywords
                .iter()
                .flat_map(|k| memchr::memmem::find_iter(text, k.as_bytes()))
                .collect();
            hits.sort_unstable();
            hits.dedup();
            for h in hits {
                if h < last_end {
                    continue;
                }
                let end = (h + WINDOW_AFTER).min(text.len());
                let input = Input::new(text).span(h..end).anchored(Anchored::Yes);
                rule.regex().search_captures(&input, &mut caps);
                if let (Some(w), Some(s)) = (caps.get_match(), caps.get_group(1)) {
                    last_end = w.end();
                    let secret = String::from_utf8_lossy(&text[s.start..s.end]).into_owned();
                    out.push((ri, s.start as u64, secret));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn floods_of_failing_hits_give_exactly_the_matches_of_one_attempt_per_hit() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
        let body = "q8w1e7r2t6y3u5i4o0pzA1b2C3d4E5f6G7h8I9j0KLm";
        let mut cases: Vec<String> = Vec::new();
        for unit in ["-sk_live_", "-mbk_", "-pk_live_", " sk_live_", "mbk_"] {
            cases.push(unit.repeat(5_000));
            // Real keys inside and right after the flood, and a flood that
            // ends in a run short enough to match.
            let mut s = unit.repeat(700);
            s.push_str(&format!(" sk_live_{body} "));
            s.push_str(&unit.repeat(300));
            s.push_str(&format!("\nmbk_{} ", &body[..20]));
            s.push_str(&unit.repeat(20));
            cases.push(s);
        }
        for (i, text) in cases.iter().enumerate() {
            let want = one_attempt_per_hit(&rules, text.as_bytes());
            // Keys glued inside a match (scan::nested) are a layer on top,
            // tested on their own.
            let key = |s: &BlobScan| {
                let mut v: Vec<_> = s
                    .matches
                    .iter()
                    .filter(|x| x.inside.is_none())
                    .map(|x| (x.rule, x.offset, x.secret.clone()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(key(&m.scan_bytes(text.as_bytes())), want, "case {i}");
            for chunk in [MIN_CHUNK, 5000, 12_345] {
                let streamed = m
                    .scan_reader(text.as_bytes(), chunk, &mut Vec::new())
                    .unwrap();
                assert_eq!(key(&streamed), want, "case {i}, chunk {chunk}");
            }
        }
    }

    #[test]
    fn keyword_floods_stay_linear_and_find_nothing() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
        let text = "mbk_".repeat(250_000);
        let scan = m.scan_bytes(text.as_bytes());
        // One candidate at the start (body = `mbk_mbk_…` up to 128 chars then
        // no boundary): none is reported as a match.
        assert!(scan.matches.is_empty());
    }

    #[test]
    fn binary_and_utf16_are_detected() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
        assert!(m.scan_bytes(b"PNG\0\0data").binary);
        let utf16 = utf16le(&format!("KEY={}\r\n", key20()));
        let scan = m.scan_bytes(&utf16);
        assert_eq!(scan.encoding, Encoding::Utf16);
        assert_eq!(scan.matches.len(), 1);
        assert_eq!(scan.matches[0].column, 5);
    }

    #[test]
    fn a_byte_order_mark_before_ascii_is_scanned_as_bytes() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
        for bom in [&b"\xFF\xFE"[..], b"\xFE\xFF"] {
            let mut text = bom.to_vec();
            text.extend_from_slice(format!("KEY={}\n", key20()).as_bytes());
            let scan = m.scan_bytes(&text);
            assert_eq!(scan.encoding, Encoding::Bytes);
            assert_eq!(scan.matches.len(), 1);
            assert_eq!(scan.matches[0].secret, key20());
            let streamed = m
                .scan_reader(&text[..], MIN_CHUNK, &mut Vec::new())
                .unwrap();
            assert_eq!(positions(&scan), positions(&streamed));
        }
    }

    #[test]
    fn a_utf16_file_is_streamed_whatever_its_size() {
        // Bigger than one streaming buffer: decoded as it is read, its last
        // key found at its decoded position.
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
        let filler = "filler text line\r\n".repeat(2_000);
        let text = format!("{filler}KEY={}\r\n", key20());
        let bytes = utf16le(&text);
        let scan = m
            .scan_reader(&bytes[..], MIN_CHUNK, &mut Vec::new())
            .unwrap();
        assert_eq!(scan.encoding, Encoding::Utf16);
        assert_eq!(scan.bytes, text.len() as u64);
        assert_eq!(scan.matches.len(), 1);
        assert_eq!((scan.matches[0].line, scan.matches[0].column), (2_001, 5));
        assert_eq!(positions(&scan), positions(&m.scan_bytes(&bytes)));
    }

    /// A config rule whose regex costs a lot per keyword hit.
    const SLOW: &str = r"(acme_(?:\w{1,20}\s*){1,50}b)";

    fn config_rule(pattern: &str) -> RuleSpec {
        let toml = format!(
            "[[rule]]\nid = \"acme-slow\"\nprovider = \"Acme\"\nname = \"Acme key\"\n\
             keywords = [\"acme_\"]\npattern = '''{pattern}'''\n\
             description = \"d\"\n[rule.rotation]\nurl = \"https://acme.test\"\nsteps = []\n"
        );
        let file: crate::rules::RuleFile = toml::from_str(&toml).unwrap();
        file.rule.into_iter().next().unwrap()
    }

    #[test]
    fn a_slow_config_rule_is_cut_at_its_budget_and_counted() {
        // About half a millisecond per hit: a PikeVM over the whole window.
        let spec = config_rule(SLOW);
        let rules = Arc::new(RuleSet::load(&[(".keyscan.toml".into(), vec![spec])]).unwrap());
        let ri = rules
            .rules
            .iter()
            .position(|r| r.id() == "acme-slow")
            .unwrap();
        assert!(!rules.rules[ri].builtin);
        let m = Matcher::with_limits(
            rules.clone(),
            Limits {
                config_rule_time_per_blob: Duration::from_millis(5),
                ..Limits::default()
            },
        );
        let text = format!("acme_{}\n", "ab".repeat(750)).repeat(400);
        let scan = m.scan_bytes(text.as_bytes());
        let cut = &scan.shortfall.rules_cut;
        assert_eq!(cut.len(), 1, "{cut:?}");
        assert_eq!((cut[0].rule, cut[0].reason), (ri, CutReason::BlobBudget));
        assert!(cut[0].hits_skipped > 0 && cut[0].hits_skipped < 400);
        // Built-in rules are never cut, and a fast config rule is not either.
        let fast = Arc::new(
            RuleSet::load(&[(
                ".keyscan.toml".into(),
                vec![config_rule(r"\b(acme_[a-z0-9]{20})\b")],
            )])
            .unwrap(),
        );
        let m = Matcher::with_limits(
            fast.clone(),
            Limits {
                config_rule_time_per_blob: Duration::from_secs(60),
                ..Limits::default()
            },
        );
        let scan = m.scan_bytes(text.as_bytes());
        assert!(scan.shortfall.is_empty(), "{:?}", scan.shortfall);
    }

    #[test]
    fn a_config_rule_out_of_scan_time_is_cut_on_later_blobs() {
        let rules =
            Arc::new(RuleSet::load(&[(".keyscan.toml".into(), vec![config_rule(SLOW)])]).unwrap());
        let m = Matcher::with_limits(
            rules.clone(),
            Limits {
                config_rule_time_per_scan: Duration::from_millis(5),
                ..Limits::default()
            },
        );
        let text = format!("acme_{}\n", "ab".repeat(750)).repeat(100);
        let mut reasons = Vec::new();
        for _ in 0..3 {
            let scan = m.scan_bytes(text.as_bytes());
            reasons.extend(scan.shortfall.rules_cut.iter().map(|c| c.reason));
        }
        assert!(reasons.contains(&CutReason::ScanBudget), "{reasons:?}");
    }

    #[test]
    fn a_lookbehind_rule_takes_the_leftmost_match_that_reaches_its_keyword() {
        let mut spec = config_rule(r"\b([a-z]{2,8}acme_[0-9]{4})\b");
        spec.lookbehind = 8;
        let rules = Arc::new(RuleSet::load(&[(".keyscan.toml".into(), vec![spec])]).unwrap());
        let m = Matcher::new(rules.clone());
        let scan = m.scan_bytes(b"x = zzacme_1234; yy qqqacme_99 wwacme_5678");
        let found: Vec<&str> = scan.matches.iter().map(|x| x.secret.as_str()).collect();
        assert_eq!(found, ["zzacme_1234", "wwacme_5678"]);
    }
}
