//! The identifier word list (`rules/identifiers.toml`), validated and
//! indexed for the judge's word-shape test.
//!
//! Validation is strict because the list decides what is *not* reported: an
//! entry with a digit, an upper-case letter or a duplicate is an error naming
//! the file and the entry, like a broken rule.

use super::spec::IdentifierSpec;
use crate::error::{Error, Result};
use std::collections::HashSet;

/// The word list, ready for lookups.
#[derive(Debug, Clone, Default)]
pub struct IdentifierWords {
    /// Words and abbreviations.
    words: HashSet<String>,
    /// Longest entry, in bytes: the word-break search looks no further.
    longest: usize,
    /// Declarator words (`define`, `function`, `int`, …).
    declarators: HashSet<String>,
}

impl IdentifierWords {
    /// Validates and indexes `spec`, read from `file`.
    pub fn new(file: &str, spec: &IdentifierSpec) -> Result<IdentifierWords> {
        let err = |field: &'static str, msg: String| Error::rule(file, None, field, msg);
        let mut words = HashSet::new();
        let mut longest = 0;
        for (field, list, min) in [
            ("words", &spec.words, 3usize),
            ("abbreviations", &spec.abbreviations, 2),
        ] {
            for w in list {
                if w.len() < min || !w.bytes().all(|b| b.is_ascii_lowercase()) {
                    return Err(err(
                        field,
                        format!("`{w}` must be {min} or more lowercase ASCII letters"),
                    ));
                }
                if !words.insert(w.clone()) {
                    return Err(err(field, format!("`{w}` is listed twice")));
                }
                longest = longest.max(w.len());
            }
        }
        let mut declarators = HashSet::new();
        for w in &spec.declarators {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(err(
                    "declarators",
                    format!("`{w}` must be a word of letters, digits and `_`"),
                ));
            }
            if !declarators.insert(w.clone()) {
                return Err(err("declarators", format!("`{w}` is listed twice")));
            }
        }
        Ok(IdentifierWords {
            words,
            longest,
            declarators,
        })
    }

    /// Whether `w` (lowercase) is a listed word or abbreviation.
    pub fn is_word(&self, w: &str) -> bool {
        self.words.contains(w)
    }

    /// Whether `w` is a declarator (`define`, `function`, `int`, …).
    pub fn is_declarator(&self, w: &str) -> bool {
        self.declarators.contains(w)
    }

    /// Whether lowercase `s` splits entirely into listed words (dynamic
    /// programming over the positions: linear in `s` times the longest word).
    pub fn breaks_into_words(&self, s: &str) -> bool {
        let n = s.len();
        if n == 0 || !s.is_ascii() {
            return false;
        }
        let mut ok = vec![false; n + 1];
        ok[0] = true;
        for end in 1..=n {
            let from = end.saturating_sub(self.longest);
            ok[end] = (from..end).any(|start| ok[start] && self.words.contains(&s[start..end]));
        }
        ok[n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(words: &[&str], abbr: &[&str]) -> IdentifierSpec {
        IdentifierSpec {
            words: words.iter().map(|s| s.to_string()).collect(),
            abbreviations: abbr.iter().map(|s| s.to_string()).collect(),
            declarators: vec!["define".into()],
        }
    }

    #[test]
    fn bad_entries_name_the_file_and_entry() {
        let e = IdentifierWords::new("rules/identifiers.toml", &spec(&["Hash"], &[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rules/identifiers.toml") && e.contains("`Hash`"),
            "{e}"
        );
        let e = IdentifierWords::new("f", &spec(&["hash", "hash"], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("listed twice"), "{e}");
        let e = IdentifierWords::new("f", &spec(&["ab"], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 or more"), "{e}");
        assert!(IdentifierWords::new("f", &spec(&["hash"], &["id"])).is_ok());
    }

    #[test]
    fn word_break() {
        let w = IdentifierWords::new(
            "f",
            &spec(&["too", "long", "prefix", "get"], &["lo", "fig"]),
        )
        .unwrap();
        assert!(w.breaks_into_words("toolongprefix"));
        assert!(w.breaks_into_words("getlofig"));
        assert!(!w.breaks_into_words("toolongprefixq"));
        assert!(!w.breaks_into_words(""));
    }
}
