//! The numbers of a scan, and the per-input problems it went on without.
//!
//! Every mode fills one [`Summary`] in the pipeline's final step; reports
//! render it. [`ScanIssue`] lives here, beside it, because sources produce
//! issues and reports print them, and neither may depend on the other.

use crate::finding::{Finding, Severity};
use crate::sanitize::for_terminal;
use serde::Serialize;
use std::collections::BTreeMap;

/// A problem with one input that did not stop the scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanIssue {
    /// The path (or object id) concerned.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Findings set aside by allowlists, by mechanism.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Suppressed {
    /// Lines carrying `keyscan:allow`.
    pub inline: u64,
    /// `[allowlist]` in the config (paths, fingerprints, rules).
    pub config: u64,
    /// Entries of a `--baseline` file.
    pub baseline: u64,
}

impl Suppressed {
    /// Total suppressed findings.
    pub fn total(&self) -> u64 {
        self.inline + self.config + self.baseline
    }
}

/// Numbers about the scan, printed at the end of text output and in JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// `tree`, `staged` or `history`.
    pub mode: String,
    /// Files (or blobs) scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Skipped files by reason.
    pub files_skipped: BTreeMap<String, u64>,
    /// Inputs that could not be read; the scan went on without them.
    pub errors: Vec<ScanIssue>,
    /// Inputs whose scan a bound cut short: more candidate keys than are
    /// kept per file, or a config rule out of time. Like `errors`, they fail
    /// `--strict`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<ScanIssue>,
    /// Reported findings per severity.
    pub findings_by_severity: SeverityCounts,
    /// Wall-clock time.
    pub duration_ms: u64,
    /// Git-ignored build-output folders scanned anyway.
    pub build_dirs_scanned: Vec<String>,
    /// Candidates recognised as placeholders or documentation examples.
    pub placeholders_ignored: u64,
    /// Keys in git-ignored dotenv files without a bundler-exposed prefix:
    /// correct usage, not reported.
    pub keys_in_ignored_dotenv: u64,
    /// The dotenv files those keys are in (display paths, sorted), so a
    /// reader can check that each really is kept out of git.
    pub keys_in_ignored_dotenv_paths: Vec<String>,
    /// Findings suppressed by allowlists.
    pub suppressed: Suppressed,
    /// Anything else the user should know (e.g. incomplete history).
    pub notes: Vec<String>,
    /// History scans only: commits walked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commits_scanned: Option<u64>,
    /// History scans only: `false` when the repository is a shallow clone, so
    /// older commits were not there to scan (`notes` says how to fix it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_complete: Option<bool>,
}

impl Summary {
    /// Whether `--strict` fails this scan: an input could not be read, or
    /// was not fully scanned.
    pub fn strict_fails(&self) -> bool {
        !self.errors.is_empty() || !self.incomplete.is_empty()
    }

    /// Fills `findings_by_severity` from the reported findings.
    pub fn count_findings(&mut self, findings: &[Finding]) {
        self.findings_by_severity = SeverityCounts::default();
        for f in findings {
            *self.findings_by_severity.get_mut(f.severity) += 1;
        }
    }
}

impl Summary {
    /// The non-zero severity counts, most severe first: `1 critical, 2 high`.
    pub fn counts_text(&self) -> String {
        Severity::ALL_DESC
            .iter()
            .filter_map(|sev| {
                let n = self.findings_by_severity.get(*sev);
                (n > 0).then(|| format!("{n} {sev}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The lines a person reads under the headline — skipped files, build
    /// output scanned anyway, what was set aside or suppressed, history
    /// coverage, notes — already escaped for a terminal. Text output prints
    /// them as they are; GitHub output prefixes each with `keyscan: `.
    pub fn detail_lines(&self) -> Vec<String> {
        let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut lines = Vec::new();
        let skipped: Vec<String> = self
            .files_skipped
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(reason, n)| format!("{n} {}", for_terminal(reason)))
            .collect();
        if !skipped.is_empty() {
            lines.push(format!("skipped: {}", skipped.join(", ")));
        }
        if !self.build_dirs_scanned.is_empty() {
            lines.push(format!(
                "also scanned git-ignored build output (--no-build-dirs to skip): {}",
                for_terminal(&self.build_dirs_scanned.join(", "))
            ));
        }
        if self.placeholders_ignored > 0 || self.keys_in_ignored_dotenv > 0 {
            lines.push(format!(
                "set aside: {}, {} in git-ignored dotenv files (correct usage)",
                plural(self.placeholders_ignored, "placeholder"),
                plural(self.keys_in_ignored_dotenv, "key"),
            ));
        }
        let sup = &self.suppressed;
        if sup.total() > 0 {
            lines.push(format!(
                "suppressed: {} by inline allow, {} by config allowlist, {} by baseline",
                sup.inline, sup.config, sup.baseline
            ));
        }
        for i in &self.incomplete {
            lines.push(format!(
                "not fully scanned: {}: {}",
                for_terminal(&i.path),
                for_terminal(&i.message)
            ));
        }
        if let Some(n) = self.commits_scanned {
            let incomplete = if self.history_complete == Some(false) {
                " (incomplete: shallow clone)"
            } else {
                ""
            };
            lines.push(format!("history: {}{incomplete}", plural(n, "commit")));
        }
        lines.extend(
            self.notes
                .iter()
                .map(|n| format!("note: {}", for_terminal(n))),
        );
        lines
    }
}

/// Findings per severity, serialized most severe first.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct SeverityCounts {
    /// Critical findings.
    pub critical: u64,
    /// High findings.
    pub high: u64,
    /// Medium findings.
    pub medium: u64,
    /// Low findings.
    pub low: u64,
    /// Info findings.
    pub info: u64,
}

impl SeverityCounts {
    /// The count for one severity.
    pub fn get(&self, sev: Severity) -> u64 {
        match sev {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    fn get_mut(&mut self, sev: Severity) -> &mut u64 {
        match sev {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }
}
