//! `--format json`: the public, versioned machine format.
//!
//! The shape is a contract documented in the README: `version`, `findings`
//! (one object per finding, fields in a fixed order), `keys` (the findings
//! grouped by key, see [`super::keys`]: one entry per key with its worst
//! severity and every place, each pointing at its entry in `findings`) and
//! `summary`. Secrets appear only redacted unless `--show-secrets`, which
//! adds a `secret` field.

use super::keys::{self, KeyGroup};
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
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'a str>,
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
            encoding: f.encoding.as_deref(),
        }
    }
}

/// One place of a key: where, how bad there, and which finding it is.
#[derive(Serialize)]
struct JsonPlace<'a> {
    /// Index into `findings`.
    finding: usize,
    path: &'a str,
    line: u64,
    column: u64,
    context: &'a str,
    severity: &'a str,
    /// History: the commit that put the key at this path.
    commit: Option<&'a str>,
}

/// Another finding about a key, at one of its places (`key-rotation-overdue`).
#[derive(Serialize)]
struct JsonRelated<'a> {
    /// Index into `findings`.
    finding: usize,
    rule_id: &'a str,
    severity: &'a str,
}

/// The wire form of one key: rotated once, however many places hold it.
#[derive(Serialize)]
struct JsonKey<'a> {
    fingerprint: &'a str,
    rule_id: &'a str,
    provider: &'a str,
    title: &'a str,
    severity: &'a str,
    secret_redacted: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    rotation_url: Option<&'a str>,
    count: usize,
    places: Vec<JsonPlace<'a>>,
    other_findings: Vec<JsonRelated<'a>>,
}

impl<'a> JsonKey<'a> {
    fn new(all: &'a [Finding], key: &KeyGroup<'a>, show_secrets: bool) -> Self {
        let first = key.first();
        JsonKey {
            fingerprint: key.fingerprint,
            rule_id: key.rule_id,
            provider: &first.provider,
            title: &first.title,
            severity: key.severity.as_str(),
            secret_redacted: first.secret_redacted.as_deref(),
            secret: if show_secrets {
                first.secret.as_deref()
            } else {
                None
            },
            rotation_url: first.rotation_url.as_deref(),
            count: key.places.len(),
            places: key
                .places
                .iter()
                .map(|f| JsonPlace {
                    finding: keys::position(all, f),
                    path: &f.location.path,
                    line: f.location.line,
                    column: f.location.column,
                    context: f.context.as_str(),
                    severity: f.severity.as_str(),
                    commit: f.commit.as_ref().map(|c| c.id.as_str()),
                })
                .collect(),
            other_findings: key
                .notes
                .iter()
                .map(|f| JsonRelated {
                    finding: keys::position(all, f),
                    rule_id: &f.rule_id,
                    severity: f.severity.as_str(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    keys: Vec<JsonKey<'a>>,
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
            keys: keys::group(report.findings)
                .keys
                .iter()
                .map(|k| JsonKey::new(report.findings, k, self.opts.show_secrets))
                .collect(),
            summary: report.summary,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}
