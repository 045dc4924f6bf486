//! Exit codes: a type, documented and tested, so scripts can rely on them.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | nothing at or above the `--fail-on` threshold was found |
//! | 1 | at least one finding at or above the threshold, or, with `--strict`, at least one error in the summary (a file or directory that could not be read) or input that was not fully scanned (`incomplete`: more candidate keys than are kept per file, a config rule out of time) |
//! | 2 | usage or configuration error: bad flag, bad config, bad rule, missing path |
//!
//! Without `--strict`, a file that cannot be read does not change the code: it
//! is listed under the summary's `errors` and the findings decide. Notes (such
//! as a skipped invalid line in a `.gitignore`) never change it.

use crate::finding::{Finding, Severity};

/// The process outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// No finding at or above the threshold.
    Clean = 0,
    /// Findings at or above the threshold.
    Findings = 1,
    /// Usage or configuration error.
    Error = 2,
}

impl ExitCode {
    /// The code for a finished scan.
    pub fn for_scan(
        findings: &[Finding],
        fail_on: Severity,
        strict: bool,
        had_errors: bool,
    ) -> Self {
        if findings.iter().any(|f| f.severity >= fail_on) || (strict && had_errors) {
            ExitCode::Findings
        } else {
            ExitCode::Clean
        }
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(ExitCode::Clean.code(), 0);
        assert_eq!(ExitCode::Findings.code(), 1);
        assert_eq!(ExitCode::Error.code(), 2);
        assert_eq!(
            ExitCode::for_scan(&[], Severity::High, false, true),
            ExitCode::Clean
        );
        assert_eq!(
            ExitCode::for_scan(&[], Severity::High, true, true),
            ExitCode::Findings
        );
        assert_eq!(
            ExitCode::for_scan(&[], Severity::High, true, false),
            ExitCode::Clean,
            "--strict alone does not fail a clean scan"
        );
    }
}
