//! The public description of the audit rules — the repository-shape checks
//! of `src/audit/` and history's `key-rotation-overdue` — as data, from the
//! embedded `rules/audits.toml`.
//!
//! Audit findings are made by code, not by a pattern, but a reader of SARIF
//! or `--list-rules` needs what each rule *is* apart from any one finding:
//! SARIF's `fullDescription` and `help` come from here, never from the
//! path-specific message of the first result.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The embedded catalogue: (file name, contents).
pub const AUDIT_RULES_FILE: (&str, &str) =
    ("rules/audits.toml", include_str!("../../rules/audits.toml"));

/// One audit rule's description.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRule {
    /// Stable public rule id.
    pub id: String,
    /// Short title.
    pub name: String,
    /// How severe its findings are, in words (it depends on the finding).
    pub severity: String,
    /// What it checks, in one or two sentences.
    pub description: String,
    /// How to fix it, in Markdown (fenced code blocks for commands).
    pub help: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditFile {
    audit: Vec<AuditRule>,
}

/// Every audit rule, in the file's order.
pub fn audit_rules() -> &'static [AuditRule] {
    static RULES: OnceLock<Vec<AuditRule>> = OnceLock::new();
    RULES.get_or_init(|| {
        // Embedded and checked by the tests below: a parse error here is a
        // build of keyscan that never passed them.
        toml::from_str::<AuditFile>(AUDIT_RULES_FILE.1)
            .unwrap_or_else(|e| panic!("{}: {e}", AUDIT_RULES_FILE.0))
            .audit
    })
}

/// The audit rule `id`, if there is one.
pub fn audit_rule(id: &str) -> Option<&'static AuditRule> {
    audit_rules().iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_audit_rule_of_the_code_is_described_once() {
        let described: Vec<&str> = audit_rules().iter().map(|r| r.id.as_str()).collect();
        let unique: BTreeSet<&str> = described.iter().copied().collect();
        assert_eq!(
            unique.len(),
            described.len(),
            "duplicate ids: {described:?}"
        );
        let mut code: BTreeSet<&str> = crate::audit::RULE_IDS.iter().copied().collect();
        code.insert(crate::judge::overdue::RULE_ID);
        assert_eq!(unique, code);
        for r in audit_rules() {
            assert!(!r.name.is_empty() && !r.description.is_empty(), "{}", r.id);
            // Commands are fenced code blocks, never indented lines (which
            // Markdown renders inline after a paragraph).
            assert!(
                r.help.contains("```") || !r.help.contains("keyscan --"),
                "{}",
                r.id
            );
            assert!(
                !r.help.lines().any(|l| l.starts_with("    ")),
                "{}: indented line in help",
                r.id
            );
        }
    }
}
