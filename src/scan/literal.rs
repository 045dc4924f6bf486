//! The literal prefilter: every rule keyword (and every context word) in one
//! leftmost-longest multi-literal search.
//!
//! [`Keywords`] maps each distinct keyword to the rules that own it and to
//! the shorter keywords that are its prefixes (a leftmost-longest search
//! reports only the longest keyword starting at a position, so the shorter
//! ones starting there are implied). [`LiteralSearcher`] does the searching.

use crate::rules::RuleSet;
use aho_corasick::{packed, AhoCorasick, MatchKind};

/// Every distinct rule keyword, with its owners.
pub(crate) struct Keywords {
    /// The search over the keywords.
    pub(crate) searcher: LiteralSearcher,
    /// Per keyword pattern: the rules that own it.
    pub(crate) owners: Vec<Vec<usize>>,
    /// Per keyword pattern: the other keywords that are its prefixes.
    pub(crate) prefixes: Vec<Vec<usize>>,
    /// Per pattern: `Some` for an encoded form of a keyword
    /// ([`super::decode`]), which no rule owns: a hit is decoded instead.
    pub(crate) encoding: Vec<Option<super::decode::Encoded>>,
}

impl Keywords {
    /// Collects the keywords of every rule.
    pub(crate) fn new(rules: &RuleSet) -> Keywords {
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
        let mut prefixes: Vec<Vec<usize>> = patterns
            .iter()
            .map(|p| {
                (0..patterns.len())
                    .filter(|&q| patterns[q] != *p && p.starts_with(patterns[q].as_str()))
                    .collect()
            })
            .collect();
        let mut encoding = vec![None; patterns.len()];
        // Encoded forms of the keywords that hold no other keyword
        // (`?api_key=mbk_` holds `mbk_`: decoding `mbk_` finds it too).
        let plain = patterns.len();
        for i in 0..plain {
            let holds_another =
                (0..plain).any(|j| j != i && patterns[i].contains(patterns[j].as_str()));
            if holds_another {
                continue;
            }
            for (form, enc) in super::decode::encoded_forms(&patterns[i]) {
                if !patterns.contains(&form) {
                    patterns.push(form);
                    owners.push(Vec::new());
                    prefixes.push(Vec::new());
                    encoding.push(Some(enc));
                }
            }
        }
        Keywords {
            searcher: LiteralSearcher::new(&patterns),
            owners,
            prefixes,
            encoding,
        }
    }

    /// The rules a hit of keyword pattern `pid` concerns: its own and those
    /// of the keywords that are its prefixes.
    pub(crate) fn rules_of(&self, pid: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(pid)
            .chain(self.prefixes[pid].iter().copied())
            .flat_map(move |p| self.owners[p].iter().copied())
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
///
/// Teddy takes at most 64 literals, and the keywords with their encoded forms
/// (base64, `%XX`, `\uXXXX`, `\xXX` of each) are about 80. Most encoded forms
/// share a short piece: every escaped form of `sk_live_` holds an escaped `_`
/// (`%5F`, `\u005f`, …). So the keywords are searched through **anchors**, a
/// smaller set of literals such that every keyword holds one: Teddy finds the
/// leftmost anchor, then the full automaton runs on the few bytes around it
/// ([`Anchored`]). A profile of a history scan had 40 % of all samples in the
/// automaton's search before this.
pub(crate) enum LiteralSearcher {
    /// Teddy over the literals themselves (few enough).
    Packed(packed::Searcher),
    /// Teddy over anchors, verified by an automaton near each anchor hit.
    Anchored(Anchored),
    /// The automaton alone (no SIMD, or anchors that do not fit Teddy).
    Automaton(AhoCorasick),
}

/// Keyword search through anchors; see [`LiteralSearcher`].
///
/// Correctness rests on one invariant: every keyword `P` holds an anchor
/// occurrence at most `back` bytes from its start. A keyword match starting
/// at `s >= from` then has an anchor at some `a` with `s <= a <= s + back`,
/// so no match starts before `a0 - back`, where `a0` is the leftmost anchor
/// at or after `from`; and a match starting at or before `a0` ends before
/// `a0 + longest`. The automaton run over `[a0 - back, a0 + longest)` thus
/// sees every match that starts at or before `a0`, whole. If it finds none
/// there, `a0` belongs to no match and the search resumes after it.
pub(crate) struct Anchored {
    anchors: packed::Searcher,
    verify: AhoCorasick,
    /// The largest offset of a keyword's first anchor within the keyword.
    back: usize,
    /// The longest keyword.
    longest: usize,
}

impl Anchored {
    /// Anchors for `literals`, or `None` when Teddy cannot take them.
    fn new(literals: &[String]) -> Option<Anchored> {
        let anchors = anchors_for(literals);
        // Where each literal's first anchor starts (`None` if one held no
        // anchor, which `anchors_for` rules out: then no anchored search).
        let back = literals
            .iter()
            .map(|l| anchors.iter().filter_map(|a| l.find(a.as_str())).min())
            .collect::<Option<Vec<usize>>>()?
            .into_iter()
            .max()?;
        let longest = literals.iter().map(String::len).max()?;
        let searcher = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(&anchors)
            .build()?;
        // It only ever runs over a few dozen bytes: a contiguous NFA, not a
        // DFA, which took longer to build than a pre-commit run's whole scan.
        let verify = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(literals)
            .ok()?;
        Some(Anchored {
            anchors: searcher,
            verify,
            back,
            longest,
        })
    }

    fn find(&self, hay: &[u8], mut from: usize) -> Option<aho_corasick::Match> {
        let origin = from;
        while from < hay.len() {
            let a0 = self
                .anchors
                .find_in(hay, aho_corasick::Span::from(from..hay.len()))?
                .start();
            let lo = a0.saturating_sub(self.back).max(origin);
            let hi = (a0 + self.longest).min(hay.len());
            let input = aho_corasick::Input::new(hay).span(lo..hi);
            if let Some(m) = self.verify.find(input) {
                if m.start() <= a0 {
                    return Some(m);
                }
            }
            from = a0 + 1;
        }
        None
    }
}

/// Anchors for `literals`: a set of literals such that each of `literals`
/// holds at least one. A literal that holds another literal of the set is
/// covered by it; an escaped form is anchored on its first escape of a
/// punctuation byte (`%5F`, `\u005f`, `\x5f`), which all escaped forms of
/// one separator share, widened to [`ANCHOR_MIN`] bytes of the literal
/// (`k%5F`); anything else is its own anchor. Anchors that hold another
/// anchor are dropped.
fn anchors_for(literals: &[String]) -> Vec<String> {
    let mut picked: Vec<String> = Vec::new();
    for lit in literals {
        let holds_other = literals
            .iter()
            .any(|o| o != lit && o.len() < lit.len() && lit.contains(o.as_str()));
        if holds_other {
            continue;
        }
        let anchor = match punctuation_escape(lit) {
            Some(esc) => widen(lit, esc),
            None => lit.as_str(),
        }
        .to_string();
        if !picked.contains(&anchor) {
            picked.push(anchor);
        }
    }
    let all = picked.clone();
    picked.retain(|a| !all.iter().any(|b| b != a && a.contains(b.as_str())));
    picked
}

/// The shortest anchor worth giving Teddy. Teddy fingerprints the first
/// `min(4, shortest pattern)` bytes of its patterns; one 3-byte anchor
/// (`%5F`) makes every pattern's fingerprint 3 bytes, and on a real tree of
/// minified JavaScript that search took 1.8× as long as with 4-byte
/// fingerprints (false candidates Teddy must verify), more than the
/// whole regex work of a scan.
const ANCHOR_MIN: usize = 4;

/// `piece` (a sub-slice of `lit`) widened within `lit` to at least
/// [`ANCHOR_MIN`] bytes: bytes before it first (the escape of a separator
/// usually ends a keyword, `mbk%5F`), then after it, never cutting a
/// character. A piece already long enough is kept as it is.
fn widen<'a>(lit: &'a str, piece: &'a str) -> &'a str {
    if piece.len() >= ANCHOR_MIN || lit.len() < ANCHOR_MIN {
        return piece;
    }
    let start = piece.as_ptr() as usize - lit.as_ptr() as usize;
    let end = start + piece.len();
    let mut lo = end.saturating_sub(ANCHOR_MIN).min(start);
    while !lit.is_char_boundary(lo) {
        lo -= 1;
    }
    let mut hi = (lo + ANCHOR_MIN).max(end).min(lit.len());
    while !lit.is_char_boundary(hi) {
        hi += 1;
    }
    &lit[lo..hi]
}

/// The first `%XX`, `\uXXXX` or `\xXX` escape in `s` whose byte is ASCII
/// punctuation.
fn punctuation_escape(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let hex = |from: usize, n: usize| -> Option<u32> {
        let digits = s.get(from..from + n)?;
        if digits.bytes().all(|d| d.is_ascii_hexdigit()) {
            u32::from_str_radix(digits, 16).ok()
        } else {
            None
        }
    };
    let punct = |v: u32| char::from_u32(v).is_some_and(|c| c.is_ascii_punctuation());
    for i in 0..b.len() {
        let (len, value) = match b[i] {
            b'%' => (3, hex(i + 1, 2)),
            b'\\' if b.get(i + 1) == Some(&b'u') => (6, hex(i + 2, 4)),
            b'\\' if b.get(i + 1) == Some(&b'x') => (4, hex(i + 2, 2)),
            _ => continue,
        };
        if value.is_some_and(punct) {
            return Some(&s[i..i + len]);
        }
    }
    None
}

impl LiteralSearcher {
    /// A searcher for `literals` (non-empty strings).
    pub(crate) fn new(literals: &[String]) -> Self {
        let packed = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostLongest)
            .builder()
            .extend(literals)
            .build();
        if let Some(searcher) = packed {
            return LiteralSearcher::Packed(searcher);
        }
        if let Some(anchored) = Anchored::new(literals) {
            return LiteralSearcher::Anchored(anchored);
        }
        LiteralSearcher::Automaton(
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(literals)
                .expect("literals are validated non-empty"),
        )
    }

    /// The leftmost-longest literal starting at or after `from`.
    pub(crate) fn find(&self, hay: &[u8], from: usize) -> Option<aho_corasick::Match> {
        if from >= hay.len() {
            return None;
        }
        match self {
            LiteralSearcher::Packed(s) => s.find_in(hay, aho_corasick::Span::from(from..hay.len())),
            LiteralSearcher::Anchored(a) => a.find(hay, from),
            LiteralSearcher::Automaton(ac) => {
                ac.find(aho_corasick::Input::new(hay).span(from..hay.len()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_keyword_serves_every_rule_that_owns_it() {
        let rules = RuleSet::builtin().unwrap();
        let kw = Keywords::new(&rules);
        let hay = b"x = sk_live_abc";
        let hit = kw.searcher.find(hay, 0).unwrap();
        assert_eq!(hit.start(), 4);
        let ids: Vec<&str> = kw
            .rules_of(hit.pattern().as_usize())
            .map(|r| rules.rules[r].id())
            .collect();
        assert_eq!(
            ids,
            [
                "urbackend-secret-key",
                "stripe-secret-key",
                "unrecognised-live-secret-key"
            ]
        );
        assert!(kw.searcher.find(hay, 5).is_none());
    }

    /// The built-in keywords are too many for Teddy alone: they must be
    /// searched through anchors, not the slow automaton.
    #[test]
    fn builtin_keywords_use_the_anchored_search() {
        let kw = Keywords::new(&RuleSet::builtin().unwrap());
        assert!(
            matches!(kw.searcher, LiteralSearcher::Anchored(_)),
            "expected the anchored Teddy search"
        );
    }

    #[test]
    fn escaped_forms_are_anchored_on_their_escaped_punctuation() {
        let lits: Vec<String> = [
            "mbk_",
            "?api_key=mbk_",
            "mbk%5F",
            "%6D%62%6B%5F",
            r"sk\u005flive\u005f",
            r"\x6d\x62\x6b\x5f",
            "bWJrX",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut anchors = anchors_for(&lits);
        anchors.sort();
        assert_eq!(
            anchors,
            ["B%5F", r"\u005f", r"\x5f", "bWJrX", "k%5F", "mbk_"]
        );
    }

    /// A short escape is widened to Teddy's 4-byte fingerprint within its
    /// literal: backwards first, forwards when it starts the literal.
    #[test]
    fn short_anchors_are_widened_within_their_literal() {
        assert_eq!(widen("mbk%5F", &"mbk%5F"[3..]), "k%5F");
        assert_eq!(widen("%5Fab", &"%5Fab"[..3]), "%5Fa");
        assert_eq!(widen("a%5F", &"a%5F"[1..]), "a%5F");
        assert_eq!(widen("%5F", "%5F"), "%5F");
        assert_eq!(widen(r"x\u005f", &r"x\u005f"[1..]), r"\u005f");
        // A multi-byte character is never cut.
        assert_eq!(widen("é%5F", &"é%5F"[2..]), "é%5F");
        assert_eq!(widen("aé%5F", &"aé%5F"[3..]), "é%5F");
        assert_eq!(widen("%5Fé", &"%5Fé"[..3]), "%5Fé");
    }

    /// Every built-in anchor is at least Teddy's widest fingerprint long.
    #[test]
    fn builtin_anchors_are_four_bytes_or_more() {
        let anchors = anchors_for(&builtin_literals());
        assert!(anchors.iter().all(|a| a.len() >= ANCHOR_MIN), "{anchors:?}");
    }

    /// Reference: the plain automaton over every literal.
    fn reference(lits: &[String]) -> AhoCorasick {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(lits)
            .unwrap()
    }

    fn builtin_literals() -> Vec<String> {
        let rules = RuleSet::builtin().unwrap();
        let mut lits: Vec<String> = Vec::new();
        for r in &rules.rules {
            for k in &r.spec.keywords {
                if !lits.contains(k) {
                    lits.push(k.clone());
                }
            }
        }
        let plain = lits.clone();
        for k in &plain {
            for (form, _) in crate::scan::decode::encoded_forms(k) {
                if !lits.contains(&form) {
                    lits.push(form);
                }
            }
        }
        lits
    }

    use proptest::prelude::*;

    proptest! {
        /// The anchored search finds exactly what the automaton finds, at
        /// every starting offset, on haystacks built from pieces of the
        /// keywords (whole, cut short, overlapping) and noise.
        #[test]
        fn anchored_search_equals_the_automaton(
            pieces in proptest::collection::vec((0usize..200, 0usize..40, 0usize..40, "[a-zA-Z0-9_%\\\\]{0,6}"), 0..12),
        ) {
            let lits = builtin_literals();
            let anchored = Anchored::new(&lits).expect("anchors fit Teddy");
            let reference = reference(&lits);
            let mut hay = Vec::new();
            for (which, cut_front, cut_back, noise) in pieces {
                let lit = lits[which % lits.len()].as_bytes();
                let a = cut_front.min(lit.len());
                let b = lit.len().saturating_sub(cut_back % 3).max(a);
                hay.extend_from_slice(&lit[a..b]);
                hay.extend_from_slice(noise.as_bytes());
                // Teddy has a minimum haystack length; pad sometimes.
                if cut_back > 30 {
                    hay.extend_from_slice(b" padding padding padding padding ");
                }
            }
            for from in 0..=hay.len() {
                let want = if from < hay.len() {
                    reference.find(aho_corasick::Input::new(&hay).span(from..hay.len()))
                } else {
                    None
                };
                let got = if from < hay.len() { anchored.find(&hay, from) } else { None };
                prop_assert_eq!(
                    got.map(|m| (m.start(), m.end(), m.pattern())),
                    want.map(|m| (m.start(), m.end(), m.pattern())),
                    "from {} in {:?}", from, String::from_utf8_lossy(&hay)
                );
            }
        }
    }
}
