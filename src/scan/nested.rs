//! A key glued to the end of another match.
//!
//! Support tickets and logs redact a key and then paste the real one right
//! after the marker: `sk_live_xxx_REDACTED_xxx` immediately followed by
//! `sk_live_51…`. The rule's regex reads the whole run as one candidate, whose
//! random part is a placeholder, and `\b` keeps the glued keyword from
//! starting a match of its own. So when an accepted match holds one of its
//! rule's keywords past its first byte, the rule is tried once more, anchored
//! at that keyword in a haystack that starts there (no `\b` to the left) when
//! a word byte precedes it (where `\b` failed), and
//! a match is recorded as found *inside* the first one
//! ([`RawMatch::inside`](super::RawMatch::inside)). The judge keeps the
//! outer match when it is a key and the inner one when the outer is a
//! placeholder, never both.

use super::buffer::ScanState;
use super::{Matcher, RawMatch, WINDOW_AFTER};
use regex_automata::{Anchored, Input};

impl Matcher {
    /// Looks for a keyword of rule `ri` inside the secret at
    /// `buf[start..end]` (relative to `buf`, whose first byte is at absolute
    /// offset `buf_abs`) and records the rule's match there, if any.
    pub(crate) fn glued_match(
        &self,
        ri: usize,
        buf: &[u8],
        buf_abs: u64,
        (start, end): (usize, usize),
        st: &mut ScanState,
    ) {
        let rule = &self.rules.rules[ri];
        let Some((inner, keyword)) = rule
            .spec
            .keywords
            .iter()
            .filter_map(|k| {
                memchr::memmem::find_iter(&buf[start + 1..end], k.as_bytes())
                    .map(|p| start + 1 + p)
                    // Glued: a word byte before it, where `\b` kept the
                    // keyword from starting a match of its own. (After a
                    // `-` the keyword was a hit already, inside this match.)
                    .find(|&p| buf[p - 1].is_ascii_alphanumeric() || buf[p - 1] == b'_')
                    .map(|p| (p, k.as_str()))
            })
            .min()
        else {
            return;
        };
        let window_end = (inner + WINDOW_AFTER).min(buf.len());
        let hay = &buf[inner..window_end];
        let offset_of = |s: usize| buf_abs + (inner + s) as u64;
        // Every rule that owns the keyword gets its try, as at a keyword
        // hit (rules sharing `sk_live_` compete later, in the judge); the
        // outer matches of those rules lead here too, so each runs once.
        for (r2, other) in self.rules.rules.iter().enumerate() {
            if !other.spec.keywords.iter().any(|k| k == keyword) {
                continue;
            }
            let mut caps = other.regex().create_captures();
            other
                .regex()
                .search_captures(&Input::new(hay).anchored(Anchored::Yes), &mut caps);
            let Some(secret) = caps.get_group(1) else {
                continue;
            };
            let offset = offset_of(secret.start);
            let seen = st
                .out
                .matches
                .iter()
                .rev()
                .take(64)
                .any(|x| x.rule == r2 && x.offset == offset);
            if seen || st.out.matches.len() >= st.max_matches() {
                continue;
            }
            st.out.matches.push(RawMatch {
                rule: r2,
                secret: String::from_utf8_lossy(&hay[secret.start..secret.end]).into_owned(),
                offset,
                len: secret.end - secret.start,
                inside: Some(buf_abs + start as u64),
                ..RawMatch::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::RuleSet;
    use crate::scan::Matcher;

    #[test]
    fn a_key_glued_after_a_redaction_marker_is_a_match_of_its_own() {
        let m = Matcher::new(RuleSet::builtin().unwrap());
        let body: String = "q8W1e7R2t6Y3u5I4o0PzA1b2C3d4E5f6".repeat(4);
        let key = format!("sk_live_{}", &body[..99]);
        let text = format!("ticket: sk_live_xxx_REDACTED_xxx{key} thanks\n");
        let scan = m.scan_bytes(text.as_bytes());
        let inner: Vec<_> = scan.matches.iter().filter(|x| x.inside.is_some()).collect();
        assert!(!inner.is_empty());
        assert!(inner.iter().all(|x| x.secret == key));
        // Every rule owning `sk_live_` had its try, once: Stripe's too,
        // though its pattern cannot match the outer run.
        let rules: Vec<&str> = inner.iter().map(|x| m.rules().rules[x.rule].id()).collect();
        assert_eq!(rules.len(), 3, "{rules:?}");
        assert!(rules.contains(&"stripe-secret-key"));
        assert_eq!(inner[0].column, 33);
        assert_eq!(inner[0].inside, Some(8));
        // Streaming gives the same.
        let streamed = m
            .scan_reader(text.as_bytes(), crate::scan::MIN_CHUNK, &mut Vec::new())
            .unwrap();
        assert_eq!(streamed.matches.len(), scan.matches.len());
        // A plain key has nothing inside.
        let plain = m.scan_bytes(format!("k = \"{key}\"").as_bytes());
        assert!(plain.matches.iter().all(|x| x.inside.is_none()));
    }
}
