//! The `keyscan` binary: parse flags, call the library, print, exit.

use clap::Parser;
use keyscan::cli::{Cli, ColorChoice};
use keyscan::config::Config;
use keyscan::exit::ExitCode;
use keyscan::finding::Severity;
use keyscan::pipeline::HistoryOptions;
use keyscan::pipeline::{self, ScanRequest};
use keyscan::report::rules::{self as info, RuleInfo};
use keyscan::report::{self, Format, RenderOptions};
use keyscan::rules::RuleSet;
use keyscan::sanitize::{for_terminal_lines, no_log_commands};
use keyscan::scan::Matcher;
use keyscan::suppress::baseline::{self, Baseline};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("keyscan: {}", for_stderr(&err.to_string()));
            ExitCode::Error.into()
        }
    }
}

/// A fatal error message as it may be printed. Config errors quote values
/// (`invalid type: string "mbk_…"`) and the config is part of the scanned,
/// possibly hostile repository: secrets are redacted, control characters
/// escaped and CI log commands defused, like everything else keyscan prints.
fn for_stderr(message: &str) -> String {
    let redacted = match RuleSet::builtin() {
        Ok(rules) => Matcher::new(rules).redact_secrets(message).into_owned(),
        Err(_) => message.to_string(),
    };
    // A regex error quotes the pattern on a line of its own: it must not
    // read as a CI runner command either.
    no_log_commands(&for_terminal_lines(&redacted)).into_owned()
}

fn use_color(choice: ColorChoice, to_file: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !to_file
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                // A terminal that says it understands no escape sequences.
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                && std::io::stdout().is_terminal()
        }
    }
}

/// The terminal's width when text goes to a terminal (`COLUMNS` wins, as
/// for other tools), else `None`: files and pipes get unwrapped lines.
fn text_width(to_file: bool) -> Option<usize> {
    if to_file || !std::io::stdout().is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    columns
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
        .filter(|&w| w > 0)
}

/// Where the report goes: `--output FILE` or stdout. Errors name the file.
fn emit(
    output: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> keyscan::Result<()> {
    let (name, result) = match output {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| keyscan::Error::Io {
                path: path.to_path_buf(),
                source: e,
            })?;
            let mut out = std::io::BufWriter::new(file);
            (
                path.to_path_buf(),
                render(&mut out).and_then(|_| out.flush()),
            )
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            (
                PathBuf::from("<stdout>"),
                render(&mut out).and_then(|_| out.flush()),
            )
        }
    };
    match result {
        Ok(()) => Ok(()),
        // `keyscan … | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && output.is_none() => Ok(()),
        Err(e) => Err(keyscan::Error::Io {
            path: name,
            source: e,
        }),
    }
}

fn list_rules(cli: &Cli, config: &Config) -> keyscan::Result<ExitCode> {
    let rules = RuleInfo::catalogue(&pipeline::load_rules(config)?, &config.file.providers);
    let format = cli.format;
    if !matches!(format, Format::Text | Format::Json) {
        return Err(keyscan::Error::Usage(
            "--list-rules prints --format text or json".to_string(),
        ));
    }
    let output =
        match cli.output.as_slice() {
            [] => None,
            [one] if one.format.is_none() => Some(one.path.as_path()),
            _ => return Err(keyscan::Error::Usage(
                "--list-rules writes one list: give at most one `--output FILE`, without FORMAT="
                    .to_string(),
            )),
        };
    emit(output, |out| match format {
        Format::Json => info::write_json(&rules, out),
        _ => info::write_text(&rules, out),
    })?;
    Ok(ExitCode::Clean)
}

fn run(cli: &Cli) -> keyscan::Result<ExitCode> {
    let first = cli.paths.first().cloned().unwrap_or_else(|| ".".into());
    let git_mode = cli.staged || cli.history;
    if git_mode && cli.paths.len() > 1 {
        return Err(keyscan::Error::Usage(
            "--staged and --history take one PATH: the repository to scan".into(),
        ));
    }
    // In git modes the config lives at the top of the work tree.
    let config_dir = if git_mode {
        pipeline::config_root(&first)
    } else {
        first.clone()
    };
    let config = Config::discover(cli.config.as_deref(), &config_dir)?;
    if cli.list_rules {
        return list_rules(cli, &config);
    }
    // Read the baseline before scanning, so a broken file fails fast.
    let baseline = cli.baseline.as_deref().map(Baseline::load).transpose()?;
    let fail_on = cli
        .fail_on
        .or(config.file.fail_on)
        .unwrap_or(Severity::High);
    let mut req = ScanRequest::new(cli.paths.clone());
    req.no_ignore = cli.no_ignore;
    req.build_dirs = cli.no_build_dirs.then_some(false);
    req.threads = cli.threads;
    req.no_allowlist = cli.no_allowlist;
    req.config = config;
    if cli.fix {
        return fix(&req, fail_on);
    }
    let mut outcome = if cli.staged {
        pipeline::run_staged(&req)?
    } else if cli.history {
        let opts = HistoryOptions {
            since: cli.since.clone(),
            range: cli.range.clone(),
            threads: cli.threads,
            // Only for a person watching: never in CI logs or redirected output.
            progress: !cli.quiet && std::io::stderr().is_terminal(),
        };
        pipeline::run_history(&req, &opts)?
    } else {
        pipeline::run(&req)?
    };

    if let Some(path) = &cli.write_baseline {
        let n = baseline::write_file(&outcome.findings, path)?;
        eprintln!(
            "keyscan: wrote {n} baseline entr{} to {}",
            if n == 1 { "y" } else { "ies" },
            path.display()
        );
        return Ok(ExitCode::Clean);
    }
    if let (Some(b), false) = (&baseline, cli.no_allowlist) {
        b.apply(&mut outcome.findings, &mut outcome.summary);
    }

    // Every string printed passes the same redaction as the keys themselves:
    // paths, variable names and project ids in messages, commit authors.
    let printable = if cli.show_secrets {
        None
    } else {
        let matcher = Matcher::new(pipeline::load_rules(&req.config)?);
        let redact = |s: &str| matcher.redact_secrets(s).into_owned();
        Some(keyscan::judge::printable::printable(
            &outcome.findings,
            &outcome.summary,
            &redact,
        ))
    };
    let (findings, summary) = match &printable {
        Some((f, s)) => (f.as_slice(), s),
        None => (outcome.findings.as_slice(), &outcome.summary),
    };
    let report = report::Report {
        findings,
        summary,
        rules: &outcome.rules,
        repo_paths: &outcome.repo_paths,
    };
    // One scan, every requested report: files first, standard output last,
    // so what a person sees comes after any "cannot write FILE" error.
    for (format, path) in cli.destinations() {
        let opts = RenderOptions {
            show_secrets: cli.show_secrets,
            color: use_color(cli.color, path.is_some()),
            quiet: cli.quiet,
            width: text_width(path.is_some()),
        };
        let reporter = report::reporter(format, opts);
        emit(path.as_deref(), |out| reporter.write(&report, out))?;
    }
    Ok(ExitCode::for_scan(
        &outcome.findings,
        fail_on,
        cli.strict,
        outcome.summary.strict_fails(),
    ))
}

/// `--fix`: apply, print what changed, say what is left; exit 0.
fn fix(req: &ScanRequest, fail_on: Severity) -> keyscan::Result<ExitCode> {
    let report = pipeline::fix(req)?;
    let after = pipeline::run(req)?;
    let left = after
        .findings
        .iter()
        .filter(|f| f.severity >= fail_on)
        .count();
    let mut text = report.to_string();
    if left > 0 {
        text.push_str(&format!(
            "\n{left} finding{} at or above {fail_on} remain{}: run `keyscan` to see {}.\n",
            if left == 1 { "" } else { "s" },
            if left == 1 { "s" } else { "" },
            if left == 1 { "it" } else { "them" },
        ));
    }
    // Paths and lines quoted from the tree may carry a key.
    let matcher = Matcher::new(pipeline::load_rules(&req.config)?);
    let text = matcher.redact_secrets(&text).into_owned();
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(ExitCode::Clean),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::Clean),
        Err(e) => Err(keyscan::Error::Io {
            path: "<stdout>".into(),
            source: e,
        }),
    }
}
