//! Judgement: from raw matches to findings.
//!
//! The matcher says "this rule's regex matched these bytes". The [`Judge`]
//! decides whether that is a leak and how bad it is:
//!
//! 1. drop placeholders ([`placeholder`]);
//! 2. keep one vendor per key ([`vendor`]);
//! 3. decide the context from the path, the content and the variable the key
//!    is assigned to ([`context`], using [`project`] facts);
//! 4. stay silent on a key in a git-ignored dotenv file that no bundler
//!    exposes — that is correct usage;
//! 5. honour the inline `keyscan:allow` marker;
//! 6. build the [`Finding`]: severity from the rule's table, redacted secret,
//!    fingerprint, message, rotation URL and steps ([`rotation`]).
//!
//! Judgement is per blob and needs no I/O, so sources can run it anywhere.

pub mod context;
pub mod overdue;
pub mod placeholder;
pub mod project;
pub mod rotation;
pub mod vendor;

use crate::config::ProviderSettings;
use crate::dotenv;
use crate::finding::{CommitInfo, Context, Finding, Location, Origin};
use crate::rules::{Rule, RuleSet};
use crate::scan::{BlobScan, Matcher, RawMatch, SCRIPT_WORD};
use context::{classify, Classified, ContentFacts};
use project::ProjectIndex;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Advice for a key that is gone from HEAD but still in git history.
pub const REMOVED_FROM_HEAD: &str =
    "It was removed from HEAD but is still in git history, where every clone has it: rotate it.";

/// A blob after matching, with what the source knows about it.
#[derive(Debug, Clone)]
pub struct ScannedBlob {
    /// Path relative to the scan root, `/`-separated.
    pub path: String,
    /// Which source produced it.
    pub origin: Origin,
    /// The path is ignored by git (or by `.gitignore` rules outside git).
    pub ignored: bool,
    /// What the matcher found.
    pub scan: BlobScan,
    /// Parsed dotenv entries, for dotenv files with matches.
    pub dotenv: Option<Vec<dotenv::Entry>>,
    /// History attribution.
    pub commit: Option<CommitInfo>,
}

/// A key seen in a dotenv file, whether or not it was reported.
///
/// Kept in memory only (it holds the raw secret) for checks that look across
/// files: which dotenv variable a bundled key came from, and whether one key
/// serves several environments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySighting {
    /// The rule that matched.
    pub rule_id: String,
    /// The rule's provider.
    pub provider: String,
    /// The rule's title.
    pub title: String,
    /// The rule is for publishable keys (meant for browsers).
    pub publishable: bool,
    /// The raw key (never printed).
    pub secret: String,
    /// The key as reports print it.
    pub secret_redacted: String,
    /// The dotenv file, relative and `/`-separated.
    pub path: String,
    /// 1-based line of the key.
    pub line: u64,
    /// 1-based byte column of the key.
    pub column: u64,
    /// The variable the key is assigned to, when known.
    pub variable: Option<String>,
    /// Whether judgement reported it (false: set aside as correct usage in a
    /// git-ignored dotenv file).
    pub reported: bool,
}

/// Counts of candidates that judgement set aside, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Placeholders and documentation examples.
    pub placeholders: u64,
    /// Keys in git-ignored dotenv files without an exposed prefix.
    pub expected_dotenv: u64,
    /// Findings suppressed by an inline `keyscan:allow`.
    pub inline_allowed: u64,
}

impl Tally {
    /// Adds another tally.
    pub fn merge(&mut self, other: &Tally) {
        self.placeholders += other.placeholders;
        self.expected_dotenv += other.expected_dotenv;
        self.inline_allowed += other.inline_allowed;
    }
}

/// Settings that shape judgement.
#[derive(Debug, Clone, Default)]
pub struct JudgeSettings {
    /// Per-provider settings, keyed by lowercase provider name.
    pub providers: BTreeMap<String, ProviderSettings>,
    /// Extra client-bundle globs from the config.
    pub client_globs: Option<globset::GlobSet>,
    /// Ignore inline `keyscan:allow` markers (`--no-allowlist`).
    pub ignore_inline_allow: bool,
}

/// Turns raw matches into findings.
#[derive(Debug)]
pub struct Judge<'a> {
    matcher: &'a Matcher<'a>,
    settings: JudgeSettings,
}

impl<'a> Judge<'a> {
    /// A judge for the matcher's rules.
    pub fn new(matcher: &'a Matcher<'a>, settings: JudgeSettings) -> Self {
        Judge { matcher, settings }
    }

    /// The rules this judge judges by.
    pub fn rules(&self) -> &'a RuleSet {
        self.matcher.rules()
    }

    /// The file-level context of a blob.
    pub fn classify_blob(&self, blob: &ScannedBlob, projects: &ProjectIndex) -> Classified {
        if let Some(globs) = &self.settings.client_globs {
            if globs.is_match(&blob.path) {
                return Classified {
                    context: Context::Client,
                    reason: "matches a client-bundle glob in the config".into(),
                };
            }
        }
        let facts = ContentFacts {
            use_client: blob.scan.use_client,
            has_script: self.matcher.has_context_word(&blob.scan, SCRIPT_WORD),
        };
        classify(&blob.path, facts, projects)
    }

    /// Judges one blob.
    pub fn judge(
        &self,
        blob: &ScannedBlob,
        projects: &ProjectIndex,
        tally: &mut Tally,
    ) -> Vec<Finding> {
        self.judge_recording(blob, projects, tally, &mut Vec::new())
    }

    /// Judges one blob and records every key seen in a dotenv file in
    /// `sightings` — including keys that are not reported because they sit in
    /// a git-ignored dotenv file without an exposed prefix. Cross-file checks
    /// (bundle provenance, keys reused across environments) need those.
    pub fn judge_recording(
        &self,
        blob: &ScannedBlob,
        projects: &ProjectIndex,
        tally: &mut Tally,
        sightings: &mut Vec<KeySighting>,
    ) -> Vec<Finding> {
        let rules = self.rules();
        let matches = &blob.scan.matches;
        if matches.is_empty() {
            return Vec::new();
        }
        let mut keep: Vec<bool> = matches
            .iter()
            .map(|m| {
                let rule = &rules.rules[m.rule];
                let placeholder =
                    placeholder::placeholder_reason(rule, &m.secret, &rules.placeholders).is_some();
                if placeholder {
                    tally.placeholders += 1;
                }
                !placeholder
            })
            .collect();
        let survivors: Vec<RawMatch> = matches
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(m, _)| m.clone())
            .collect();
        let vendor_keep = vendor::resolve(&survivors, rules, |w| {
            self.matcher.has_context_word(&blob.scan, w)
        });
        let mut it = vendor_keep.into_iter();
        for k in keep.iter_mut().filter(|k| **k) {
            *k = it.next().unwrap_or(true);
        }

        let file_ctx = self.classify_blob(blob, projects);
        let neighbours = Spans::new(matches);
        let mut out = Vec::new();
        for (m, _) in matches.iter().zip(&keep).filter(|(_, k)| **k) {
            let rule = &rules.rules[m.rule];
            let var = match &blob.dotenv {
                Some(entries) => {
                    dotenv::entry_at(entries, m.offset as usize).map(|e| e.name.clone())
                }
                None => None,
            }
            .or_else(|| context::assigned_name(&m.line_before));
            let exposed = context::exposed_assignment(var.as_deref());
            let cls = match &exposed {
                Some(v) => Classified {
                    context: Context::Client,
                    reason: format!(
                        "bundler-exposed variable `{v}`: the bundler inlines it into public JavaScript"
                    ),
                },
                None => file_ctx.clone(),
            };
            let inline_allowed = m.inline_allow && !self.settings.ignore_inline_allow;
            let set_aside = cls.context == Context::Dotenv && blob.ignored;
            if blob.dotenv.is_some() && !inline_allowed {
                sightings.push(KeySighting {
                    rule_id: rule.spec.id.clone(),
                    provider: rule.spec.provider.clone(),
                    title: rule.spec.name.clone(),
                    publishable: rule.is_publishable(),
                    secret: m.secret.clone(),
                    secret_redacted: redact(rule, &m.secret),
                    path: blob.path.clone(),
                    line: m.line,
                    column: m.column,
                    variable: var.clone(),
                    reported: !set_aside,
                });
            }
            if set_aside {
                tally.expected_dotenv += 1;
                continue;
            }
            if inline_allowed {
                tally.inline_allowed += 1;
                continue;
            }
            out.push(self.finding(
                blob,
                rule,
                m,
                &neighbours,
                &cls,
                exposed.as_deref(),
                projects,
            ));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        blob: &ScannedBlob,
        rule: &Rule,
        m: &RawMatch,
        all: &Spans,
        cls: &Classified,
        exposed_var: Option<&str>,
        projects: &ProjectIndex,
    ) -> Finding {
        let severity = rule.spec.severity.for_context(cls.context);
        let project_id = self.project_id(blob, rule, m, projects);
        let provider = self
            .settings
            .providers
            .get(&rule.spec.provider.to_ascii_lowercase());
        let rot = rotation::rotation(rule, project_id.as_deref(), provider);
        let message = message(rule, cls, &blob.path, blob.ignored, exposed_var);
        let mut remediation = Vec::new();
        if !rule.is_publishable() {
            if cls.context == Context::Client {
                remediation.push(
                    "This key is already public: rotate it first. Deleting it from the code does not make it secret again."
                        .to_string(),
                );
            }
            if let Some(c) = &blob.commit {
                if !c.in_head {
                    remediation.push(REMOVED_FROM_HEAD.to_string());
                }
            }
        }
        remediation.push(rot.steps);
        if let Some(var) = exposed_var {
            if !rule.is_publishable() {
                let prefix = dotenv::exposed_prefix(var).unwrap_or("");
                remediation.push(format!(
                    "Then rename `{var}` so the bundler stops inlining it (drop the `{prefix}` prefix) and call {} only from server code.",
                    rule.spec.provider
                ));
            }
        }
        let (redacted, snippet, snippet_raw) = snippets(rule, m, all);
        Finding {
            rule_id: rule.spec.id.clone(),
            provider: rule.spec.provider.clone(),
            title: rule.spec.name.clone(),
            severity,
            context: cls.context,
            origin: blob.origin.clone(),
            location: Location {
                path: blob.path.clone(),
                line: m.line,
                column: m.column,
            },
            secret: Some(m.secret.clone()),
            secret_redacted: Some(redacted),
            fingerprint: fingerprint(&rule.spec.id, &m.secret),
            message,
            rotation_url: Some(rot.url),
            remediation: remediation.join("\n"),
            snippet: Some(snippet),
            snippet_raw: Some(snippet_raw),
            commit: blob.commit.clone(),
            source: None,
        }
    }

    fn project_id(
        &self,
        blob: &ScannedBlob,
        rule: &Rule,
        m: &RawMatch,
        projects: &ProjectIndex,
    ) -> Option<String> {
        if let Some((_, id)) = blob.scan.project_ids.iter().find(|(r, _)| *r == m.rule) {
            return Some(id.clone());
        }
        let mut dir = Some(blob.path.as_str());
        while let Some(d) = dir {
            let parent = project::parent_dir(d);
            if let Some(facts) = projects.get(parent) {
                if let Some((_, id)) = facts.project_ids.iter().find(|(r, _)| r == rule.id()) {
                    return Some(id.clone());
                }
            }
            dir = (!parent.is_empty()).then_some(parent);
        }
        self.settings
            .providers
            .get(&rule.spec.provider.to_ascii_lowercase())
            .and_then(|p| p.project_id.clone())
    }
}

fn message(
    rule: &Rule,
    cls: &Classified,
    path: &str,
    ignored: bool,
    exposed_var: Option<&str>,
) -> String {
    let name = &rule.spec.name;
    if rule.is_publishable() {
        return format!(
            "{name} in {} ({}). Publishable keys are meant for browsers; listed for inventory.",
            cls.context, cls.reason
        );
    }
    let extra = if rule.spec.id.ends_with("-in-url") {
        format!(" {}", rule.spec.description)
    } else {
        String::new()
    };
    let in_dotenv = dotenv::is_dotenv_name(project::file_name(path));
    let base = match cls.context {
        Context::Client if in_dotenv && exposed_var.is_some() => {
            let var = exposed_var.unwrap_or_default();
            let prefix = dotenv::exposed_prefix(var).unwrap_or_default();
            let ignored_note = if ignored {
                " Git ignoring this file does not help: the bundler reads it at build time."
            } else {
                ""
            };
            format!(
                "{name} in bundler-exposed variable `{var}` in `{path}`: the bundler inlines every `{prefix}` variable into public JavaScript, so anyone who loads the app can read it.{ignored_note}"
            )
        }
        Context::Client => format!(
            "{name} in client-side code: {}. Anyone who loads the app can read it.",
            cls.reason
        ),
        Context::Server => format!(
            "{name} hard-coded in server-side code. Anyone with access to the repository or its history has it; load it from an environment variable instead."
        ),
        Context::Dotenv if dotenv::is_template_name(project::file_name(path)) => format!(
            "{name} in dotenv template `{path}`: templates are meant to be committed, so this key is published with the repository. Put a placeholder such as `{}your_key` there, keep the real key in an ignored `.env.local`, and rotate it if it is real.",
            rule.spec.secret_prefix.as_deref().unwrap_or("")
        ),
        Context::Dotenv if !ignored => format!(
            "{name} in dotenv file `{path}`, which git does not ignore: one `git add` away from a leak."
        ),
        Context::Dotenv => format!("{name} in dotenv file `{path}`."),
        Context::Docs => format!(
            "{name} in documentation. If it is a real key, rotate it; if it is an example, use a placeholder such as `{}your_key`.",
            rule.spec.secret_prefix.as_deref().unwrap_or("")
        ),
        Context::Test => format!(
            "{name} in a test or fixture. Tests get copied and published: use a generated fake key, and rotate this one if it is real."
        ),
        Context::Repository => format!("{name}."),
    };
    base + &extra
}

/// `sha256(rule_id ‖ 0x00 ‖ secret)`, first 16 bytes in hex: stable across
/// moves and modes, useless for recovering the secret.
pub fn fingerprint(rule_id: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0u8]);
    h.update(secret.as_bytes());
    let digest = h.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The prefix plus at most the first 4 and last 2 characters of the random part.
pub fn redact(rule: &Rule, secret: &str) -> String {
    let (prefix, body) = rule.split_secret(secret);
    let chars: Vec<char> = body.chars().collect();
    if chars.len() < 12 {
        return format!("{prefix}…");
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{prefix}{head}…{tail}")
}

/// The byte spans of a blob's matches, sorted by start, so that finding the
/// matches near one secret is a binary search: a file with 100,000 keys must
/// not cost 100,000² comparisons.
struct Spans {
    /// (start, end) of every match, sorted.
    sorted: Vec<(u64, u64)>,
    /// Longest match: nothing starting more than this before a point can
    /// reach it.
    max_len: u64,
}

impl Spans {
    fn new(matches: &[RawMatch]) -> Self {
        let mut sorted: Vec<(u64, u64)> = matches
            .iter()
            .map(|m| (m.offset, m.offset + m.len as u64))
            .collect();
        sorted.sort_unstable();
        let max_len = matches.iter().map(|m| m.len as u64).max().unwrap_or(0);
        Spans { sorted, max_len }
    }

    /// Spans that may overlap `[from, to)`.
    fn near(&self, from: u64, to: u64) -> &[(u64, u64)] {
        let lo = self
            .sorted
            .partition_point(|&(s, _)| s < from.saturating_sub(self.max_len));
        let hi = self.sorted.partition_point(|&(s, _)| s < to);
        &self.sorted[lo..hi.max(lo)]
    }
}

/// Redacted secret, redacted snippet and raw snippet. Any other match of the
/// same blob that falls into the snippet is redacted (or cut off) too, so a
/// snippet never carries a second, unredacted key.
fn snippets(rule: &Rule, m: &RawMatch, all: &Spans) -> (String, String, String) {
    let redacted = redact(rule, &m.secret);
    let before_start = m
        .line_before
        .len()
        .saturating_sub(crate::scan::SNIPPET_CONTEXT);
    let mut before: &[u8] = &m.line_before[before_start..];
    let mut cut_before = before_start > 0;
    let mut after: &[u8] = &m.after;
    let before_abs = m.offset - before.len() as u64;
    let after_abs = m.offset + m.len as u64;
    for &(o_start, o_end) in all.near(before_abs, after_abs + after.len() as u64) {
        if o_start == m.offset {
            continue;
        }
        if o_end > before_abs && o_start < m.offset {
            // Keep only what follows the other secret.
            let cut = (o_end.min(m.offset) - before_abs) as usize;
            before = &before[cut.min(before.len())..];
            cut_before = true;
        }
        if o_start < after_abs + after.len() as u64 && o_end > after_abs {
            let cut = o_start.saturating_sub(after_abs) as usize;
            after = &after[..cut.min(after.len())];
        }
    }
    let b = String::from_utf8_lossy(before);
    let b = b.trim_start();
    let a = String::from_utf8_lossy(after);
    let a = a.trim_end();
    let lead = if cut_before { "…" } else { "" };
    (
        redacted.clone(),
        format!("{lead}{b}{redacted}{a}"),
        format!("{lead}{b}{}{a}", m.secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use project::ProjectIndex;

    #[test]
    fn redaction_keeps_prefix_four_and_two() {
        let set = RuleSet::builtin().unwrap();
        let r = set.get("miniback-api-key").unwrap();
        assert_eq!(
            redact(r, &format!("mbk_{}", "Q7fXa9b8c7d6e5f4g39a")),
            "mbk_Q7fX…9a"
        );
        assert_eq!(redact(r, "mbk_short"), "mbk_…");
    }

    /// Random-looking Miniback keys from a fixed xorshift stream.
    fn keys(n: usize) -> Vec<String> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| {
                let body: String = (0..20)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % 36) as usize] as char
                    })
                    .collect();
                format!("mbk_{body}")
            })
            .collect()
    }

    fn judge_text(text: &str) -> (Vec<Finding>, Tally) {
        let rules = RuleSet::builtin().unwrap();
        let matcher = Matcher::new(&rules);
        let judge = Judge::new(&matcher, JudgeSettings::default());
        let blob = ScannedBlob {
            path: "keys.txt".into(),
            origin: Origin::File,
            ignored: false,
            scan: matcher.scan_bytes(text.as_bytes()),
            dotenv: None,
            commit: None,
        };
        let mut tally = Tally::default();
        let findings = judge.judge(&blob, &ProjectIndex::new(), &mut tally);
        (findings, tally)
    }

    #[test]
    fn neighbouring_keys_never_appear_in_each_others_snippets() {
        let k = keys(3);
        let text = format!("a={};b={} c={}\n", k[0], k[1], k[2]);
        let (findings, _) = judge_text(&text);
        assert_eq!(findings.len(), 3);
        for (f, own) in findings.iter().zip(&k) {
            let snippet = f.snippet.as_deref().unwrap();
            for other in &k {
                assert!(!snippet.contains(&other[4..14]), "{snippet}");
            }
            assert!(f.snippet_raw.as_deref().unwrap().contains(own.as_str()));
        }
    }

    #[test]
    fn forty_thousand_keys_in_one_file_are_judged_in_linear_time() {
        // Each snippet used to compare its key with every other match of the
        // blob: 1.6 * 10^9 steps here, minutes in CI. Now it is a binary search.
        let k = keys(40_000);
        let text = k.join("\n");
        let (findings, tally) = judge_text(&text);
        assert_eq!(findings.len() as u64 + tally.placeholders, 40_000);
        assert!(findings.len() > 39_000);
    }

    #[test]
    fn fingerprints_are_stable_and_rule_scoped() {
        let a = fingerprint("miniback-api-key", "mbk_x");
        assert_eq!(a, fingerprint("miniback-api-key", "mbk_x"));
        assert_ne!(a, fingerprint("miniback-key-in-url", "mbk_x"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("mbk"));
    }
}
