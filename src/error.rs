//! Errors that stop keyscan before or instead of a scan.
//!
//! Every variant names the file it is about (and the rule, field, line or
//! column where that helps), because "invalid regex" without a file name sends
//! a user grepping. Errors *during* a scan (one unreadable file, one corrupt
//! object) are not `Error`s: they are [`crate::source::ScanIssue`]s, counted in
//! the summary while the scan goes on.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A fatal error. All of them map to exit code 2.
#[derive(Debug)]
pub enum Error {
    /// The command line asked for something impossible.
    Usage(String),
    /// A configuration file could not be read or parsed.
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
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A git operation that the requested mode depends on failed.
    Git {
        /// The repository or object.
        path: PathBuf,
        /// What failed.
        message: String,
    },
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg) => write!(f, "{msg}"),
            Error::Config {
                path,
                line,
                column,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                    if let Some(col) = column {
                        write!(f, ":{col}")?;
                    }
                }
                write!(f, ": {message}")
            }
            Error::Rule {
                file,
                rule,
                field,
                message,
            } => match rule {
                Some(id) => write!(f, "{file}: rule `{id}`: field `{field}`: {message}"),
                None => write!(f, "{file}: field `{field}`: {message}"),
            },
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Git { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result alias for fatal errors.
pub type Result<T, E = Error> = std::result::Result<T, E>;
