//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other viewers.
//!
//! One run, one tool (`keyscan`, its version and repository URL). The
//! `tool.driver.rules` array holds each rule that has a result, once, in
//! order of first appearance, so `ruleIndex` points into it. Key rules are
//! described from the rule catalogue, audit rules from `rules/audits.toml`
//! (their help has fenced code blocks for commands).
//!
//! What GitHub needs and why each field is here:
//!
//! - `properties.security-severity` on each rule decides the alert's severity
//!   in code scanning. Our severity belongs to a *finding* (the same rule is
//!   critical in a client bundle and medium in a test), so a rule carries the
//!   score of its most severe result in this run ([`security_severity`]:
//!   critical 9.5, high 8.0, medium 5.5, low 3.0, info 1.0 — inside GitHub's
//!   bands for the same names), and each result carries its own `level`
//!   (error for critical/high, warning for medium/low, note for info) and
//!   `properties.severity`.
//! - `partialFingerprints`: our fingerprint as `keyscan/v1` only. GitHub's
//!   `primaryLocationLineHash` is a rolling hash of the lines around the
//!   result that `upload-sarif` computes from the checked-out file; a value
//!   of ours would disagree with it (one warning per alert), so it is left
//!   to GitHub.
//! - Locations are URIs relative to the **repository root**
//!   (`uriBaseId` `%SRCROOT%`, percent-encoded), whatever folder was scanned
//!   (`keyscan apps/web` reports `apps/web/src/api.js`; see
//!   [`crate::facts::repo_paths`]), with a region whose line and column are
//!   at least 1: findings about a whole file (line 0) point at line 1,
//!   column 1. Columns count UTF-16 code units, as the run's `columnKind`
//!   says (GitHub and SARIF's default), not keyscan's byte columns: `ü` is
//!   two bytes and one unit, `😀` four bytes and two units.
//! - One result per place, as GitHub models alerts, but a person rotates a
//!   key once: each result of a key found in several places (grouped as in
//!   [`super::keys`]) lists the key's other places as `relatedLocations`
//!   (the first [`RELATED_MAX`]; GitHub keeps 100 locations per result), and
//!   its message links the first few (`[api/a.js:3](1)`, SARIF's embedded
//!   links) and counts the rest. Square brackets from paths and messages
//!   are escaped (`\[`), so no text forms a link of its own.
//!
//! Secrets appear only through [`Finding::secret_display`] and
//! [`Finding::snippet_display`]: redacted unless `--show-secrets`.

use super::keys::{self, plural, KeyGroup};
use super::rules::RuleInfo;
use super::{RenderOptions, RepoPaths, Report, Reporter};
use crate::finding::{Finding, Severity};
use crate::rules::audits::audit_rule;
use crate::rules::RuleKind;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{self, Write};

/// The schema URI written into `$schema`.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The fingerprint key in `partialFingerprints`; bump the version if the
/// fingerprint's definition ever changes.
pub const FINGERPRINT_KEY: &str = "keyscan/v1";

/// Related locations a result lists at most (GitHub keeps 100 per result
/// and rejects a file with more than 1,000).
pub const RELATED_MAX: usize = 100;

/// Related places linked from a result's message; the rest are counted.
const LINKS_IN_MESSAGE: usize = 5;

/// Escapes square brackets, which SARIF messages reserve for embedded links.
fn escape_brackets(text: &str) -> String {
    text.replace('[', "\\[").replace(']', "\\]")
}

/// `path:line` (`path` as the result names it), and the commit of a place
/// in history.
fn place_text(f: &Finding, path: &str) -> String {
    let mut text = if f.location.line > 0 {
        format!("{path}:{}", f.location.line)
    } else {
        path.to_string()
    };
    if let Some(c) = &f.commit {
        text.push_str(&format!(" in commit {}", &c.id[..c.id.len().min(12)]));
    }
    text
}

/// The SARIF region of a finding. Lines and columns start at 1, and
/// whole-file findings point at the top. Columns are UTF-16 code units, the
/// run's `columnKind`; when the scanner could not count them (deep in a line
/// longer than its buffer), the region is the whole line.
fn region(f: &Finding, show_secrets: bool) -> Value {
    let mut region = Map::new();
    let (line, col) = if f.location.line == 0 {
        (1, Some(1))
    } else {
        (f.location.line, f.location.column_utf16.map(|c| c.max(1)))
    };
    region.insert("startLine".into(), json!(line));
    if let Some(col) = col {
        region.insert("startColumn".into(), json!(col));
    }
    if let Some(snippet) = f.snippet_display(show_secrets) {
        region.insert("snippet".into(), json!({ "text": snippet }));
    }
    Value::Object(region)
}

/// The places of `key` other than `f`'s: a place lists the others; a note
/// (another finding at one of the places) lists the places elsewhere.
fn other_places<'a>(key: &KeyGroup<'a>, f: &Finding) -> Vec<&'a Finding> {
    fn spot(f: &Finding) -> (&str, u64, u64) {
        (&f.location.path, f.location.line, f.location.column)
    }
    let note = key.notes.iter().any(|n| std::ptr::eq(*n, f));
    key.places
        .iter()
        .copied()
        .filter(|p| !(std::ptr::eq(*p, f) || (note && spot(p) == spot(f))))
        .collect()
}

/// Renders SARIF.
#[derive(Debug)]
pub struct SarifReporter {
    opts: RenderOptions,
}

impl SarifReporter {
    /// A SARIF reporter.
    pub fn new(opts: RenderOptions) -> Self {
        SarifReporter { opts }
    }
}

/// GitHub's `security-severity` score for one of our severities.
pub fn security_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// SARIF `level` for one of our severities.
pub fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

/// `miniback-api-key` → `MinibackApiKey`: SARIF's `name` is an identifier.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            let first = cs.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(cs).collect::<String>()
        })
        .collect()
}

/// Percent-encodes a `/`-separated path for a URI reference: every byte but
/// RFC 3986 unreserved characters and `/`.
pub fn encode_uri_path(path: &str) -> String {
    utf8_percent_encode(path, URI_PATH).to_string()
}

/// Every byte but RFC 3986's unreserved characters and `/` is escaped.
const URI_PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The artifact location for a finding's path: relative paths are resolved
/// against `%SRCROOT%`; an absolute scan root (given on the command line)
/// becomes a `file://` URI of its own.
fn artifact_location(path: &str) -> Value {
    if path.starts_with('/') {
        json!({ "uri": format!("file://{}", encode_uri_path(path)) })
    } else {
        let rel = path.strip_prefix("./").unwrap_or(path);
        json!({ "uri": encode_uri_path(rel), "uriBaseId": "%SRCROOT%" })
    }
}

/// The rule description for `id`: a key rule from the catalogue, an audit
/// rule from `rules/audits.toml` — never from one finding's path-specific
/// message — and only an id that neither knows from its first finding.
fn rule_object(id: &str, info: Option<&RuleInfo>, first: &Finding, worst: Severity) -> Value {
    let (name, description, provider, url, text, markdown, tags) = match (info, audit_rule(id)) {
        (Some(r), _) => {
            let kind = match r.kind {
                RuleKind::Secret => "secret-key",
                RuleKind::Publishable => "publishable-key",
            };
            let (name, provider) = (&r.name, &r.provider);
            let (description, steps, url) = (&r.description, &r.rotation_steps, &r.rotation_url);
            let s = &r.severity;
            let severity = format!(
                "Severity depends on where the key is: client {}, server {}, dotenv {}, docs {}, test {}.",
                s.client, s.server, s.dotenv, s.docs, s.test
            );
            (
                name.clone(),
                description.clone(),
                provider.clone(),
                Some(url.clone()),
                format!("{name} ({provider})\n\n{description}\n\nHow to fix:\n{steps}\n\nRotate the key at: {url}\n\n{severity}\n"),
                format!("**{name}** ({provider})\n\n{description}\n\n### How to fix\n\n{steps}\n\nRotate the key at: <{url}>\n\n{severity}\n"),
                kind,
            )
        }
        (None, Some(a)) => (
            a.name.clone(),
            a.description.clone(),
            "git".to_string(),
            None,
            format!(
                "{} (repository check)\n\n{}\n\nHow to fix:\n{}\nSeverity: {}.\n",
                a.name, a.description, a.help, a.severity
            ),
            format!(
                "**{}** (repository check)\n\n{}\n\n### How to fix\n\n{}\nSeverity: {}.\n",
                a.name, a.description, a.help, a.severity
            ),
            "audit",
        ),
        (None, None) => {
            let fenced = format!("```text\n{}\n```", first.remediation);
            (
                first.title.clone(),
                first.title.clone(),
                first.provider.clone(),
                first.rotation_url.clone(),
                format!("{}\n\nHow to fix:\n{}\n", first.title, first.remediation),
                format!("**{}**\n\n### How to fix\n\n{fenced}\n", first.title),
                "audit",
            )
        }
    };
    let mut rule = json!({
        "id": id,
        "name": pascal_case(id),
        "shortDescription": { "text": name },
        "fullDescription": { "text": description },
        "help": { "text": text, "markdown": markdown },
        "defaultConfiguration": { "level": level(worst) },
        "properties": {
            "security-severity": security_severity(worst),
            "precision": "high",
            "tags": ["security", "secrets", tags, provider.to_ascii_lowercase(), "external/cwe/cwe-798"],
        },
    });
    if let Some(url) = url {
        rule["helpUri"] = json!(url);
    }
    rule
}

impl SarifReporter {
    fn result(
        &self,
        f: &Finding,
        repo_paths: &RepoPaths,
        rule_index: usize,
        key: Option<&[&Finding]>,
    ) -> Value {
        let others = key.unwrap_or_default();
        let show = self.opts.show_secrets;
        let mut text = format!("{} ({}, {}): {}", f.title, f.severity, f.context, f.message);
        if let Some(secret) = f.secret_display(show) {
            text.push_str(&format!(" Key: {secret} (fingerprint {}).", f.fingerprint));
        }
        if let Some(c) = &f.commit {
            let short = &c.id[..c.id.len().min(12)];
            text.push_str(&format!(
                " Introduced in commit {short}{}.",
                f.history_note()
                    .map(|n| format!("; {n}"))
                    .unwrap_or_default()
            ));
        }
        let mut text = escape_brackets(&text);
        if !others.is_empty() {
            let links: Vec<String> = others
                .iter()
                .take(LINKS_IN_MESSAGE)
                .enumerate()
                .map(|(i, g)| {
                    let path = repo_paths.repo_relative(&g.location.path);
                    format!("[{}]({})", escape_brackets(&place_text(g, &path)), i + 1)
                })
                .collect();
            let more = others.len().saturating_sub(LINKS_IN_MESSAGE);
            text.push_str(&format!(
                " The same key is in {}: {}{}.",
                plural(others.len(), "other place"),
                links.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if let Some(url) = &f.rotation_url {
            text.push_str(&escape_brackets(&format!(" Rotate it: {url}")));
        }
        let related: Vec<Value> = others
            .iter()
            .take(RELATED_MAX)
            .enumerate()
            .map(|(i, g)| {
                let mut what = format!("The same key ({}, {})", g.context, g.severity);
                if let Some(c) = &g.commit {
                    what.push_str(&format!(" in commit {}", &c.id[..c.id.len().min(12)]));
                }
                json!({
                    "id": i + 1,
                    "physicalLocation": {
                        "artifactLocation": artifact_location(&repo_paths.repo_relative(&g.location.path)),
                        "region": region(g, show),
                    },
                    "message": { "text": escape_brackets(&what) },
                })
            })
            .collect();
        let mut props = json!({
            "severity": f.severity.as_str(),
            "context": f.context.as_str(),
            "origin": f.origin.as_str(),
            "provider": f.provider,
            "fingerprint": f.fingerprint,
            "remediation": f.remediation,
        });
        if let Some(redacted) = &f.secret_redacted {
            props["secretRedacted"] = json!(redacted);
        }
        if show {
            if let Some(secret) = &f.secret {
                props["secret"] = json!(secret);
            }
        }
        if let Some(url) = &f.rotation_url {
            props["rotationUrl"] = json!(url);
        }
        if let Some(c) = &f.commit {
            props["commit"] = json!(c);
        }
        if let Some(src) = &f.source {
            props["source"] = json!(src);
        }
        if let Some(reason) = &f.context_reason {
            props["contextReason"] = json!(reason);
        }
        if key.is_some() {
            props["keyPlaces"] = json!(others.len() + 1);
        }
        let mut result = json!({
            "ruleId": f.rule_id,
            "ruleIndex": rule_index,
            "level": level(f.severity),
            "message": { "text": text },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": artifact_location(&repo_paths.repo_relative(&f.location.path)),
                    "region": region(f, show),
                }
            }],
            "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
            "properties": props,
        });
        if !related.is_empty() {
            result["relatedLocations"] = json!(related);
        }
        result
    }
}

impl Reporter for SarifReporter {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        // Rules in order of first appearance, each with its worst severity.
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut order: Vec<(&Finding, Severity)> = Vec::new();
        for f in report.findings {
            match index.get(f.rule_id.as_str()) {
                Some(&i) => order[i].1 = order[i].1.max(f.severity),
                None => {
                    index.insert(&f.rule_id, order.len());
                    order.push((f, f.severity));
                }
            }
        }
        let rules: Vec<Value> = order
            .iter()
            .map(|(first, worst)| {
                let info = report.rules.iter().find(|r| r.id == first.rule_id);
                rule_object(&first.rule_id, info, first, *worst)
            })
            .collect();
        // Each finding's key group: its other places are related locations.
        let grouped = keys::group(report.findings);
        let mut group_of: Vec<Option<usize>> = vec![None; report.findings.len()];
        for (g, key) in grouped.keys.iter().enumerate() {
            for f in key.places.iter().chain(&key.notes) {
                group_of[keys::position(report.findings, f)] = Some(g);
            }
        }
        let results: Vec<Value> = report
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let others = group_of[i].map(|g| other_places(&grouped.keys[g], f));
                self.result(
                    f,
                    report.repo_paths,
                    index[f.rule_id.as_str()],
                    others.as_deref(),
                )
            })
            .collect();
        let notifications: Vec<Value> = report
            .summary
            .errors
            .iter()
            .map(|e| {
                json!({
                    "level": "warning",
                    "message": { "text": format!("could not scan: {}", e.message) },
                    "locations": [{ "physicalLocation": { "artifactLocation": artifact_location(&report.repo_paths.repo_relative(&e.path)) } }],
                })
            })
            .chain(report.summary.incomplete.iter().map(|e| {
                json!({
                    "level": "warning",
                    "message": { "text": format!("not fully scanned: {}", e.message) },
                    "locations": [{ "physicalLocation": { "artifactLocation": artifact_location(&e.path) } }],
                })
            }))
            .collect();
        let doc = json!({
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {
                    "driver": {
                        "name": "keyscan",
                        "version": env!("CARGO_PKG_VERSION"),
                        "semanticVersion": env!("CARGO_PKG_VERSION"),
                        "informationUri": env!("CARGO_PKG_REPOSITORY"),
                        "rules": rules,
                    }
                },
                "invocations": [{
                    "executionSuccessful": true,
                    "toolExecutionNotifications": notifications,
                }],
                "columnKind": "utf16CodeUnits",
                "results": results,
                "properties": { "summary": report.summary },
            }],
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_cannot_form_links() {
        assert_eq!(escape_brackets("a[x](1)b]"), "a\\[x\\](1)b\\]");
    }

    #[test]
    fn names_uris_and_scores() {
        assert_eq!(pascal_case("miniback-api-key"), "MinibackApiKey");
        assert_eq!(encode_uri_path("web/a b/%x#.js"), "web/a%20b/%25x%23.js");
        assert_eq!(encode_uri_path("ünï.js"), "%C3%BCn%C3%AF.js");
        assert_eq!(artifact_location("./a.js")["uri"], "a.js");
        assert_eq!(artifact_location("/tmp/a.js")["uri"], "file:///tmp/a.js");
        assert!(artifact_location("/tmp/a.js").get("uriBaseId").is_none());
        let scores: Vec<f64> = Severity::ALL_DESC
            .iter()
            .map(|s| security_severity(*s).parse().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] > w[1]), "{scores:?}");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Low), "warning");
        assert_eq!(level(Severity::Info), "note");
    }
}
