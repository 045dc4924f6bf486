//! The `keyscan` binary: parse flags, call the library, print, exit.

use clap::Parser;
use keyscan::cli::{Cli, ColorChoice};
use keyscan::config::Config;
use keyscan::exit::ExitCode;
use keyscan::finding::Severity;
use keyscan::pipeline::{self, ScanRequest};
use keyscan::report::{self, RenderOptions};
use keyscan::rules::RuleSet;
use keyscan::sanitize::{for_terminal_lines, no_log_commands};
use keyscan::scan::Matcher;
use std::io::{IsTerminal, Write};

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
        Ok(rules) => Matcher::new(&rules).redact_secrets(message).into_owned(),
        Err(_) => message.to_string(),
    };
    // A regex error quotes the pattern on a line of its own: it must not
    // read as a CI runner command either.
    no_log_commands(&for_terminal_lines(&redacted)).into_owned()
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

fn run(cli: &Cli) -> keyscan::Result<ExitCode> {
    let first = cli.paths.first().cloned().unwrap_or_else(|| ".".into());
    let config = Config::discover(cli.config.as_deref(), &first)?;
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
    let outcome = pipeline::run(&req)?;

    let opts = RenderOptions {
        show_secrets: cli.show_secrets,
        color: use_color(cli.color),
        quiet: cli.quiet,
    };
    let reporter = report::reporter(cli.format, opts);
    let report = report::Report {
        findings: &outcome.findings,
        summary: &outcome.summary,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = reporter.write(&report, &mut out).and_then(|_| out.flush());
    let code = ExitCode::for_scan(
        &outcome.findings,
        fail_on,
        cli.strict,
        !outcome.summary.errors.is_empty(),
    );
    match written {
        Ok(()) => Ok(code),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(code),
        Err(e) => Err(keyscan::Error::Io {
            path: "<stdout>".into(),
            source: e,
        }),
    }
}
