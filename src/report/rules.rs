//! What a rule *is*, without its compiled regexes: the catalogue that
//! `--list-rules` prints and that SARIF needs for its `tool.driver.rules`.
//! `--list-rules` also lists the audit rules (`rules/audits.toml`), whose
//! findings come from code rather than patterns.
//!
//! Reporters must not depend on the matcher, yet SARIF describes each rule
//! (title, description, how to rotate, how severe it can be) apart from any
//! one finding, and a finding's own remediation is tailored to its context
//! and project. [`RuleInfo`] is that rule-level description as plain data,
//! built once per scan from the loaded [`RuleSet`] (built-in rules and the
//! config's `[[rule]]` tables alike) and the config's provider settings, so a
//! `dashboard_url` override shows up in SARIF help and in `--list-rules`.

use crate::config::ProviderSettings;
use crate::judge::rotation::rotation;
use crate::rules::audits::{audit_rules, AuditRule};
use crate::rules::{Rule, RuleKind, RuleSet, SeverityTable};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// A rule's public description.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleInfo {
    /// Stable public id.
    pub id: String,
    /// Provider display name.
    pub provider: String,
    /// Short title.
    pub name: String,
    /// `secret` or `publishable`.
    pub kind: RuleKind,
    /// One sentence about what the key grants.
    pub description: String,
    /// Literal prefixes fed to the prefilter.
    pub keywords: Vec<String>,
    /// Default severity per context.
    pub severity: SeverityTable,
    /// Where to rotate (with `PROJECT_ID` when the URL needs a project id
    /// that only a finding can supply).
    pub rotation_url: String,
    /// Numbered rotation steps, one per line.
    pub rotation_steps: String,
    /// Where the rule came from: `rules/miniback.toml` or the config file.
    pub source: String,
}

impl RuleInfo {
    /// The description of `rule`, with the config's settings for its provider
    /// (dashboard URL, default project id) applied.
    pub fn new(rule: &Rule, providers: &BTreeMap<String, ProviderSettings>) -> RuleInfo {
        let settings = providers.get(&rule.spec.provider.to_ascii_lowercase());
        let project = settings.and_then(|s| s.project_id.as_deref());
        let rot = rotation(rule, project, settings);
        RuleInfo {
            id: rule.spec.id.clone(),
            provider: rule.spec.provider.clone(),
            name: rule.spec.name.clone(),
            kind: rule.spec.kind,
            description: rule.spec.description.clone(),
            keywords: rule.spec.keywords.clone(),
            severity: rule.spec.severity,
            rotation_url: rot.url,
            rotation_steps: rot.steps,
            source: rule.source_file.clone(),
        }
    }

    /// Descriptions of every rule in `set`, in load order.
    pub fn catalogue(
        set: &RuleSet,
        providers: &BTreeMap<String, ProviderSettings>,
    ) -> Vec<RuleInfo> {
        set.rules
            .iter()
            .map(|r| RuleInfo::new(r, providers))
            .collect()
    }

    /// The most severe of the rule's per-context severities.
    pub fn max_severity(&self) -> crate::finding::Severity {
        let s = &self.severity;
        [s.client, s.server, s.dotenv, s.docs, s.test]
            .into_iter()
            .max()
            .unwrap_or(crate::finding::Severity::Info)
    }
}

/// `--list-rules --format json`: `{"version": 1, "rules": [...], "audits":
/// [...]}` — key rules, then the repository checks (`rules/audits.toml`).
pub fn write_json(rules: &[RuleInfo], out: &mut dyn Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        version: u32,
        rules: &'a [RuleInfo],
        audits: &'a [AuditRule],
    }
    let doc = Doc {
        version: 1,
        rules,
        audits: audit_rules(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// `--list-rules` as text: one block per rule.
pub fn write_text(rules: &[RuleInfo], out: &mut dyn Write) -> io::Result<()> {
    use crate::sanitize::for_terminal;
    for r in rules {
        let kind = match r.kind {
            RuleKind::Secret => "secret",
            RuleKind::Publishable => "publishable",
        };
        writeln!(out, "{}  ({}, {kind})", r.id, for_terminal(&r.provider))?;
        writeln!(out, "  {}", for_terminal(&r.name))?;
        writeln!(out, "  {}", for_terminal(&r.description))?;
        writeln!(out, "  keywords: {}", for_terminal(&r.keywords.join(", ")))?;
        let s = &r.severity;
        writeln!(
            out,
            "  severity: client {}, server {}, dotenv {}, docs {}, test {}",
            s.client, s.server, s.dotenv, s.docs, s.test
        )?;
        writeln!(out, "  rotate: {}", for_terminal(&r.rotation_url))?;
        writeln!(out, "  source: {}", for_terminal(&r.source))?;
        writeln!(out)?;
    }
    let audits = audit_rules();
    for a in audits {
        writeln!(out, "{}  (repository check)", a.id)?;
        writeln!(out, "  {}", a.name)?;
        writeln!(out, "  {}", a.description)?;
        writeln!(out, "  severity: {}", a.severity)?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} key rules, {} repository checks (rules/audits.toml)",
        rules.len(),
        audits.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    #[test]
    fn catalogue_applies_provider_settings() {
        let set = RuleSet::builtin().unwrap();
        let plain = RuleInfo::catalogue(&set, &BTreeMap::new());
        assert_eq!(plain.len(), set.rules.len());
        let mb = plain.iter().find(|r| r.id == "miniback-api-key").unwrap();
        assert_eq!(mb.max_severity(), Severity::Critical);
        assert!(
            mb.rotation_steps.starts_with("1. "),
            "{}",
            mb.rotation_steps
        );

        let mut providers = BTreeMap::new();
        providers.insert(
            "miniback".to_string(),
            ProviderSettings {
                dashboard_url: Some("https://dash.example/{project_id}/keys".into()),
                project_id: Some("acme".into()),
            },
        );
        let tuned = RuleInfo::catalogue(&set, &providers);
        let mb = tuned.iter().find(|r| r.id == "miniback-api-key").unwrap();
        assert_eq!(mb.rotation_url, "https://dash.example/acme/keys");
        let pk = tuned
            .iter()
            .find(|r| r.id == "stripe-publishable-key")
            .unwrap();
        assert_eq!(pk.max_severity(), Severity::Info);
    }
}
