//! The staged source: what `git commit` is about to record, for pre-commit
//! hooks.
//!
//! A hook must judge the *index*, not the working tree: a key removed from
//! disk but still staged is about to be committed, and a key that only lives
//! in an unstaged edit is not. So this source compares HEAD's tree with the
//! index by object id (never by content), and reads exactly the staged blobs
//! of added, modified or type-changed paths. On an unborn branch every staged
//! path counts as added. Nothing in the working tree is walked or read.
//!
//! A hook runs on every commit, so the comparison must cost what the change
//! costs, not what the repository costs: the index is read by
//! [`super::index`], and directories whose cache-tree id equals HEAD's tree
//! are skipped without being opened (a 5-file change in a 100,000-file
//! repository reads a handful of trees, in about 40 ms all told).
//!
//! **`GIT_INDEX_FILE`.** `git commit -a` and `git commit PATH…` run the
//! pre-commit hook against a *temporary* index (`.git/index.lock`,
//! `.git/next-index-*.lock`) and tell the hook through `GIT_INDEX_FILE`.
//! A hook that opens `.git/index` there checks the wrong content. When the
//! variable is set, this source opens that file instead. A relative value is
//! taken relative to the top of the work tree, as git itself resolves it (git
//! changes to the top-level directory before reading the index, and runs
//! hooks from there). A value naming a file that does not exist is an error,
//! never an empty — and therefore clean — index.
//!
//! Project facts (`package.json` dependencies, project ids in dotenv files)
//! come from index entries, read only for folders that contain a match.
//! [`StagedRepo::staged_paths`] is public so that checks on the repository's
//! shape (e.g. a `.env` being committed) can reuse the list.

use super::git::{self, BlobJob, EntryKind};
use super::index::{CacheTree, Entry, Index};
use super::{FactInputs, SourceOutput, SourceStats};
use crate::blob::ScannedBlob;
use crate::dotenv;
use crate::error::{Error, Result};
use crate::facts::project::is_fact_path;
use crate::finding::Origin;
use crate::paths::file_name;
use crate::scan::Matcher;
use git2::{ErrorCode, Oid, Repository};
use std::path::{Path, PathBuf};

/// How a staged path differs from HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagedStatus {
    /// Not in HEAD (or HEAD is unborn).
    Added,
    /// In HEAD with different content.
    Modified,
    /// In HEAD as another kind of entry (e.g. a symlink that became a file).
    TypeChange,
    /// In HEAD, removed from the index: the commit deletes it. Listed for
    /// checks on the repository's shape (a deleted `.gitignore`); never scanned.
    Deleted,
}

/// One path that the next commit adds or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedPath {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// The staged blob's object id (zero for [`StagedStatus::Deleted`]).
    pub id: Oid,
    /// The blob at this path in HEAD, if any (for comparing before and after).
    pub head_id: Option<Oid>,
    /// Raw git file mode of the staged entry (of the HEAD entry when deleted).
    pub mode: u32,
    /// How it differs from HEAD.
    pub status: StagedStatus,
}

impl StagedPath {
    /// What the mode says about scanning it.
    pub fn kind(&self) -> EntryKind {
        EntryKind::from_mode(self.mode)
    }
}

/// A repository opened for a staged scan, with the index git is committing.
pub struct StagedRepo {
    repo: Repository,
    index: Index,
    index_path: PathBuf,
}

impl std::fmt::Debug for StagedRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedRepo")
            .field("git_dir", &self.repo.path())
            .field("index_path", &self.index_path)
            .finish()
    }
}

impl StagedRepo {
    /// Opens the repository containing `path` and the index to judge:
    /// `$GIT_INDEX_FILE` when set, else the repository's own index.
    pub fn open(path: &Path) -> Result<StagedRepo> {
        let env = std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty());
        Self::open_with_index(path, env.map(PathBuf::from))
    }

    /// Like [`StagedRepo::open`], with the index file given explicitly
    /// (relative paths are relative to the work tree root, as git resolves
    /// `GIT_INDEX_FILE`).
    pub fn open_with_index(path: &Path, index_file: Option<PathBuf>) -> Result<StagedRepo> {
        let repo = git::open(path)?;
        let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
            return Err(Error::Usage(format!(
                "{}: --staged needs a work tree, and this is a bare repository (use --history)",
                repo.path().display()
            )));
        };
        let index_path = match index_file {
            Some(p) => {
                let p = if p.is_relative() { workdir.join(p) } else { p };
                if !p.is_file() {
                    return Err(Error::Git {
                        path: p,
                        message: "GIT_INDEX_FILE names an index file that does not exist".into(),
                        source: None,
                    });
                }
                p
            }
            None => super::index::default_path(repo.path()),
        };
        // A fresh repository has no index file until the first `git add`:
        // nothing is staged.
        let index = if index_path.exists() {
            Index::read(&index_path)?
        } else {
            Index::empty()
        };
        Ok(StagedRepo {
            repo,
            index,
            index_path,
        })
    }

    /// The repository.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The index being judged.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The content of a blob (e.g. a [`StagedPath`]'s `id` or `head_id`).
    pub fn blob(&self, id: Oid) -> Result<Vec<u8>> {
        self.repo
            .find_blob(id)
            .map(|b| b.content().to_vec())
            .map_err(|e| git::git_error(self.repo.path(), &format!("cannot read object {id}"), &e))
    }

    /// The index file that was read.
    pub fn index_path(&self) -> &Path {
        &self.index_path
    }

    /// The tree of HEAD, or `None` on an unborn branch.
    fn head_tree(&self) -> Result<Option<git2::Tree<'_>>> {
        match self.repo.head() {
            Ok(head) => head
                .peel_to_tree()
                .map(Some)
                .map_err(|e| git::git_error(self.repo.path(), "cannot read HEAD's tree", &e)),
            Err(e) if e.code() == ErrorCode::UnbornBranch || e.code() == ErrorCode::NotFound => {
                Ok(None)
            }
            Err(e) => Err(git::git_error(self.repo.path(), "cannot resolve HEAD", &e)),
        }
    }

    /// Every path the next commit adds, changes or deletes (all staged paths
    /// on an unborn branch), in path order, with the staged and HEAD blob
    /// ids. Unmerged entries, intent-to-add entries, submodules and
    /// mode-only changes are not listed (their content is not new).
    /// [`StagedRepo::scan`] reads only the added and changed ones.
    ///
    /// HEAD's tree is compared with the index directory by directory, and a
    /// directory whose cache-tree id (see [`super::index`]) equals HEAD's
    /// tree there is skipped whole, so a commit touching five files reads
    /// the few trees on their paths, not the whole of HEAD.
    pub fn staged_paths(&self) -> Result<Vec<StagedPath>> {
        let head = self.head_tree()?.map(|t| t.id());
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.compare_dir(
            &mut prefix,
            head,
            &self.index.entries,
            self.index.tree.as_ref(),
            &mut out,
        )?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Compares `entries` (the index entries under `prefix`, which is empty
    /// or ends in `/`) with HEAD's tree `head` at that path.
    fn compare_dir(
        &self,
        prefix: &mut Vec<u8>,
        head: Option<Oid>,
        entries: &[Entry],
        cache: Option<&CacheTree>,
        out: &mut Vec<StagedPath>,
    ) -> Result<()> {
        if let (Some(h), Some((count, id))) = (head, cache.and_then(|c| c.valid)) {
            if id == h && count == entries.len() {
                return Ok(());
            }
        }
        // HEAD's entries here: (name, mode, id), and whether the index has it.
        let mut head_entries: Vec<(Vec<u8>, u32, Oid, bool)> = Vec::new();
        if let Some(h) = head {
            let tree = self.repo.find_tree(h).map_err(|e| {
                git::git_error(
                    self.repo.path(),
                    &format!("cannot read HEAD's tree {h}"),
                    &e,
                )
            })?;
            head_entries.reserve(tree.len());
            for e in tree.iter() {
                head_entries.push((e.name_bytes().to_vec(), e.filemode() as u32, e.id(), false));
            }
        }
        let find = |list: &[(Vec<u8>, u32, Oid, bool)], name: &[u8]| {
            list.iter().position(|(n, ..)| n.as_slice() == name)
        };
        let mut i = 0;
        while i < entries.len() {
            let rel = &self.index.path(&entries[i])[prefix.len()..];
            if let Some(slash) = memchr::memchr(b'/', rel) {
                // A subdirectory: its entries are consecutive in index order.
                // Index order is by path bytes, so the group ends before the
                // first path not below `prefix/name/`, i.e. not before
                // `prefix/name0` ('0' follows '/'): a binary search, not a
                // comparison per entry at every level.
                let name = rel[..slash].to_vec();
                let mut upper = prefix.clone();
                upper.extend_from_slice(&name);
                upper.push(b'/' + 1);
                let j = i + entries[i..].partition_point(|e| self.index.path(e) < &upper[..]);
                let mut sub_head = None;
                if let Some(k) = find(&head_entries, &name) {
                    let (_, mode, id, seen) = &mut head_entries[k];
                    if *mode & 0o170000 == 0o040000 {
                        *seen = true;
                        sub_head = Some(*id);
                    }
                    // A HEAD file replaced by a directory stays unseen: deleted.
                }
                let len = prefix.len();
                prefix.extend_from_slice(&name);
                prefix.push(b'/');
                let sub_cache = cache.and_then(|c| c.child(&name));
                self.compare_dir(prefix, sub_head, &entries[i..j], sub_cache, out)?;
                prefix.truncate(len);
                i = j;
                continue;
            }
            // A file: all its stages are consecutive.
            let mut j = i + 1;
            while j < entries.len() && self.index.path(&entries[j]) == self.index.path(&entries[i])
            {
                j += 1;
            }
            let e = entries[i];
            let old = find(&head_entries, rel).and_then(|k| {
                let (_, mode, id, seen) = &mut head_entries[k];
                // A HEAD directory replaced by a file stays unseen: its files
                // are deleted.
                (*mode & 0o170000 != 0o040000).then(|| {
                    *seen = true;
                    (*mode, *id)
                })
            });
            let staged = j == i + 1 && e.stage == 0 && !e.intent_to_add;
            let submodule = |mode: u32| EntryKind::from_mode(mode) == EntryKind::Submodule;
            if staged && !submodule(e.mode) && !old.is_some_and(|(m, _)| submodule(m)) {
                let status = match old {
                    None => Some(StagedStatus::Added),
                    Some((m, _)) if EntryKind::from_mode(m) != EntryKind::from_mode(e.mode) => {
                        Some(StagedStatus::TypeChange)
                    }
                    Some((_, id)) if id != e.id => Some(StagedStatus::Modified),
                    Some(_) => None,
                };
                if let Some(status) = status {
                    out.push(StagedPath {
                        path: git::path_string(self.index.path(&e)),
                        id: e.id,
                        head_id: old.map(|(_, id)| id),
                        mode: e.mode,
                        status,
                    });
                }
            }
            i = j;
        }
        for (name, mode, id, seen) in head_entries {
            if seen {
                continue;
            }
            let mut path = prefix.clone();
            path.extend_from_slice(&name);
            if mode & 0o170000 == 0o040000 {
                path.push(b'/');
                self.compare_dir(&mut path, Some(id), &[], None, out)?;
            } else if EntryKind::from_mode(mode) != EntryKind::Submodule {
                out.push(StagedPath {
                    path: git::path_string(&path),
                    id: Oid::zero(),
                    head_id: Some(id),
                    mode,
                    status: StagedStatus::Deleted,
                });
            }
        }
        Ok(())
    }

    /// Scans the staged blobs of `paths` (from [`StagedRepo::staged_paths`]).
    pub fn scan(
        &self,
        paths: &[StagedPath],
        matcher: &Matcher,
        threads: usize,
    ) -> Result<SourceOutput> {
        let mut stats = SourceStats::default();
        let files: Vec<&StagedPath> = paths
            .iter()
            .filter(|p| p.status != StagedStatus::Deleted)
            .filter(|p| match p.kind() {
                EntryKind::File => true,
                EntryKind::Symlink => {
                    stats.skip("symlink");
                    false
                }
                EntryKind::Submodule => {
                    stats.skip("submodule");
                    false
                }
            })
            .collect();
        let job = |i: usize| BlobJob {
            id: files[i].id,
            path: &files[i].path,
            dotenv: dotenv::is_dotenv_name(file_name(&files[i].path)),
        };
        let totals = git::scan_blobs(&self.repo, files.len(), threads, matcher, &job, &|_| {})?;
        stats.files_scanned = totals.scanned;
        stats.bytes_scanned = totals.bytes;
        for (k, v) in totals.skipped {
            *stats.files_skipped.entry(k).or_default() += v;
        }
        stats.errors = totals.errors;
        stats.incomplete = totals
            .incomplete
            .into_iter()
            .map(|(i, message)| crate::summary::ScanIssue {
                path: files[i].path.clone(),
                message,
            })
            .collect();

        let blobs: Vec<ScannedBlob> = totals
            .matched
            .into_iter()
            .map(|r| ScannedBlob {
                path: files[r.index].path.clone(),
                origin: Origin::Staged,
                // A staged file is about to be committed whatever .gitignore
                // says: a key in it is never "expected" dotenv usage.
                ignored: false,
                scan: r.scan,
                dotenv: r.dotenv,
                commit: None,
            })
            .collect();

        // Project facts from index entries (stage 0), read only where needed
        // — and not even listed when nothing matched, the usual hook run.
        let mut facts = Vec::new();
        if !blobs.is_empty() {
            for entry in &self.index.entries {
                if entry.stage != 0 || entry.intent_to_add {
                    continue;
                }
                // Judge the file name first: converting all 100,000 paths of
                // a large index to strings cost more than the rest of a run.
                let path = self.index.path(entry);
                let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
                if is_fact_path(&String::from_utf8_lossy(name)) {
                    facts.push((git::path_string(path), entry.id));
                }
            }
        }
        Ok(SourceOutput {
            blobs,
            stats,
            facts: FactInputs::Git {
                git_dir: self.repo.path().to_path_buf(),
                files: facts,
            },
        })
    }
}
