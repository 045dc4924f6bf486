//! Sources: where bytes come from.
//!
//! A source enumerates content and hands each blob to the matcher; it never
//! sees a rule. Every source yields [`ScannedBlob`]s (only those with
//! matches are kept in memory) plus [`SourceStats`] for the summary, so
//! everything after the matcher is the same for a working tree, the staged
//! index and git history.
//!
//! - [`tree`]: a parallel walk of directories with the `ignore` crate.
//! - [`staged`]: the blobs git is about to commit (the index, or
//!   `GIT_INDEX_FILE`), for pre-commit hooks.
//! - [`history`]: every blob reachable from the repository's refs, each
//!   scanned once, with commit attribution.
//! - [`index`]: a reader for git's index file and its cache-tree, for
//!   [`staged`].
//! - [`git`]: what the two git sources share (opening, parallel blob scans,
//!   project facts from git paths, dates).

pub mod git;
pub mod history;
pub mod index;
pub mod staged;
pub mod tree;

use crate::judge::project::ProjectIndex;
use crate::judge::ScannedBlob;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A problem with one input that did not stop the scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanIssue {
    /// The path (or object id) concerned.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// What a source read, skipped and failed on.
#[derive(Debug, Clone, Default)]
pub struct SourceStats {
    /// Blobs scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Skipped blobs by reason (`binary`, `symlink`, `special`, …).
    pub files_skipped: BTreeMap<String, u64>,
    /// Per-input errors.
    pub errors: Vec<ScanIssue>,
    /// Git-ignored build-output folders that were scanned anyway.
    pub build_dirs_scanned: Vec<String>,
    /// Notes for the summary (e.g. "git not available").
    pub notes: Vec<String>,
}

impl SourceStats {
    /// Counts a skipped blob.
    pub fn skip(&mut self, reason: &str) {
        *self.files_skipped.entry(reason.to_string()).or_default() += 1;
    }

    /// Adds another source's numbers.
    pub fn merge(&mut self, other: SourceStats) {
        self.files_scanned += other.files_scanned;
        self.bytes_scanned += other.bytes_scanned;
        for (k, v) in other.files_skipped {
            *self.files_skipped.entry(k).or_default() += v;
        }
        self.errors.extend(other.errors);
        self.build_dirs_scanned.extend(other.build_dirs_scanned);
        self.notes.extend(other.notes);
    }
}

/// A file whose name says it holds secrets (a dotenv file, `secrets.json`,
/// `config/keys.js`), seen by a source whether or not it had matches. The
/// repository audits ask git about each (tracked? ignored?).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFile {
    /// Display path, relative to the scan root, `/`-separated.
    pub path: String,
    /// Where it is on disk.
    pub fs_path: PathBuf,
}

/// Everything a source produced: blobs with matches, project facts, numbers.
#[derive(Debug, Default)]
pub struct SourceOutput {
    /// Blobs that had at least one match.
    pub blobs: Vec<ScannedBlob>,
    /// Project roots seen while enumerating.
    pub projects: ProjectIndex,
    /// Counts and errors.
    pub stats: SourceStats,
    /// Secret-bearing files seen (tree source only; empty for other sources).
    pub sensitive_files: Vec<SeenFile>,
}
