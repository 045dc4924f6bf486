//! The literal prefilter: every rule keyword (and every context word) in one
//! leftmost-longest multi-literal search.
//!
//! [`Keywords`] maps each distinct keyword to the rules that own it and to
//! the shorter keywords that are its prefixes (a leftmost-longest search
//! reports only the longest keyword starting at a position, so the shorter
//! ones starting there are implied). [`LiteralSearcher`] does the searching.

use crate::rules::RuleSet;
use aho_corasick::{packed, AhoCorasick, Anchored, Input, MatchKind, StartKind};

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
/// ([`super::decode::encoded_forms`]) are more (82 for the built-in rules):
/// the automaton fallback then ran at ~0.6 GB/s and was a third of a tree
/// scan's CPU time. So when the literals are too many, Teddy searches their
/// distinct *prefixes* instead ([`Prefixed`]) and an anchored automaton
/// checks, at each prefix hit, which literal (if any) starts there — about
/// ten times faster than the automaton alone on a `node_modules`.
pub(crate) enum LiteralSearcher {
    Packed(packed::Searcher),
    Prefixed(Prefixed),
    Automaton(AhoCorasick),
}

/// Teddy over the distinct prefixes of the literals, and an anchored
/// automaton over the literals themselves.
///
/// Every occurrence of a literal starts with an occurrence of its prefix, so
/// the leftmost prefix hit at which some literal starts is where the
/// leftmost literal starts, and the anchored leftmost-longest automaton
/// gives the longest literal there: the same match as an unanchored
/// leftmost-longest search.
pub(crate) struct Prefixed {
    prefixes: packed::Searcher,
    literals: AhoCorasick,
}

/// Longest and shortest prefix length [`Prefixed`] tries (longer prefixes
/// give fewer false candidates, but more distinct prefixes).
const PREFIX_LENGTHS: std::ops::RangeInclusive<usize> = 3..=8;

fn teddy<P: AsRef<[u8]>>(literals: &[P]) -> Option<packed::Searcher> {
    packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostLongest)
        .builder()
        .extend(literals)
        .build()
}

fn automaton(literals: &[String], start: StartKind) -> AhoCorasick {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .start_kind(start)
        .build(literals)
        .expect("literals are validated non-empty")
}

impl Prefixed {
    /// Teddy over the longest prefixes (of at most 8 bytes) that keep it
    /// within its literal limit; `None` when no prefix length does (or the
    /// CPU has no Teddy).
    fn new(literals: &[String]) -> Option<Self> {
        let prefixes = PREFIX_LENGTHS.rev().find_map(|len| {
            let mut prefixes: Vec<&[u8]> = literals
                .iter()
                .map(|l| &l.as_bytes()[..l.len().min(len)])
                .collect();
            prefixes.sort_unstable();
            prefixes.dedup();
            teddy(&prefixes)
        })?;
        Some(Prefixed {
            prefixes,
            literals: automaton(literals, StartKind::Anchored),
        })
    }

    fn find(&self, hay: &[u8], mut from: usize) -> Option<aho_corasick::Match> {
        while from < hay.len() {
            let hit = self
                .prefixes
                .find_in(hay, aho_corasick::Span::from(from..hay.len()))?;
            let at = Input::new(hay)
                .span(hit.start()..hay.len())
                .anchored(Anchored::Yes);
            if let Some(m) = self.literals.find(at) {
                return Some(m);
            }
            from = hit.start() + 1;
        }
        None
    }
}

impl LiteralSearcher {
    /// A searcher for `literals` (non-empty strings).
    pub(crate) fn new(literals: &[String]) -> Self {
        if let Some(searcher) = teddy(literals) {
            return LiteralSearcher::Packed(searcher);
        }
        match Prefixed::new(literals) {
            Some(p) => LiteralSearcher::Prefixed(p),
            None => LiteralSearcher::Automaton(automaton(literals, StartKind::Unanchored)),
        }
    }

    /// The leftmost-longest literal starting at or after `from`.
    pub(crate) fn find(&self, hay: &[u8], from: usize) -> Option<aho_corasick::Match> {
        if from >= hay.len() {
            return None;
        }
        match self {
            LiteralSearcher::Packed(s) => s.find_in(hay, aho_corasick::Span::from(from..hay.len())),
            LiteralSearcher::Prefixed(p) => p.find(hay, from),
            LiteralSearcher::Automaton(ac) => ac.find(Input::new(hay).span(from..hay.len())),
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

    #[test]
    fn the_built_in_keywords_are_searched_by_prefix_with_teddy_where_the_cpu_has_it() {
        let kw = Keywords::new(&RuleSet::builtin().unwrap());
        if teddy(&["ab"]).is_some() {
            assert!(
                matches!(kw.searcher, LiteralSearcher::Prefixed(_)),
                "more literals than Teddy takes: searched by prefix"
            );
        }
    }

    #[test]
    fn prefix_search_finds_what_the_automaton_finds() {
        // Literals sharing prefixes (and prefixes of each other), more than
        // Teddy takes, searched in pseudo-random text built from their pieces.
        let mut literals: Vec<String> = Vec::new();
        for a in ["mbk", "sk", "pk", "%6d", "\\u00", "c2t"] {
            for b in ["_", "%5f", "\\u005f", "_live_", "x", "_l"] {
                for c in ["", "7", "zz"] {
                    literals.push(format!("{a}{b}{c}"));
                }
            }
        }
        literals.sort();
        literals.dedup();
        assert!(literals.len() > 64 && teddy(&literals).is_none());
        let Some(prefixed) = Prefixed::new(&literals) else {
            return; // No Teddy on this CPU: nothing to compare.
        };
        let plain = automaton(&literals, StartKind::Unanchored);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let pieces = [
            "mbk", "sk", "_", "%5f", "\\u00", "5f", "_live_", "zz", "7", "c2", "t", "%6d", " ",
            "\n", "a",
        ];
        for _ in 0..500 {
            let hay: String = (0..next(40)).map(|_| pieces[next(pieces.len())]).collect();
            let hay = hay.as_bytes();
            for from in 0..=hay.len() {
                let want = if from >= hay.len() {
                    None
                } else {
                    plain.find(Input::new(hay).span(from..hay.len()))
                };
                let got = if from >= hay.len() {
                    None
                } else {
                    prefixed.find(hay, from)
                };
                assert_eq!(got, want, "{:?} from {from}", String::from_utf8_lossy(hay));
            }
        }
    }
}
