//! The command line, as clap types. Doc comments are the help text.
//!
//! Nothing here is used by the library: [`Cli`] is turned into a
//! [`crate::pipeline::ScanRequest`] by the binary, so clap stays out of
//! library code.

use crate::finding::Severity;
use crate::report::Format;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  In a terminal — scan the current project (respects .gitignore, also scans
  git-ignored build output such as dist/ and .next/):
    keyscan .
    keyscan --format json web/ api/ > findings.json

  As a pre-commit hook — scan exactly what is staged:
    keyscan --staged

  Make git ignore every dotenv file (appends to .gitignore; idempotent):
    keyscan --fix

  In CI — fail on high and above, write SARIF for code scanning:
    keyscan --format sarif --output keyscan.sarif .
    keyscan --history --since origin/main --fail-on high
    keyscan --format github .          # annotations in a GitHub Actions log

  In a repository with known leaks — record them, then report only new ones:
    keyscan --write-baseline .keyscan-baseline.jsonl .
    keyscan --baseline .keyscan-baseline.jsonl .

Exit codes: 0 clean, 1 findings at or above --fail-on (or, with --strict, a file
that could not be read), 2 usage or config error; --fix exits 0 once the fixes
are written (2 if one could not be).";

/// How to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// keyscan: find leaked Miniback, urBackend and Stripe API keys before they
/// ship — in your tree, your staged changes and your git history.
#[derive(Debug, Parser)]
#[command(name = "keyscan", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Files or directories to scan. With --staged or --history: the git
    /// repository (searched upward from PATH).
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Scan what the next commit would record (the index, or GIT_INDEX_FILE),
    /// not the working tree: for pre-commit hooks.
    #[arg(long, conflicts_with_all = ["history", "no_ignore", "no_build_dirs", "fix"])]
    pub staged: bool,

    /// Scan every blob in git history (all branches, tags, remotes, stash),
    /// each once, with the commit that introduced it.
    #[arg(long, conflicts_with_all = ["no_ignore", "no_build_dirs", "fix"])]
    pub history: bool,

    /// With --history: only commits not reachable from REV (e.g. origin/main).
    #[arg(
        long,
        value_name = "REV",
        requires = "history",
        conflicts_with = "range"
    )]
    pub since: Option<String>,

    /// With --history: only the commits of A..B (e.g. a push's before..after).
    #[arg(long, value_name = "A..B", requires = "history")]
    pub range: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Exit with 1 when a finding is at or above this severity [default: high, or
    /// fail_on in .keyscan.toml].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Print findings only: no summary.
    #[arg(long, short)]
    pub quiet: bool,

    /// When to use colours.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print full secrets instead of redacted ones. Output then contains live keys.
    #[arg(long)]
    pub show_secrets: bool,

    /// Do not respect .gitignore, .ignore or .keyscanignore files.
    #[arg(long)]
    pub no_ignore: bool,

    /// Do not scan git-ignored build output (dist/, build/, .next/ …) of web projects.
    #[arg(long)]
    pub no_build_dirs: bool,

    /// Config file [default: .keyscan.toml in the first PATH, if present].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Ignore every suppression (inline, config allowlist, baseline): audit mode.
    #[arg(long)]
    pub no_allowlist: bool,

    /// Append the missing dotenv and secret-file lines to the right .gitignore
    /// (creating it if needed), print what changed and the `git rm --cached`
    /// commands for tracked files (never run), then exit 0. Output is text.
    #[arg(long)]
    pub fix: bool,

    /// Worker threads, for every step of a scan [default: one per core].
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Write the report to FILE instead of standard output. Repeatable, and
    /// FORMAT=FILE writes that format there: `--format github -o
    /// sarif=keyscan.sarif` prints annotations and writes SARIF from one scan.
    /// Standard output gets --format unless a plain `-o FILE` is given.
    #[arg(long, short = 'o', value_name = "[FORMAT=]FILE", value_parser = parse_output)]
    pub output: Vec<Output>,

    /// Report only findings that are not recorded in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record the current findings in a baseline file (JSON Lines, no secrets)
    /// and exit 0.
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    pub write_baseline: Option<PathBuf>,

    /// List every rule (built-in and from the config) with its keywords,
    /// severities and rotation URL, then exit. Honours --format text|json.
    #[arg(long)]
    pub list_rules: bool,

    /// Exit with 1 when any file or directory could not be read (the scan still
    /// covers everything else; the errors are listed in the summary).
    #[arg(long)]
    pub strict: bool,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// One `--output` value: a file, and the format to write there (`None`:
/// the `--format` one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// `FORMAT=` given before the file name, if any.
    pub format: Option<Format>,
    /// Where to write.
    pub path: PathBuf,
}

/// `[FORMAT=]FILE`: a known format name before the first `=` selects that
/// format; anything else is a file name (write `./json=x` for a file named
/// `json=x`).
fn parse_output(s: &str) -> Result<Output, String> {
    if let Some((name, path)) = s.split_once('=') {
        if let Ok(format) = Format::from_str(name, true) {
            if path.is_empty() {
                return Err(format!("`{name}=` needs a file name after the `=`"));
            }
            return Ok(Output {
                format: Some(format),
                path: PathBuf::from(path),
            });
        }
    }
    if s.is_empty() {
        return Err("the file name is empty".into());
    }
    Ok(Output {
        format: None,
        path: PathBuf::from(s),
    })
}

impl Cli {
    /// Where each report goes: `(format, Some(file))` for every `--output`,
    /// plus `(--format, None)` — standard output — unless a plain `-o FILE`
    /// took `--format`.
    pub fn destinations(&self) -> Vec<(Format, Option<PathBuf>)> {
        let mut out: Vec<(Format, Option<PathBuf>)> = self
            .output
            .iter()
            .map(|o| (o.format.unwrap_or(self.format), Some(o.path.clone())))
            .collect();
        if self.output.iter().all(|o| o.format.is_some()) {
            out.push((self.format, None));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("keyscan").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn output_takes_an_optional_format() {
        assert_eq!(
            parse_output("sarif=out/k.sarif").unwrap(),
            Output {
                format: Some(Format::Sarif),
                path: "out/k.sarif".into()
            }
        );
        assert_eq!(parse_output("k.sarif").unwrap().format, None);
        // Not a format name: the whole value is the file name.
        assert_eq!(parse_output("a=b").unwrap().path, PathBuf::from("a=b"));
        assert_eq!(parse_output("./json=x").unwrap().format, None);
        assert!(parse_output("json=").unwrap_err().contains("json="));
        assert!(parse_output("").is_err());
    }

    #[test]
    fn stdout_gets_the_format_unless_a_plain_output_takes_it() {
        assert_eq!(cli(&[]).destinations(), vec![(Format::Text, None)]);
        assert_eq!(
            cli(&["--format", "github", "-o", "sarif=k.sarif"]).destinations(),
            vec![
                (Format::Sarif, Some("k.sarif".into())),
                (Format::Github, None)
            ]
        );
        assert_eq!(
            cli(&["--format", "json", "-o", "k.json", "-o", "sarif=k.sarif"]).destinations(),
            vec![
                (Format::Json, Some("k.json".into())),
                (Format::Sarif, Some("k.sarif".into()))
            ]
        );
    }
}
