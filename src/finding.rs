//! The one result type every source, rule and audit produces.
//!
//! A [`Finding`] says what leaked (rule, provider, redacted secret), where
//! ([`Location`]: an [`Origin`] plus 1-based line and column), how bad
//! ([`Severity`], decided from the [`Context`]) and how to fix it (rotation URL
//! and remediation steps). Reports and suppressions see nothing else, so a
//! finding from a git blob and one from an audit of `.gitignore` are handled
//! alike.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Severity {
    /// Inventory only: e.g. a publishable key, which is meant for browsers.
    Info,
    /// Worth a look; never a leak by itself.
    Low,
    /// A hygiene problem or a key in docs/tests.
    Medium,
    /// A secret key committed to server code or an unignored dotenv file.
    High,
    /// A secret that is public: shipped to browsers or in a client bundle.
    Critical,
}

impl Severity {
    /// Every severity, most severe first (the order reports use).
    pub const ALL_DESC: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lowercase name used on the command line, in config and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Severity {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected critical, high, medium, low or info)"
            )),
        }
    }
}

/// Where a piece of content ends up, which decides how bad a key in it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    /// Shipped to browsers: build output, bundles, source maps, `"use client"`
    /// files, front-end source, bundler-exposed env variables.
    Client,
    /// Source and configuration that runs on a server.
    Server,
    /// A dotenv file (`.env`, `.env.local`, …).
    Dotenv,
    /// Documentation: Markdown, docs folders.
    Docs,
    /// Tests and fixtures.
    Test,
    /// Not about file content at all: repository shape (audits).
    Repository,
}

impl Context {
    /// The lowercase name used in JSON and config.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Client => "client",
            Context::Server => "server",
            Context::Dotenv => "dotenv",
            Context::Docs => "docs",
            Context::Test => "test",
            Context::Repository => "repository",
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where scanned content came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A file in the working tree.
    File,
    /// A blob staged in git's index (pre-commit).
    Staged,
    /// A blob in git history.
    Commit,
    /// The message of a commit in git history. Its location's path is the
    /// pseudo-path `commit-message/<commit id>` (see [`message_path`]).
    CommitMessage,
    /// The message of an annotated tag. Its location's path is the
    /// pseudo-path `tag-message/<tag name>`.
    TagMessage,
    /// A check of the repository's shape, not of one file's bytes.
    Audit,
}

impl Origin {
    /// The lowercase name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::File => "file",
            Origin::Staged => "staged",
            Origin::Commit => "commit",
            Origin::CommitMessage => "commit-message",
            Origin::TagMessage => "tag-message",
            Origin::Audit => "audit",
        }
    }

    /// A commit or tag message rather than a file.
    pub fn is_message(&self) -> bool {
        matches!(self, Origin::CommitMessage | Origin::TagMessage)
    }
}

/// The pseudo-path of a message finding: `commit-message/<id>` or
/// `tag-message/<name>` — what `git show` takes to display it.
pub fn message_path(origin: &Origin, name: &str) -> String {
    format!("{}/{name}", origin.as_str())
}

/// A place in scanned content. Lines and columns count from 1; the column is a
/// byte offset within the line (as in the JSON contract), not a character count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Path relative to the scan root (or repository root), `/`-separated.
    pub path: String,
    /// 1-based line number (0 for findings about a whole file or repository).
    pub line: u64,
    /// 1-based byte column within the line (0 when `line` is 0).
    pub column: u64,
    /// The same column in UTF-16 code units, as SARIF counts by default
    /// (`None` when unknown: a whole-file finding, or a key past the first
    /// streaming buffer of a very long line).
    pub column_utf16: Option<u64>,
}

/// The commit a finding in history is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full hex id of the commit that introduced the blob at this path.
    pub id: String,
    /// Author name and e-mail, as `Name <email>`.
    pub author: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// Whether the secret is still present at HEAD.
    pub in_head: bool,
}

/// One reported problem.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Stable public rule id, e.g. `miniback-api-key`.
    pub rule_id: String,
    /// Provider display name, e.g. `Miniback`.
    pub provider: String,
    /// Short title of the rule, e.g. `Miniback API key`.
    pub title: String,
    /// How bad it is.
    pub severity: Severity,
    /// Where the content ends up.
    pub context: Context,
    /// Why the judge chose that context ("reachable from `app/page.tsx`
    /// (`"use client"`) via `src/lib/stripe.ts`"); `None` for findings about
    /// a file's place in the repository rather than a key.
    pub context_reason: Option<String>,
    /// Which kind of source produced it.
    pub origin: Origin,
    /// Where it is.
    pub location: Location,
    /// The raw secret, kept in memory for fingerprints and `--show-secrets`.
    /// Reports must go through [`Finding::secret_display`].
    pub secret: Option<String>,
    /// The secret with its random part reduced to the first 4 and last 2 chars.
    pub secret_redacted: Option<String>,
    /// `sha256(rule_id ‖ 0x00 ‖ secret)`, hex, truncated: stable when lines
    /// move, never reversible to the secret.
    pub fingerprint: String,
    /// One or two sentences: what and why it matters here.
    pub message: String,
    /// Where to rotate the key.
    pub rotation_url: Option<String>,
    /// Steps to fix it, for someone who has just been told the key leaked.
    pub remediation: String,
    /// The line around the secret, trimmed, with the secret redacted.
    pub snippet: Option<String>,
    /// Same snippet with the raw secret (only printed with `--show-secrets`).
    pub snippet_raw: Option<String>,
    /// History attribution, for findings from git history.
    pub commit: Option<CommitInfo>,
    /// Where a bundled copy came from (e.g. the dotenv variable inlined into it).
    pub source: Option<String>,
    /// How the key was written when it was found encoded (`base64`,
    /// `percent`, `unicode-escape`, `hex-escape`); the location is the
    /// encoded text's.
    pub encoding: Option<String>,
}

impl Finding {
    /// How reports qualify a history finding's commit: where the key is now
    /// (`None` when it is still in HEAD, or not from history).
    pub fn history_note(&self) -> Option<&'static str> {
        match (&self.origin, &self.commit) {
            (Origin::CommitMessage, Some(_)) => Some("in a commit message, which every clone has"),
            (Origin::TagMessage, Some(_)) => Some("in a tag message, which every clone has"),
            (_, Some(c)) if !c.in_head => Some("removed from HEAD but still in history"),
            _ => None,
        }
    }

    /// The secret as reports should print it.
    pub fn secret_display(&self, show_secrets: bool) -> Option<&str> {
        if show_secrets {
            self.secret.as_deref().or(self.secret_redacted.as_deref())
        } else {
            self.secret_redacted.as_deref()
        }
    }

    /// The snippet as reports should print it.
    pub fn snippet_display(&self, show_secrets: bool) -> Option<&str> {
        if show_secrets {
            self.snippet_raw.as_deref().or(self.snippet.as_deref())
        } else {
            self.snippet.as_deref()
        }
    }

    /// Ordering used by every report: path, line, column, rule.
    pub fn sort_key(&self) -> (&str, u64, u64, &str) {
        (
            &self.location.path,
            self.location.line,
            self.location.column,
            &self.rule_id,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        for s in Severity::ALL_DESC {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
        }
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }
}
