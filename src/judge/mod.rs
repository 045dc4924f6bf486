//! Judgement: from raw matches and facts to findings. The judge is the only
//! author of a finding's context, severity, message, remediation and
//! fingerprint; nothing edits a finding after it is made.
//!
//! The matcher says "this rule's regex matched these bytes". The [`Judge`]
//! decides whether that is a leak and how bad it is:
//!
//! 1. drop placeholders ([`placeholder`]);
//! 2. keep one vendor per key ([`vendor`]);
//! 3. decide the context from the path, the content, the project facts and
//!    the variable the key is assigned to ([`context`]);
//! 4. stay silent on a key in a git-ignored dotenv file that no bundler
//!    exposes — that is correct usage;
//! 5. honour the inline `keyscan:allow` marker;
//! 6. build the [`Finding`]: severity from the rule's table, redacted secret,
//!    fingerprint ([`mod@redact`]), message ([`mod@message`]) — worded from the facts
//!    (tracked, ignored, still in HEAD) — rotation URL and steps
//!    ([`rotation`]).
//!
//! Judgement runs in two passes over a scan's blobs. [`Judge::sightings`]
//! records every key seen in a dotenv file (including keys set aside as
//! correct usage); [`Judge::judge`] then makes the findings, and a key in a
//! client bundle can say which dotenv variable it was inlined from. Derived
//! checks that read judged findings — [`overdue`] in history mode — are
//! judges too. Judgement needs no I/O.

pub mod context;
pub mod identifier;
pub mod message;
pub mod overdue;
pub mod placeholder;
pub mod printable;
pub mod redact;
pub mod rotation;
pub mod vendor;

use crate::blob::ScannedBlob;
use crate::config::ProviderSettings;
use crate::dotenv;
use crate::facts::Facts;
use crate::finding::{Context, Finding, Location, Origin};
use crate::rules::{Rule, RuleSet};
use crate::scan::{Matcher, RawMatch, SCRIPT_WORD};
use context::{classify, Classified, ContentFacts};
use message::FileState;
pub use message::Sightings;
pub use redact::{fingerprint, redact};
use redact::{snippets, Spans};
use std::collections::BTreeMap;

/// Advice for a key in a commit or tag message.
pub const MESSAGE_ADVICE: &str =
    "A message cannot be edited once pushed (rewriting history does not reach clones and forks): rotate the key.";

/// Advice for a staged key that nothing committed yet.
pub const STAGED_NOT_COMMITTED: &str =
    "Nothing has been committed yet: take the key out of the file, `git add` it again and commit. If the key is real, rotate it — it may already be in other places.";

/// Advice for a staged key in client code that nothing committed yet.
pub const STAGED_CLIENT: &str =
    "Nothing has been committed yet, but in client code this key becomes public the moment the app is built: take it out before committing, and rotate it if it was ever deployed.";

/// Advice for a staged key that HEAD already has at the same path.
pub const STAGED_ALREADY_COMMITTED: &str =
    "HEAD already has this key at this path: it is in the repository's history whatever this commit does. Rotate it, then remove it.";

/// Advice for a key that is gone from HEAD but still in git history.
pub const REMOVED_FROM_HEAD: &str =
    "It was removed from HEAD but is still in git history, where every clone has it: rotate it.";

/// Why a key in an ignored dotenv file outside git is reported anyway.
pub const OUTSIDE_GIT: &str = " This folder is not a git work tree, so keyscan cannot tell whether the file is tracked: a `.gitignore` names it, but a release tarball or an export of a repository that tracks it carries the key. Reported so that you check; in a git work tree an ignored dotenv file is where keys belong.";

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
    /// The files those keys are in.
    pub set_aside_paths: std::collections::BTreeSet<String>,
    /// Findings suppressed by an inline `keyscan:allow`.
    pub inline_allowed: u64,
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

/// One match that survived the placeholder and vendor checks, with every
/// decision the judge made about it.
struct Candidate<'b> {
    m: &'b RawMatch,
    rule: &'b Rule,
    /// The variable the key is assigned to.
    var: Option<String>,
    /// That variable, when a bundler inlines it.
    exposed: Option<String>,
    cls: Classified,
    inline_allowed: bool,
    /// In an ignored dotenv file without an exposed prefix: correct usage.
    set_aside: bool,
    /// A rule that refines this one matched the same key here (`?api_key=`).
    refined_by: Option<&'b Rule>,
}

/// Turns raw matches and facts into findings.
#[derive(Debug)]
pub struct Judge<'a> {
    matcher: &'a Matcher,
    settings: JudgeSettings,
}

impl<'a> Judge<'a> {
    /// A judge for the matcher's rules.
    pub fn new(matcher: &'a Matcher, settings: JudgeSettings) -> Self {
        Judge { matcher, settings }
    }

    /// The rules this judge judges by.
    pub fn rules(&self) -> &'a RuleSet {
        self.matcher.rules()
    }

    /// The file-level context of a blob.
    fn classify_blob(&self, blob: &ScannedBlob, facts: &Facts) -> Classified {
        if let Some(globs) = &self.settings.client_globs {
            if globs.is_match(&blob.path) {
                return Classified {
                    context: Context::Client,
                    reason: "matches a client-bundle glob in the config".into(),
                };
            }
        }
        match blob.origin {
            crate::finding::Origin::CommitMessage => {
                return Classified {
                    context: Context::Server,
                    reason: "a commit message, which every clone has".into(),
                }
            }
            crate::finding::Origin::TagMessage => {
                return Classified {
                    context: Context::Server,
                    reason: "an annotated tag's message, which every clone has".into(),
                }
            }
            crate::finding::Origin::Commit => {
                if let Some(branch) = facts
                    .history
                    .as_ref()
                    .and_then(|h| h.published.get(&blob.path))
                {
                    return Classified {
                        context: Context::Client,
                        reason: format!(
                            "published as a web site by GitHub Pages from `{}`",
                            branch.rsplit('/').next().unwrap_or(branch)
                        ),
                    };
                }
            }
            _ => {}
        }
        let content = ContentFacts {
            use_client: blob.scan.use_client,
            has_script: self.matcher.has_context_word(&blob.scan, SCRIPT_WORD),
        };
        classify(&blob.path, content, &facts.projects)
    }

    /// The matches of `blob` that are keys, with the judge's decisions;
    /// placeholders are counted in `tally`.
    fn candidates<'b>(
        &self,
        blob: &'b ScannedBlob,
        facts: &Facts,
        bundled: &BTreeMap<String, String>,
        tally: &mut Tally,
    ) -> Vec<Candidate<'b>>
    where
        'a: 'b,
    {
        let rules = self.rules();
        let matches = &blob.scan.matches;
        if matches.is_empty() {
            return Vec::new();
        }
        let mut keep: Vec<bool> = matches
            .iter()
            .map(|m| {
                let rule = &rules.rules[m.rule];
                let placeholder = placeholder::placeholder_reason(rule, &m.secret, rules).is_some()
                    || identifier::code_position(&m.line_before, &m.after, &rules.identifiers)
                        .is_some();
                if placeholder {
                    tally.placeholders += 1;
                }
                !placeholder
            })
            .collect();
        // A key glued inside another match (`…REDACTED_xxx` + key) stands
        // only when the match around it is not a key itself.
        for i in 0..matches.len() {
            if let Some(outer) = matches[i].inside {
                let outer_kept =
                    at_offset(matches, outer).any(|j| keep[j] && matches[j].inside.is_none());
                if outer_kept && keep[i] {
                    keep[i] = false;
                }
            }
        }
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

        // One key, one finding: a refining rule's match (`?api_key=mbk_…`)
        // folds into the refined rule's match of the same key.
        let mut refined_by: Vec<Option<&'b Rule>> = vec![None; matches.len()];
        for i in 0..matches.len() {
            let Some(target) = rules.rules[matches[i].rule].spec.refines.as_deref() else {
                continue;
            };
            if !keep[i] {
                continue;
            }
            let twin = at_offset(matches, matches[i].offset).find(|&j| {
                keep[j]
                    && matches[j].secret == matches[i].secret
                    && rules.rules[matches[j].rule].id() == target
            });
            if let Some(j) = twin {
                keep[i] = false;
                refined_by[j] = Some(&rules.rules[matches[i].rule]);
            }
        }

        let file_ctx = self.classify_blob(blob, facts);
        let ignored = facts.ignored(&blob.path, blob.ignored);
        let outside_git = facts.outside_git(&blob.path);
        matches
            .iter()
            .zip(&keep)
            .zip(refined_by)
            .filter(|((_, k), _)| **k)
            .map(|((m, _), refined_by)| {
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
                    None if blob.dotenv.is_some() && bundled.contains_key(&m.secret) => {
                        Classified {
                            context: Context::Client,
                            reason: format!(
                                "the built bundle `{}` already holds this key: the build inlined it from here",
                                bundled[&m.secret]
                            ),
                        }
                    }
                    None => context::web_context(
                        &blob.path,
                        m.offset as usize,
                        var.as_deref(),
                        &file_ctx,
                        facts,
                    )
                    .unwrap_or_else(|| file_ctx.clone()),
                };
                Candidate {
                    m,
                    rule,
                    refined_by,
                    // Outside git, an ignore rule does not prove the file
                    // stays out of a repository: report it, with a note.
                    set_aside: cls.context == Context::Dotenv && ignored && !outside_git,
                    inline_allowed: m.inline_allow && !self.settings.ignore_inline_allow,
                    var,
                    exposed,
                    cls,
                }
            })
            .collect()
    }

    /// First pass: every key in the dotenv files among `blobs` — including
    /// keys that will not be reported because they sit in a git-ignored
    /// dotenv file without an exposed prefix. Cross-file checks (bundle
    /// provenance, keys reused across environments) need those.
    pub fn sightings(&self, blobs: &[ScannedBlob], facts: &Facts) -> Sightings {
        let mut bundled: BTreeMap<String, String> = BTreeMap::new();
        for blob in blobs
            .iter()
            .filter(|b| b.dotenv.is_none() && context::is_bundle_path(&b.path, &facts.projects))
        {
            for m in &blob.scan.matches {
                bundled
                    .entry(m.secret.clone())
                    .or_insert_with(|| blob.path.clone());
            }
        }
        let mut all = Vec::new();
        for blob in blobs.iter().filter(|b| b.dotenv.is_some()) {
            for c in self.candidates(blob, facts, &bundled, &mut Tally::default()) {
                if c.inline_allowed {
                    continue;
                }
                all.push(KeySighting {
                    rule_id: c.rule.spec.id.clone(),
                    provider: c.rule.spec.provider.clone(),
                    title: c.rule.spec.name.clone(),
                    publishable: c.rule.is_publishable(),
                    secret: c.m.secret.clone(),
                    secret_redacted: redact(c.rule, &c.m.secret),
                    path: blob.path.clone(),
                    line: c.m.line,
                    column: c.m.column,
                    variable: c.var.clone(),
                    reported: !c.set_aside,
                });
            }
        }
        let mut sightings = Sightings::new(all);
        sightings.bundled = bundled;
        sightings
    }

    /// Second pass: the findings of one blob. Set-aside keys, placeholders
    /// and inline-allowed keys are counted in `tally`.
    pub fn judge(
        &self,
        blob: &ScannedBlob,
        facts: &Facts,
        sightings: &Sightings,
        tally: &mut Tally,
    ) -> Vec<Finding> {
        let candidates = self.candidates(blob, facts, &sightings.bundled, tally);
        if candidates.is_empty() {
            return Vec::new();
        }
        let neighbours = Spans::new(&blob.scan.matches);
        let mut out = Vec::new();
        for c in &candidates {
            if c.set_aside {
                tally.expected_dotenv += 1;
                tally.set_aside_paths.insert(blob.path.clone());
                continue;
            }
            if c.inline_allowed {
                tally.inline_allowed += 1;
                continue;
            }
            out.push(self.finding(blob, c, &neighbours, facts, sightings));
        }
        out
    }

    fn finding(
        &self,
        blob: &ScannedBlob,
        c: &Candidate<'_>,
        all: &Spans,
        facts: &Facts,
        sightings: &Sightings,
    ) -> Finding {
        let (rule, m, cls) = (c.rule, c.m, &c.cls);
        let exposed_var = c.exposed.as_deref();
        let severity = rule.spec.severity.for_context(cls.context);
        let project_id = self.project_id(blob, rule, m, facts);
        let provider = self
            .settings
            .providers
            .get(&rule.spec.provider.to_ascii_lowercase());
        // A refined key takes the refining rule's rotation steps (they say
        // what else to fix) and its description.
        let rot = rotation::rotation(
            c.refined_by.unwrap_or(rule),
            project_id.as_deref(),
            provider,
        );
        let state = match blob.origin {
            Origin::File | Origin::Audit => FileState::Tree {
                tracked: facts.tracked(&blob.path),
            },
            Origin::Staged => FileState::Staged {
                force_added: facts.force_added(&blob.path),
            },
            Origin::Commit => FileState::Committed,
            Origin::CommitMessage => FileState::CommitMessage,
            Origin::TagMessage => FileState::TagMessage,
        };
        let mut message = message::message(
            rule,
            cls,
            &blob.path,
            facts.ignored(&blob.path, blob.ignored),
            state,
            exposed_var,
        );
        if cls.context == Context::Dotenv
            && facts.outside_git(&blob.path)
            && facts.ignored(&blob.path, blob.ignored)
        {
            message.push_str(OUTSIDE_GIT);
        }
        if let Some(e) = m.encoded {
            message.push_str(&format!(
                " It is {} here; keyscan decoded it. Encoding hides a key from a reader, not from anyone who decodes it.",
                e.describe()
            ));
        }
        if let Some(r) = c.refined_by {
            message.push(' ');
            message.push_str(&r.spec.description);
        }
        let source = message::provenance(
            &blob.path,
            &m.secret,
            cls.context,
            severity,
            sightings,
            &facts.projects,
        )
        .map(|(sentence, source)| {
            message.push_str(&sentence);
            source
        });
        // In history, a key is in HEAD or only in history, and it was
        // introduced by the first commit whose tree held it at any path
        // (a rename does not re-introduce it): facts per key. A message is
        // never in HEAD's tree.
        let commit = match blob.origin {
            Origin::Commit => blob.commit.clone().map(|own| {
                let mut commit = facts
                    .history
                    .as_ref()
                    .and_then(|h| h.first_seen.get(&m.secret))
                    .map(|f| f.commit.clone())
                    .unwrap_or(own);
                commit.in_head = facts.in_head(&m.secret).unwrap_or(true);
                commit
            }),
            _ => blob.commit.clone().map(|mut commit| {
                commit.in_head = false;
                commit
            }),
        };
        let staged = blob.origin == Origin::Staged;
        let already_committed = facts
            .staged
            .as_ref()
            .is_some_and(|s| s.committed(&blob.path, &m.secret));
        let mut remediation = Vec::new();
        if !rule.is_publishable() {
            if blob.origin.is_message() {
                remediation.push(MESSAGE_ADVICE.to_string());
            } else if commit.as_ref().is_some_and(|c| !c.in_head) {
                remediation.push(REMOVED_FROM_HEAD.to_string());
            }
            if let (Some(c), Some(h)) = (&commit, &facts.history) {
                if let Some(up) = h.upstream.as_deref().filter(|_| h.unpushed.contains(&c.id)) {
                    remediation.push(format!(
                        "Not pushed yet: `{up}` does not have commit {}. Rewrite the commit that added the key (`git commit --amend`, or `git rebase -i`) before pushing; rotate the key anyway if it is real.",
                        c.id.get(..12).unwrap_or(&c.id)
                    ));
                }
            }
            if staged {
                remediation.push(if already_committed {
                    STAGED_ALREADY_COMMITTED.to_string()
                } else if cls.context == Context::Client {
                    STAGED_CLIENT.to_string()
                } else {
                    STAGED_NOT_COMMITTED.to_string()
                });
            } else if cls.context == Context::Client {
                remediation.push(
                    "This key is already public: rotate it first. Deleting it from the code does not make it secret again."
                        .to_string(),
                );
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
            context_reason: Some(cls.reason.clone()),
            origin: blob.origin.clone(),
            location: Location {
                path: blob.path.clone(),
                line: m.line,
                column: m.column,
                column_utf16: m.column_utf16,
            },
            secret: Some(m.secret.clone()),
            secret_redacted: Some(redacted),
            fingerprint: fingerprint(&rule.spec.id, &m.secret),
            message,
            rotation_url: Some(rot.url),
            remediation: remediation.join("\n"),
            snippet: Some(snippet),
            snippet_raw: Some(snippet_raw),
            commit,
            source,
            encoding: m.encoded.map(|e| e.as_str().to_string()),
        }
    }

    fn project_id(
        &self,
        blob: &ScannedBlob,
        rule: &Rule,
        m: &RawMatch,
        facts: &Facts,
    ) -> Option<String> {
        if let Some((_, id)) = blob.scan.project_ids.iter().find(|(r, _)| *r == m.rule) {
            return Some(id.clone());
        }
        let mut dir = Some(blob.path.as_str());
        while let Some(d) = dir {
            let parent = crate::paths::parent_dir(d);
            if let Some(p) = facts.projects.get(parent) {
                if let Some((_, id)) = p.project_ids.iter().find(|(r, _)| r == rule.id()) {
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

/// Indices of the matches at absolute offset `offset` (matches are sorted
/// by offset): a binary search, so files with many keys stay linear.
fn at_offset(matches: &[RawMatch], offset: u64) -> impl Iterator<Item = usize> + '_ {
    let from = matches.partition_point(|m| m.offset < offset);
    (from..matches.len()).take_while(move |&j| matches[j].offset == offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Origin;

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
        let matcher = Matcher::new(RuleSet::builtin().unwrap());
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
        let facts = Facts::default();
        let findings = judge.judge(&blob, &facts, &Sightings::default(), &mut tally);
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
}
