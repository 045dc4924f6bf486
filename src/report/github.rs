//! `--format github`: GitHub Actions workflow commands, which the runner turns
//! into annotations on the pull request's files.
//!
//! Each finding becomes one line,
//! `::error file=PATH,line=L,col=C,title=TITLE::MESSAGE` — `error` for
//! critical and high, `warning` for medium and low, `notice` for info (so a
//! publishable key is visible but not alarming). Findings about a whole file
//! (line 0) carry no `line`/`col`, which makes them file-level annotations.
//! `file=` is relative to the repository root, whatever folder was scanned
//! (see [`crate::facts::repo_paths`]): GitHub resolves it there.
//!
//! **Escaping is the security boundary here.** The runner reads every stdout
//! line that starts with `::` as a command, and file names and messages come
//! from the scanned repository. We escape exactly as GitHub's toolkit
//! (`@actions/core`, `command.ts`) does: in the message, `%` → `%25`, CR →
//! `%0D`, LF → `%0A`; in property values additionally `:` → `%3A` and `,` →
//! `%2C`. So no value can end the line (and start a forged command), end the
//! property list early, or add a property. The summary lines that follow are
//! plain log lines that start with `keyscan:` and go through
//! [`for_terminal`], which makes line breaks visible instead of emitting them.
//! Before that escaping, every value goes through [`visible`] (the terminal
//! escaping, CR and LF left to the toolkit's), so ESC, BEL, backspace and
//! bidi controls from a file name never reach the log raw.

use super::keys;
use super::{RenderOptions, Report, Reporter};
use crate::finding::{Finding, Severity};
use crate::sanitize::for_terminal;
use indicatif::HumanBytes;
use std::io::{self, Write};

/// Renders workflow commands.
#[derive(Debug)]
pub struct GithubReporter {
    opts: RenderOptions,
}

impl GithubReporter {
    /// A workflow-command reporter.
    pub fn new(opts: RenderOptions) -> Self {
        GithubReporter { opts }
    }
}

/// `s` with every control character but CR and LF (which the toolkit's
/// escaping turns into `%0D`/`%0A`), every bidi control and invisible format
/// character made visible, as on a terminal.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['\r', '\n']) {
        out.push_str(&for_terminal(&rest[..i]));
        out.push_str(&rest[i..i + 1]);
        rest = &rest[i + 1..];
    }
    out.push_str(&for_terminal(rest));
    out
}

/// Escapes a command's message, as the toolkit's `escapeData`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value, as the toolkit's `escapeProperty`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command for a severity.
pub fn command(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "notice",
    }
}

impl GithubReporter {
    /// One workflow command; `path` is the finding's path relative to the
    /// repository root, which is what GitHub resolves `file=` against.
    fn annotation(&self, f: &Finding, path: &str) -> String {
        let show = self.opts.show_secrets;
        // Control characters (ESC, BEL, backspace), bidi overrides and
        // invisible format characters in a file name or rule text are shown,
        // not passed to the log, before the toolkit's own escaping.
        let mut props = vec![format!("file={}", escape_property(&visible(path)))];
        if f.location.line > 0 {
            props.push(format!("line={}", f.location.line));
            props.push(format!("col={}", f.location.column.max(1)));
        }
        let title = format!("keyscan: {} ({}, {})", f.title, f.severity, f.context);
        props.push(format!("title={}", escape_property(&visible(&title))));

        let mut msg = format!("{} [{}]", f.message, f.rule_id);
        if let Some(secret) = f.secret_display(show) {
            msg.push_str(&format!("\nKey: {secret} (fingerprint {})", f.fingerprint));
        }
        if let Some(c) = &f.commit {
            msg.push_str(&format!(
                "\nIntroduced in commit {}{}",
                &c.id[..c.id.len().min(12)],
                f.history_note()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
        }
        if let Some(url) = &f.rotation_url {
            msg.push_str(&format!("\nRotate: {url}"));
        }
        if !f.remediation.is_empty() {
            msg.push('\n');
            msg.push_str(&f.remediation);
        }
        format!(
            "::{} {}::{}",
            command(f.severity),
            props.join(","),
            escape_data(&visible(&msg))
        )
    }
}

impl Reporter for GithubReporter {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        for f in report.findings {
            let path = report.repo_paths.repo_relative(&f.location.path);
            writeln!(out, "{}", self.annotation(f, &path))?;
        }
        if self.opts.quiet {
            return Ok(());
        }
        let s = report.summary;
        let counts = s.counts_text();
        let grouped = keys::group(report.findings);
        writeln!(
            out,
            "keyscan: {} finding(s){}{} · {} file(s) ({}) scanned [{}]",
            report.findings.len(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(" ({counts})")
            },
            if grouped.keys.is_empty() {
                String::new()
            } else {
                format!(": {}", grouped.keys_text())
            },
            s.files_scanned,
            HumanBytes(s.bytes_scanned),
            for_terminal(&s.mode)
        )?;
        for line in s.detail_lines() {
            writeln!(out, "keyscan: {line}")?;
        }
        for e in &s.errors {
            writeln!(
                out,
                "keyscan: could not scan {}: {}",
                for_terminal(&e.path),
                for_terminal(&e.message)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_everything_but_line_breaks() {
        assert_eq!(
            visible("a\x1b[31mb\x07\r\n\u{202E}c\x08"),
            "a\\x1b[31mb\\x07\r\n<U+202E>c\\x08"
        );
        assert_eq!(escape_data(&visible("x\ny")), "x%0Ay");
    }

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(escape_data("100%\r\n::error::x"), "100%25%0D%0A::error::x");
        assert_eq!(
            escape_property("a,line=1::evil%0A"),
            "a%2Cline=1%3A%3Aevil%250A"
        );
        assert_eq!(command(Severity::Critical), "error");
        assert_eq!(command(Severity::Medium), "warning");
        assert_eq!(command(Severity::Info), "notice");
    }
}
