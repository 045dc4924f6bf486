//! Audits of dotenv and other secret-bearing files, and the cross-file checks
//! on the keys in them.
//!
//! - `dotenv-tracked` / `secret-file-tracked`: the file is in git's index, so
//!   it is (or is about to be) in history — untrack it and rotate its keys;
//! - `dotenv-not-ignored` / `secret-file-not-ignored`: the file exists,
//!   untracked and not ignored — one `git add .` away;
//! - `key-reused-across-environments`: one key in the dotenv files of two
//!   environments (`.env.development` and `.env.production`).
//!
//! The reuse check works on [`KeySighting`]s, which the judge records for
//! every key in a dotenv file — including the keys it does not report
//! because they sit, correctly, in a git-ignored `.env` — so reuse is found
//! where keys usually live. Keys are compared in memory; findings carry only
//! fingerprints and redacted forms. (Bundle provenance, the other cross-file
//! check, is part of a finding's message: [`crate::judge::message`].)

use super::{
    audit_finding, DOTENV_NOT_IGNORED, DOTENV_TRACKED, KEY_REUSED, SECRET_FILE_NOT_IGNORED,
    SECRET_FILE_TRACKED,
};
use crate::dotenv;
use crate::facts::tree::FileFacts;
use crate::finding::{Context, Finding, Origin, Severity};
use crate::judge::{fingerprint, KeySighting};
use crate::paths::file_name;
use std::collections::BTreeMap;

/// Why a dotenv file without a secret key is still worth keeping out of git.
const NO_KEY_YET: &str = " It holds no secret key today, so this is low; still keep it out of git: the first key someone adds to it (dotenv files are where keys go) is committed without anyone deciding to, and history keeps every version. Keep public settings in a committed template (`.env.example`) or in code.";

fn is_template(path: &str) -> bool {
    dotenv::is_template_name(file_name(path))
}

fn is_dotenv(path: &str) -> bool {
    dotenv::is_dotenv_name(file_name(path))
}

/// Findings for tracked and unignored secret-bearing files. `holds_key(path)`
/// says whether a secret (not publishable) key was found in the file.
pub fn file_findings(files: &[FileFacts], holds_key: impl Fn(&str) -> bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in files {
        if is_template(&f.path) {
            continue;
        }
        let dotenv_file = is_dotenv(&f.path);
        if f.tracked {
            out.push(tracked_finding(
                &f.path,
                Origin::File,
                holds_key(&f.path),
                &f.untrack,
                Some(&f.ignore_with),
            ));
        } else if f.on_disk && f.ignored == Some(false) {
            let (rule, title, context) = if dotenv_file {
                (
                    DOTENV_NOT_IGNORED,
                    "Dotenv file not ignored by git",
                    Context::Dotenv,
                )
            } else {
                (
                    SECRET_FILE_NOT_IGNORED,
                    "Secret file not ignored by git",
                    Context::Repository,
                )
            };
            let (gitignore, line) = &f.ignore_with;
            let holds = holds_key(&f.path);
            let mut message = format!(
                "`{}` is neither tracked nor ignored by git: the next `git add .` commits it, and every key in it with it.",
                f.path
            );
            // A dotenv file without a secret key is a habit to fix, not a
            // leak: low. Secret files keep their severity (keyscan knows the
            // keys of three vendors, not every secret such a file holds).
            let severity = if holds || !dotenv_file {
                Severity::High
            } else {
                message.push_str(NO_KEY_YET);
                Severity::Low
            };
            let remediation = format!(
                "Add this line to `{gitignore}` (or run `keyscan --fix`):\n    {line}\nKeep a template without real keys (`.env.example`) for others to copy."
            );
            out.push(audit_finding(
                rule,
                title,
                severity,
                context,
                Origin::File,
                &f.path,
                &f.path,
                message,
                remediation,
            ));
        }
    }
    out
}

fn tracked_finding(
    path: &str,
    origin: Origin,
    holds_key: bool,
    untrack: &str,
    ignore_with: Option<&(String, String)>,
) -> Finding {
    let dotenv_file = is_dotenv(path);
    let (rule, title, context) = if dotenv_file {
        (
            DOTENV_TRACKED,
            "Dotenv file tracked by git",
            Context::Dotenv,
        )
    } else {
        (
            SECRET_FILE_TRACKED,
            "Secret file tracked by git",
            Context::Repository,
        )
    };
    let severity = if holds_key {
        Severity::Critical
    } else if dotenv_file {
        // Vite and Create React App document committing `.env` files with
        // public settings only: a habit to fix, not a leak.
        Severity::Low
    } else {
        Severity::High
    };
    let staged = origin == Origin::Staged;
    let mut message = if staged {
        format!("`{path}` is staged for commit: once committed, it is in history, where every clone has it.")
    } else {
        format!("`{path}` is tracked by git: it is in the repository's history, where every clone has it.")
    };
    if holds_key {
        message.push_str(
            " It holds a key: rotate it — untracking the file does not remove it from history.",
        );
    } else if dotenv_file {
        message.push_str(NO_KEY_YET);
    } else {
        message.push_str(" Any key ever written to it is in history too and must be rotated.");
    }
    let mut steps = Vec::new();
    if staged {
        steps.push(format!(
            "1. Unstage it: `git restore --staged {path}` (keeps your copy)."
        ));
    } else {
        steps.push(format!("1. Untrack it, keeping your copy: `{untrack}`."));
    }
    match ignore_with {
        Some((gitignore, line)) => steps.push(format!(
            "2. Make git ignore it: add `{line}` to `{gitignore}` (or run `keyscan --fix`)."
        )),
        None => steps.push("2. Make git ignore it (add its name to `.gitignore`).".to_string()),
    }
    steps.push(
        "3. Rotate every key that was ever in it, then commit a template with placeholders (`.env.example`) instead."
            .to_string(),
    );
    audit_finding(
        rule,
        title,
        severity,
        context,
        origin,
        path,
        path,
        message,
        steps.join("\n"),
    )
}

/// Staged mode: a `dotenv-tracked` (or `secret-file-tracked`) finding for
/// each staged path that is a non-template dotenv file or a secret-bearing
/// file, with or without a key in it. `holds_key(path)` raises it to
/// `critical`. Paths are repository-relative, `/`-separated.
pub fn staged_file_findings<'a>(
    staged_paths: impl IntoIterator<Item = &'a str>,
    holds_key: impl Fn(&str) -> bool,
) -> Vec<Finding> {
    staged_paths
        .into_iter()
        .filter(|p| dotenv::is_sensitive_path(p))
        .map(|p| {
            let untrack = format!("git rm --cached -- {p}");
            tracked_finding(p, Origin::Staged, holds_key(p), &untrack, None)
        })
        .collect()
}

/// The environment a dotenv file name configures: `.env.production.local` →
/// `production`, `.env` and `.env.local` → `default`; `None` for templates.
pub fn environment(name: &str) -> Option<String> {
    if !dotenv::is_dotenv_name(name) || dotenv::is_template_name(name) {
        return None;
    }
    let rest = name
        .strip_prefix(".env")
        .unwrap_or(name)
        .trim_start_matches('.');
    let rest = rest.strip_suffix(".local").unwrap_or(rest);
    let env = match rest {
        "" | "local" => "default",
        "dev" | "develop" => "development",
        "prod" => "production",
        "stage" => "staging",
        other => other,
    };
    Some(env.to_string())
}

/// `key-reused-across-environments`: one finding per secret key that appears
/// in the dotenv files of two or more environments.
pub fn reuse_findings(sightings: &[KeySighting]) -> Vec<Finding> {
    // key → environment → sightings
    let mut by_key: BTreeMap<&str, BTreeMap<String, Vec<&KeySighting>>> = BTreeMap::new();
    for s in sightings.iter().filter(|s| !s.publishable) {
        if let Some(env) = environment(file_name(&s.path)) {
            by_key
                .entry(s.secret.as_str())
                .or_default()
                .entry(env)
                .or_default()
                .push(s);
        }
    }
    let mut out = Vec::new();
    for envs in by_key.values() {
        if envs.len() < 2 {
            continue;
        }
        let mut all: Vec<&KeySighting> = envs.values().flatten().copied().collect();
        all.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        let first = all[0];
        let key_fp = fingerprint(&first.rule_id, &first.secret);
        let places: Vec<String> = envs
            .iter()
            .map(|(env, ss)| {
                let at: Vec<String> = ss
                    .iter()
                    .map(|s| format!("`{}:{}`", s.path, s.line))
                    .collect();
                format!("{env} ({})", at.join(", "))
            })
            .collect();
        let message = format!(
            "The same {} (fingerprint {key_fp}) is used in {} environments: {}. A key per environment keeps a leaked development key from opening production.",
            first.title,
            envs.len(),
            places.join("; ")
        );
        let remediation = format!(
            "Create a separate {} key for each environment and put each in its own dotenv file.\nRotate the production key: it has been sitting in other environments' files.",
            first.provider
        );
        let mut f = audit_finding(
            KEY_REUSED,
            "Key reused across environments",
            Severity::Medium,
            Context::Dotenv,
            Origin::Audit,
            &first.path,
            &key_fp,
            message,
            remediation,
        );
        f.provider = first.provider.clone();
        f.location.line = first.line;
        f.location.column = first.column;
        f.secret_redacted = Some(first.secret_redacted.clone());
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sighting(path: &str, line: u64, secret: &str, var: &str) -> KeySighting {
        KeySighting {
            rule_id: "miniback-api-key".into(),
            provider: "Miniback".into(),
            title: "Miniback API key".into(),
            publishable: false,
            secret: secret.into(),
            secret_redacted: "mbk_abcd…yz".into(),
            path: path.into(),
            line,
            column: 5,
            variable: Some(var.into()),
            reported: false,
        }
    }

    #[test]
    fn environments_from_names() {
        assert_eq!(environment(".env").as_deref(), Some("default"));
        assert_eq!(environment(".env.local").as_deref(), Some("default"));
        assert_eq!(
            environment(".env.production.local").as_deref(),
            Some("production")
        );
        assert_eq!(environment(".env.prod").as_deref(), Some("production"));
        assert_eq!(environment(".env.staging").as_deref(), Some("staging"));
        assert_eq!(environment(".env.example"), None);
        assert_eq!(environment("env.js"), None);
    }

    #[test]
    fn reuse_needs_two_environments_and_never_prints_the_key() {
        // Built at run time so keyscan's scan of its own source stays clean.
        let key = &format!("mbk_{}", "q8w7e6r5t4y3u2i1o0pz");
        let s = vec![
            sighting("web/.env.production", 2, key, "MINIBACK_KEY"),
            sighting("web/.env.production.local", 1, key, "MINIBACK_KEY"),
            sighting("api/.env.production", 4, "mbk_other0000000000000", "K"),
        ];
        assert!(
            reuse_findings(&s).is_empty(),
            "same environment twice is not reuse"
        );
        let mut s2 = s.clone();
        s2.push(sighting("web/.env.development", 3, key, "MINIBACK_KEY"));
        let out = reuse_findings(&s2);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(f.rule_id, KEY_REUSED);
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(
            (f.location.path.as_str(), f.location.line),
            ("web/.env.development", 3)
        );
        assert!(
            f.message.contains("development (`web/.env.development:3`)"),
            "{}",
            f.message
        );
        assert!(f
            .message
            .contains("production (`web/.env.production:2`, `web/.env.production.local:1`)"));
        assert!(!f.message.contains(key) && f.secret.is_none());
        assert_eq!(f.fingerprint, reuse_findings(&s2)[0].fingerprint);
    }

    #[test]
    fn staged_dotenv_files_are_findings_even_without_keys() {
        let paths = [
            "src/app.ts",
            "apps/web/.env.local",
            ".env.example",
            "config/keys.js",
        ];
        let out = staged_file_findings(paths.iter().copied(), |p| p == "config/keys.js");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].rule_id, DOTENV_TRACKED);
        assert_eq!(out[0].severity, Severity::Low);
        assert!(out[0].message.contains("holds no secret key today"));
        assert_eq!(out[0].origin, Origin::Staged);
        assert_eq!(out[0].location.path, "apps/web/.env.local");
        assert!(out[0]
            .remediation
            .contains("git restore --staged apps/web/.env.local"));
        assert_eq!(out[1].rule_id, SECRET_FILE_TRACKED);
        assert_eq!(out[1].severity, Severity::Critical);
    }

    #[test]
    fn file_findings_skip_templates_and_ignored_files() {
        let facts = |path: &str, tracked, ignored| FileFacts {
            path: path.into(),
            tracked,
            ignored: Some(ignored),
            on_disk: true,
            untrack: format!("git rm --cached -- {path}"),
            ignore_with: (".gitignore".into(), file_name(path).into()),
            git: true,
        };
        let files = vec![
            facts(".env", true, true),
            facts(".env.example", true, false),
            facts(".env.production", false, false),
            facts(".env.local", false, true),
            facts("secrets.json", false, false),
        ];
        let out = file_findings(&files, |p| p == ".env");
        let got: Vec<(&str, &str, Severity)> = out
            .iter()
            .map(|f| (f.rule_id.as_str(), f.location.path.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            vec![
                (DOTENV_TRACKED, ".env", Severity::Critical),
                (DOTENV_NOT_IGNORED, ".env.production", Severity::Low),
                (SECRET_FILE_NOT_IGNORED, "secrets.json", Severity::High),
            ]
        );
        assert!(out[0].remediation.contains("git rm --cached -- .env"));
        assert!(out[1].message.contains("holds no secret key today"));
        assert_eq!(out[0].location.line, 0);
        // With a secret key, an unignored dotenv file is high; tracked
        // without one, low.
        let out = file_findings(&files, |p| p == ".env.production");
        assert_eq!(out[0].severity, Severity::Low);
        assert_eq!(out[1].severity, Severity::High);
        assert_ne!(out[0].fingerprint, out[1].fingerprint);
    }
}
