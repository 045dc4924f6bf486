//! Findings grouped by key: a person rotates a key once, however many files,
//! paths or commits hold it.
//!
//! Findings stay one per place everywhere a machine counts them (`--fail-on`,
//! allowlists, baselines, JSON `findings`, SARIF results); this module only
//! regroups a finished list for the reports that a person reads or that
//! describe keys:
//!
//! - A **key group** holds every finding about one key. A key is known by
//!   its fingerprint (`sha256(rule ‖ key)`: one rule, one key), and a
//!   finding of another rule at the very spot of another (path, line,
//!   column) with the same redacted key is about the same key (unless one
//!   rule has two keys there, which happens in history): that is how the derived
//!   `key-rotation-overdue` finding, which has a fingerprint of its own,
//!   joins the key it is about. Grouping never needs the raw key, so it
//!   works on the printable copies the binary renders (where the key is
//!   dropped unless `--show-secrets`).
//! - Its **places** are the distinct locations of the key (path, line,
//!   column, and the commit in history mode), worst severity first, then in
//!   path order; the group's fingerprint and rule are those of its worst
//!   place. A second finding at a place already taken (a derived check, or a
//!   second rule matching the same key at the same spot) is one of the
//!   group's **notes**, not another place.
//! - Findings without a key — audits of the repository's shape, such as a
//!   tracked `.env` or missing ignore lines — are not grouped: they stay one
//!   per place, in their own list.
//!
//! Groups come worst first, then in the path order of their first place.

use crate::finding::{Finding, Origin, Severity};
use crate::judge::overdue::RULE_ID as OVERDUE;
use std::collections::{HashMap, HashSet};

/// Every finding about one key.
#[derive(Debug, Clone)]
pub struct KeyGroup<'a> {
    /// The fingerprint of the worst place.
    pub fingerprint: &'a str,
    /// The rule of the worst place.
    pub rule_id: &'a str,
    /// The worst severity among places and notes.
    pub severity: Severity,
    /// The key's distinct places, worst first, then in path order. Never empty.
    pub places: Vec<&'a Finding>,
    /// Other findings about the key at one of its places
    /// (`key-rotation-overdue`), in the same order.
    pub notes: Vec<&'a Finding>,
}

impl<'a> KeyGroup<'a> {
    /// The worst place: the one a report shows in full.
    pub fn first(&self) -> &'a Finding {
        self.places[0]
    }
}

/// A finished list of findings, regrouped for people.
#[derive(Debug, Clone, Default)]
pub struct Grouped<'a> {
    /// One group per key, worst first.
    pub keys: Vec<KeyGroup<'a>>,
    /// Findings without a key (repository audits), one per place, worst first.
    pub repository: Vec<&'a Finding>,
}

impl Grouped<'_> {
    /// Places over all keys.
    pub fn places(&self) -> usize {
        self.keys.iter().map(|k| k.places.len()).sum()
    }

    /// `3 keys in 112 places` (`1 key in 1 place`).
    pub fn keys_text(&self) -> String {
        let (k, p) = (self.keys.len(), self.places());
        format!("{} in {}", plural(k, "key"), plural(p, "place"))
    }
}

/// The index of `f` in `findings`, the slice it was grouped from.
///
/// # Panics
/// When `f` is not an element of `findings`.
pub fn position(findings: &[Finding], f: &Finding) -> usize {
    let size = std::mem::size_of::<Finding>().max(1);
    let offset = (f as *const Finding as usize).wrapping_sub(findings.as_ptr() as usize) / size;
    assert!(
        findings.get(offset).is_some_and(|g| std::ptr::eq(g, f)),
        "a grouped finding comes from the list it was grouped from"
    );
    offset
}

/// `1 place`, `2 places`.
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Worst first, then path order; a derived check after the finding it is
/// about, so the key's own finding takes the place.
fn rank(f: &Finding) -> (std::cmp::Reverse<Severity>, bool, (&str, u64, u64, &str)) {
    (
        std::cmp::Reverse(f.severity),
        f.rule_id == OVERDUE,
        f.sort_key(),
    )
}

/// Where a finding is: two findings at one place are one place of a key.
fn place(f: &Finding) -> (&str, u64, u64, Option<&str>) {
    (
        &f.location.path,
        f.location.line,
        f.location.column,
        // The overdue check names the commit the key first entered history,
        // not the one that put it at this path: it never makes a place.
        f.commit
            .as_ref()
            .filter(|_| f.rule_id != OVERDUE)
            .map(|c| c.id.as_str()),
    )
}

/// Whether `f` is about a key: it names one (redacted) and is not an audit
/// of the repository's shape (key reuse names a key but is about files).
fn has_key(f: &Finding) -> bool {
    f.origin != Origin::Audit && (f.secret_redacted.is_some() || f.secret.is_some())
}

/// Groups `findings` by key.
pub fn group(findings: &[Finding]) -> Grouped<'_> {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| rank(a).cmp(&rank(b)));
    let (keyed, repository): (Vec<&Finding>, Vec<&Finding>) =
        sorted.into_iter().partition(|f| has_key(f));
    // Union-find over the keyed findings: one set per fingerprint, joined
    // where two findings sit at one spot with the same redacted key.
    let mut parent: Vec<usize> = (0..keyed.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    fn join(parent: &mut [usize], i: usize, j: usize) {
        let (a, b) = (root(parent, i), root(parent, j));
        // The earlier (worse) finding stays the root.
        parent[a.max(b)] = a.min(b);
    }
    let mut by_fingerprint: HashMap<&str, usize> = HashMap::new();
    type Spot<'a> = (&'a str, u64, u64, Option<&'a str>);
    let mut by_spot: HashMap<Spot<'_>, Vec<usize>> = HashMap::new();
    for (i, f) in keyed.iter().enumerate() {
        let first = *by_fingerprint.entry(&f.fingerprint).or_insert(i);
        join(&mut parent, i, first);
        let spot = (
            f.location.path.as_str(),
            f.location.line,
            f.location.column,
            f.secret_redacted.as_deref(),
        );
        by_spot.entry(spot).or_default().push(i);
    }
    // At one spot, a finding of another rule is about the same key — unless
    // the spot holds several keys (history: the same line in two versions,
    // two keys whose redacted forms agree), which one rule's fingerprints
    // tell apart: then nothing is joined there.
    for at in by_spot.values().filter(|at| at.len() > 1) {
        let fingerprints: HashSet<(&str, &str)> = at
            .iter()
            .map(|&i| (keyed[i].rule_id.as_str(), keyed[i].fingerprint.as_str()))
            .collect();
        let mut rules: HashMap<&str, usize> = HashMap::new();
        for (rule, _) in &fingerprints {
            *rules.entry(rule).or_default() += 1;
        }
        if rules.values().all(|&n| n == 1) {
            for &i in &at[1..] {
                join(&mut parent, at[0], i);
            }
        }
    }
    let mut index: HashMap<usize, usize> = HashMap::new();
    let mut members: Vec<Vec<&Finding>> = Vec::new();
    for (i, f) in keyed.iter().enumerate() {
        let r = root(&mut parent, i);
        let g = *index.entry(r).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[g].push(*f);
    }
    let mut keys: Vec<KeyGroup<'_>> = members.into_iter().map(key_group).collect();
    keys.sort_by(|a, b| rank(a.first()).cmp(&rank(b.first())));
    keys.sort_by_key(|k| std::cmp::Reverse(k.severity));
    Grouped { keys, repository }
}

/// One key's findings (already in [`rank`] order) as places and notes.
fn key_group(findings: Vec<&Finding>) -> KeyGroup<'_> {
    let mut seen = HashSet::new();
    let (mut places, mut notes) = (Vec::new(), Vec::new());
    // The key's own findings take places first; a derived check joins the
    // place its location names (or becomes a place when that one was
    // allowlisted away).
    for derived in [false, true] {
        for f in findings
            .iter()
            .filter(|f| (f.rule_id == OVERDUE) == derived)
        {
            let (path, line, column, commit) = place(f);
            let taken = if derived {
                seen.iter()
                    .any(|&(p, l, c, _)| (p, l, c) == (path, line, column))
            } else {
                !seen.insert((path, line, column, commit))
            };
            if taken {
                notes.push(*f);
            } else {
                if derived {
                    seen.insert((path, line, column, commit));
                }
                places.push(*f);
            }
        }
    }
    places.sort_by(|a, b| rank(a).cmp(&rank(b)));
    let first = places[0];
    KeyGroup {
        fingerprint: &first.fingerprint,
        rule_id: &first.rule_id,
        severity: findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(first.severity),
        places,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{CommitInfo, Context, Location};

    fn finding(rule: &str, secret: Option<&str>, path: &str, line: u64, sev: Severity) -> Finding {
        Finding {
            rule_id: rule.into(),
            provider: "Miniback".into(),
            title: "Miniback API key".into(),
            severity: sev,
            context: Context::Server,
            context_reason: None,
            origin: if secret.is_some() {
                Origin::File
            } else {
                Origin::Audit
            },
            location: Location {
                path: path.into(),
                line,
                column: 1,
                column_utf16: Some(1),
            },
            secret: secret.map(Into::into),
            secret_redacted: secret.map(|s| format!("mbk_{s}…")),
            fingerprint: format!("{rule}/{}", secret.unwrap_or(path)),
            message: String::new(),
            rotation_url: None,
            remediation: String::new(),
            snippet: None,
            snippet_raw: None,
            encoding: None,
            commit: None,
            source: None,
        }
    }

    #[test]
    fn one_group_per_key_worst_place_first() {
        let fs = vec![
            finding("k", Some("A"), "a.js", 1, Severity::High),
            finding("k", Some("B"), "b.js", 1, Severity::Medium),
            finding("k", Some("A"), "docs/x.md", 3, Severity::Medium),
            finding("k", Some("A"), "dist/app.js", 1, Severity::Critical),
            finding("dotenv-tracked", None, ".env", 0, Severity::Critical),
        ];
        let g = group(&fs);
        assert_eq!(g.keys.len(), 2);
        assert_eq!(g.keys_text(), "2 keys in 4 places");
        let a = &g.keys[0];
        assert_eq!((a.fingerprint, a.severity), ("k/A", Severity::Critical));
        let paths: Vec<&str> = a.places.iter().map(|f| f.location.path.as_str()).collect();
        assert_eq!(paths, ["dist/app.js", "a.js", "docs/x.md"]);
        assert_eq!(g.keys[1].places.len(), 1);
        assert_eq!(g.repository.len(), 1);
        assert!(a.notes.is_empty());
    }

    #[test]
    fn positions_point_into_the_grouped_list() {
        let fs = vec![
            finding("k", Some("A"), "b.js", 1, Severity::Medium),
            finding("k", Some("A"), "a.js", 1, Severity::High),
        ];
        let g = group(&fs);
        let at: Vec<usize> = g.keys[0].places.iter().map(|f| position(&fs, f)).collect();
        assert_eq!(at, [1, 0]);
        let other = fs[0].clone();
        assert!(std::panic::catch_unwind(|| position(&fs, &other)).is_err());
    }

    #[test]
    fn groups_order_by_worst_severity_then_path() {
        let fs = vec![
            finding("k", Some("A"), "z.js", 1, Severity::Medium),
            finding("k", Some("B"), "a.js", 1, Severity::Medium),
            finding("k", Some("C"), "m.js", 1, Severity::High),
        ];
        let g = group(&fs);
        let fps: Vec<&str> = g.keys.iter().map(|k| k.fingerprint).collect();
        assert_eq!(fps, ["k/C", "k/B", "k/A"]);
    }

    #[test]
    fn history_places_are_per_commit_and_overdue_is_a_note() {
        let commit = |id: &str| CommitInfo {
            id: id.into(),
            author: "a".into(),
            date: "d".into(),
            in_head: true,
        };
        let mut v1 = finding("k", Some("A"), "a.js", 1, Severity::High);
        v1.commit = Some(commit("c1"));
        let mut v2 = v1.clone();
        v2.commit = Some(commit("c2"));
        let mut overdue = finding(OVERDUE, Some("A"), "a.js", 1, Severity::Medium);
        overdue.commit = Some(commit("c0"));
        let fs = vec![overdue.clone(), v1, v2];
        let g = group(&fs);
        assert_eq!(g.keys.len(), 1);
        assert_eq!(g.keys[0].places.len(), 2);
        assert_eq!(g.keys[0].notes.len(), 1);
        assert_eq!(g.keys[0].notes[0].rule_id, OVERDUE);
        assert_eq!(g.keys[0].rule_id, "k");

        // With the key's own places allowlisted, the note is the place.
        let only = [overdue];
        let g = group(&only);
        assert_eq!((g.keys[0].places.len(), g.keys[0].notes.len()), (1, 0));
        assert_eq!(g.keys[0].rule_id, OVERDUE);
    }

    #[test]
    fn printable_copies_without_the_raw_key_group_alike() {
        let mut overdue = finding(OVERDUE, Some("A"), "a.js", 1, Severity::Medium);
        overdue.commit = Some(CommitInfo {
            id: "c0".into(),
            author: "a".into(),
            date: "d".into(),
            in_head: true,
        });
        let mut fs = vec![
            finding("k", Some("A"), "a.js", 1, Severity::High),
            finding("k", Some("A"), "b.js", 1, Severity::High),
            finding("k", Some("B"), "c.js", 1, Severity::High),
            // Another key at the overdue key's spot would be another key.
            finding("k", Some("C"), "a.js", 1, Severity::High),
            overdue,
        ];
        for f in &mut fs {
            f.secret = None;
        }
        let g = group(&fs);
        assert_eq!(g.keys_text(), "3 keys in 4 places");
        let a = g.keys.iter().find(|k| k.fingerprint == "k/A").unwrap();
        assert_eq!((a.places.len(), a.notes.len()), (2, 1));
        assert!(g.repository.is_empty());
    }

    #[test]
    fn two_keys_at_one_spot_in_history_stay_apart() {
        // Two versions of a line, two keys with the same redacted form, and
        // an overdue check on one of them: which one is ambiguous, so
        // nothing is joined.
        let mut a = finding("k", Some("A"), "a.js", 1, Severity::High);
        let mut b = finding("k", Some("B"), "a.js", 1, Severity::High);
        b.secret_redacted = a.secret_redacted.clone();
        let mut overdue = finding(OVERDUE, Some("A"), "a.js", 1, Severity::Medium);
        overdue.secret_redacted = a.secret_redacted.clone();
        for (f, c) in [(&mut a, "c1"), (&mut b, "c2"), (&mut overdue, "c0")] {
            f.commit = Some(CommitInfo {
                id: c.into(),
                author: "a".into(),
                date: "d".into(),
                in_head: true,
            });
        }
        let fs = [a, b, overdue];
        let g = group(&fs);
        assert_eq!(g.keys.len(), 3, "{:#?}", g.keys);
    }

    #[test]
    fn two_rules_on_one_spot_are_one_place() {
        let fs = vec![
            finding("miniback-api-key", Some("A"), "a.js", 1, Severity::High),
            finding("miniback-key-in-url", Some("A"), "a.js", 1, Severity::High),
        ];
        let g = group(&fs);
        assert_eq!(g.keys_text(), "1 key in 1 place");
        assert_eq!(g.keys[0].rule_id, "miniback-api-key");
        assert_eq!(g.keys[0].notes[0].rule_id, "miniback-key-in-url");
    }

    #[test]
    fn a_reuse_audit_with_a_redacted_key_is_a_repository_finding() {
        let mut reuse = finding(
            "key-reused-across-environments",
            None,
            ".env",
            2,
            Severity::Medium,
        );
        reuse.secret_redacted = Some("mbk_…".into());
        let fs = [reuse];
        let g = group(&fs);
        assert!(g.keys.is_empty());
        assert_eq!(g.repository.len(), 1);
        assert_eq!(g.keys_text(), "0 keys in 0 places");
    }
}
