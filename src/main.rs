//! The `keyscan` binary: parse flags, call the library, print, exit.

use clap::Parser;
use keyscan::cli::{Cli, ColorChoice};
use keyscan::config::Config;
use keyscan::exit::ExitCode;
use keyscan::finding::Severity;
use keyscan::pipeline::{self, ScanRequest};
use keyscan::report::{self, RenderOptions};
use keyscan::source::history::HistoryOptions;
use std::io::{IsTerminal, Write};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("keyscan: {err}");
            ExitCode::Error.into()
        }
    }
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
    let git_mode = cli.staged || cli.history;
    if git_mode && cli.paths.len() > 1 {
        return Err(keyscan::Error::Usage(
            "--staged and --history take one PATH: the repository to scan".into(),
        ));
    }
    // In git modes the config lives at the top of the work tree.
    let config_dir = if git_mode {
        keyscan::source::git::config_root(&first)
    } else {
        first.clone()
    };
    let config = Config::discover(cli.config.as_deref(), &config_dir)?;
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
    let outcome = if cli.staged {
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
        false,
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
