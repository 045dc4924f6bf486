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
pub(crate) enum LiteralSearcher {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl LiteralSearcher {
    /// A searcher for `literals` (non-empty strings).
    pub(crate) fn new(literals: &[String]) -> Self {
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
    pub(crate) fn find(&self, hay: &[u8], from: usize) -> Option<aho_corasick::Match> {
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
}
