//! The pipeline: sources → matcher → judgement → suppression → findings.
//!
//! [`run`] is what the binary calls and what an embedding program would call:
//! it loads rules (built-in plus the config's), builds one [`Matcher`], lets a
//! source enumerate and match blobs, judges the blobs that had matches, applies
//! allowlists and returns the findings with a [`Summary`]. It never prints.

use crate::config::Config;
use crate::error::Result;
use crate::finding::Finding;
use crate::judge::{Judge, JudgeSettings, Tally};
use crate::report::Summary;
use crate::rules::{RuleInfo, RuleSet};
use crate::scan::{Matcher, DEFAULT_CHUNK};
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

/// Judges a source's output and applies the config allowlist.
pub fn finish(
    source: SourceOutput,
    judge: &Judge<'_>,
    config: &Config,
    no_allowlist: bool,
    mode: &str,
    started: Instant,
) -> Result<ScanOutcome> {
    let allowlist = Allowlist::from_config(config)?;
    let mut tally = Tally::default();
    let mut findings = Vec::new();
    for blob in &source.blobs {
        findings.extend(judge.judge(blob, &source.projects, &mut tally));
    }
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
    let opts = source::tree::TreeOptions {
        roots: req.roots.clone(),
        no_ignore: req.no_ignore,
        build_dirs: req
            .build_dirs
            .or(req.config.file.scan.build_dirs)
            .unwrap_or(true),
        threads: req.threads,
        chunk: req.chunk,
    };
    let output = source::tree::scan(&opts, &matcher)?;
    finish(output, &judge, &req.config, req.no_allowlist, "tree", started)
}
