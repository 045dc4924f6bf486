//! `--format text`: what a person reads in a terminal or a hook's output.
//!
//! Findings come most severe first; each says what leaked, where, how bad,
//! why, and how to rotate it. Every string field — paths, snippets, rule
//! titles and messages (config rules come from the scanned repository too),
//! commit authors, notes and error messages — goes through
//! [`crate::sanitize::for_terminal`] first, because it may come from a hostile
//! file; only numbers and keyscan's own fixed words are printed as they are.
//! Finally no line may read as a CI runner command (`::error::…`): a file
//! named like one is printed in a job log that GitHub Actions parses. Colour is applied only when enabled (TTY, `NO_COLOR`, `--color`).

use super::{RenderOptions, Report, Reporter};
use crate::finding::{Finding, Severity};
use crate::sanitize::{for_terminal, no_log_commands};
use indicatif::HumanBytes;
use owo_colors::{OwoColorize, Style};
use std::io::{self, Write};

/// Renders text.
#[derive(Debug)]
pub struct TextReporter {
    opts: RenderOptions,
}

impl TextReporter {
    /// A text reporter.
    pub fn new(opts: RenderOptions) -> Self {
        TextReporter { opts }
    }

    fn paint(&self, text: &str, style: Style) -> String {
        if self.opts.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    fn severity_style(sev: Severity) -> Style {
        match sev {
            Severity::Critical => Style::new().white().on_red().bold(),
            Severity::High => Style::new().red().bold(),
            Severity::Medium => Style::new().yellow().bold(),
            Severity::Low => Style::new().cyan(),
            Severity::Info => Style::new().dimmed(),
        }
    }

    fn write_finding(&self, f: &Finding, out: &mut dyn Write) -> io::Result<()> {
        let sev = format!("{:<8}", f.severity.as_str().to_uppercase());
        writeln!(
            out,
            "{} {} {}",
            self.paint(&sev, Self::severity_style(f.severity)),
            self.paint(&for_terminal(&f.rule_id), Style::new().bold()),
            for_terminal(&f.title)
        )?;
        let loc = if f.location.line > 0 {
            format!(
                "{}:{}:{}",
                f.location.path, f.location.line, f.location.column
            )
        } else {
            f.location.path.clone()
        };
        writeln!(
            out,
            "  {} {}  ({})",
            self.paint("at", Style::new().dimmed()),
            self.paint(&for_terminal(&loc), Style::new().cyan()),
            f.context
        )?;
        // Why the key has that context, wrapped like the message.
        if let Some(reason) = &f.context_reason {
            for (i, part) in self.wrap(&for_terminal(reason), 6).iter().enumerate() {
                if i == 0 {
                    writeln!(out, "  {} {part}", self.paint("why", Style::new().dimmed()))?;
                } else {
                    writeln!(out, "      {part}")?;
                }
            }
        }
        if let Some(c) = &f.commit {
            writeln!(
                out,
                "  {} {} by {} on {}{}",
                self.paint("commit", Style::new().dimmed()),
                for_terminal(c.id.get(..12).unwrap_or(&c.id)),
                for_terminal(&c.author),
                for_terminal(&c.date),
                f.history_note()
                    .map(|n| format!(" ({n} — rotate)"))
                    .unwrap_or_default()
            )?;
        }
        if let Some(secret) = f.secret_display(self.opts.show_secrets) {
            writeln!(
                out,
                "  {} {}   {} {}",
                self.paint("key", Style::new().dimmed()),
                for_terminal(secret),
                self.paint("fingerprint", Style::new().dimmed()),
                for_terminal(&f.fingerprint)
            )?;
        } else {
            // Findings without a key (the repository checks) are allowlisted
            // by fingerprint too, as the footer says.
            writeln!(
                out,
                "  {} {}",
                self.paint("fingerprint", Style::new().dimmed()),
                for_terminal(&f.fingerprint)
            )?;
        }
        if let Some(snippet) = f.snippet_display(self.opts.show_secrets) {
            writeln!(
                out,
                "  {} {}",
                self.paint("│", Style::new().dimmed()),
                for_terminal(snippet)
            )?;
        }
        if let Some(src) = &f.source {
            writeln!(
                out,
                "  {} {}",
                self.paint("source", Style::new().dimmed()),
                for_terminal(src)
            )?;
        }
        for line in self.wrap(&for_terminal(&f.message), 2) {
            writeln!(out, "  {line}")?;
        }
        if let Some(url) = &f.rotation_url {
            writeln!(
                out,
                "  {} {}",
                self.paint("rotate:", Style::new().bold()),
                for_terminal(url)
            )?;
        }
        for line in f.remediation.lines() {
            // A numbered step's continuation lines line up under its text.
            let hang = line
                .find(". ")
                .filter(|&i| i <= 3 && line[..i].bytes().all(|b| b.is_ascii_digit()));
            let wrapped = self.wrap(&for_terminal(line), 4 + hang.map_or(0, |h| h + 2));
            for (i, part) in wrapped.iter().enumerate() {
                let pad = if i == 0 { 0 } else { hang.map_or(0, |h| h + 2) };
                writeln!(out, "    {:pad$}{part}", "")?;
            }
        }
        writeln!(out)
    }
}

impl TextReporter {
    /// `text` split into lines that fit the terminal after `indent`
    /// columns (one line when not wrapping).
    fn wrap(&self, text: &str, indent: usize) -> Vec<String> {
        match self.opts.width {
            Some(width) => wrap(text, width.saturating_sub(indent).max(20)),
            None => vec![text.to_string()],
        }
    }
}

/// Greedy word wrap at spaces to `width` characters; a word longer than a
/// line (a URL, a path) gets a line of its own rather than being cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ') {
        let w = word.chars().count();
        if len > 0 && len + 1 + w > width {
            lines.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += w;
    }
    lines.push(line);
    lines
}

impl Reporter for TextReporter {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        // Rendered whole, then checked line by line: no printed line, whatever
        // field starts it, may read as a CI runner command.
        let mut text = Vec::new();
        self.render(report, &mut text)?;
        let text = String::from_utf8_lossy(&text);
        out.write_all(no_log_commands(&text).as_bytes())
    }
}

impl TextReporter {
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut sorted: Vec<&Finding> = report.findings.iter().collect();
        sorted.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.sort_key().cmp(&b.sort_key()))
        });
        for f in &sorted {
            self.write_finding(f, out)?;
        }
        if self.opts.quiet {
            return Ok(());
        }
        let s = report.summary;
        if sorted.iter().any(|f| f.severity > Severity::Info) {
            for line in self.wrap(
                "A false positive? Put `keyscan:allow` in a comment on its line, or add its fingerprint to [allowlist] fingerprints in .keyscan.toml.",
                0,
            ) {
                writeln!(out, "{}", self.paint(&line, Style::new().dimmed()))?;
            }
        }
        let total = report.findings.len();
        let head = if total == 0 {
            self.paint("no findings", Style::new().green().bold())
        } else {
            self.paint(
                &format!("{total} finding{}", if total == 1 { "" } else { "s" }),
                Style::new().bold(),
            ) + &format!(" ({})", s.counts_text())
        };
        // History counts distinct blobs: one file in many versions is many blobs.
        let unit = if s.mode == "history" { "blob" } else { "file" };
        writeln!(
            out,
            "{head} · {} {unit}{} ({}) scanned in {} ms [{}]",
            s.files_scanned,
            if s.files_scanned == 1 { "" } else { "s" },
            HumanBytes(s.bytes_scanned),
            s.duration_ms,
            for_terminal(&s.mode)
        )?;
        for line in s.detail_lines() {
            for (i, part) in self.wrap(&line, 2).iter().enumerate() {
                writeln!(out, "{}{part}", if i == 0 { "" } else { "  " })?;
            }
        }
        if !s.errors.is_empty() {
            writeln!(
                out,
                "{}",
                self.paint(&format!("{} error(s):", s.errors.len()), Style::new().red())
            )?;
            for e in &s.errors {
                writeln!(
                    out,
                    "  {}: {}",
                    for_terminal(&e.path),
                    for_terminal(&e.message)
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{CommitInfo, Context, Location, Origin};
    use crate::report::Summary;
    use crate::source::ScanIssue;

    /// A finding and summary whose every string field is `s(name)`.
    fn report_parts(s: &dyn Fn(&str) -> String) -> (Finding, Summary) {
        let finding = Finding {
            rule_id: s("rule"),
            provider: s("provider"),
            title: s("title"),
            severity: Severity::High,
            context: Context::Server,
            context_reason: None,
            origin: Origin::Commit,
            location: Location {
                path: s("path"),
                line: 3,
                column: 7,
                column_utf16: Some(7),
            },
            secret: Some(s("secret")),
            secret_redacted: Some(s("redacted")),
            fingerprint: s("fingerprint"),
            message: s("message"),
            rotation_url: Some(s("url")),
            remediation: format!("{}\n{}", s("step1"), s("step2")),
            snippet: Some(s("snippet")),
            snippet_raw: Some(s("snippet_raw")),
            commit: Some(CommitInfo {
                id: s("commit-id-0123456789"),
                author: s("author"),
                date: s("date"),
                in_head: false,
            }),
            source: Some(s("source")),
        };
        let mut summary = Summary {
            mode: s("mode"),
            errors: vec![ScanIssue {
                path: s("error-path"),
                message: s("error-message"),
            }],
            build_dirs_scanned: vec![s("build-dir")],
            notes: vec![s("note")],
            ..Summary::default()
        };
        summary.files_skipped.insert(s("reason"), 1);
        summary.count_findings(std::slice::from_ref(&finding));
        (finding, summary)
    }

    fn render(s: &dyn Fn(&str) -> String, show_secrets: bool) -> String {
        let (finding, summary) = report_parts(s);
        let reporter = TextReporter::new(RenderOptions {
            show_secrets,
            color: false,
            quiet: false,
            width: None,
        });
        let mut out = Vec::new();
        let findings = [finding];
        let report = Report {
            findings: &findings,
            summary: &summary,
            rules: &[],
            repo_paths: &crate::report::RepoPaths::identity(),
        };
        reporter.write(&report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn wraps_at_spaces_and_keeps_long_words_whole() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(
            wrap("see https://example.com/a/very/long/url now", 10),
            ["see", "https://example.com/a/very/long/url", "now"]
        );
        assert_eq!(wrap("", 10), [""]);
        let opts = RenderOptions {
            width: Some(30),
            ..RenderOptions::default()
        };
        let long = "word ".repeat(40);
        let lines = TextReporter::new(opts).wrap(long.trim(), 2);
        assert!(
            lines.len() > 1 && lines.iter().all(|l| l.chars().count() <= 28),
            "{lines:?}"
        );
    }

    #[test]
    fn every_string_field_is_escaped() {
        let hostile = |name: &str| {
            format!("::warning::{name}\x1b[31m\r\x08\u{202E}\u{2066}\u{200B}\n::error::forged\x07")
        };
        let plain = |name: &str| format!("{name}-plain");
        for show_secrets in [false, true] {
            let out = render(&hostile, show_secrets);
            for c in out.chars() {
                let bidi_or_invisible =
                    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}');
                assert!(
                    c == '\n' || !(c.is_control() || bidi_or_invisible),
                    "raw U+{:04X} in\n{out}",
                    c as u32
                );
            }
            assert!(
                !out.lines().any(|l| l.trim_start().starts_with("::")),
                "no line reads as a runner command:\n{out}"
            );
            // Escaping never adds a line, except that remediation is
            // multi-line text by design: its two steps' inner breaks stay.
            assert_eq!(
                out.lines().count(),
                render(&plain, show_secrets).lines().count() + 2,
                "{out}"
            );
            // Every field made it into the output (escaped).
            for field in ["title", "path", "author", "message", "url", "step2", "note"] {
                assert!(
                    out.contains(&format!("{field}\\x1b[31m\\x0d\\x08<U+202E>")),
                    "{field}"
                );
            }
        }
    }
}
