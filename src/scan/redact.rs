//! Redaction of free text that keyscan prints but that is not a finding.
//!
//! An error quoting a config value, a note quoting an invalid `.gitignore`
//! line, a path: any of them may carry a key. [`Matcher::redact_secrets`]
//! runs the real matcher over the text and cuts every key it finds to its
//! prefix and `…`. (A finding's own secret is redacted by the judge, which
//! keeps a few characters of it; free text keeps none.)

use super::{Matcher, ScanState};
use std::borrow::Cow;

impl Matcher {
    /// `text` with every secret the rules find replaced by its prefix and
    /// `…`, so that no output path can carry a raw key.
    pub fn redact_secrets<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let bytes = text.as_bytes();
        // Straight to the buffer scan: a message with a NUL is not "binary";
        // and every key counts, however many there are.
        let mut st = ScanState::new(self, usize::MAX);
        self.scan_buffer(bytes, 0, 0, bytes.len(), false, &mut st);
        if st.out.matches.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0usize;
        for m in &st.out.matches {
            let start = m.offset as usize;
            if start < at {
                continue; // the same key seen by a second rule
            }
            let (prefix, _) = self.rules().rules[m.rule].split_secret(&m.secret);
            out.extend_from_slice(&bytes[at..start]);
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice("…".as_bytes());
            at = start + m.len;
        }
        out.extend_from_slice(&bytes[at..]);
        Cow::Owned(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use std::sync::Arc;

    #[test]
    fn messages_are_redacted() {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let m = Matcher::new(rules.clone());
        let key = "mbk_".to_string() + "q8w1e7r2t6y3u5i4o0pz";
        let msg = format!("unknown severity `{key}` (expected …)\0 and {key}");
        assert_eq!(
            m.redact_secrets(&msg),
            "unknown severity `mbk_…` (expected …)\0 and mbk_…"
        );
        assert!(matches!(m.redact_secrets("nothing here"), Cow::Borrowed(_)));
    }
}
