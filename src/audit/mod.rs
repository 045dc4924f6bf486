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
//! | `gitignore-env-coverage` | medium; high when a dotenv file exists there | audit | a project root where git would not ignore `.env`, `.env.local`, … ([`gitignore`]) |
//! | `dotenv-tracked` | critical with a key in it, else high | file | a non-template dotenv file in git's index |
//! | `dotenv-not-ignored` | high | file | a dotenv file on disk, untracked and not ignored |
//! | `secret-file-tracked` | critical with a key in it, else high | file | `secrets.json` or `config/keys.js` in git's index |
//! | `secret-file-not-ignored` | high | file | such a file on disk, untracked and not ignored |
//! | `key-reused-across-environments` | medium | audit | one key in the dotenv files of two environments ([`dotenv`]) |
//!
//! Audit findings have line 0 when they are about a whole file or folder, no
//! secret, and a fingerprint that is a hash of the rule id and the path (or,
//! for reuse, of the key's own fingerprint) — stable, never a secret.
//!
//! [`TreeAudit`] runs in tree mode after the tree source: it learns which
//! secret-bearing files are tracked or ignored, scans tracked dotenv files the
//! walk skipped (a tracked file can match an ignore pattern), and tells the
//! judge which dotenv files git really ignores (tracked ones never count as
//! ignored). After judgement it adds its findings and rewrites the message of
//! keys in tracked dotenv files. `--fix` ([`fix`]) appends the missing ignore
//! lines. Staged mode uses the pure [`dotenv::staged_file_findings`] and
//! [`gitignore::coverage_dropped`].

pub mod dotenv;
pub mod fix;
pub mod gitignore;
pub mod oracle;

use crate::dotenv as parser;
use crate::finding::{Context, Finding, Location, Origin, Severity};
use crate::judge::project::{file_name, ProjectIndex};
use crate::judge::{fingerprint, KeySighting, ScannedBlob};
use crate::scan::Matcher;
use crate::source::tree::{root_displays, slash_path};
use crate::source::{SeenFile, SourceOutput};
use dotenv::FileFacts;
use gitignore::{gitignore_path, CoverageGap, PROBES};
use oracle::{Oracles, TreeId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

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

/// Every audit rule id, for documentation and tests.
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
        origin,
        location: Location {
            path: path.to_string(),
            line: 0,
            column: 0,
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
    }
}

/// A directory scan root: where it is and how its paths are displayed.
#[derive(Debug, Clone)]
struct ScanRoot {
    /// As given on the command line.
    given: PathBuf,
    /// Canonical.
    canon: PathBuf,
    /// Display prefix (empty for a single directory root).
    display: String,
}

fn join_display(prefix: &str, rel: &str) -> String {
    match (prefix.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}/{rel}"),
    }
}

/// Quotes a path for a shell command line when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-+@=:,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
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

/// What the audits learned about a scanned tree.
#[derive(Debug)]
pub struct TreeAudit {
    roots: Vec<ScanRoot>,
    oracles: Oracles,
    /// Secret-bearing files (and templates), with their tree.
    files: Vec<(FileFacts, TreeId, PathBuf)>,
    /// Display paths the source already scanned.
    seen: BTreeSet<String>,
    gaps: Vec<CoverageGap>,
}

impl TreeAudit {
    /// Asks git (or the `.gitignore` files) about the tree a source walked:
    /// `roots` as given to the source, its secret-bearing files and project
    /// roots. Does not touch the source's blobs.
    pub fn analyze(
        roots: &[PathBuf],
        seen_files: &[SeenFile],
        projects: &ProjectIndex,
    ) -> TreeAudit {
        let roots: Vec<ScanRoot> = root_displays(roots)
            .into_iter()
            .filter(|(given, _)| given.is_dir())
            .filter_map(|(given, display)| {
                let canon = given.canonicalize().ok()?;
                Some(ScanRoot {
                    given,
                    canon,
                    display,
                })
            })
            .collect();
        let mut oracles = Oracles::new(roots.iter().map(|r| r.canon.clone()).collect());
        let mut audit = TreeAudit {
            roots,
            oracles: Oracles::new(Vec::new()),
            files: Vec::new(),
            seen: seen_files.iter().map(|f| f.path.clone()).collect(),
            gaps: Vec::new(),
        };

        // Candidate files: what the walk saw, plus what git tracks.
        let mut candidates: BTreeMap<String, PathBuf> = BTreeMap::new();
        for f in seen_files {
            let canon = f
                .fs_path
                .canonicalize()
                .unwrap_or_else(|_| f.fs_path.clone());
            candidates.entry(f.path.clone()).or_insert(canon);
        }
        for r in &audit.roots {
            let tree = oracles.tree_of_dir(&r.canon);
            for (p, _) in oracles.tracked_under(tree, &r.canon) {
                if let Some(display) = audit.display_of(&p) {
                    candidates.entry(display).or_insert(p);
                }
            }
        }
        for (display, canon) in candidates {
            let tree = oracles.tree_of(&canon);
            let tracked = oracles.tracked(tree, &canon).is_some();
            let ignored = oracles.is_ignored(tree, &canon, false);
            let facts = FileFacts {
                untrack: audit.untrack_command(&display),
                ignore_with: ignore_line(&display, projects),
                on_disk: canon.is_file(),
                path: display,
                tracked,
                ignored,
            };
            audit.files.push((facts, tree, canon));
        }

        // Coverage of every project root.
        let mut gaps = Vec::new();
        let mut tree_of_root: HashMap<String, TreeId> = HashMap::new();
        for (dir, _) in projects.roots() {
            let Some(fs_dir) = audit.fs_of_dir(dir) else {
                continue;
            };
            if !fs_dir.is_dir() {
                continue;
            }
            let tree = oracles.tree_of_dir(&fs_dir);
            tree_of_root.insert(dir.to_string(), tree);
            if oracles.is_ignored(tree, &fs_dir, true) == Some(true) {
                continue;
            }
            let missing: Vec<&'static str> = PROBES
                .iter()
                .copied()
                .filter(|p| oracles.is_ignored(tree, &fs_dir.join(p), false) == Some(false))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let dotenv_exists = std::fs::read_dir(&fs_dir)
                .map(|rd| {
                    rd.flatten().any(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        parser::is_dotenv_name(&n)
                            && !parser::is_template_name(&n)
                            && e.file_type().is_ok_and(|t| t.is_file())
                    })
                })
                .unwrap_or(false);
            gaps.push(CoverageGap {
                dir: dir.to_string(),
                missing,
                dotenv_exists,
                covers: Vec::new(),
            });
        }
        audit.gaps = gitignore::subtract_ancestors(gaps, |a, b| {
            tree_of_root.contains_key(a) && tree_of_root.get(a) == tree_of_root.get(b)
        });
        audit.oracles = oracles;
        audit
    }

    /// [`TreeAudit::analyze`], then prepares the source's output for
    /// judgement: scans tracked dotenv and secret files the walk skipped, marks
    /// dotenv blobs ignored exactly when git ignores them and does not track
    /// them, and adds a summary note for folders without git.
    pub fn prepare(roots: &[PathBuf], output: &mut SourceOutput, matcher: &Matcher) -> TreeAudit {
        let audit = TreeAudit::analyze(roots, &output.sensitive_files, &output.projects);
        // Tracked files the walk did not read (it skips ignored paths, and a
        // tracked file can match an ignore pattern).
        for (facts, tree, canon) in &audit.files {
            if !facts.tracked || audit.seen.contains(&facts.path) {
                continue;
            }
            let bytes = if facts.on_disk {
                std::fs::read(canon).ok()
            } else {
                audit
                    .oracles
                    .tracked(*tree, canon)
                    .and_then(|oid| audit.oracles.blob(*tree, oid))
            };
            let Some(bytes) = bytes else {
                output.stats.errors.push(crate::source::ScanIssue {
                    path: facts.path.clone(),
                    message: "tracked by git but could not be read".into(),
                });
                continue;
            };
            let scan = matcher.scan_bytes(&bytes);
            if scan.binary {
                output.stats.skip("binary");
                continue;
            }
            output.stats.files_scanned += 1;
            output.stats.bytes_scanned += scan.bytes;
            if scan.matches.is_empty() {
                continue;
            }
            let dotenv = parser::is_dotenv_name(file_name(&facts.path)).then(|| {
                let text = crate::scan::decode_utf16(&bytes)
                    .map(String::into_bytes)
                    .unwrap_or(bytes);
                parser::parse(&text)
            });
            output.blobs.push(ScannedBlob {
                path: facts.path.clone(),
                origin: Origin::File,
                ignored: false,
                scan,
                dotenv,
                commit: None,
            });
        }
        output.blobs.sort_by(|a, b| a.path.cmp(&b.path));
        // Git decides what is ignored; a tracked file is never "ignored".
        let by_path: HashMap<&str, &FileFacts> = audit
            .files
            .iter()
            .map(|(f, _, _)| (f.path.as_str(), f))
            .collect();
        for blob in output.blobs.iter_mut() {
            if let Some(f) = by_path.get(blob.path.as_str()) {
                if let Some(ignored) = f.ignored {
                    blob.ignored = ignored && !f.tracked;
                } else if f.tracked {
                    blob.ignored = false;
                }
            }
        }
        output.stats.notes.extend(audit.notes());
        audit
    }

    /// Summary notes: folders where git was not available.
    pub fn notes(&self) -> Vec<String> {
        self.oracles
            .no_git
            .iter()
            .map(|(root, why)| {
                let shown = self
                    .roots
                    .iter()
                    .find(|r| r.canon == *root)
                    .map(|r| slash_path(&r.given))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| root.display().to_string());
                format!(
                    "git was not available for `{shown}` ({why}): ignore rules were read from .gitignore files with the ignore crate, and tracked files could not be checked"
                )
            })
            .collect()
    }

    /// The audit findings, after judgement. Also rewrites the message of key
    /// findings in tracked dotenv files (`findings` are the judged ones).
    pub fn findings(&self, findings: &mut [Finding], sightings: &[KeySighting]) -> Vec<Finding> {
        let tracked: BTreeSet<String> = self
            .files
            .iter()
            .filter(|(f, _, _)| f.tracked)
            .map(|(f, _, _)| f.path.clone())
            .collect();
        dotenv::mark_committed(findings, &tracked);
        let mut with_key: BTreeSet<&str> = sightings
            .iter()
            .filter(|s| !s.publishable)
            .map(|s| s.path.as_str())
            .collect();
        with_key.extend(
            findings
                .iter()
                .filter(|f| f.secret.is_some() && f.severity > Severity::Info)
                .map(|f| f.location.path.as_str()),
        );
        let facts: Vec<FileFacts> = self.files.iter().map(|(f, _, _)| f.clone()).collect();
        let mut out: Vec<Finding> = self.gaps.iter().map(gitignore::coverage_finding).collect();
        out.extend(dotenv::file_findings(&facts, |p| with_key.contains(p)));
        out
    }

    /// The `.gitignore` edits that would close every coverage gap and ignore
    /// every untracked, unignored secret-bearing file, one per `.gitignore`,
    /// outermost first.
    pub fn ignore_edits(&self) -> Vec<IgnoreEdit> {
        let mut by_file: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
        let depth = |p: &str| p.matches('/').count();
        for gap in &self.gaps {
            let path = gitignore_path(&gap.dir);
            let lines = by_file.entry((depth(&path), path)).or_default();
            lines.extend(gap.missing.iter().map(|m| m.to_string()));
        }
        for (f, _, _) in &self.files {
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
                let fs_path = self.fs_of_dir(dir)?.join(".gitignore");
                Some(IgnoreEdit {
                    path,
                    fs_path,
                    lines,
                })
            })
            .collect()
    }

    /// `git rm --cached` commands for tracked non-template secret-bearing files.
    pub fn untrack_commands(&self) -> Vec<String> {
        self.files
            .iter()
            .filter(|(f, _, _)| f.tracked && !parser::is_template_name(file_name(&f.path)))
            .map(|(f, _, _)| f.untrack.clone())
            .collect()
    }

    /// The display path of a canonical path under a directory scan root.
    fn display_of(&self, canon: &Path) -> Option<String> {
        let root = self
            .roots
            .iter()
            .filter(|r| canon.starts_with(&r.canon))
            .max_by_key(|r| r.canon.as_os_str().len())?;
        let rel = slash_path(canon.strip_prefix(&root.canon).ok()?);
        Some(join_display(&root.display, &rel))
    }

    /// The canonical folder of a display folder path.
    fn fs_of_dir(&self, dir: &str) -> Option<PathBuf> {
        let root = self
            .roots
            .iter()
            .filter(|r| {
                r.display.is_empty()
                    || dir == r.display
                    || dir.starts_with(&format!("{}/", r.display))
            })
            .max_by_key(|r| r.display.len())?;
        let rel = dir[root.display.len()..].trim_start_matches('/');
        Some(if rel.is_empty() {
            root.canon.clone()
        } else {
            root.canon.join(rel)
        })
    }

    /// `git rm --cached` as the user would type it from where keyscan ran.
    fn untrack_command(&self, display: &str) -> String {
        // With one directory root, display paths are relative to it; else they
        // start with the root as given, i.e. are relative to the current folder.
        let single = self.roots.len() == 1 && self.roots[0].display.is_empty();
        match self.roots.first() {
            Some(r) if single && !slash_path(&r.given).is_empty() => format!(
                "git -C {} rm --cached -- {}",
                shell_quote(&slash_path(&r.given)),
                shell_quote(display)
            ),
            _ => format!("git rm --cached -- {}", shell_quote(display)),
        }
    }
}

/// The `.gitignore` (display path) of the nearest project root and the line
/// that ignores `path` from there: the bare name for dotenv files and
/// `secrets.json` (matching at any depth), the relative path otherwise.
fn ignore_line(path: &str, projects: &ProjectIndex) -> (String, String) {
    let dir = projects.nearest(path).map(|(d, _)| d).unwrap_or("");
    let name = file_name(path);
    let line = if parser::is_dotenv_name(name) || name == "secrets.json" {
        name.to_string()
    } else if dir.is_empty() {
        path.to_string()
    } else {
        path[dir.len() + 1..].to_string()
    };
    (gitignore_path(dir), line)
}

/// Cross-file passes on judged findings, for every mode: bundle provenance
/// ([`dotenv::link_bundles`]) and keys reused across environments
/// ([`dotenv::reuse_findings`], returned).
pub fn cross_file(
    findings: &mut [Finding],
    sightings: &[KeySighting],
    projects: &ProjectIndex,
) -> Vec<Finding> {
    dotenv::link_bundles(findings, sightings, projects);
    dotenv::reuse_findings(sightings)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn ignore_lines_and_quoting() {
        let mut idx = ProjectIndex::new();
        idx.ensure_root("");
        idx.add_manifest("apps/web/package.json", None);
        assert_eq!(
            ignore_line("apps/web/config/.env.test", &idx),
            ("apps/web/.gitignore".into(), ".env.test".into())
        );
        assert_eq!(
            ignore_line("apps/web/config/keys.js", &idx),
            ("apps/web/.gitignore".into(), "config/keys.js".into())
        );
        assert_eq!(
            ignore_line("config/keys.js", &idx),
            (".gitignore".into(), "config/keys.js".into())
        );
        assert_eq!(shell_quote("a/.env"), "a/.env");
        assert_eq!(shell_quote("my app/.env"), "'my app/.env'");
        assert_eq!(shell_quote("it's/.env"), "'it'\\''s/.env'");
    }
}
