//! `key-rotation-overdue`: a key that has sat in the repository for more than
//! 90 days and is still there.
//!
//! The providers' guides recommend rotating keys at least every 90 days. A
//! history scan knows when each key first entered the history (the committer
//! date of the oldest scanned commit that holds it — the committer date,
//! because that is when the commit was made; an author date survives
//! rebases and cherry-picks and can be much older than the commit) and whether
//! it is still in HEAD. This is not a regex rule: it is derived from the
//! findings of a history scan, after judgement and allowlists, so a key that
//! was judged a placeholder or allowlisted never becomes "overdue".
//!
//! **Which clock.** The age is measured up to the *earlier* of the scan's
//! clock and HEAD's committer date. A key counts as overdue only when it is
//! older than 90 days by both: a machine with a wrong clock cannot make a
//! fresh key overdue, and re-scanning an old checkout does not report a key
//! that had been in the repository for a week when the checkout was made.
//! The age printed is that smaller one, in whole days.

use crate::facts::history::KeyAges;
use crate::finding::{Finding, Origin, Severity};
use std::collections::HashMap;

/// Rule-like id of the finding, usable in allowlists.
pub const RULE_ID: &str = "key-rotation-overdue";
/// Days after which a key still in HEAD is overdue for rotation.
pub const MAX_AGE_DAYS: i64 = 90;
const DAY: i64 = 86_400;

/// The age in whole days of a key first seen at `first`, or `None` when it
/// is not overdue. `now` is the scan's clock (seconds since the epoch).
pub fn overdue_days(first: i64, head_time: Option<i64>, now: i64) -> Option<i64> {
    let until = now.min(head_time?);
    let age = until - first;
    (age > MAX_AGE_DAYS * DAY).then_some(age / DAY)
}

/// One `key-rotation-overdue` finding per key of `findings` that is still in
/// HEAD and older than [`MAX_AGE_DAYS`]; placed where the key is in HEAD.
/// Publishable keys (info severity) are left out: they are public by design.
pub fn rotation_overdue(findings: &[Finding], ages: &KeyAges, now: i64) -> Vec<Finding> {
    let mut by_secret: HashMap<&str, &Finding> = HashMap::new();
    for f in findings {
        if f.origin != Origin::Commit || f.severity <= Severity::Info || f.rule_id == RULE_ID {
            continue;
        }
        let Some(secret) = f.secret.as_deref() else {
            continue;
        };
        if !ages.in_head.contains(secret) {
            continue;
        }
        let here = ages
            .at_head
            .contains(&(f.location.path.clone(), secret.to_string()));
        match by_secret.get(secret) {
            Some(prev)
                if ages
                    .at_head
                    .contains(&(prev.location.path.clone(), secret.to_string()))
                    || !here => {}
            _ => {
                by_secret.insert(secret, f);
            }
        }
    }
    let mut out = Vec::new();
    for (secret, f) in by_secret {
        let Some(first) = ages.first_seen.get(secret) else {
            continue;
        };
        let Some(days) = overdue_days(first.time, ages.head_time, now) else {
            continue;
        };
        let mut commit = first.commit.clone();
        commit.in_head = true;
        let short = &commit.id[..commit.id.len().min(12)];
        out.push(Finding {
            rule_id: RULE_ID.to_string(),
            provider: f.provider.clone(),
            title: format!("{} not rotated for over {MAX_AGE_DAYS} days", f.title),
            severity: Severity::Medium,
            context: f.context,
            context_reason: None,
            origin: Origin::Commit,
            location: f.location.clone(),
            secret: f.secret.clone(),
            secret_redacted: f.secret_redacted.clone(),
            fingerprint: super::fingerprint(RULE_ID, secret),
            message: format!(
                "This key first entered git history {days} days ago (commit {short} on {}) and is still in HEAD. Keys should be rotated at least every {MAX_AGE_DAYS} days.",
                commit.date
            ),
            rotation_url: f.rotation_url.clone(),
            remediation: f.remediation.clone(),
            snippet: f.snippet.clone(),
            snippet_raw: f.snippet_raw.clone(),
            commit: Some(commit),
            source: f.source.clone(),
            encoding: f.encoding.clone(),
        });
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::history::FirstSeen;
    use crate::finding::{CommitInfo, Context, Location};

    fn finding(path: &str, secret: &str, sev: Severity) -> Finding {
        Finding {
            rule_id: "miniback-api-key".into(),
            provider: "Miniback".into(),
            title: "Miniback API key".into(),
            severity: sev,
            context: Context::Server,
            context_reason: None,
            origin: Origin::Commit,
            location: Location {
                path: path.into(),
                line: 1,
                column: 1,
                column_utf16: Some(1),
            },
            secret: Some(secret.into()),
            secret_redacted: Some("mbk_…".into()),
            fingerprint: "f".into(),
            message: String::new(),
            rotation_url: None,
            remediation: "1. rotate".into(),
            snippet: None,
            snippet_raw: None,
            commit: None,
            source: None,
            encoding: None,
        }
    }

    fn ages(secret: &str, first: i64, head: i64, at: &str) -> KeyAges {
        let mut a = KeyAges {
            head_time: Some(head),
            ..KeyAges::default()
        };
        a.first_seen.insert(
            secret.into(),
            FirstSeen {
                time: first,
                commit: CommitInfo {
                    id: "a".repeat(40),
                    author: "A <a@x>".into(),
                    date: "2020-01-01T00:00:00Z".into(),
                    in_head: false,
                },
            },
        );
        a.in_head.insert(secret.into());
        a.at_head.insert((at.into(), secret.into()));
        a
    }

    #[test]
    fn age_uses_the_earlier_of_clock_and_head() {
        let first = 1_000 * DAY;
        assert_eq!(
            overdue_days(first, Some(first + 100 * DAY), first + 200 * DAY),
            Some(100)
        );
        // HEAD committed a week after the key: not overdue, whatever the clock says.
        assert_eq!(
            overdue_days(first, Some(first + 7 * DAY), first + 900 * DAY),
            None
        );
        // A clock behind HEAD (skew) cannot make it overdue either.
        assert_eq!(
            overdue_days(first, Some(first + 900 * DAY), first + 30 * DAY),
            None
        );
        assert_eq!(overdue_days(first, None, first + 900 * DAY), None);
        assert_eq!(
            overdue_days(first, Some(first + 90 * DAY), first + 90 * DAY),
            None
        );
    }

    #[test]
    fn one_finding_per_key_placed_at_head() {
        let s = "mbk_k1";
        let fs = vec![
            finding("old/config.js", s, Severity::High),
            finding("src/config.js", s, Severity::High),
            finding("pub.js", "pk_live_x", Severity::Info),
        ];
        let a = ages(s, 0, 400 * DAY, "src/config.js");
        let out = rotation_overdue(&fs, &a, 500 * DAY);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rule_id, RULE_ID);
        assert_eq!(out[0].severity, Severity::Medium);
        assert_eq!(out[0].location.path, "src/config.js");
        assert!(
            out[0].message.contains("400 days ago"),
            "{}",
            out[0].message
        );
        assert!(out[0].commit.as_ref().unwrap().in_head);

        let mut gone = a.clone();
        gone.in_head.clear();
        assert!(rotation_overdue(&fs, &gone, 500 * DAY).is_empty());
    }
}
