//! `keyscan --fix`: append the missing ignore lines.
//!
//! The fix closes what the audits report about ignore rules —
//! `gitignore-env-coverage` gaps and `dotenv-not-ignored` /
//! `secret-file-not-ignored` files — by appending lines to the right
//! `.gitignore` (creating it if needed) under a short comment
//! ([`super::gitignore::append_lines`]). It never deletes or rewrites a user's
//! line and never touches git's index: for tracked files it only prints the
//! `git rm --cached` command.
//!
//! Edits are applied outermost `.gitignore` first, and the tree is asked
//! again (fresh libgit2 repositories, whose ignore caches would be stale)
//! after each one, so a root `.gitignore` that now covers every app of a
//! monorepo leaves the apps' folders alone. Running the fix twice adds
//! nothing: the second run finds nothing missing.

use super::gitignore::append_lines;
use super::{ignore_edits, untrack_commands};
use crate::error::{Error, Result};
use crate::facts::project::ProjectIndex;
use crate::facts::tree::{SeenFile, TreeFacts};
use crate::fs::{read_limited, write_replace, Links};
use crate::sanitize::for_terminal;
use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

/// One `.gitignore` the fix changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Display path of the `.gitignore`.
    pub path: String,
    /// The file did not exist before.
    pub created: bool,
    /// The lines appended (without the comment).
    pub lines: Vec<String>,
}

/// What `--fix` did and what it left to the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixReport {
    /// `.gitignore` files changed.
    pub changes: Vec<Change>,
    /// `git rm --cached` commands for tracked secret-bearing files.
    pub untrack: Vec<String>,
    /// Summary notes (e.g. git not available).
    pub notes: Vec<String>,
    /// `.gitignore` paths left alone because they are links or special
    /// files, each with the lines to add by hand.
    pub skipped: Vec<String>,
}

/// Largest `.gitignore` `--fix` reads before appending to it.
const MAX_GITIGNORE_BYTES: u64 = 16 * 1024 * 1024;

/// Applies the ignore-line fixes for a tree the source walked (its roots,
/// the secret-bearing files it saw, its project roots).
pub fn fix(roots: &[PathBuf], seen: &[SeenFile], projects: &ProjectIndex) -> Result<FixReport> {
    let mut report = FixReport::default();
    let mut done: HashSet<PathBuf> = HashSet::new();
    loop {
        let facts = TreeFacts::gather(roots, seen, projects);
        let next = ignore_edits(&facts)
            .into_iter()
            .find(|e| !done.contains(&e.fs_path));
        let Some(edit) = next else {
            report.untrack = untrack_commands(&facts);
            report.notes = facts.notes();
            break;
        };
        done.insert(edit.fs_path.clone());
        let existing = match std::fs::symlink_metadata(&edit.fs_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            // A link (even a dangling one) or a FIFO, device or folder:
            // never appended through, never replaced.
            Ok(m) if !m.file_type().is_file() => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "not a regular file"
                };
                report.skipped.push(format!(
                    "`{}` is {what}: not changed (keyscan never writes through a link or into a special file); add these lines yourself: {}",
                    edit.path,
                    edit.lines.join(", ")
                ));
                continue;
            }
            _ => Some(
                read_limited(&edit.fs_path, MAX_GITIGNORE_BYTES, Links::Refuse).map_err(|e| {
                    Error::Io {
                        path: edit.fs_path.clone(),
                        source: e,
                    }
                })?,
            ),
        };
        let Some((new, added)) = append_lines(existing.as_deref(), &edit.lines) else {
            continue;
        };
        // A temporary file renamed over the old one: a killed --fix leaves
        // the old `.gitignore` or the new one, never a truncated one.
        write_replace(&edit.fs_path, &new).map_err(|e| Error::Io {
            path: edit.fs_path.clone(),
            source: e,
        })?;
        report.changes.push(Change {
            path: edit.path,
            created: existing.is_none(),
            lines: added,
        });
    }
    Ok(report)
}

impl fmt::Display for FixReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() && self.skipped.is_empty() {
            writeln!(
                f,
                "keyscan --fix: nothing to append: git already ignores every dotenv and secret file keyscan checks."
            )?;
        }
        for c in &self.changes {
            writeln!(
                f,
                "{} {}:",
                if c.created { "created" } else { "appended to" },
                for_terminal(&c.path)
            )?;
            for l in &c.lines {
                writeln!(f, "  + {}", for_terminal(l))?;
            }
        }
        if !self.untrack.is_empty() {
            writeln!(
                f,
                "\nThese files are tracked by git. keyscan never changes the index; untrack them yourself, then rotate every key that was in them (they stay in history):"
            )?;
            for cmd in &self.untrack {
                writeln!(f, "  {}", for_terminal(cmd))?;
            }
        }
        for s in &self.skipped {
            writeln!(f, "skipped: {}", for_terminal(s))?;
        }
        for n in &self.notes {
            writeln!(f, "note: {}", for_terminal(n))?;
        }
        Ok(())
    }
}
