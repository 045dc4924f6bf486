//! Errors that stop keyscan before or instead of a scan.
//!
//! Every variant names the file it is about (and the rule, field, line or
//! column where that helps), because "invalid regex" without a file name sends
//! a user grepping. Errors *during* a scan (one unreadable file, one corrupt
//! object) are not `Error`s: they are [`crate::summary::ScanIssue`]s, counted in
//! the summary while the scan goes on.

use std::io;
use std::path::{Path, PathBuf};

/// A fatal error. All of them map to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),
    /// A configuration file could not be read or parsed.
    #[error("{}: {message}", at(path, *line, *column))]
    Config {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A rule (built-in or from a config file) is invalid.
    #[error("{file}: {}field `{field}`: {message}", rule.as_deref().map(|id| format!("rule `{id}`: ")).unwrap_or_default())]
    Rule {
        /// The file the rule came from (`rules/miniback.toml`, `.keyscan.toml`).
        file: String,
        /// The rule id, when the rule got far enough to have one.
        rule: Option<String>,
        /// The offending field, e.g. `pattern`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An I/O error on a path that had to be read (e.g. a scan root).
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A git operation that the requested mode depends on failed.
    #[error("{}: {message}{}", path.display(), source.as_ref().map(|e| format!(": {}", e.message())).unwrap_or_default())]
    Git {
        /// The repository or object.
        path: PathBuf,
        /// What failed.
        message: String,
        /// libgit2's error, when it was one.
        source: Option<git2::Error>,
    },
}

/// `path:line:column`, with whichever parts are known.
fn at(path: &Path, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", path.display()),
        (Some(l), None) => format!("{}:{l}", path.display()),
        _ => path.display().to_string(),
    }
}

impl Error {
    /// A rule error helper.
    pub fn rule(
        file: impl Into<String>,
        rule: Option<&str>,
        field: &'static str,
        message: impl Into<String>,
    ) -> Error {
        Error::Rule {
            file: file.into(),
            rule: rule.map(str::to_string),
            field,
            message: message.into(),
        }
    }
}

/// Result alias for fatal errors.
pub type Result<T, E = Error> = std::result::Result<T, E>;
