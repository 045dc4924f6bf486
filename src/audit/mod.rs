//! Audits: checks on the repository's shape rather than on bytes.
//!
//! Both platforms' security guides rest on one habit: keys live in `.env`
//! files and those files never reach git. The audits check that habit the
//! way git itself decides it — libgit2's ignore rules and index, see
//! [`oracle`] — and report through the same [`Finding`] type as key matches,
//! so reports, `--fail-on`, allowlists and fingerprints treat them alike:
//!
//! | rule id | severity | origin | what |
//! |---|---|---|---|
//! | `gitignore-env-coverage` | medium; high when a tracked or unignored dotenv file there holds a secret key | audit | a project root where git would not ignore `.env`, `.env.local`, … ([`gitignore`]) |
//! | `dotenv-tracked` | critical with a secret key in it, else low | file | a non-template dotenv file in git's index |
//! | `dotenv-not-ignored` | high with a secret key in it, else low | file | a dotenv file on disk, untracked and not ignored |
//! | `secret-file-tracked` | critical with a key in it, else high | file | `secrets.json` or `config/keys.js` in git's index |
//! | `secret-file-not-ignored` | high | file | such a file on disk, untracked and not ignored |
//! | `key-reused-across-environments` | medium | audit | one key in the dotenv files of two environments ([`dotenv`]) |
//!
//! Audit findings have line 0 when they are about a whole file or folder, no
//! secret, and a fingerprint that is a hash of the rule id and the path (or,
//! for reuse, of the key's own fingerprint) — stable, never a secret.
//!
//! Audits read facts and write findings; they never edit a finding. In tree
//! mode [`tree_findings`] reads [`TreeFacts`] (which files git tracks or
//! ignores, which project roots lack coverage — gathered before judgement)
//! plus which files hold a key; `--fix` ([`fix`]) turns the same facts into
//! `.gitignore` lines ([`ignore_edits`]). Staged mode uses the pure
//! [`dotenv::staged_file_findings`] and [`gitignore::coverage_dropped`]; every
//! mode runs [`dotenv::reuse_findings`] on the judge's key sightings.

pub mod dotenv;
pub mod fix;
pub mod gitignore;

use crate::dotenv as parser;
use crate::facts::tree::{gitignore_path, TreeFacts};
use crate::finding::{Context, Finding, Location, Origin, Severity};
use crate::judge::fingerprint;
use crate::paths::file_name;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Rule id: git would not ignore dotenv files in a project root.
pub const GITIGNORE_ENV_COVERAGE: &str = "gitignore-env-coverage";
/// Rule id: a non-template dotenv file is in git's index.
pub const DOTENV_TRACKED: &str = "dotenv-tracked";
/// Rule id: a dotenv file is neither tracked nor ignored.
pub const DOTENV_NOT_IGNORED: &str = "dotenv-not-ignored";
/// Rule id: `secrets.json` or `config/keys.js` is in git's index.
pub const SECRET_FILE_TRACKED: &str = "secret-file-tracked";
/// Rule id: `secrets.json` or `config/keys.js` is neither tracked nor ignored.
pub const SECRET_FILE_NOT_IGNORED: &str = "secret-file-not-ignored";
/// Rule id: one key in the dotenv files of several environments.
pub const KEY_REUSED: &str = "key-reused-across-environments";

/// Every audit rule id (checked for uniqueness by the tests).
#[cfg(test)]
pub const RULE_IDS: &[&str] = &[
    GITIGNORE_ENV_COVERAGE,
    DOTENV_TRACKED,
    DOTENV_NOT_IGNORED,
    SECRET_FILE_TRACKED,
    SECRET_FILE_NOT_IGNORED,
    KEY_REUSED,
];

/// Builds an audit finding. `what` feeds the fingerprint with the rule id
/// (a path, a folder, a key's fingerprint — never a secret).
#[allow(clippy::too_many_arguments)]
pub(crate) fn audit_finding(
    rule_id: &str,
    title: &str,
    severity: Severity,
    context: Context,
    origin: Origin,
    path: &str,
    what: &str,
    message: String,
    remediation: String,
) -> Finding {
    Finding {
        rule_id: rule_id.to_string(),
        provider: "git".to_string(),
        title: title.to_string(),
        severity,
        context,
        context_reason: None,
        origin,
        location: Location {
            path: path.to_string(),
            line: 0,
            column: 0,
            column_utf16: None,
        },
        secret: None,
        secret_redacted: None,
        fingerprint: fingerprint(rule_id, what),
        message,
        rotation_url: None,
        remediation,
        snippet: None,
        snippet_raw: None,
        commit: None,
        source: None,
        encoding: None,
    }
}

/// One `.gitignore` edit: lines to append (the `--fix` plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEdit {
    /// Display path of the `.gitignore`.
    pub path: String,
    /// Where it is (or will be) on disk.
    pub fs_path: PathBuf,
    /// Lines to append.
    pub lines: Vec<String>,
}

/// The tree audits' findings: coverage gaps, and tracked or unignored
/// secret-bearing files. `holds_key(path)` says whether a secret (not
/// publishable) key was seen in the file, reported or set aside.
pub fn tree_findings(facts: &TreeFacts, holds_key: impl Fn(&str) -> bool) -> Vec<Finding> {
    let mut out: Vec<Finding> = facts
        .gaps
        .iter()
        .map(|gap| {
            // A tracked or unignored dotenv file of this folder: with a
            // secret key in it the gap is urgent; without one it is named
            // (an ignored dotenv file is where keys belong, not news).
            let exposed = |with_key: bool| {
                facts.files.iter().find(|f| {
                    crate::paths::parent_dir(&f.path) == gap.dir
                        && parser::is_dotenv_name(file_name(&f.path))
                        && !parser::is_template_name(file_name(&f.path))
                        && (f.tracked || f.ignored == Some(false))
                        && (!with_key || holds_key(&f.path))
                })
            };
            let exposed = match exposed(true) {
                Some(f) => gitignore::Exposed::WithKey(&f.path),
                None => exposed(false).map_or(gitignore::Exposed::None, |f| {
                    gitignore::Exposed::WithoutKey(&f.path)
                }),
            };
            gitignore::coverage_finding(gap, exposed)
        })
        .collect();
    out.extend(dotenv::file_findings(&facts.files, holds_key));
    out
}

/// The `.gitignore` edits that would close every coverage gap and ignore
/// every untracked, unignored secret-bearing file, one per `.gitignore`,
/// outermost first.
pub fn ignore_edits(facts: &TreeFacts) -> Vec<IgnoreEdit> {
    let mut by_file: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    let depth = |p: &str| p.matches('/').count();
    for gap in &facts.gaps {
        let path = gitignore_path(&gap.dir);
        let lines = by_file.entry((depth(&path), path)).or_default();
        lines.extend(gap.missing.iter().map(|m| m.to_string()));
    }
    for f in &facts.files {
        let template = parser::is_template_name(file_name(&f.path));
        if !template && !f.tracked && f.on_disk && f.ignored == Some(false) {
            let (path, line) = f.ignore_with.clone();
            let lines = by_file.entry((depth(&path), path)).or_default();
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    by_file
        .into_iter()
        .filter_map(|((_, path), lines)| {
            let dir = path.strip_suffix(".gitignore")?.trim_end_matches('/');
            let fs_path = facts.fs_of_dir(dir)?.join(".gitignore");
            Some(IgnoreEdit {
                path,
                fs_path,
                lines,
            })
        })
        .collect()
}

/// `git rm --cached` commands for tracked non-template secret-bearing files.
pub fn untrack_commands(facts: &TreeFacts) -> Vec<String> {
    facts
        .files
        .iter()
        .filter(|f| f.tracked && !parser::is_template_name(file_name(&f.path)))
        .map(|f| f.untrack.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn rule_ids_are_unique_and_fingerprints_never_hold_the_input() {
        let set: BTreeSet<&str> = RULE_IDS.iter().copied().collect();
        assert_eq!(set.len(), RULE_IDS.len());
        let f = audit_finding(
            DOTENV_TRACKED,
            "t",
            Severity::High,
            Context::Dotenv,
            Origin::File,
            "apps/web/.env",
            "apps/web/.env",
            String::new(),
            String::new(),
        );
        assert_eq!(f.location.line, 0);
        assert!(!f.fingerprint.contains(".env"));
        assert_eq!(f.fingerprint, fingerprint(DOTENV_TRACKED, "apps/web/.env"));
    }
}
