//! `--format json`: the public, versioned machine format.
//!
//! The shape is a contract documented in the README: `version`, `findings`
//! (one object per finding, fields in a fixed order) and `summary`. Secrets
//! appear only redacted unless `--show-secrets`, which adds a `secret` field.

use super::{RenderOptions, Report, Reporter};
use crate::finding::{CommitInfo, Finding};
use serde::Serialize;
use std::io::{self, Write};

/// JSON schema version; bumped on incompatible changes.
pub const JSON_VERSION: u32 = 1;

/// Renders JSON.
#[derive(Debug)]
pub struct JsonReporter {
    opts: RenderOptions,
}

impl JsonReporter {
    /// A JSON reporter.
    pub fn new(opts: RenderOptions) -> Self {
        JsonReporter { opts }
    }
}

/// The wire form of one finding.
#[derive(Serialize)]
pub struct JsonFinding<'a> {
    rule_id: &'a str,
    provider: &'a str,
    title: &'a str,
    severity: &'a str,
    context: &'a str,
    context_reason: Option<&'a str>,
    origin: &'a str,
    path: &'a str,
    line: u64,
    column: u64,
    secret_redacted: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    fingerprint: &'a str,
    message: &'a str,
    rotation_url: Option<&'a str>,
    remediation: &'a str,
    snippet: Option<&'a str>,
    commit: Option<&'a CommitInfo>,
    source: Option<&'a str>,
}

impl<'a> JsonFinding<'a> {
    /// The wire form of `f`.
    pub fn new(f: &'a Finding, show_secrets: bool) -> Self {
        JsonFinding {
            rule_id: &f.rule_id,
            provider: &f.provider,
            title: &f.title,
            severity: f.severity.as_str(),
            context: f.context.as_str(),
            context_reason: f.context_reason.as_deref(),
            origin: f.origin.as_str(),
            path: &f.location.path,
            line: f.location.line,
            column: f.location.column,
            secret_redacted: f.secret_redacted.as_deref(),
            secret: if show_secrets {
                f.secret.as_deref()
            } else {
                None
            },
            fingerprint: &f.fingerprint,
            message: &f.message,
            rotation_url: f.rotation_url.as_deref(),
            remediation: &f.remediation,
            snippet: f.snippet_display(show_secrets),
            commit: f.commit.as_ref(),
            source: f.source.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    summary: &'a super::Summary,
}

impl Reporter for JsonReporter {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let doc = JsonReport {
            version: JSON_VERSION,
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding::new(f, self.opts.show_secrets))
                .collect(),
            summary: report.summary,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}
