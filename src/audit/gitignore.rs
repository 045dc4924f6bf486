//! `gitignore-env-coverage`: does git ignore the dotenv files a project will
//! have, before anyone creates them?
//!
//! For the repository root and every project root (a folder with a
//! `package.json` or another manifest) the audit probes the names dotenv
//! loaders read — [`PROBES`] — against git's real ignore rules (see
//! [`crate::facts::oracle`]) and reports the ones git would not ignore, with the
//! exact lines to add. Templates (`.env.example`, `.env.sample`, …) are meant
//! to be committed and are never probed.
//!
//! Lines are suggested as bare names (`.env.local`), which git matches at any
//! depth below the `.gitignore` that holds them, so one root `.gitignore`
//! covers every app of a monorepo: a project root is only reported for names
//! that its nearest reported ancestor does not already cover.
//!
//! This module also holds two pure pieces that need no repository: the
//! staged-mode check that a `.gitignore` change does not drop coverage HEAD
//! had ([`coverage_dropped`]) and the text edit `--fix` applies
//! ([`append_lines`]).

use super::{audit_finding, GITIGNORE_ENV_COVERAGE};
use crate::facts::tree::{gitignore_path, CoverageGap, PROBES};
use crate::finding::{Context, Finding, Origin, Severity};
use ignore::gitignore::GitignoreBuilder;

/// The comment `--fix` writes above the lines it appends.
pub const FIX_COMMENT: &str =
    "# Added by keyscan --fix: files that hold keys stay out of git (templates such as .env.example stay committable)";

/// A dotenv file of a gap's folder that git tracks or would not ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposed<'a> {
    /// None there (ignored dotenv files are where keys belong).
    None,
    /// This one, holding a secret key.
    WithKey(&'a str),
    /// This one, without a secret key today.
    WithoutKey(&'a str),
}

/// The `gitignore-env-coverage` finding for a gap: **medium**, **high** when
/// a tracked or unignored dotenv file of that folder holds a secret key.
pub fn coverage_finding(gap: &CoverageGap, exposed: Exposed) -> Finding {
    let gitignore = gitignore_path(&gap.dir);
    let folder = if gap.dir.is_empty() {
        "the repository root".to_string()
    } else {
        format!("`{}/`", gap.dir)
    };
    let names: Vec<String> = gap.missing.iter().map(|m| format!("`{m}`")).collect();
    let severity = if matches!(exposed, Exposed::WithKey(_)) {
        Severity::High
    } else {
        Severity::Medium
    };
    let mut message = format!(
        "Git would not ignore {} in {folder}: a key written there is one `git add .` away from the repository.",
        names.join(", ")
    );
    match exposed {
        Exposed::WithKey(file) => message.push_str(&format!(
            " `{file}` is already there, holds a secret key and git does not ignore it."
        )),
        Exposed::WithoutKey(file) => message.push_str(&format!(
            " `{file}` is already there and git does not ignore it (it holds no secret key today)."
        )),
        Exposed::None => {}
    }
    if !gap.covers.is_empty() {
        message.push_str(&format!(
            " The same lines also cover {}.",
            gap.covers
                .iter()
                .map(|d| format!("`{d}/`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut remediation = vec![format!("Add these lines to `{gitignore}`:")];
    remediation.extend(gap.missing.iter().map(|m| format!("    {m}")));
    remediation.push(
        "Templates such as `.env.example` stay committable. `keyscan --fix` appends the lines for you."
            .to_string(),
    );
    audit_finding(
        GITIGNORE_ENV_COVERAGE,
        "Dotenv files not ignored by git",
        severity,
        Context::Repository,
        Origin::Audit,
        &gitignore,
        &gap.dir,
        message,
        remediation.join("\n"),
    )
}

/// The probe names that the `.gitignore` text `text` ignores in its own folder.
fn covered_by(text: &[u8]) -> Vec<&'static str> {
    let mut b = GitignoreBuilder::new("");
    for line in String::from_utf8_lossy(text).lines() {
        // A bad line is skipped, as git does.
        let _ = b.add_line(None, line);
    }
    let Ok(gi) = b.build() else {
        return Vec::new();
    };
    PROBES
        .iter()
        .copied()
        .filter(|p| gi.matched(p, false).is_ignore())
        .collect()
}

/// Staged mode: a finding when the staged version of the `.gitignore` at
/// `path` stops ignoring dotenv files that its HEAD version ignored. `head`
/// and `staged` are the blob texts (`None`: absent at HEAD / deleted in the
/// index). Only this file's own lines are compared; the result is `high`,
/// because the commit would widen what `git add .` picks up.
pub fn coverage_dropped(path: &str, head: Option<&[u8]>, staged: Option<&[u8]>) -> Option<Finding> {
    let before = covered_by(head?);
    let after = staged.map(covered_by).unwrap_or_default();
    let dropped: Vec<&str> = before
        .iter()
        .copied()
        .filter(|p| !after.contains(p))
        .collect();
    if dropped.is_empty() {
        return None;
    }
    let names: Vec<String> = dropped.iter().map(|d| format!("`{d}`")).collect();
    let change = if staged.is_none() {
        format!("The staged change deletes `{path}`, so git no longer ignores")
    } else {
        format!("The staged change to `{path}` stops ignoring")
    };
    let message = format!(
        "{change} {}, which HEAD ignored: after this commit those dotenv files are one `git add .` away from the repository.",
        names.join(", ")
    );
    let mut remediation = vec![format!("Keep these lines in `{path}`:")];
    remediation.extend(dropped.iter().map(|d| format!("    {d}")));
    remediation.push(format!(
        "Or unstage the change: `git restore --staged {path}`."
    ));
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    Some(audit_finding(
        GITIGNORE_ENV_COVERAGE,
        "Staged .gitignore drops dotenv coverage",
        Severity::High,
        Context::Repository,
        Origin::Staged,
        path,
        &format!("{dir}\0dropped\0{}", dropped.join(",")),
        message,
        remediation.join("\n"),
    ))
}

/// The bytes of a `.gitignore` after appending `lines` under [`FIX_COMMENT`],
/// and the lines actually appended; `None` when there is nothing to add.
///
/// It never rewrites or removes a line: it keeps the file's line endings
/// (CRLF stays CRLF), first ends an unterminated last line, and skips a line
/// that is already present with no negation (`!…`) after it — running it
/// twice adds nothing.
pub fn append_lines(existing: Option<&[u8]>, lines: &[String]) -> Option<(Vec<u8>, Vec<String>)> {
    let old = existing.unwrap_or_default();
    let eol: &[u8] = if memchr::memmem::find(old, b"\r\n").is_some() {
        b"\r\n"
    } else {
        b"\n"
    };
    let text = String::from_utf8_lossy(old);
    let have: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').trim())
        .collect();
    let present = |line: &str| -> bool {
        match have.iter().rposition(|l| *l == line) {
            Some(pos) => !have[pos + 1..].iter().any(|l| l.starts_with('!')),
            None => false,
        }
    };
    let mut add: Vec<&str> = Vec::new();
    for l in lines {
        let l = l.trim();
        if !l.is_empty() && !present(l) && !add.contains(&l) {
            add.push(l);
        }
    }
    if add.is_empty() {
        return None;
    }
    let mut out = old.to_vec();
    if !out.is_empty() {
        if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
            out.extend_from_slice(eol);
        }
        if have.last().is_some_and(|l| !l.is_empty()) {
            out.extend_from_slice(eol);
        }
    }
    if !have.contains(&FIX_COMMENT) {
        out.extend_from_slice(FIX_COMMENT.as_bytes());
        out.extend_from_slice(eol);
    }
    for l in &add {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(eol);
    }
    Some((out, add.into_iter().map(String::from).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn append_is_idempotent_and_keeps_crlf_and_adds_the_final_newline() {
        let (once, added) = append_lines(
            Some(b"node_modules/\r\n/dist"),
            &lines(&[".env", ".env.local"]),
        )
        .unwrap();
        assert_eq!(added, lines(&[".env", ".env.local"]));
        let text = String::from_utf8(once.clone()).unwrap();
        assert!(text.starts_with("node_modules/\r\n/dist\r\n\r\n# Added by keyscan --fix"));
        assert!(text.ends_with("\r\n.env\r\n.env.local\r\n"), "{text:?}");
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "no bare LF: {text:?}"
        );
        assert_eq!(
            append_lines(Some(&once), &lines(&[".env", ".env.local"])),
            None
        );
        // A new name is added once, without a second comment.
        let (twice, added) = append_lines(Some(&once), &lines(&[".env", ".env.staging"])).unwrap();
        assert_eq!(added, lines(&[".env.staging"]));
        let t2 = String::from_utf8(twice).unwrap();
        assert_eq!(t2.matches("# Added by keyscan").count(), 1);
        assert!(t2.ends_with(".env.local\r\n\r\n.env.staging\r\n"), "{t2:?}");
    }

    #[test]
    fn append_creates_and_respects_later_negations() {
        let (created, _) = append_lines(None, &lines(&[".env"])).unwrap();
        assert_eq!(
            String::from_utf8(created).unwrap(),
            format!("{FIX_COMMENT}\n.env\n")
        );
        // `.env` is present but re-included afterwards: append it again.
        let (again, _) = append_lines(Some(b".env\n!.env\n"), &lines(&[".env"])).unwrap();
        assert!(String::from_utf8(again).unwrap().ends_with("!.env\n\n# Added by keyscan --fix: files that hold keys stay out of git (templates such as .env.example stay committable)\n.env\n"));
        assert_eq!(append_lines(Some(b".env\n"), &lines(&[".env"])), None);
    }

    #[test]
    fn staged_gitignore_that_drops_coverage_is_reported() {
        let head = b"node_modules/\n.env*\n!.env.example\n";
        let narrower = b"node_modules/\n.env\n";
        let f = coverage_dropped("apps/web/.gitignore", Some(head), Some(narrower)).unwrap();
        assert_eq!(f.rule_id, GITIGNORE_ENV_COVERAGE);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.origin, Origin::Staged);
        assert_eq!(f.location.path, "apps/web/.gitignore");
        assert!(f.message.contains("`.env.local`") && !f.message.contains("`.env`,"));
        // Deleting the file drops everything.
        let gone = coverage_dropped(".gitignore", Some(head), None).unwrap();
        assert!(gone.message.contains("deletes `.gitignore`"));
        // Same coverage, written differently: nothing.
        assert!(coverage_dropped(".gitignore", Some(head), Some(b".env\n.env.*\n")).is_none());
        // A new file or one that never covered anything: nothing.
        assert!(coverage_dropped(".gitignore", None, Some(narrower)).is_none());
        assert!(coverage_dropped(".gitignore", Some(b"dist/\n"), Some(b"")).is_none());
        // Widening is fine.
        assert!(coverage_dropped(".gitignore", Some(narrower), Some(head)).is_none());
    }
}
