//! Baselines: "these leaks are known; tell me only about new ones".
//!
//! `keyscan --write-baseline FILE` records every current finding as one line
//! of JSON (JSON Lines):
//!
//! ```text
//! {"fingerprint":"4d764dfd2169a1108ce417a7ba4658b0","rule_id":"miniback-api-key","path":"api/server.js"}
//! ```
//!
//! and `keyscan --baseline FILE` reports only findings that no line matches.
//!
//! What is recorded, and what deliberately is not:
//!
//! - the **fingerprint** (`sha256(rule ‖ secret)`, never the secret) and the
//!   **rule id**: the identity of a leaked key;
//! - the **path**, because the same known key copied into a *new* file —
//!   say, a client bundle — is a new exposure that must be reported;
//! - **no** line numbers, commit ids or timestamps, so an entry survives
//!   edits above the key, rebases and squash merges, and two branches that
//!   touch different leaks never produce conflicting lines. Lines are sorted
//!   and unique, so regenerating a baseline gives a minimal diff.
//!
//! Matching: the rule and fingerprint must be equal, and the paths equal or
//! one a `/`-suffix of the other (`web/src/a.js` matches `src/a.js`). Tree
//! scans report paths relative to the scan root while staged and history
//! scans report them relative to the repository root, so this is what lets
//! one baseline written at the repository root serve a scan of a subfolder,
//! a pre-commit hook and a history scan alike.

use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::fs::{read_limited, write_replace, Links};
use crate::summary::Summary;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One baseline line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// The finding's rule id.
    pub rule_id: String,
    /// The finding's path (`/`-separated).
    pub path: String,
}

impl Entry {
    /// The entry recording `f`.
    pub fn of(f: &Finding) -> Entry {
        Entry {
            fingerprint: f.fingerprint.clone(),
            rule_id: f.rule_id.clone(),
            path: f.location.path.clone(),
        }
    }

    /// Sort key: path first, so a file reads like the tree.
    fn key(&self) -> (&str, &str, &str) {
        (&self.path, &self.rule_id, &self.fingerprint)
    }
}

/// Whether two paths name the same file as seen from different roots.
fn same_file(a: &str, b: &str) -> bool {
    let a = a.strip_prefix("./").unwrap_or(a);
    let b = b.strip_prefix("./").unwrap_or(b);
    let suffix = |long: &str, short: &str| {
        !short.is_empty()
            && long.len() > short.len()
            && long.ends_with(short)
            && long.as_bytes()[long.len() - short.len() - 1] == b'/'
    };
    a == b || suffix(a, b) || suffix(b, a)
}

/// serde_json's message without its " at line 1 column N" suffix: each
/// entry is one line, and the caller reports the file's line and column.
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_string(),
        None => text,
    }
}

/// A loaded baseline.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Paths recorded per (rule id, fingerprint).
    known: HashMap<(String, String), Vec<String>>,
}

impl Baseline {
    /// Reads and parses a baseline file.
    pub fn load(path: &Path) -> Result<Baseline> {
        let err = |message: String| Error::Config {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message,
        };
        let bytes = read_limited(path, MAX_BASELINE_BYTES, Links::Follow)
            .map_err(|e| err(format!("cannot read baseline: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| err("cannot read baseline: not valid UTF-8".into()))?;
        Baseline::parse(path, &text)
    }

    /// Parses baseline text (JSON Lines; blank lines are ignored). Errors name
    /// the file, line and column.
    pub fn parse(path: &Path, text: &str) -> Result<Baseline> {
        let mut known: HashMap<(String, String), Vec<String>> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let e: Entry = serde_json::from_str(line).map_err(|err| Error::Config {
                path: path.to_path_buf(),
                line: Some(i + 1),
                column: Some(err.column().max(1)),
                message: format!("invalid baseline entry: {}", without_position(&err)),
            })?;
            known
                .entry((e.rule_id, e.fingerprint))
                .or_default()
                .push(e.path);
        }
        Ok(Baseline { known })
    }

    /// Whether the baseline records `f`.
    pub fn contains(&self, f: &Finding) -> bool {
        self.known
            .get(&(f.rule_id.clone(), f.fingerprint.clone()))
            .is_some_and(|paths| paths.iter().any(|p| same_file(p, &f.location.path)))
    }

    /// Drops the findings the baseline records, counts them in
    /// `summary.suppressed.baseline` and recounts the severities.
    pub fn apply(&self, findings: &mut Vec<Finding>, summary: &mut Summary) {
        let before = findings.len();
        findings.retain(|f| !self.contains(f));
        summary.suppressed.baseline += (before - findings.len()) as u64;
        summary.count_findings(findings);
    }
}

/// Writes `findings` as a baseline: one sorted, unique JSON object per line.
pub fn write(findings: &[Finding], out: &mut dyn Write) -> io::Result<usize> {
    let entries: BTreeSet<Entry> = findings.iter().map(Entry::of).collect();
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.key().cmp(&b.key()));
    for e in &sorted {
        serde_json::to_writer(&mut *out, e)?;
        writeln!(out)?;
    }
    Ok(sorted.len())
}

/// Largest baseline file read (about 400,000 entries); a bigger one is an error.
pub const MAX_BASELINE_BYTES: u64 = 64 * 1024 * 1024;

/// Writes a baseline file, naming it on error. Returns the number of entries.
/// The file is replaced through a temporary file and a rename (see
/// `write_replace`): never truncated half-way, never written through a
/// symlink.
pub fn write_file(findings: &[Finding], path: &Path) -> Result<usize> {
    let io_err = |e: io::Error| Error::Io {
        path: PathBuf::from(path),
        source: e,
    };
    let mut buf = Vec::new();
    let n = write(findings, &mut buf).map_err(io_err)?;
    write_replace(path, &buf).map_err(io_err)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Context, Location, Origin, Severity};

    fn finding(rule: &str, fp: &str, path: &str) -> Finding {
        Finding {
            rule_id: rule.into(),
            provider: "Miniback".into(),
            title: "t".into(),
            severity: Severity::High,
            context: Context::Server,
            context_reason: None,
            origin: Origin::File,
            location: Location {
                path: path.into(),
                line: 3,
                column: 7,
                column_utf16: Some(7),
            },
            secret: Some("mbk_secretsecretsecret".into()),
            secret_redacted: Some("mbk_secr…et".into()),
            fingerprint: fp.into(),
            message: String::new(),
            rotation_url: None,
            remediation: String::new(),
            snippet: None,
            snippet_raw: None,
            commit: None,
            source: None,
            encoding: None,
        }
    }

    #[test]
    fn round_trips_sorted_unique_and_secret_free() {
        let fs = vec![
            finding("r", "bb", "z.js"),
            finding("r", "aa", "a.js"),
            finding("r", "aa", "a.js"),
        ];
        let mut out = Vec::new();
        assert_eq!(write(&fs, &mut out).unwrap(), 2);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"fingerprint\":\"aa\",\"rule_id\":\"r\",\"path\":\"a.js\"}\n{\"fingerprint\":\"bb\",\"rule_id\":\"r\",\"path\":\"z.js\"}\n"
        );
        assert!(!text.contains("secret") && !text.contains("\"line\""));
        let b = Baseline::parse(Path::new("b.jsonl"), &text).unwrap();
        assert!(b.contains(&fs[0]) && b.contains(&fs[1]));
        assert!(!b.contains(&finding("other-rule", "aa", "a.js")));
        assert!(!b.contains(&finding("r", "aa", "elsewhere.js")));
    }

    #[test]
    fn paths_match_across_roots() {
        assert!(same_file("web/src/a.js", "src/a.js"));
        assert!(same_file("src/a.js", "web/src/a.js"));
        assert!(same_file("./a.js", "a.js"));
        assert!(!same_file("web/xsrc/a.js", "src/a.js"));
        assert!(!same_file("a.js", ""));
    }

    #[test]
    fn apply_counts_and_recounts() {
        let b = Baseline::parse(
            Path::new("b"),
            "{\"fingerprint\":\"aa\",\"rule_id\":\"r\",\"path\":\"a.js\"}\n\n",
        )
        .unwrap();
        let mut fs = vec![finding("r", "aa", "a.js"), finding("r", "bb", "a.js")];
        let mut summary = Summary::default();
        summary.count_findings(&fs);
        b.apply(&mut fs, &mut summary);
        assert_eq!(fs.len(), 1);
        assert_eq!(summary.suppressed.baseline, 1);
        assert_eq!(summary.findings_by_severity.high, 1);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let text = "{\"fingerprint\":\"aa\",\"rule_id\":\"r\",\"path\":\"a.js\"}\n{\"fingerprint\":\"aa\"\n";
        let e = Baseline::parse(Path::new("keyscan.baseline"), text)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("keyscan.baseline:2:"), "{e}");
        let e = Baseline::parse(
            Path::new("b"),
            "{\"fingerprint\":\"a\",\"rule_id\":\"r\",\"path\":\"p\",\"line\":3}",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("b:1:") && e.contains("unknown field `line`"),
            "{e}"
        );
    }
}
