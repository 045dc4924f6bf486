//! What a finding may show of a key: the redacted form, a fingerprint that
//! identifies it without revealing it, and a snippet of the line with every
//! key in it redacted.

use crate::rules::Rule;
use crate::scan::RawMatch;
use sha2::{Digest, Sha256};

/// `sha256(rule_id ‖ 0x00 ‖ secret)`, first 16 bytes in hex: stable across
/// moves and modes, useless for recovering the secret.
pub fn fingerprint(rule_id: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0u8]);
    h.update(secret.as_bytes());
    let digest = h.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The prefix plus at most the first 4 and last 2 characters of the random part.
pub fn redact(rule: &Rule, secret: &str) -> String {
    let (prefix, body) = rule.split_secret(secret);
    let chars: Vec<char> = body.chars().collect();
    if chars.len() < 12 {
        return format!("{prefix}…");
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{prefix}{head}…{tail}")
}

/// The byte spans of a blob's matches, sorted by start, so that finding the
/// matches near one secret is a binary search: a file with 100,000 keys must
/// not cost 100,000² comparisons.
pub(crate) struct Spans {
    /// (start, end) of every match, sorted.
    sorted: Vec<(u64, u64)>,
    /// Longest match: nothing starting more than this before a point can
    /// reach it.
    max_len: u64,
}

impl Spans {
    pub(crate) fn new(matches: &[RawMatch]) -> Self {
        let mut sorted: Vec<(u64, u64)> = matches
            .iter()
            .map(|m| (m.offset, m.offset + m.len as u64))
            .collect();
        sorted.sort_unstable();
        let max_len = matches.iter().map(|m| m.len as u64).max().unwrap_or(0);
        Spans { sorted, max_len }
    }

    /// Spans that may overlap `[from, to)`.
    fn near(&self, from: u64, to: u64) -> &[(u64, u64)] {
        let lo = self
            .sorted
            .partition_point(|&(s, _)| s < from.saturating_sub(self.max_len));
        let hi = self.sorted.partition_point(|&(s, _)| s < to);
        &self.sorted[lo..hi.max(lo)]
    }
}

/// Redacted secret, redacted snippet and raw snippet. Any other match of the
/// same blob that falls into the snippet is redacted (or cut off) too, so a
/// snippet never carries a second, unredacted key.
pub(crate) fn snippets(rule: &Rule, m: &RawMatch, all: &Spans) -> (String, String, String) {
    let redacted = redact(rule, &m.secret);
    let before_start = m
        .line_before
        .len()
        .saturating_sub(crate::scan::SNIPPET_CONTEXT);
    let mut before: &[u8] = &m.line_before[before_start..];
    let mut cut_before = before_start > 0;
    let mut after: &[u8] = &m.after;
    let before_abs = m.offset - before.len() as u64;
    let after_abs = m.offset + m.len as u64;
    for &(o_start, o_end) in all.near(before_abs, after_abs + after.len() as u64) {
        if o_start == m.offset {
            continue;
        }
        if o_end > before_abs && o_start < m.offset {
            // Keep only what follows the other secret.
            let cut = (o_end.min(m.offset) - before_abs) as usize;
            before = &before[cut.min(before.len())..];
            cut_before = true;
        }
        if o_start < after_abs + after.len() as u64 && o_end > after_abs {
            let cut = o_start.saturating_sub(after_abs) as usize;
            after = &after[..cut.min(after.len())];
        }
    }
    let b = String::from_utf8_lossy(before);
    let b = b.trim_start();
    let a = String::from_utf8_lossy(after);
    let a = a.trim_end();
    let lead = if cut_before { "…" } else { "" };
    (
        redacted.clone(),
        format!("{lead}{b}{redacted}{a}"),
        format!("{lead}{b}{}{a}", m.secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    #[test]
    fn redaction_keeps_prefix_four_and_two() {
        let set = RuleSet::builtin().unwrap();
        let r = set.get("miniback-api-key").unwrap();
        assert_eq!(
            redact(r, &format!("mbk_{}", "Q7fXa9b8c7d6e5f4g39a")),
            "mbk_Q7fX…9a"
        );
        assert_eq!(redact(r, "mbk_short"), "mbk_…");
    }

    #[test]
    fn fingerprints_are_stable_and_rule_scoped() {
        let a = fingerprint("miniback-api-key", "mbk_x");
        assert_eq!(a, fingerprint("miniback-api-key", "mbk_x"));
        assert_ne!(a, fingerprint("miniback-key-in-url", "mbk_x"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("mbk"));
    }
}
