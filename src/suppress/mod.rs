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
    /// Compiles a config's `[allowlist]`.
    pub fn from_config(config: &Config) -> Result<Allowlist> {
        let spec: &AllowlistSpec = &config.file.allowlist;
        Ok(Allowlist {
            paths: compile_globs(&spec.paths, config, "allowlist.paths")?,
            fingerprints: spec.fingerprints.iter().cloned().collect(),
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
