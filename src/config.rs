//! `.keyscan.toml`: a project's own rules, allowlists and provider settings.
//!
//! keyscan reads `.keyscan.toml` from the first scan root (or the file named by
//! `--config`). Every table is optional:
//!
//! ```toml
//! fail_on = "high"                      # default threshold for exit code 1
//!
//! [allowlist]
//! paths = ["fixtures/**", "docs/examples/*.md"]   # globs, relative to the root
//! fingerprints = ["3f2a…"]                         # from a finding's `fingerprint`
//! rules = ["stripe-publishable-key"]               # rule ids never reported
//!
//! [scan]
//! build_dirs = true                     # also scan ignored dist/, .next/ … folders
//! client_globs = ["web/legacy/**/*.js"] # extra files treated as client bundles
//!
//! [providers.miniback]
//! dashboard_url = "https://app.miniback.io/projects/{project_id}/api-access"
//! project_id = "acme-prod"
//!
//! [[rule]]                              # same shape as rules/*.toml
//! id = "acme-token"
//! …
//! ```
//!
//! Unknown keys are errors, reported with the file, line and column (exit 2).

use crate::error::{Error, Result};
use crate::finding::Severity;
use crate::fs::{read_limited, Links};
use crate::rules::RuleSpec;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The default config file name, looked up in the scan root.
pub const CONFIG_FILE_NAME: &str = ".keyscan.toml";

/// A parsed `.keyscan.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Default `--fail-on` threshold.
    #[serde(default)]
    pub fail_on: Option<Severity>,
    /// What not to report.
    #[serde(default)]
    pub allowlist: AllowlistSpec,
    /// Scan behaviour.
    #[serde(default)]
    pub scan: ScanSpec,
    /// Per-provider settings, keyed by lowercase provider name.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderSettings>,
    /// Extra rules, in the same format as `rules/*.toml`.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
}

/// `[allowlist]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistSpec {
    /// Path globs (relative to the scan root) whose findings are suppressed.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Finding fingerprints that are suppressed.
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// Rule ids that are suppressed everywhere.
    #[serde(default)]
    pub rules: Vec<String>,
}

/// `[scan]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSpec {
    /// Scan git-ignored build-output folders of web projects (default true).
    #[serde(default)]
    pub build_dirs: Option<bool>,
    /// Extra globs of files that are client bundles.
    #[serde(default)]
    pub client_globs: Vec<String>,
}

/// `[providers.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Dashboard URL template for rotation; `{project_id}` is substituted.
    #[serde(default)]
    pub dashboard_url: Option<String>,
    /// Project id to name when none is found next to the key.
    #[serde(default)]
    pub project_id: Option<String>,
}

/// A loaded config and where it came from.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file, when one was loaded.
    pub path: Option<PathBuf>,
    /// Its contents (defaults when there was no file).
    pub file: ConfigFile,
}

/// Largest config file read; a bigger one is an error.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

impl Config {
    /// Loads `explicit` if given (it must exist), else `ROOT/.keyscan.toml` if
    /// it exists, else defaults.
    pub fn discover(explicit: Option<&Path>, root: &Path) -> Result<Config> {
        let (path, links) = match explicit {
            Some(p) => (p.to_path_buf(), Links::Follow),
            None => {
                let candidate = if root.is_dir() {
                    root.join(CONFIG_FILE_NAME)
                } else {
                    return Ok(Config::default());
                };
                // Found inside the scanned tree: never read through a link.
                if std::fs::symlink_metadata(&candidate).is_err() {
                    return Ok(Config::default());
                }
                (candidate, Links::Refuse)
            }
        };
        let bytes = read_limited(&path, MAX_CONFIG_BYTES, links).map_err(|e| Error::Config {
            path: path.clone(),
            line: None,
            column: None,
            message: format!("cannot read config: {e}"),
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            // Point at the first bad byte, like any other config error.
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = line_col(valid, valid.len());
            Error::Config {
                path: path.clone(),
                line: Some(line),
                column: Some(column),
                message: "config is not valid UTF-8".into(),
            }
        })?;
        let file = parse(&path, text)?;
        Ok(Config {
            path: Some(path),
            file,
        })
    }

    /// The display name used in messages (`.keyscan.toml`).
    pub fn display_name(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| CONFIG_FILE_NAME.to_string())
    }
}

/// Parses config text, mapping errors to file:line:column.
pub fn parse(path: &Path, text: &str) -> Result<ConfigFile> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Error::Config {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().to_string(),
        }
    })
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    // A span from the parser should start on a character, but a position
    // inside one must not turn a config error into a panic.
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit_once('\n')
        .map(|(_, l)| l)
        .unwrap_or(before)
        .chars()
        .count()
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_table() {
        let text = r#"
fail_on = "critical"
[allowlist]
paths = ["fixtures/**"]
fingerprints = ["abc"]
[scan]
build_dirs = false
[providers.miniback]
dashboard_url = "https://example.test/{project_id}"
"#;
        let c = parse(Path::new(".keyscan.toml"), text).unwrap();
        assert_eq!(c.fail_on, Some(Severity::Critical));
        assert_eq!(c.allowlist.paths, vec!["fixtures/**"]);
        assert_eq!(c.scan.build_dirs, Some(false));
        assert!(c.providers["miniback"].dashboard_url.is_some());
    }

    #[test]
    fn errors_carry_line_and_column() {
        let text = "fail_on = \"high\"\n[allowlist]\npathz = []\n";
        let e = parse(Path::new("cfg/.keyscan.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cfg/.keyscan.toml:3:1: unknown field `pathz`"),
            "{e}"
        );
        let e = parse(Path::new("k.toml"), "fail_on = \"severe\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("k.toml:1:11:"), "{e}");
        assert!(e.contains("unknown severity"), "{e}");
    }

    #[test]
    fn positions_inside_a_character_do_not_panic() {
        assert_eq!(line_col("é\nxé", 1), (1, 1));
        assert_eq!(line_col("é\nxé", 5), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn invalid_utf8_config_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE_NAME);
        std::fs::write(&path, b"fail_on = \"high\"\n# caf\xe9\n").unwrap();
        let e = Config::discover(None, dir.path()).unwrap_err().to_string();
        assert!(
            e.ends_with(".keyscan.toml:2:6: config is not valid UTF-8"),
            "{e}"
        );
    }
}
