//! The printable copy of a scan's findings and summary: every string that
//! reaches any format, with every key in it redacted.
//!
//! The judge redacts the secret of each finding and its snippet. But a key
//! can sit anywhere a hostile repository controls text: in a file or folder
//! name (the path of a finding, an error, a note), in a dotenv variable name
//! or a provider project id that a message quotes, in a config rule's title,
//! in a commit author's name or e-mail. Unless `--show-secrets` is given,
//! the binary renders [`printable`] copies, in which every such string has
//! passed the same redaction (the real matcher over the text, each key cut to
//! its prefix and `…`). The judge, which wrote the words, also writes their
//! printable form (as it writes `secret_redacted` beside `secret`); nothing
//! here changes a judgement: severities, contexts, fingerprints and rule ids
//! are kept as they are, and the originals still drive exit codes,
//! allowlists and baselines.

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
            p.context_reason = opt(&f.context_reason);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{CommitInfo, Context, Location, Origin, Severity};
    use crate::rules::RuleSet;
    use crate::scan::Matcher;

    #[test]
    fn every_free_text_field_is_redacted_and_judgement_is_kept() {
        let key = "mbk_".to_string() + "q8w1e7r2t6y3u5i4o0pz";
        let with_key = |what: &str| format!("{what} {key} end");
        let finding = Finding {
            rule_id: "miniback-api-key".into(),
            provider: with_key("provider"),
            title: with_key("title"),
            severity: Severity::High,
            context: Context::Client,
            context_reason: Some(with_key("reachable from")),
            origin: Origin::Commit,
            location: Location {
                path: format!("keys/{key}.js"),
                line: 3,
                column: 7,
                column_utf16: Some(7),
            },
            secret: Some(key.clone()),
            secret_redacted: Some("mbk_q8w1…pz".into()),
            fingerprint: "0123".into(),
            message: with_key("inlined from variable"),
            rotation_url: Some(format!("https://x.test/projects/{key}")),
            remediation: with_key("rename"),
            snippet: Some(with_key("snippet")),
            snippet_raw: Some(with_key("raw")),
            commit: Some(CommitInfo {
                id: "abc".into(),
                author: format!("{key} <{key}@example.com>"),
                date: "2026-01-01".into(),
                in_head: true,
            }),
            source: Some(with_key("source")),
            encoding: None,
        };
        let summary = Summary {
            errors: vec![ScanIssue {
                path: with_key("error-path"),
                message: with_key("error"),
            }],
            incomplete: vec![ScanIssue {
                path: with_key("cut-path"),
                message: with_key("cut"),
            }],
            notes: vec![with_key("note")],
            build_dirs_scanned: vec![with_key("dist")],
            ..Summary::default()
        };
        let matcher = Matcher::new(RuleSet::builtin().unwrap());
        let redact = |s: &str| matcher.redact_secrets(s).into_owned();
        let (f, s) = printable(std::slice::from_ref(&finding), &summary, &redact);
        let all = format!("{:?} {:?}", f, s);
        assert!(!all.contains(&key[4..14]), "{all}");
        assert_eq!(f[0].location.path, "keys/mbk_….js");
        assert_eq!(
            f[0].commit.as_ref().unwrap().author,
            "mbk_… <mbk_…@example.com>"
        );
        assert_eq!(
            (
                f[0].severity,
                f[0].context,
                &f[0].fingerprint,
                f[0].location.line
            ),
            (Severity::High, Context::Client, &finding.fingerprint, 3)
        );
        assert_eq!(f[0].secret_redacted.as_deref(), Some("mbk_q8w1…pz"));
    }
}
