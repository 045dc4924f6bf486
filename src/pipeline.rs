//! The pipeline: sources → matcher → judgement → suppression → findings.
//!
//! [`run`] is what the binary calls and what an embedding program would call:
//! it loads rules (built-in plus the config's), builds one [`Matcher`], lets a
//! source enumerate and match blobs, judges the blobs that had matches, applies
//! allowlists and returns the findings with a [`Summary`]. It never prints.
//! [`run_staged`] and [`run_history`] do the same with a git source; in
//! those modes, paths are relative to the repository root.
//!
//! In tree mode the repository audits ([`crate::audit`]) run between the
//! source and judgement (they tell the judge which dotenv files git really
//! ignores) and add their findings after it, before suppression, so
//! allowlists apply to them like to any finding.

use crate::audit::fix::FixReport;
use crate::audit::{self, TreeAudit};
use crate::config::Config;
use crate::error::Result;
use crate::finding::Finding;
use crate::judge::{Judge, JudgeSettings, Tally};
use crate::report::Summary;
use crate::rules::{RuleInfo, RuleSet};
use crate::scan::{Matcher, DEFAULT_CHUNK};
use crate::source::history::HistoryOptions;
use crate::source::{self, SourceOutput};
use crate::suppress::{compile_globs, Allowlist};
use std::path::PathBuf;
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

/// Judge settings from the config and flags.
pub fn judge_settings(config: &Config, no_allowlist: bool) -> Result<JudgeSettings> {
    Ok(JudgeSettings {
        providers: config.file.providers.clone(),
        client_globs: compile_globs(&config.file.scan.client_globs, config, "scan.client_globs")?,
        ignore_inline_allow: no_allowlist,
    })
}

/// Judges a source's output, runs the cross-file passes (bundle provenance,
/// keys reused across environments) and applies the config allowlist.
pub fn finish(
    source: SourceOutput,
    judge: &Judge<'_>,
    config: &Config,
    no_allowlist: bool,
    mode: &str,
    started: Instant,
) -> Result<ScanOutcome> {
    finish_with_audit(
        source,
        judge,
        config,
        no_allowlist,
        mode,
        started,
        Audits::default(),
    )
}

/// Audit findings computed from the judged key findings of a scan.
type PostAudit<'a> = &'a dyn Fn(&[Finding]) -> Vec<Finding>;

/// The audits a mode adds to its key findings.
#[derive(Default)]
struct Audits<'a> {
    /// The working-tree audits (tree mode).
    tree: Option<&'a TreeAudit>,
    /// Audit findings computed from the judged key findings (staged mode: a
    /// staged dotenv file is critical when it holds a key).
    post: Option<PostAudit<'a>>,
}

/// [`finish`], plus the tree audits' findings when `audit` is given.
fn finish_with_audit(
    source: SourceOutput,
    judge: &Judge<'_>,
    config: &Config,
    no_allowlist: bool,
    mode: &str,
    started: Instant,
    audits: Audits<'_>,
) -> Result<ScanOutcome> {
    let allowlist = Allowlist::from_config(config)?;
    let mut tally = Tally::default();
    let mut findings = Vec::new();
    let mut sightings = Vec::new();
    for blob in &source.blobs {
        findings.extend(judge.judge_recording(blob, &source.projects, &mut tally, &mut sightings));
    }
    // After judgement, before suppression: the passes link keys across
    // files, including keys that judgement set aside.
    let mut extra = audit::cross_file(&mut findings, &sightings, &source.projects);
    if let Some(a) = audits.tree {
        extra.extend(a.findings(&mut findings, &sightings));
    }
    if let Some(post) = audits.post {
        extra.extend(post(&findings));
    }
    findings.extend(extra);
    let mut summary = Summary {
        mode: mode.to_string(),
        files_scanned: source.stats.files_scanned,
        bytes_scanned: source.stats.bytes_scanned,
        files_skipped: source.stats.files_skipped,
        errors: source.stats.errors,
        build_dirs_scanned: source.stats.build_dirs_scanned,
        notes: source.stats.notes,
        placeholders_ignored: tally.placeholders,
        keys_in_ignored_dotenv: tally.expected_dotenv,
        ..Summary::default()
    };
    // The JSON contract always carries the binary count, even when it is 0.
    summary.files_skipped.entry("binary".into()).or_insert(0);
    summary.suppressed.inline = tally.inline_allowed;
    if !no_allowlist {
        let before = findings.len();
        findings.retain(|f| !allowlist.allows(f));
        summary.suppressed.config = (before - findings.len()) as u64;
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    summary.errors.sort_by(|a, b| a.path.cmp(&b.path));
    summary.count_findings(&findings);
    summary.duration_ms = started.elapsed().as_millis() as u64;
    let rules = RuleInfo::catalogue(judge.rules(), &config.file.providers);
    Ok(ScanOutcome {
        findings,
        summary,
        rules,
    })
}

/// Scans a working tree.
pub fn run(req: &ScanRequest) -> Result<ScanOutcome> {
    let started = Instant::now();
    let rules = load_rules(&req.config)?;
    let matcher = Matcher::new(&rules);
    let judge = Judge::new(&matcher, judge_settings(&req.config, req.no_allowlist)?);
    let mut output = source::tree::scan(&tree_options(req), &matcher)?;
    let audit = TreeAudit::prepare(&req.roots, &mut output, &matcher);
    finish_with_audit(
        output,
        &judge,
        &req.config,
        req.no_allowlist,
        "tree",
        started,
        Audits {
            tree: Some(&audit),
            post: None,
        },
    )
}

fn tree_options(req: &ScanRequest) -> source::tree::TreeOptions {
    source::tree::TreeOptions {
        roots: req.roots.clone(),
        no_ignore: req.no_ignore,
        build_dirs: req
            .build_dirs
            .or(req.config.file.scan.build_dirs)
            .unwrap_or(true),
        threads: req.threads,
        chunk: req.chunk,
    }
}

/// `keyscan --fix`: walks the tree like [`run`], then appends the missing
/// ignore lines ([`audit::fix`]). Never touches git's index.
pub fn fix(req: &ScanRequest) -> Result<FixReport> {
    let rules = load_rules(&req.config)?;
    let matcher = Matcher::new(&rules);
    let output = source::tree::scan(&tree_options(req), &matcher)?;
    audit::fix::fix(&req.roots, &output)
}

/// Scans what the next commit would record: the staged blobs of added and
/// modified paths (`req.roots[0]` is the repository; `GIT_INDEX_FILE` is
/// honoured).
pub fn run_staged(req: &ScanRequest) -> Result<ScanOutcome> {
    let started = Instant::now();
    let rules = load_rules(&req.config)?;
    let matcher = Matcher::new(&rules);
    let judge = Judge::new(&matcher, judge_settings(&req.config, req.no_allowlist)?);
    let repo = source::staged::StagedRepo::open(git_root(req)?)?;
    let paths = repo.staged_paths()?;
    let output = repo.scan(&paths, &matcher, req.threads)?;
    // The dotenv habit, checked on what is about to be committed: a staged
    // dotenv or secrets file (even without a key in it), and a staged
    // `.gitignore` change that stops ignoring dotenv files HEAD ignored.
    let mut gitignore_findings = Vec::new();
    for p in &paths {
        if crate::judge::project::file_name(&p.path) != ".gitignore" {
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
    let post = |keys: &[Finding]| -> Vec<Finding> {
        let holds_key = |path: &str| {
            keys.iter()
                .any(|f| f.location.path == path && f.secret.is_some())
        };
        let mut out = audit::dotenv::staged_file_findings(staged_files.iter().copied(), holds_key);
        out.extend(gitignore_findings.iter().cloned());
        out
    };
    finish_with_audit(
        output,
        &judge,
        &req.config,
        req.no_allowlist,
        "staged",
        started,
        Audits {
            tree: None,
            post: Some(&post),
        },
    )
}

/// Scans every blob reachable from the repository's refs (or a range of
/// commits), each once, with attribution and `key-rotation-overdue`
/// findings (`req.roots[0]` is the repository).
pub fn run_history(req: &ScanRequest, opts: &HistoryOptions) -> Result<ScanOutcome> {
    let started = Instant::now();
    let rules = load_rules(&req.config)?;
    let matcher = Matcher::new(&rules);
    let judge = Judge::new(&matcher, judge_settings(&req.config, req.no_allowlist)?);
    let opts = HistoryOptions {
        threads: if opts.threads == 0 {
            req.threads
        } else {
            opts.threads
        },
        ..opts.clone()
    };
    let history = source::history::scan(git_root(req)?, &opts, &matcher)?;
    let mut outcome = finish(
        history.source,
        &judge,
        &req.config,
        req.no_allowlist,
        "history",
        started,
    )?;
    source::history::mark_in_head(&mut outcome.findings, &history.ages, &rules);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut overdue =
        crate::judge::overdue::rotation_overdue(&outcome.findings, &history.ages, now);
    if !req.no_allowlist {
        let allowlist = Allowlist::from_config(&req.config)?;
        let before = overdue.len();
        overdue.retain(|f| !allowlist.allows(f));
        outcome.summary.suppressed.config += (before - overdue.len()) as u64;
    }
    outcome.findings.extend(overdue);
    outcome
        .findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    outcome.summary.count_findings(&outcome.findings);
    outcome.summary.commits_scanned = Some(history.commits);
    outcome.summary.history_complete = Some(history.complete);
    outcome.summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(outcome)
}

/// The one path a git mode opens.
fn git_root(req: &ScanRequest) -> Result<&std::path::Path> {
    match req.roots.as_slice() {
        [one] => Ok(one),
        [] => Ok(std::path::Path::new(".")),
        _ => Err(crate::error::Error::Usage(
            "--staged and --history take one PATH: the repository to scan".into(),
        )),
    }
}
