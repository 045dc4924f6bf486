//! Sources: where bytes come from.
//!
//! A source enumerates content and hands each blob's bytes to the matcher;
//! it never sees a rule, a judgement or a report. Every source yields
//! [`ScannedBlob`]s (only those with matches are kept in memory),
//! [`SourceStats`] for the summary and the inputs ([`TreeInputs`], [`GitInputs`]) the facts step
//! reads, so everything after the matcher is the same for a working tree,
//! the staged index and git history.
//!
//! - [`tree`]: a parallel walk of directories with the `ignore` crate.
//! - [`staged`]: the blobs git is about to commit (the index, or
//!   `GIT_INDEX_FILE`), for pre-commit hooks.
//! - [`history`]: every blob reachable from the repository's refs, each
//!   scanned once, with commit attribution.
//! - [`index`]: a reader for git's index file and its cache-tree, for
//!   [`staged`] (the top-level [`crate::index`], re-exported here).
//! - [`git`]: what the two git sources share (opening, parallel blob scans,
//!   project facts from git paths, dates).

pub mod git;
pub mod history;
pub use crate::index;
pub mod pack;
pub mod staged;
pub mod tree;

use crate::blob::ScannedBlob;
use crate::facts::project::ProjectIndex;
use crate::facts::tree::SeenFile;
use crate::scan::{BlobScan, Matcher};
pub use crate::summary::ScanIssue;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Inputs the matcher's bounds cut short (see [`crate::scan::Shortfall`]).
    pub incomplete: Vec<ScanIssue>,
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

    /// Records what the matcher's bounds cut from the blob at `path`.
    pub fn shortfall(&mut self, matcher: &Matcher, path: &str, scan: &BlobScan) {
        for message in matcher.describe_shortfall(&scan.shortfall) {
            self.incomplete.push(ScanIssue {
                path: path.to_string(),
                message,
            });
        }
    }
}

/// What the tree source saw that the facts step needs, apart from the
/// blobs it scanned: the project roots its walk found (it needs them itself,
/// to find build output), the secret-bearing files it saw, and the dotenv
/// files in project roots (for provider project ids). [`crate::facts`]
/// reads and interprets them.
#[derive(Debug)]
pub struct TreeInputs {
    /// Project roots from the manifests the walk saw.
    pub projects: ProjectIndex,
    /// Secret-bearing files seen, whether or not they had matches.
    pub seen: Vec<SeenFile>,
    /// Dotenv files in project roots: (root display path, file on disk).
    pub root_dotenv: Vec<(String, PathBuf)>,
    /// Every folder the walk listed (as walked) and what its listing showed.
    pub listed: Vec<(PathBuf, crate::facts::tree::ListedDir)>,
    /// What git's rules say of the dotenv files of every listed folder
    /// with a manifest, as the walk read them (as walked).
    pub covers: Vec<(PathBuf, crate::facts::tree::DotenvCover)>,
}

/// What a git source saw that the facts step needs: manifest and dotenv
/// paths with their blob ids, in the repository at `git_dir`.
#[derive(Debug)]
pub struct GitInputs {
    /// The repository's git folder.
    pub git_dir: PathBuf,
    /// `(path, blob id)` of every manifest and dotenv file.
    pub files: Vec<(String, git2::Oid)>,
}

/// Everything a source produced: blobs with matches, numbers, and what the
/// facts step needs (`F`: [`TreeInputs`] or [`GitInputs`], so each mode
/// gets the inputs its source gives).
#[derive(Debug)]
pub struct SourceOutput<F> {
    /// Blobs that had at least one match.
    pub blobs: Vec<ScannedBlob>,
    /// Counts and errors.
    pub stats: SourceStats,
    /// Inputs for the facts step.
    pub facts: F,
}
