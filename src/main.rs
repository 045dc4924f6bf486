//! The `keyscan` binary: parse flags, call the library, print, exit.

use clap::Parser;
use keyscan::cli::{Cli, ColorChoice};
use keyscan::config::Config;
use keyscan::exit::ExitCode;
use keyscan::finding::Severity;
use keyscan::pipeline::{self, ScanRequest};
use keyscan::report::{self, Format, RenderOptions};
use keyscan::rules::{info, RuleInfo};
use keyscan::suppress::baseline::{self, Baseline};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

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

fn use_color(choice: ColorChoice, to_file: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !to_file
                && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
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
    emit(cli.output.as_deref(), |out| match format {
        Format::Json => info::write_json(&rules, out),
        _ => info::write_text(&rules, out),
    })?;
    Ok(ExitCode::Clean)
}

fn run(cli: &Cli) -> keyscan::Result<ExitCode> {
    let first = cli.paths.first().cloned().unwrap_or_else(|| ".".into());
    let config = Config::discover(cli.config.as_deref(), &first)?;
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
    let mut outcome = pipeline::run(&req)?;

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

    let opts = RenderOptions {
        show_secrets: cli.show_secrets,
        color: use_color(cli.color, cli.output.is_some()),
        quiet: cli.quiet,
    };
    let reporter = report::reporter(cli.format, opts);
    let report = report::Report {
        findings: &outcome.findings,
        summary: &outcome.summary,
        rules: &outcome.rules,
    };
    emit(cli.output.as_deref(), |out| reporter.write(&report, out))?;
    Ok(ExitCode::for_scan(
        &outcome.findings,
        fail_on,
        false,
        !outcome.summary.errors.is_empty(),
    ))
}
