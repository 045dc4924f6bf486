//! Reports: a finished list of findings plus a summary, rendered in one format.
//!
//! Each format is one module implementing [`Reporter`]; adding a format means
//! adding a module and a [`Format`] variant. Reporters see only findings and
//! the summary — never rules, paths on disk or git — and must print secrets
//! only through [`Finding::secret_display`]/[`Finding::snippet_display`], which
//! redact unless `--show-secrets` was given.

pub mod github;
pub mod json;
pub mod keys;
pub mod rules;
pub mod sarif;
pub mod text;

pub use crate::facts::repo_paths::RepoPaths;
use crate::finding::Finding;
pub use crate::summary::{ScanIssue, SeverityCounts, Summary, Suppressed};
use rules::RuleInfo;
use std::io::{self, Write};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, coloured on a terminal.
    Text,
    /// Machine-readable JSON (version 1; see the README for the schema).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…::…` annotations).
    Github,
}

/// Everything a reporter renders.
#[derive(Debug)]
pub struct Report<'a> {
    /// Findings, in path order.
    pub findings: &'a [Finding],
    /// The summary.
    pub summary: &'a Summary,
    /// Descriptions of the loaded rules; formats that describe rules apart
    /// from findings (SARIF) look them up here.
    pub rules: &'a [RuleInfo],
    /// Display paths → repository-relative paths: the formats GitHub reads
    /// (SARIF, annotations) name files relative to the repository root.
    pub repo_paths: &'a RepoPaths,
}

/// Rendering options shared by reporters.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Print full secrets (`--show-secrets`).
    pub show_secrets: bool,
    /// Colour the text output.
    pub color: bool,
    /// Only findings, no summary (`--quiet`).
    pub quiet: bool,
    /// Wrap text output's prose (messages, remediation) to this many
    /// columns: the terminal's width when printing to one, else `None`.
    pub width: Option<usize>,
}

/// One output format.
pub trait Reporter {
    /// Writes the report.
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()>;
}

/// The reporter for a format.
pub fn reporter(format: Format, opts: RenderOptions) -> Box<dyn Reporter> {
    match format {
        Format::Text => Box::new(text::TextReporter::new(opts)),
        Format::Json => Box::new(json::JsonReporter::new(opts)),
        Format::Sarif => Box::new(sarif::SarifReporter::new(opts)),
        Format::Github => Box::new(github::GithubReporter::new(opts)),
    }
}
