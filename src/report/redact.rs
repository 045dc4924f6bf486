//! The printable copy of a report: every string that reaches any format,
//! with every key in it redacted.
//!
//! The judge redacts the secret of each finding and its snippet. But a key
//! can sit anywhere a hostile repository controls text: in a file or folder
//! name (the path of a finding, an error, a note), in a dotenv variable name
//! or a provider project id that a message quotes, in a config rule's title,
//! in a commit author's name or e-mail. Unless `--show-secrets` is given,
//! the binary renders [`printable`] copies, in which every such string has
//! passed the same redaction (the real matcher over the text, each key cut to
//! its prefix and `…`). Nothing here changes a judgement: severities,
//! contexts, fingerprints and rule ids are kept as they are.

use crate::finding::Finding;
use crate::summary::{ScanIssue, Summary};

/// Copies of `findings` and `summary` with `redact` applied to every free
/// text field (the raw `secret` and `snippet_raw` are dropped: they are only
/// ever shown with `--show-secrets`, which prints the originals).
pub fn printable(
    findings: &[Finding],
    summary: &Summary,
    redact: &dyn Fn(&str) -> String,
) -> (Vec<Finding>, Summary) {
    let opt = |s: &Option<String>| s.as_deref().map(redact);
    let findings = findings
        .iter()
        .map(|f| {
            let mut p = f.clone();
            p.provider = redact(&f.provider);
            p.title = redact(&f.title);
            p.location.path = redact(&f.location.path);
            p.secret = None;
            p.snippet_raw = None;
            p.secret_redacted = opt(&f.secret_redacted);
            p.message = redact(&f.message);
            p.rotation_url = opt(&f.rotation_url);
            p.remediation = redact(&f.remediation);
            p.snippet = opt(&f.snippet);
            p.source = opt(&f.source);
            if let Some(c) = &mut p.commit {
                c.author = redact(&c.author);
            }
            p
        })
        .collect();
    let issues = |v: &[ScanIssue]| -> Vec<ScanIssue> {
        v.iter()
            .map(|i| ScanIssue {
                path: redact(&i.path),
                message: redact(&i.message),
            })
            .collect()
    };
    let mut s = summary.clone();
    s.errors = issues(&summary.errors);
    s.incomplete = issues(&summary.incomplete);
    s.notes = summary.notes.iter().map(|n| redact(n)).collect();
    s.build_dirs_scanned = summary
        .build_dirs_scanned
        .iter()
        .map(|d| redact(d))
        .collect();
    (findings, s)
}
