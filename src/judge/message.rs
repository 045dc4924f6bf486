//! The words of a key finding: its message, and where a bundled key came
//! from (bundle provenance).
//!
//! Only the judge writes a finding's text, and it writes it once, from the
//! facts: whether the file is tracked or ignored, which variable holds the
//! key, and — for a key in build output — which dotenv variable the bundler
//! inlined it from (`provenance`, from the key sightings of the judge's
//! first pass).

use super::context::{is_bundle_path, Classified};
use super::KeySighting;
use crate::dotenv;
use crate::facts::project::ProjectIndex;
use crate::finding::{Context, Severity};
use crate::paths::{file_name, parent_dir};
use crate::rules::Rule;
use std::collections::BTreeMap;

/// Where the content is, in git's terms: what a message may say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileState {
    /// A working-tree file (`tracked`: git's index has it).
    Tree {
        /// In git's index.
        tracked: bool,
    },
    /// Staged for the next commit (`force_added`: git's ignore rules cover
    /// it, so it was added with `git add -f`).
    Staged {
        /// Ignored, yet staged.
        force_added: bool,
    },
    /// A blob in a commit: in every clone, whatever the file's state now.
    Committed,
    /// A commit's message.
    CommitMessage,
    /// An annotated tag's message.
    TagMessage,
}

/// The message of a key finding, from the key's context and the facts about
/// its file: `ignored` (git ignores it), its [`FileState`], `exposed_var` (a
/// bundler-exposed variable holds it).
pub(crate) fn message(
    rule: &Rule,
    cls: &Classified,
    path: &str,
    ignored: bool,
    state: FileState,
    exposed_var: Option<&str>,
) -> String {
    let name = &rule.spec.name;
    match state {
        FileState::CommitMessage | FileState::TagMessage if !rule.is_publishable() => {
            let what = if state == FileState::CommitMessage {
                "a commit message"
            } else {
                "an annotated tag's message"
            };
            return format!(
                "{name} in {what} (`{path}`): every clone has it and `git log` shows it, and a pushed message cannot be edited. Rotate it."
            );
        }
        _ => {}
    }
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
    let in_dotenv = dotenv::is_dotenv_name(file_name(path));
    let template = dotenv::is_template_name(file_name(path));
    if cls.context == Context::Dotenv && !template {
        match state {
            FileState::Tree { tracked: true } => {
                return format!(
                    "{name} in dotenv file `{path}`, which git tracks: it is in the repository's history, where every clone has it. Rotate it."
                )
            }
            FileState::Committed => {
                return format!(
                    "{name} in dotenv file `{path}`, which was committed: it is in the repository's history, where every clone has it, whether or not the file is still tracked or ignored today. Rotate it."
                )
            }
            FileState::Staged { force_added } if exposed_var.is_none() => {
                let how = if force_added {
                    " Git ignores this file, so it was added with `git add -f`."
                } else {
                    ""
                };
                return format!(
                    "{name} in dotenv file `{path}`, which is staged: committing it puts the key in the repository's history, where every clone has it.{how} Unstage it with `git restore --staged {path}`."
                );
            }
            _ => {}
        }
    }
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
        Context::Client if in_dotenv => {
            let ignored_note = if ignored {
                " Git ignoring this file does not help: the bundler reads it at build time."
            } else {
                ""
            };
            format!(
                "{name} in `{path}`, and {}, so anyone who loads the app can read it.{ignored_note}",
                cls.reason
            )
        }
        Context::Client => format!(
            "{name} in client-side code: {}. Anyone who loads the app can read it.",
            cls.reason
        ),
        Context::Server => {
            let why = if cls.reason == super::context::GENERIC_SERVER {
                String::new()
            } else {
                format!(" ({})", cls.reason)
            };
            format!(
                "{name} hard-coded in server-side code{why}. Anyone with access to the repository or its history has it; load it from an environment variable instead."
            )
        }
        Context::Dotenv if template => format!(
            "{name} in dotenv template `{path}`: templates are meant to be committed, so this key is published with the repository. Put a placeholder such as `{}your_key` there, keep the real key in an ignored `.env.local`, and rotate it if it is real.",
            rule.spec.secret_prefix.as_deref().unwrap_or("")
        ),
        Context::Dotenv if !ignored => format!(
            "{name} in dotenv file `{path}`, which git does not ignore: one `git add` away from a leak."
        ),
        Context::Dotenv => format!("{name} in dotenv file `{path}`."),
        Context::Docs => format!(
            "{name} in documentation, committed with the repository: everyone who can read the repository can read the key. If it is real, rotate it; in an example, use a placeholder such as `{}your_key`.",
            rule.spec.secret_prefix.as_deref().unwrap_or("")
        ),
        Context::Test => format!(
            "{name} in a test or fixture. Tests get copied and published: use a generated fake key, and rotate this one if it is real."
        ),
        Context::Repository => format!("{name}."),
    };
    base + &extra
}

/// Every key the judge saw in a dotenv file (reported or set aside), for
/// the checks that look across files: bundle provenance and key reuse.
#[derive(Debug, Default)]
pub struct Sightings {
    /// In judgement order.
    pub all: Vec<KeySighting>,
    /// Sightings with a known variable, by raw secret.
    by_secret: BTreeMap<String, Vec<usize>>,
    /// Keys found in client bundles (build output, hashed chunks, source
    /// maps, public assets), by raw secret, with the first bundle's path:
    /// the dotenv line such a key came from is client.
    pub bundled: BTreeMap<String, String>,
}

impl Sightings {
    /// Indexes `all`.
    pub fn new(all: Vec<KeySighting>) -> Sightings {
        let mut by_secret: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, s) in all.iter().enumerate() {
            if s.variable.is_some() {
                by_secret.entry(s.secret.clone()).or_default().push(i);
            }
        }
        Sightings {
            all,
            by_secret,
            bundled: BTreeMap::new(),
        }
    }
}

/// Bundle provenance: for a key in client build output that also sits in a
/// dotenv variable, the sentence to append to its message and the
/// `source` field ("inlined from `VITE_KEY` in `web/.env:2`"). The dotenv
/// file nearest the bundle wins, and an exposed variable before any other.
pub(crate) fn provenance(
    path: &str,
    secret: &str,
    context: Context,
    severity: Severity,
    sightings: &Sightings,
    projects: &ProjectIndex,
) -> Option<(String, String)> {
    if context != Context::Client || dotenv::is_dotenv_name(file_name(path)) {
        return None;
    }
    let candidates = sightings.by_secret.get(secret)?;
    if !is_bundle_path(path, projects) {
        return None;
    }
    let nearness = |s: &KeySighting| -> usize {
        let dir = parent_dir(&s.path);
        if dir.is_empty() || path.starts_with(&format!("{dir}/")) {
            dir.len() + 1
        } else {
            0
        }
    };
    let exposed = |s: &KeySighting| {
        s.variable
            .as_deref()
            .and_then(dotenv::exposed_prefix)
            .is_some()
    };
    let best = candidates
        .iter()
        .map(|&i| &sightings.all[i])
        .max_by(|a, b| {
            let ka = (exposed(a), nearness(a));
            let kb = (exposed(b), nearness(b));
            ka.cmp(&kb)
                .then_with(|| (&b.path, b.line).cmp(&(&a.path, a.line)))
        })?;
    let var = best.variable.as_deref().unwrap_or_default();
    let source = format!("inlined from `{var}` in `{}:{}`", best.path, best.line);
    let fix = match dotenv::exposed_prefix(var) {
        Some(prefix) if severity != Severity::Info => format!(
            " Fix the variable, not the generated file: rotate the key, then rename `{var}` without the `{prefix}` prefix and use it from server code only."
        ),
        _ => " Fix the variable, not the generated file.".to_string(),
    };
    Some((format!(" It was {source}.{fix}"), source))
}
