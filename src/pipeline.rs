//! The pipeline: sources → matcher → facts → judgement → one final step.
//!
//! ```text
//!  source (enumerate + match)      facts (once, before judging)     judge + audits           final step
//!  ──────────────────────────      ────────────────────────────     ──────────────           ──────────
//!  tree / staged / history  ─────► project model, git facts   ────► Judge::sightings  ─────► allowlist
//!  ScannedBlob per blob with        (tracked, ignored, in HEAD,      Judge::judge             (config), sort,
//!  matches, SourceStats,            key ages)                        audits of shape          summary
//!  Tree/GitInputs                                                    derived: overdue (history)
//! ```
//!
//! A [`Scanner`] is built once — rules, matcher, judge settings, allowlist —
//! and serves every mode: [`Scanner::tree`], [`Scanner::staged`] and
//! [`Scanner::history`] differ only in their source, the facts they gather
//! and the audits they add. Each ends in `Scanner::finish`, the one final
//! step: judge every blob (two passes, see [`crate::judge`]), add the
//! audits' findings, apply the config allowlist, add findings derived from
//! the allowed ones (`key-rotation-overdue`), sort, count. Nothing edits a
//! finding after the judge or an audit made it. It never prints.
//!
//! [`run`], [`run_staged`] and [`run_history`] are the one-call forms the
//! binary and embedding programs use. In git modes, paths are relative to
//! the repository root.

use crate::audit::fix::FixReport;
use crate::audit::{self};
use crate::blob::ScannedBlob;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::facts::project::{self, ProjectIndex};
use crate::facts::repo_paths::RepoPaths;
use crate::facts::tree::TreeFacts;
use crate::facts::web::WebFacts;
use crate::facts::Facts;
use crate::finding::Finding;
use crate::judge::{Judge, JudgeSettings, Tally};
use crate::report::rules::RuleInfo;
use crate::rules::RuleSet;
use crate::scan::{Matcher, DEFAULT_CHUNK};
pub use crate::source::history::HistoryOptions;
use crate::source::{self, GitInputs, SourceOutput, TreeInputs};
use crate::summary::Summary;
use crate::suppress::{compile_globs, Allowlist};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// Paths to scan (files or directories).
    pub roots: Vec<PathBuf>,
    /// Do not apply ignore files.
    pub no_ignore: bool,
    /// Scan git-ignored build-output folders (`None`: config, else true).
    pub build_dirs: Option<bool>,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Streaming buffer size.
    pub chunk: usize,
    /// The loaded config.
    pub config: Config,
    /// Ignore every suppression (`--no-allowlist`).
    pub no_allowlist: bool,
}

impl ScanRequest {
    /// A request for `roots` with defaults.
    pub fn new(roots: Vec<PathBuf>) -> Self {
        ScanRequest {
            roots,
            no_ignore: false,
            build_dirs: None,
            threads: 0,
            chunk: DEFAULT_CHUNK,
            config: Config::default(),
            no_allowlist: false,
        }
    }
}

/// Findings plus the summary.
#[derive(Debug)]
pub struct ScanOutcome {
    /// Reported findings, in path order.
    pub findings: Vec<Finding>,
    /// The summary.
    pub summary: Summary,
    /// Descriptions of every loaded rule (for SARIF and `--list-rules`).
    pub rules: Vec<RuleInfo>,
    /// Display paths → repository-relative paths (SARIF, annotations).
    pub repo_paths: RepoPaths,
}

/// Loads the built-in rules plus the config's `[[rule]]` tables.
pub fn load_rules(config: &Config) -> Result<RuleSet> {
    let extra = if config.file.rule.is_empty() {
        Vec::new()
    } else {
        vec![(config.display_name(), config.file.rule.clone())]
    };
    RuleSet::load(&extra)
}

/// The folder a git-mode scan takes its `.keyscan.toml` from: the
/// repository's work tree root, or `path` itself for a bare repository or
/// when `path` is not in a repository (the scan reports that error later).
pub fn config_root(path: &Path) -> PathBuf {
    source::git::config_root(path)
}

/// Findings derived from the allowed findings of a scan (history mode's
/// `key-rotation-overdue`); the allowlist applies to them too.
type Derived<'a> = &'a dyn Fn(&[Finding]) -> Vec<Finding>;

/// Everything a scan needs that does not depend on what is scanned: built
/// once, used by every mode.
#[derive(Debug)]
pub struct Scanner {
    matcher: Matcher,
    settings: JudgeSettings,
    allowlist: Allowlist,
    no_allowlist: bool,
    config: Config,
}

impl Scanner {
    /// Loads the rules (built-in plus the config's), compiles the matcher and
    /// the allowlist. Config problems are errors here, before any scanning.
    pub fn new(config: &Config, no_allowlist: bool) -> Result<Scanner> {
        // The framework tables are embedded data, validated by a unit test
        // (`every_embedded_file_is_valid_and_ids_are_unique`) and parsed the
        // first time a scan needs them: a pre-commit run that finds nothing
        // never does.
        let matcher = Matcher::new(load_rules(config)?);
        let allowlist = Allowlist::from_config(config, &|s| match matcher.redact_secrets(s) {
            std::borrow::Cow::Owned(redacted) => Some(redacted),
            std::borrow::Cow::Borrowed(_) => None,
        })?;
        let settings = JudgeSettings {
            providers: config.file.providers.clone(),
            client_globs: compile_globs(
                &config.file.scan.client_globs,
                config,
                "scan.client_globs",
            )?,
            ignore_inline_allow: no_allowlist,
        };
        Ok(Scanner {
            matcher,
            settings,
            allowlist,
            no_allowlist,
            config: config.clone(),
        })
    }

    /// The scanner's matcher (its rules, and the redaction of error text).
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Scans a working tree.
    pub fn tree(&self, req: &TreeRequest) -> Result<ScanOutcome> {
        let started = Instant::now();
        let SourceOutput {
            blobs,
            stats,
            facts:
                TreeInputs {
                    projects,
                    seen,
                    root_dotenv,
                    listed,
                    covers,
                },
        } = source::tree::scan(&req.options, &self.matcher)?;
        let mut output = SourceOutput {
            blobs,
            stats,
            facts: (),
        };
        let projects = self.with_project_ids(projects, &root_dotenv);
        // What git says about the tree and the import graphs of the projects
        // with matches are independent, so both run at once: the web facts
        // are one thread's work, and the git side keeps every core busy only
        // while it asks its coverage questions.
        let roots = &req.options.roots;
        let walk_matched: Vec<&str> = output.blobs.iter().map(|b| b.path.as_str()).collect();
        let threads = req.options.threads;
        let walked = crate::facts::tree::Walked {
            listed: &listed,
            covers: &covers,
        };
        let gather_tree = || TreeFacts::gather_listed(roots, &seen, &projects, walked, threads);
        let gather_web = || WebFacts::gather(roots, &projects, &walk_matched, threads);
        let (tree, web) = if threads == 1 {
            // `-j 1`: one thread, one step after the other.
            (gather_tree(), gather_web())
        } else {
            std::thread::scope(|s| {
                let web = s.spawn(gather_web);
                let tree = gather_tree();
                (tree, web.join().expect("the web facts thread panicked"))
            })
        };
        let walk_blobs = walk_matched.len();
        drop(walk_matched);
        // Tracked secret files the walk did not read (they match an ignore
        // pattern, or are gone from disk but still in the index).
        source::tree::scan_listed(&tree.unread, &self.matcher, &mut output);
        output.stats.notes.extend(tree.notes());
        // A tracked file read only now that has matches changes which
        // files the web facts are about: gathered again (rare).
        let web = if output.blobs.len() == walk_blobs {
            web
        } else {
            let matched: Vec<&str> = output.blobs.iter().map(|b| b.path.as_str()).collect();
            WebFacts::gather(roots, &projects, &matched, threads)
        };
        let facts = Facts {
            projects,
            tree: Some(tree),
            history: None,
            web,
            staged: None,
        };
        let audits = |keys: &[Finding], sightings: &crate::judge::Sightings| {
            let with_key: std::collections::BTreeSet<&str> = sightings
                .all
                .iter()
                .filter(|s| !s.publishable)
                .map(|s| s.path.as_str())
                .chain(
                    keys.iter()
                        .filter(|f| {
                            f.secret.is_some() && f.severity > crate::finding::Severity::Info
                        })
                        .map(|f| f.location.path.as_str()),
                )
                .collect();
            let tree = facts.tree.as_ref().expect("tree facts were gathered");
            audit::tree_findings(tree, |p| with_key.contains(p))
        };
        let mut outcome = self.finish(output, &facts, "tree", started, &audits, None)?;
        outcome.repo_paths = RepoPaths::for_roots(&req.options.roots);
        Ok(outcome)
    }

    /// Scans what the next commit would record: the staged blobs of added
    /// and modified paths (`GIT_INDEX_FILE` is honoured).
    pub fn staged(&self, repo_path: &Path, threads: usize) -> Result<ScanOutcome> {
        let started = Instant::now();
        let repo = source::staged::StagedRepo::open(repo_path)?;
        let paths = repo.staged_paths()?;
        let output = repo.scan(&paths, &self.matcher, threads)?;
        let mut facts = Facts {
            staged: Some(crate::facts::staged::StagedFacts::gather(
                &output.blobs,
                |path| {
                    repo.repository()
                        .is_path_ignored(Path::new(path))
                        .unwrap_or(false)
                },
                |path| {
                    let p = paths.iter().find(|p| p.path == path)?;
                    repo.blob(p.head_id?).ok()
                },
            )),
            ..Facts::with_projects(self.git_projects(&output))
        };
        // The work tree stands in for the index when reading the project's
        // other files (framework, config, imports).
        if let Some(workdir) = repo.workdir() {
            let matched: Vec<&str> = output.blobs.iter().map(|b| b.path.as_str()).collect();
            facts.web =
                WebFacts::gather(&[workdir.to_path_buf()], &facts.projects, &matched, threads);
        }
        // The dotenv habit, checked on what is about to be committed: a staged
        // dotenv or secrets file (even without a key in it), and a staged
        // `.gitignore` change that stops ignoring dotenv files HEAD ignored.
        let mut gitignore_findings = Vec::new();
        for p in &paths {
            if crate::paths::file_name(&p.path) != ".gitignore" {
                continue;
            }
            let Some(head_id) = p.head_id else {
                continue;
            };
            let head = repo.blob(head_id)?;
            let staged = match p.status {
                source::staged::StagedStatus::Deleted => None,
                _ => Some(repo.blob(p.id)?),
            };
            gitignore_findings.extend(audit::gitignore::coverage_dropped(
                &p.path,
                Some(&head),
                staged.as_deref(),
            ));
        }
        let staged_files: Vec<&str> = paths
            .iter()
            .filter(|p| p.status != source::staged::StagedStatus::Deleted)
            .map(|p| p.path.as_str())
            .collect();
        let audits = |keys: &[Finding], _: &crate::judge::Sightings| {
            let holds_key = |path: &str| {
                keys.iter()
                    .any(|f| f.location.path == path && f.secret.is_some())
            };
            let mut out =
                audit::dotenv::staged_file_findings(staged_files.iter().copied(), holds_key);
            out.extend(gitignore_findings.iter().cloned());
            out
        };
        self.finish(output, &facts, "staged", started, &audits, None)
    }

    /// Scans every blob reachable from the repository's refs (or a range of
    /// commits), each once, with attribution and `key-rotation-overdue`
    /// findings.
    pub fn history(&self, repo_path: &Path, opts: &HistoryOptions) -> Result<ScanOutcome> {
        let started = Instant::now();
        let history = source::history::scan(repo_path, opts, &self.matcher)?;
        let facts = Facts {
            projects: self.git_projects(&history.source),
            tree: None,
            history: Some(history.ages),
            web: WebFacts::default(),
            staged: None,
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let ages = facts.history.as_ref().expect("history facts were gathered");
        let overdue =
            |allowed: &[Finding]| crate::judge::overdue::rotation_overdue(allowed, ages, now);
        let mut outcome = self.finish(
            history.source,
            &facts,
            "history",
            started,
            &|_, _| Vec::new(),
            Some(&overdue),
        )?;
        outcome.summary.commits_scanned = Some(history.commits);
        outcome.summary.history_complete = Some(history.complete);
        Ok(outcome)
    }

    /// The project index of a git source's manifest and dotenv paths.
    fn git_projects(&self, output: &SourceOutput<GitInputs>) -> ProjectIndex {
        let GitInputs { git_dir, files } = &output.facts;
        let matched: Vec<&str> = output.blobs.iter().map(|b| b.path.as_str()).collect();
        project::from_repo(git_dir, files, &matched, self.matcher.rules())
    }

    /// Adds the provider project ids found in the dotenv files of project
    /// roots (`MINIBACK_PROJECT_ID=…`), which rotation guidance names.
    fn with_project_ids(
        &self,
        mut projects: ProjectIndex,
        root_dotenv: &[(String, PathBuf)],
    ) -> ProjectIndex {
        for (dir, path) in root_dotenv {
            if let Ok(Some(bytes)) = crate::fs::read_small(path, 4 * 1024 * 1024) {
                projects.add_project_ids_from(dir, &bytes, self.matcher.rules());
            }
        }
        projects
    }

    /// The final step, the same for every mode: judge the blobs, add the
    /// audits' findings (`audits(key findings, sightings)`) and key reuse,
    /// apply the config allowlist, add what `derived` computes from the
    /// allowed findings (allowlisted too), sort, and fill the summary.
    fn finish<F>(
        &self,
        source: SourceOutput<F>,
        facts: &Facts,
        mode: &str,
        started: Instant,
        audits: &dyn Fn(&[Finding], &crate::judge::Sightings) -> Vec<Finding>,
        derived: Option<Derived<'_>>,
    ) -> Result<ScanOutcome> {
        let judge = Judge::new(&self.matcher, self.settings.clone());
        let blobs: &[ScannedBlob] = &source.blobs;
        let sightings = judge.sightings(blobs, facts);
        let mut tally = Tally::default();
        let mut findings = Vec::new();
        for blob in blobs {
            findings.extend(judge.judge(blob, facts, &sightings, &mut tally));
        }
        let mut extra = audit::dotenv::reuse_findings(&sightings.all);
        extra.extend(audits(&findings, &sightings));
        findings.extend(extra);

        let stats = source.stats;
        let mut summary = Summary {
            mode: mode.to_string(),
            files_scanned: stats.files_scanned,
            bytes_scanned: stats.bytes_scanned,
            files_skipped: stats.files_skipped,
            errors: stats.errors,
            incomplete: stats.incomplete,
            build_dirs_scanned: stats.build_dirs_scanned,
            notes: stats.notes,
            placeholders_ignored: tally.placeholders,
            keys_in_ignored_dotenv: tally.expected_dotenv,
            keys_in_ignored_dotenv_paths: tally.set_aside_paths.iter().cloned().collect(),
            ..Summary::default()
        };
        // The JSON contract always carries the binary count, even when it is 0.
        summary.files_skipped.entry("binary".into()).or_insert(0);
        summary.suppressed.inline = tally.inline_allowed;
        self.allow(&mut findings, &mut summary);
        if let Some(derived) = derived {
            let mut more = derived(&findings);
            self.allow(&mut more, &mut summary);
            findings.extend(more);
        }
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        summary.errors.sort_by(|a, b| a.path.cmp(&b.path));
        summary.incomplete.sort_by(|a, b| a.path.cmp(&b.path));
        summary.count_findings(&findings);
        summary.duration_ms = started.elapsed().as_millis() as u64;
        let rules = RuleInfo::catalogue(self.matcher.rules(), &self.config.file.providers);
        Ok(ScanOutcome {
            findings,
            summary,
            rules,
            repo_paths: RepoPaths::identity(),
        })
    }

    /// Drops what the config allowlist allows, counting it.
    fn allow(&self, findings: &mut Vec<Finding>, summary: &mut Summary) {
        if self.no_allowlist {
            return;
        }
        let before = findings.len();
        findings.retain(|f| !self.allowlist.allows(f));
        summary.suppressed.config += (before - findings.len()) as u64;
    }
}

/// A tree scan's walk options, resolved from a [`ScanRequest`].
#[derive(Debug, Clone)]
pub struct TreeRequest {
    options: source::tree::TreeOptions,
}

impl TreeRequest {
    /// The walk a request asks for: its roots, ignore and build-folder
    /// settings (flag, else config, else on), threads and buffer size.
    pub fn from_request(req: &ScanRequest) -> TreeRequest {
        TreeRequest {
            options: source::tree::TreeOptions {
                roots: req.roots.clone(),
                no_ignore: req.no_ignore,
                build_dirs: req
                    .build_dirs
                    .or(req.config.file.scan.build_dirs)
                    .unwrap_or(true),
                threads: req.threads,
                chunk: req.chunk,
            },
        }
    }
}

/// Scans a working tree.
pub fn run(req: &ScanRequest) -> Result<ScanOutcome> {
    Scanner::new(&req.config, req.no_allowlist)?.tree(&TreeRequest::from_request(req))
}

/// `keyscan --fix`: walks the tree like [`run`], then appends the missing
/// ignore lines (`audit::fix`). Never touches git's index.
pub fn fix(req: &ScanRequest) -> Result<FixReport> {
    let scanner = Scanner::new(&req.config, req.no_allowlist)?;
    let output = source::tree::scan(&TreeRequest::from_request(req).options, &scanner.matcher)?;
    let TreeInputs { projects, seen, .. } = &output.facts;
    audit::fix::fix(&req.roots, seen, projects)
}

/// Scans what the next commit would record (`req.roots[0]` is the
/// repository; `GIT_INDEX_FILE` is honoured).
pub fn run_staged(req: &ScanRequest) -> Result<ScanOutcome> {
    Scanner::new(&req.config, req.no_allowlist)?.staged(git_root(req)?, req.threads)
}

/// Scans every blob reachable from the repository's refs (or a range of
/// commits), each once (`req.roots[0]` is the repository).
pub fn run_history(req: &ScanRequest, opts: &HistoryOptions) -> Result<ScanOutcome> {
    let opts = HistoryOptions {
        threads: if opts.threads == 0 {
            req.threads
        } else {
            opts.threads
        },
        ..opts.clone()
    };
    Scanner::new(&req.config, req.no_allowlist)?.history(git_root(req)?, &opts)
}

/// The one path a git mode opens.
fn git_root(req: &ScanRequest) -> Result<&Path> {
    match req.roots.as_slice() {
        [one] => Ok(one),
        [] => Ok(Path::new(".")),
        _ => Err(Error::Usage(
            "--staged and --history take one PATH: the repository to scan".into(),
        )),
    }
}
