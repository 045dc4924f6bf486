//! The on-disk shape of rules: what `rules/*.toml` and the `[[rule]]` tables of
//! a `.keyscan.toml` deserialize into, before validation.
//!
//! Unknown fields are errors (`deny_unknown_fields`) so that a typo such as
//! `keyword = […]` is reported instead of silently producing a rule that never
//! fires.

use crate::finding::{Context, Severity};
use serde::{Deserialize, Serialize};

/// One rules file: a list of `[[rule]]` tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules in this file.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
}

/// Whether a key grants access that must stay private.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A secret: must never reach a browser or a repository.
    Secret,
    /// Meant to be public (e.g. a publishable key): reported for inventory.
    Publishable,
}

/// A rule as written in a rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable public id (`[a-z0-9-]+`); users allowlist by it.
    pub id: String,
    /// Provider display name.
    pub provider: String,
    /// Short title.
    pub name: String,
    /// Secret or publishable.
    #[serde(default = "default_kind")]
    pub kind: RuleKind,
    /// One sentence for reports.
    pub description: String,
    /// Literal strings fed to the aho-corasick prefilter. The regex is tried,
    /// anchored, where each keyword occurrence starts (minus `lookbehind`).
    pub keywords: Vec<String>,
    /// The literal prefix of the secret, kept in clear when redacting.
    #[serde(default)]
    pub secret_prefix: Option<String>,
    /// The regex, with exactly one capture group: the secret.
    pub pattern: String,
    /// How many bytes before a keyword occurrence a match may begin.
    #[serde(default)]
    pub lookbehind: usize,
    /// Known documentation examples: exact secrets that are never reported.
    #[serde(default)]
    pub known_examples: Vec<String>,
    /// Minimum entropy override (bits per character of the random part).
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// Lines that must produce exactly one finding of this rule.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Lines that must produce no finding of this rule.
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// Severity per context.
    #[serde(default)]
    pub severity: SeverityTable,
    /// How to rotate.
    pub rotation: RotationSpec,
    /// Where a project id shows up near a key.
    #[serde(default)]
    pub project: Option<ProjectSpec>,
    /// Vendor disambiguation for prefixes shared between providers.
    #[serde(default)]
    pub vendor: Option<VendorSpec>,
    /// The id of a rule this one refines: where both match the same key at
    /// the same place, one finding is reported, under the refined rule's id
    /// (so fingerprints, baselines and allowlists of the key still apply),
    /// with this rule's description in its message and this rule's rotation
    /// steps.
    #[serde(default)]
    pub refines: Option<String>,
}

fn default_kind() -> RuleKind {
    RuleKind::Secret
}

/// Default severity of a rule's finding in each context.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SeverityTable {
    /// Shipped to browsers.
    #[serde(default = "sev_critical")]
    pub client: Severity,
    /// Server code and config.
    #[serde(default = "sev_high")]
    pub server: Severity,
    /// A dotenv file that is tracked or not ignored.
    #[serde(default = "sev_high")]
    pub dotenv: Severity,
    /// Documentation.
    #[serde(default = "sev_medium")]
    pub docs: Severity,
    /// Tests and fixtures.
    #[serde(default = "sev_medium")]
    pub test: Severity,
}

fn sev_critical() -> Severity {
    Severity::Critical
}
fn sev_high() -> Severity {
    Severity::High
}
fn sev_medium() -> Severity {
    Severity::Medium
}

impl Default for SeverityTable {
    fn default() -> Self {
        SeverityTable {
            client: Severity::Critical,
            server: Severity::High,
            dotenv: Severity::High,
            docs: Severity::Medium,
            test: Severity::Medium,
        }
    }
}

impl SeverityTable {
    /// The severity for a context (`Repository` uses the server value).
    pub fn for_context(&self, ctx: Context) -> Severity {
        match ctx {
            Context::Client => self.client,
            Context::Server | Context::Repository => self.server,
            Context::Dotenv => self.dotenv,
            Context::Docs => self.docs,
            Context::Test => self.test,
        }
    }
}

/// Rotation guidance. `{project_id}` in `url` and steps is replaced by the
/// project id when one is known; `{project}` in steps becomes ` (id)` or
/// nothing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationSpec {
    /// Where to rotate; may contain `{project_id}`.
    pub url: String,
    /// Used instead of `url` when `url` needs a project id and none is known.
    #[serde(default)]
    pub url_without_project: Option<String>,
    /// Ordered steps.
    pub steps: Vec<String>,
}

/// Regexes (one capture group each) that reveal the project a key belongs to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    /// The patterns.
    pub patterns: Vec<String>,
}

/// Vendor disambiguation: rules sharing a `group` compete for one key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorSpec {
    /// Rules with the same group never both report one key.
    pub group: String,
    /// A regex on the random part that proves this vendor by shape.
    #[serde(default)]
    pub shape: Option<String>,
    /// Words that say this vendor when they appear on the key's line or in
    /// the file (case-sensitive literals).
    #[serde(default)]
    pub context: Vec<String>,
    /// The rule that wins when nothing else decides.
    #[serde(default)]
    pub fallback: bool,
}

/// Shared placeholder heuristics (`rules/placeholders.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceholderSpec {
    /// Words that mark a template value.
    pub stopwords: Vec<String>,
    /// Minimum entropy of the random part in bits per character.
    pub min_entropy: f64,
    /// From this many characters on, a random part is judged by
    /// `min_entropy_long` instead.
    pub long_body: usize,
    /// Minimum entropy of a random part of `long_body` characters or more.
    pub min_entropy_long: f64,
    /// Length of an ascending/descending run that marks a hand-typed value.
    pub max_sequence_run: usize,
}

/// The words that tell a name in code from a random key
/// (`rules/identifiers.toml`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierSpec {
    /// Dictionary and programming words, lowercase, 3 letters or more.
    pub words: Vec<String>,
    /// Short words and code abbreviations, lowercase, 2 letters or more.
    pub abbreviations: Vec<String>,
    /// Words after which a candidate is the name being declared.
    pub declarators: Vec<String>,
}
