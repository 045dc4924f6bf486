//! One buffer's keyword hits, run through their rules' regexes.
//!
//! [`Matcher::scan_buffer`] finds keyword hits in the part of a buffer it may
//! accept, runs the rules that own each keyword anchored at the hit, and
//! records for each new match its line, column, snippet context and inline
//! allow marker while the bytes are still in the buffer.
//!
//! # Runs of failing hits
//!
//! An anchored attempt reads as far as its regex can go before it fails:
//! for `\b(sk_live_[A-Za-z0-9_-]{20,256})(?:[^A-Za-z0-9_-]|$)` in a line of
//! `-sk_live_-sk_live_…` that is 256 body bytes, and a hit every 9 bytes
//! starts another attempt over the same bytes — about 30 regex steps per byte,
//! 100× the cost of an `mbk_mbk_…` flood, where `\b` fails at the first byte.
//! So when a rule's attempt fails and the next hit for it comes within
//! [`WINDOW_AFTER`] bytes, one unanchored lazy-DFA search over the next
//! [`SKIP_AHEAD`] + [`WINDOW_AFTER`] bytes finds where the leftmost match
//! starts: every hit before it is settled without an attempt. Only the hit
//! where a match starts is run anchored, so matches are exactly those of one
//! attempt per hit. Should the lazy DFA give up (a pattern whose states
//! explode), the rule goes back to one attempt per hit for the blob.

use super::lines::LineCounter;
use super::{
    BlobScan, CutReason, Matcher, RawMatch, RuleCut, ALLOW_MARKER, SNIPPET_CONTEXT, WINDOW_AFTER,
    WINDOW_BEFORE,
};
use crate::rules::Rule;
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{hybrid, Anchored, Input};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How far past a hit one skip-ahead search settles hits.
pub(crate) const SKIP_AHEAD: usize = 4 * WINDOW_AFTER;
/// How far along a line, on each side of a secret, the allow marker is looked for.
const ALLOW_REACH: usize = 4096;

/// The lazy DFA used to settle runs of failing hits for `rule`; `None` for
/// rules with a `lookbehind` (their attempts are not anchored at the hit) or
/// a pattern the lazy DFA cannot take.
pub(crate) fn skip_regex(rule: &Rule) -> Option<hybrid::regex::Regex> {
    if rule.spec.lookbehind > 0 {
        return None;
    }
    hybrid::regex::Regex::builder()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .dfa(
            hybrid::dfa::Config::new()
                .cache_capacity(1 << 20)
                // Give up rather than thrash: the caller falls back to one
                // anchored attempt per hit.
                .minimum_cache_clear_count(Some(3))
                .minimum_bytes_per_state(Some(10)),
        )
        .build(&rule.spec.pattern)
        .ok()
}

/// Mutable state of one blob's scan.
///
/// The per-rule vectors are empty until the blob's first keyword hit
/// ([`ScanState::rules_ready`]): most files of a tree have none, and the
/// walk makes a state per file.
pub(crate) struct ScanState {
    pub(crate) lines: LineCounter,
    /// Per rule: absolute end of its last accepted match, so hits inside a
    /// match already reported are skipped.
    last_end: Vec<u64>,
    pub(crate) out: BlobScan,
    /// Per rule: its captures, made at the rule's first attempt (making
    /// them compiles the rule's regex, which built-in rules defer until a
    /// keyword of theirs is found: see `Rule::regex`).
    caps: Vec<Option<Captures>>,
    max_matches: usize,
    /// Per rule: absolute offset of the last hit whose attempt failed.
    last_fail: Vec<Option<u64>>,
    /// Per rule: absolute range of positions known to start no match.
    clear: Vec<(u64, u64)>,
    /// Per rule: the skip-ahead DFA's cache, made on first use.
    skip_cache: Vec<Option<hybrid::regex::Cache>>,
    /// Per rule: the skip-ahead DFA gave up on this blob.
    skip_gave_up: Vec<bool>,
    /// Per rule: time spent on this blob (config rules only).
    spent: Vec<Duration>,
    /// Per rule: the rule was cut on this blob.
    cut: Vec<Option<RuleCut>>,
    /// Encoded keywords: what was decoded already.
    pub(crate) decode: super::decode::DecodeState,
}

impl ScanState {
    /// Fresh state for one blob, keeping at most `max_matches` matches.
    pub(crate) fn new(m: &Matcher, max_matches: usize) -> ScanState {
        ScanState {
            lines: LineCounter::new(),
            last_end: Vec::new(),
            out: BlobScan {
                context_words: vec![false; m.context_words.len()],
                ..BlobScan::default()
            },
            caps: Vec::new(),
            max_matches,
            last_fail: Vec::new(),
            clear: Vec::new(),
            skip_cache: Vec::new(),
            skip_gave_up: Vec::new(),
            spent: Vec::new(),
            cut: Vec::new(),
            decode: Default::default(),
        }
    }

    /// Rule `ri`'s captures (see [`ScanState::caps`]).
    fn caps_of(&mut self, rule: &Rule, ri: usize) -> &mut Captures {
        self.caps[ri].get_or_insert_with(|| rule.regex().create_captures())
    }

    /// Makes the per-rule state, once per blob (see [`ScanState`]).
    fn rules_ready(&mut self, m: &Matcher) {
        if !self.last_end.is_empty() {
            return;
        }
        let n = m.rules.rules.len();
        self.last_end = vec![0; n];
        self.caps = (0..n).map(|_| None).collect();
        self.last_fail = vec![None; n];
        self.clear = vec![(0, 0); n];
        self.skip_cache = (0..n).map(|_| None).collect();
        self.skip_gave_up = vec![false; n];
        self.spent = vec![Duration::ZERO; n];
        self.cut = vec![None; n];
    }

    /// Most matches kept for this blob.
    pub(crate) fn max_matches(&self) -> usize {
        self.max_matches
    }

    /// The blob's result; charges config rules' time to the scan.
    pub(crate) fn finish(mut self, m: &Matcher) -> BlobScan {
        for (ri, spent) in self.spent.iter().enumerate() {
            if !spent.is_zero() {
                let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
                m.spent[ri].fetch_add(nanos, Ordering::Relaxed);
            }
        }
        self.out.shortfall.rules_cut = self.cut.into_iter().flatten().collect();
        self.out
    }
}

/// What a skip-ahead search settled about a hit.
enum Skip {
    /// No match starts at the hit.
    NoMatch,
    /// A match may start at the hit: attempt it.
    Attempt,
}

impl Matcher {
    /// Finds keyword hits starting in `[accept_from, accept_end)` of `buf`
    /// (whose first byte is at absolute offset `buf_abs`) and runs their rules.
    /// `more_follows`: the stream goes on past `buf`.
    pub(crate) fn scan_buffer(
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
            let Some(hit) = self.keywords.searcher.find(hay, pos) else {
                break;
            };
            let start = hit.start();
            if start >= accept_end {
                break;
            }
            for ri in self.keywords.rules_of(hit.pattern().as_usize()) {
                self.try_rule(ri, buf, buf_abs, start, more_follows, st);
            }
            if let Some(enc) = self.keywords.encoding[hit.pattern().as_usize()] {
                self.decode_hit(enc, buf, buf_abs, start, st);
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
        // UTF-16 columns (what SARIF viewers count), counted forward from
        // the previous match on the same line so a long line costs its
        // length once, not once per match.
        let mut utf16_from: Option<(u64, usize, u64)> = None;
        for i in first_new..st.out.matches.len() {
            let offset = st.out.matches[i].offset;
            let (line, column) = st.lines.locate(buf, buf_abs, offset);
            let rel = (offset - buf_abs) as usize;
            let line_start_rel = rel.saturating_sub((column - 1) as usize);
            let column_utf16 = match utf16_from {
                Some((l, from, col)) if l == line && from <= rel => {
                    Some(col + utf16_len(&buf[from..rel]))
                }
                // The line starts in this buffer: count from its start.
                _ if (column - 1) as usize <= rel => Some(1 + utf16_len(&buf[line_start_rel..rel])),
                _ => None,
            };
            utf16_from = column_utf16.map(|c| (line, rel, c));
            let before_from = line_start_rel.max(rel.saturating_sub(WINDOW_BEFORE));
            let m = &mut st.out.matches[i];
            m.line = line;
            m.column = column;
            m.column_utf16 = column_utf16;
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

    /// Runs rule `ri` at keyword hit `hit` (relative to `buf`), within the
    /// rule's time budget when it comes from a config.
    fn try_rule(
        &self,
        ri: usize,
        buf: &[u8],
        buf_abs: u64,
        hit: usize,
        more_follows: bool,
        st: &mut ScanState,
    ) {
        st.rules_ready(self);
        if buf_abs + (hit as u64) < st.last_end[ri] {
            return;
        }
        let rule = &self.rules.rules[ri];
        if rule.builtin {
            self.attempt(ri, buf, buf_abs, hit, more_follows, st);
            return;
        }
        if let Some(cut) = &mut st.cut[ri] {
            cut.hits_skipped += 1;
            return;
        }
        let scan_total = Duration::from_nanos(self.scan_spent(ri)) + st.spent[ri];
        let reason = if st.spent[ri] >= self.limits.config_rule_time_per_blob {
            Some(CutReason::BlobBudget)
        } else if scan_total >= self.limits.config_rule_time_per_scan {
            Some(CutReason::ScanBudget)
        } else {
            None
        };
        if let Some(reason) = reason {
            st.cut[ri] = Some(RuleCut {
                rule: ri,
                reason,
                hits_skipped: 1,
            });
            return;
        }
        let t = Instant::now();
        self.attempt(ri, buf, buf_abs, hit, more_follows, st);
        st.spent[ri] += t.elapsed();
    }

    fn attempt(
        &self,
        ri: usize,
        buf: &[u8],
        buf_abs: u64,
        hit: usize,
        more_follows: bool,
        st: &mut ScanState,
    ) {
        let rule = &self.rules.rules[ri];
        let abs = buf_abs + hit as u64;
        let window_end = (hit + WINDOW_AFTER).min(buf.len());
        if rule.spec.lookbehind == 0 {
            let (from, to) = st.clear[ri];
            if from <= abs && abs < to {
                return;
            }
            let dense = st.last_fail[ri].is_some_and(|p| abs - p < WINDOW_AFTER as u64);
            if dense && !st.skip_gave_up[ri] {
                if let Skip::NoMatch = self.skip_ahead(ri, buf, buf_abs, hit, more_follows, st) {
                    st.last_fail[ri] = Some(abs);
                    return;
                }
            }
            let input = Input::new(buf)
                .span(hit..window_end)
                .anchored(Anchored::Yes);
            rule.regex().search_captures(&input, st.caps_of(rule, ri));
            if !self.accept(ri, buf, buf_abs, st) {
                st.last_fail[ri] = Some(abs);
            }
            return;
        }
        // A lookbehind rule: the leftmost match starting in
        // [hit - lookbehind, hit] that ends past the keyword. One unanchored
        // search finds the leftmost start; a match ending before the keyword
        // moves the search on past its start.
        let mut at = hit.saturating_sub(rule.spec.lookbehind);
        while at <= hit {
            let input = Input::new(buf).span(at..window_end);
            let caps = st.caps_of(rule, ri);
            rule.regex().search_captures(&input, caps);
            let Some(whole) = caps.get_match() else {
                return;
            };
            if whole.start() > hit {
                return;
            }
            if whole.end() > hit {
                self.accept(ri, buf, buf_abs, st);
                return;
            }
            at = whole.start() + 1;
        }
    }

    /// Settles hit `hit` of rule `ri` with one unanchored search that also
    /// settles the hits after it (see the module docs).
    fn skip_ahead(
        &self,
        ri: usize,
        buf: &[u8],
        buf_abs: u64,
        hit: usize,
        more_follows: bool,
        st: &mut ScanState,
    ) -> Skip {
        let skip = self.skip[ri].get_or_init(|| skip_regex(&self.rules.rules[ri]));
        let Some(re) = skip else {
            return Skip::Attempt;
        };
        let end = (hit + WINDOW_AFTER + SKIP_AHEAD).min(buf.len());
        // Positions before `reach` have their whole attempt window (and the
        // byte after it, for look-around) inside `..end`; at the true end of
        // the blob every window ends there.
        let reach = if end == buf.len() && !more_follows {
            end
        } else {
            end.saturating_sub(WINDOW_AFTER)
        };
        if reach <= hit {
            return Skip::Attempt;
        }
        let cache = st.skip_cache[ri].get_or_insert_with(|| re.create_cache());
        let settled_to = match re.try_search(cache, &Input::new(buf).span(hit..end)) {
            Err(_) => {
                st.skip_gave_up[ri] = true;
                return Skip::Attempt;
            }
            Ok(Some(m)) if m.start() == hit => return Skip::Attempt,
            Ok(Some(m)) => m.start().min(reach),
            Ok(None) => reach,
        };
        st.clear[ri] = (buf_abs + hit as u64, buf_abs + settled_to as u64);
        Skip::NoMatch
    }

    /// Records the match in `st.caps[ri]`, if any; true if there was one.
    fn accept(&self, ri: usize, buf: &[u8], buf_abs: u64, st: &mut ScanState) -> bool {
        let Some(caps) = &st.caps[ri] else {
            return false;
        };
        let (Some(whole), Some(secret)) = (caps.get_match(), caps.get_group(1)) else {
            return false;
        };
        st.last_end[ri] = buf_abs + whole.end() as u64;
        if st.out.matches.len() >= st.max_matches {
            st.out.shortfall.matches_dropped += 1;
            return true;
        }
        st.out.matches.push(RawMatch {
            rule: ri,
            secret: String::from_utf8_lossy(&buf[secret.start..secret.end]).into_owned(),
            offset: buf_abs + secret.start as u64,
            len: secret.end - secret.start,
            line: 0,
            column: 0,
            column_utf16: None,
            line_before: Vec::new(),
            after: Vec::new(),
            inline_allow: false,
            inside: None,
            encoded: None,
        });
        self.glued_match(ri, buf, buf_abs, (secret.start, secret.end), st);
        true
    }
}

/// UTF-16 code units in `bytes` read as UTF-8 (an invalid sequence counts as
/// one U+FFFD, as a lossy decoder shows it).
fn utf16_len(bytes: &[u8]) -> u64 {
    if bytes.is_ascii() {
        return bytes.len() as u64;
    }
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| c.len_utf16() as u64)
        .sum()
}
