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

use super::keys::{self, plural, Grouped, KeyGroup};
use super::{RenderOptions, Report, Reporter};
use crate::finding::{Finding, Severity};
use crate::sanitize::{for_terminal, no_log_commands};
use indicatif::HumanBytes;
use owo_colors::{OwoColorize, Style};
use std::io::{self, Write};

/// Places of a key shown besides its worst one; the rest are counted (a
/// single one left over is shown instead).
pub const PLACES_SHOWN: usize = 5;

/// `3 keys in 112 places, 1 repository finding`.
fn what(grouped: &Grouped<'_>) -> String {
    let mut parts = Vec::new();
    if !grouped.keys.is_empty() {
        parts.push(grouped.keys_text());
    }
    if !grouped.repository.is_empty() {
        parts.push(plural(grouped.repository.len(), "repository finding"));
    }
    parts.join(", ")
}

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

    fn header(&self, severity: Severity, f: &Finding, extra: &str) -> String {
        let sev = format!("{:<8}", severity.as_str().to_uppercase());
        format!(
            "{} {} {}{extra}",
            self.paint(&sev, Self::severity_style(severity)),
            self.paint(&for_terminal(&f.rule_id), Style::new().bold()),
            for_terminal(&f.title)
        )
    }

    /// `path:line:column`, or the path of a whole-file finding.
    fn location(f: &Finding) -> String {
        let loc = if f.location.line > 0 {
            format!(
                "{}:{}:{}",
                f.location.path, f.location.line, f.location.column
            )
        } else {
            f.location.path.clone()
        };
        for_terminal(&loc).into_owned()
    }

    /// Where, in which commit, the key and the line: one place in full.
    fn write_place(&self, f: &Finding, with_key: bool, out: &mut dyn Write) -> io::Result<()> {
        if with_key {
            self.write_key_line(f, out)?;
        }
        writeln!(
            out,
            "  {} {}  ({})",
            self.paint("at", Style::new().dimmed()),
            self.paint(&Self::location(f), Style::new().cyan()),
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
                    .map(|n| if f.severity > Severity::Info {
                        // A publishable key is meant to be public: nothing to
                        // rotate, whatever history holds.
                        format!(" ({n} — rotate)")
                    } else {
                        format!(" ({n})")
                    })
                    .unwrap_or_default()
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
        Ok(())
    }

    fn write_key_line(&self, f: &Finding, out: &mut dyn Write) -> io::Result<()> {
        if let Some(secret) = f.secret_display(self.opts.show_secrets) {
            writeln!(
                out,
                "  {} {}   {} {}",
                self.paint("key", Style::new().dimmed()),
                for_terminal(secret),
                self.paint("fingerprint", Style::new().dimmed()),
                for_terminal(&f.fingerprint)
            )
        } else {
            // Findings without a key (the repository checks) are allowlisted
            // by fingerprint too, as the footer says.
            writeln!(
                out,
                "  {} {}",
                self.paint("fingerprint", Style::new().dimmed()),
                for_terminal(&f.fingerprint)
            )
        }
    }

    /// One rotation recipe.
    fn write_rotation(&self, f: &Finding, out: &mut dyn Write) -> io::Result<()> {
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

    /// A finding without a key (a repository check), as it is.
    fn write_finding(&self, f: &Finding, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.header(f.severity, f, ""))?;
        // An audit about a key (reuse) still names it, redacted.
        self.write_place(f, true, out)?;
        self.write_rotation(f, out)
    }

    /// One key: its worst place in full, the others one line each (the
    /// first few), other findings about it, one rotation recipe.
    fn write_key(&self, key: &KeyGroup<'_>, out: &mut dyn Write) -> io::Result<()> {
        let first = key.first();
        let n = key.places.len();
        let extra = if n > 1 {
            format!(" · {}", plural(n, "place"))
        } else {
            String::new()
        };
        writeln!(out, "{}", self.header(key.severity, first, &extra))?;
        self.write_place(first, true, out)?;
        let others = &key.places[1..];
        // "… and 1 more" would take the line the place itself needs.
        let shown = if others.len() <= PLACES_SHOWN + 1 {
            others.len()
        } else {
            PLACES_SHOWN
        };
        for (i, f) in others.iter().take(shown).enumerate() {
            let lead = if i == 0 { "also at" } else { "       " };
            let mut line = format!(
                "  {} {}  ({}, {})",
                self.paint(lead, Style::new().dimmed()),
                self.paint(&Self::location(f), Style::new().cyan()),
                f.context,
                f.severity
            );
            if let Some(c) = &f.commit {
                line.push_str(&format!(
                    " in commit {}{}",
                    for_terminal(c.id.get(..12).unwrap_or(&c.id)),
                    f.history_note()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                ));
            }
            writeln!(out, "{line}")?;
        }
        if others.len() > shown {
            writeln!(out, "          … and {} more", others.len() - shown)?;
        }
        for note in &key.notes {
            let text = format!(
                "also: {} [{}, {}]: {}",
                for_terminal(&note.title),
                for_terminal(&note.rule_id),
                note.severity,
                for_terminal(&note.message)
            );
            for (i, line) in self.wrap(&text, 4).iter().enumerate() {
                writeln!(out, "{}{line}", if i == 0 { "  " } else { "    " })?;
            }
        }
        self.write_rotation(first, out)
    }

    fn heading(&self, text: &str, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}",
            self.paint(&format!("── {text} ──"), Style::new().bold())
        )?;
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
        let grouped = keys::group(report.findings);
        if !grouped.keys.is_empty() {
            self.heading(&grouped.keys_text(), out)?;
            for key in &grouped.keys {
                self.write_key(key, out)?;
            }
        }
        if !grouped.repository.is_empty() {
            let n = grouped.repository.len();
            self.heading(
                &format!("{} about the repository, not a key", plural(n, "finding")),
                out,
            )?;
            for f in &grouped.repository {
                self.write_finding(f, out)?;
            }
        }
        if self.opts.quiet {
            return Ok(());
        }
        let s = report.summary;
        if report.findings.iter().any(|f| f.severity > Severity::Info) {
            for line in self.wrap(
                "A false positive? Put `keyscan:allow` in a comment on its line, or add its fingerprint to [allowlist] fingerprints in .keyscan.toml.",
                0,
            ) {
                writeln!(out, "{}", self.paint(&line, Style::new().dimmed()))?;
            }
        }
        let total = report.findings.len();
        let (head, rest) = if total == 0 {
            ("no findings".to_string(), String::new())
        } else {
            (
                format!("{total} finding{}", if total == 1 { "" } else { "s" }),
                format!(" ({}): {}", s.counts_text(), what(&grouped)),
            )
        };
        // History counts distinct blobs: one file in many versions is many blobs.
        let unit = if s.mode == "history" { "blob" } else { "file" };
        let headline = format!(
            "{head}{rest} · {} {unit}{} ({}) scanned in {} ms [{}]",
            s.files_scanned,
            if s.files_scanned == 1 { "" } else { "s" },
            HumanBytes(s.bytes_scanned),
            s.duration_ms,
            for_terminal(&s.mode)
        );
        let head_style = if total == 0 {
            Style::new().green().bold()
        } else {
            Style::new().bold()
        };
        // Wrapped as plain text; the count is painted afterwards, so colour
        // never moves a line break.
        for (i, part) in self.wrap(&headline, 2).iter().enumerate() {
            match part.strip_prefix(head.as_str()).filter(|_| i == 0) {
                Some(after) => writeln!(out, "{}{after}", self.paint(&head, head_style))?,
                None => writeln!(out, "  {part}")?,
            }
        }
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

    /// The text report of `findings` with default options.
    fn render_default(findings: &[Finding], summary: &Summary) -> String {
        let report = Report {
            findings,
            summary,
            rules: &[],
            repo_paths: &crate::report::RepoPaths::identity(),
        };
        let mut out = Vec::new();
        TextReporter::new(RenderOptions::default())
            .write(&report, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }
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
            encoding: None,
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
    fn a_key_lists_its_first_places_then_counts_the_rest() {
        let plain = |name: &str| format!("{name}-plain");
        let (finding, summary) = report_parts(&plain);
        // (places, other places listed, "… and N more")
        for (n, listed, more) in [(1, 0, None), (7, 6, None), (8, 5, Some(2))] {
            let findings: Vec<Finding> = (0..n)
                .map(|i| {
                    let mut f = finding.clone();
                    f.location.path = format!("p{i}.js");
                    f
                })
                .collect();
            let out = render_default(&findings, &summary);
            assert_eq!(out.matches("(server, high)").count(), listed, "{out}");
            assert_eq!(out.matches("also at").count(), usize::from(n > 1));
            match more {
                Some(m) => assert!(out.contains(&format!("… and {m} more")), "{out}"),
                None => assert!(!out.contains("more\n"), "{out}"),
            }
            assert_eq!(out.matches("rotate:").count(), 1, "{out}");
            let header = format!("1 key in {n} place");
            assert!(out.contains(&header), "{out}");
        }
    }

    #[test]
    fn history_places_say_rotate_only_for_keys_that_must_stay_secret() {
        let plain = |name: &str| format!("{name}-plain");
        let (mut finding, summary) = report_parts(&plain);
        let out = render_default(std::slice::from_ref(&finding), &summary);
        assert!(
            out.contains("(removed from HEAD but still in history — rotate)"),
            "{out}"
        );
        finding.severity = Severity::Info;
        let out = render_default(&[finding], &summary);
        assert!(
            out.contains("(removed from HEAD but still in history)"),
            "{out}"
        );
        assert!(!out.contains("— rotate"), "{out}");
    }

    #[test]
    fn other_places_and_notes_are_escaped() {
        let plain = |name: &str| format!("{name}-plain");
        let (finding, summary) = report_parts(&plain);
        let mut second = finding.clone();
        second.location.path = "~::error::evil\x1b[31m.js".into();
        if let Some(c) = second.commit.as_mut() {
            c.id = "\u{202E}abc".into();
        }
        let mut note = finding.clone();
        note.rule_id = crate::judge::overdue::RULE_ID.into();
        note.title = "title\x1b[2J".into();
        note.message = "message\r::warning::x".into();
        let findings = [finding, second, note];
        let out = render_default(&findings, &summary);
        assert!(!out.chars().any(|c| c != '\n' && c.is_control()), "{out}");
        assert!(!out.contains('\u{202E}'), "{out}");
        assert!(
            out.contains("also at ~::error::evil\\x1b[31m.js:3:7"),
            "{out}"
        );
        assert!(out.contains("also: title\\x1b[2J"), "{out}");
        assert!(
            !out.lines().any(|l| l.trim_start().starts_with("::")),
            "{out}"
        );
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
