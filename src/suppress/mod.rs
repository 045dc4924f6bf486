//! Suppressions: findings a project has decided not to see.
//!
//! Three mechanisms, each counted separately in the summary so that a pull
//! request that widens an allowlist is visible to reviewers:
//!
//! - **inline**: a line containing `keyscan:allow` (handled by the matcher and
//!   judge, since only they see the line);
//! - **config**: `[allowlist]` in `.keyscan.toml` — path globs, fingerprints,
//!   rule ids ([`Allowlist`]);
//! - **baseline**: findings recorded earlier with `--write-baseline`
//!   ([`baseline::Baseline`]).
//!
//! `--no-allowlist` disables all of them, for audits.

pub mod baseline;

use crate::config::{AllowlistSpec, Config};
use crate::error::{Error, Result};
use crate::finding::Finding;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::HashSet;

/// The `[allowlist]` of a config, compiled.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    paths: Option<GlobSet>,
    fingerprints: HashSet<String>,
    rules: HashSet<String>,
}

/// Checks one `[allowlist] fingerprints` entry (the `n`th): 32 hex digits,
/// as findings print them (upper case is accepted and folded).
fn fingerprint_entry(
    fp: &str,
    n: usize,
    config: &Config,
    redact_key: &dyn Fn(&str) -> Option<String>,
) -> Result<String> {
    let fp = fp.trim();
    if fp.len() == 32 && fp.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(fp.to_ascii_lowercase());
    }
    let message = match redact_key(fp) {
        Some(redacted) => format!(
            "allowlist.fingerprints entry {n} (`{redacted}`) looks like an API key, not a fingerprint. \
             Put the finding's `fingerprint` there (32 hex characters, printed with every finding), \
             remove the key from this file — and if it is a real key, rotate it: it is now in the config"
        ),
        None => format!(
            "allowlist.fingerprints entry {n} is not a fingerprint: expected the 32 hex characters \
             a finding prints as its `fingerprint`, found {} characters",
            fp.chars().count()
        ),
    };
    Err(Error::Config {
        path: config.path.clone().unwrap_or_default(),
        line: None,
        column: None,
        message,
    })
}

/// Compiles path globs, naming the config file on error.
pub fn compile_globs(globs: &[String], config: &Config, field: &str) -> Result<Option<GlobSet>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| Error::Config {
            path: config.path.clone().unwrap_or_default(),
            line: None,
            column: None,
            message: format!("{field}: invalid glob `{g}`: {e}"),
        })?;
        b.add(glob);
    }
    b.build().map(Some).map_err(|e| Error::Config {
        path: config.path.clone().unwrap_or_default(),
        line: None,
        column: None,
        message: format!("{field}: {e}"),
    })
}

impl Allowlist {
    /// Compiles a config's `[allowlist]`. `redact_key(s)` returns `s` with
    /// its keys redacted when it holds one (the matcher's redaction), so a
    /// key pasted where a fingerprint belongs is an error that says so —
    /// quoting it redacted — instead of an entry that silently never matches.
    pub fn from_config(
        config: &Config,
        redact_key: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Allowlist> {
        let spec: &AllowlistSpec = &config.file.allowlist;
        let mut fingerprints = HashSet::new();
        for (i, fp) in spec.fingerprints.iter().enumerate() {
            fingerprints.insert(fingerprint_entry(fp, i + 1, config, redact_key)?);
        }
        Ok(Allowlist {
            paths: compile_globs(&spec.paths, config, "allowlist.paths")?,
            fingerprints,
            rules: spec.rules.iter().cloned().collect(),
        })
    }

    /// Whether the allowlist suppresses `f`.
    pub fn allows(&self, f: &Finding) -> bool {
        self.fingerprints.contains(&f.fingerprint)
            || self.rules.contains(&f.rule_id)
            || self
                .paths
                .as_ref()
                .is_some_and(|g| g.is_match(&f.location.path))
    }
}
