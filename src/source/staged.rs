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
use super::{GitInputs, SourceOutput, SourceStats};
use crate::blob::ScannedBlob;
use crate::dotenv;
use crate::error::{Error, Result};
use crate::facts::project::is_fact_name;
use crate::finding::Origin;
use crate::index::{CacheDir, Index};
use crate::paths::file_name;
use crate::scan::Matcher;
use git2::{ErrorCode, Oid, Repository};
use std::ops::Range;
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

/// One step of the comparison of HEAD with the index.
enum Task<'s> {
    /// Index entries `entries` under `prefix` against HEAD's tree `head`.
    Dir {
        prefix: Vec<u8>,
        head: Option<Oid>,
        entries: Range<usize>,
        cache: Option<CacheDir<'s>>,
    },
    /// HEAD's tree `old` against the index's tree `new` (a sparse
    /// directory, or nothing when HEAD's directory is gone).
    Trees {
        prefix: Vec<u8>,
        old: Option<Oid>,
        new: Option<Oid>,
    },
}

/// An entry of a tree, and whether the index has it.
struct HeadEntry {
    name: Vec<u8>,
    mode: u32,
    id: Oid,
    seen: bool,
}

/// How a file at `path` changes from HEAD's `old` (mode, id) to the
/// index's `new`; `None` when it does not (same blob, a mode-only change)
/// or a submodule is involved.
fn classify(path: &[u8], old: Option<(u32, Oid)>, new: Option<(u32, Oid)>) -> Option<StagedPath> {
    let submodule = |m: (u32, Oid)| EntryKind::from_mode(m.0) == EntryKind::Submodule;
    if old.is_some_and(submodule) || new.is_some_and(submodule) {
        return None;
    }
    let (status, (mode, id)) = match (old, new) {
        (None, None) => return None,
        (None, Some(n)) => (StagedStatus::Added, n),
        (Some(o), None) => (StagedStatus::Deleted, (o.0, Oid::zero())),
        (Some(o), Some(n)) if EntryKind::from_mode(o.0) != EntryKind::from_mode(n.0) => {
            (StagedStatus::TypeChange, n)
        }
        (Some(o), Some(n)) if o.1 != n.1 => (StagedStatus::Modified, n),
        _ => return None,
    };
    Some(StagedPath {
        path: git::path_string(path),
        id,
        head_id: old.map(|o| o.1),
        mode,
        status,
    })
}

impl StagedRepo {
    /// Opens the repository containing `path` and the index to judge:
    /// `$GIT_INDEX_FILE` when set, else the repository's own index.
    pub fn open(path: &Path) -> Result<StagedRepo> {
        let env = std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty());
        Self::open_with_index(path, env.map(PathBuf::from))
    }

    /// The repository's work tree (a staged scan always has one).
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
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
            None => crate::index::default_path(repo.path()),
        };
        // A fresh repository has no index file until the first `git add`:
        // nothing is staged.
        let index = if index_path.exists() {
            Index::read(&index_path, repo.path())?
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
    /// the few trees on their paths, not the whole of HEAD. A sparse
    /// directory entry (a sparse index) is a tree: compared with HEAD's tree
    /// at its path by id, and walked only if they differ (e.g. after
    /// `git reset --soft`). The walk keeps its own stack of directories, so
    /// a path of any depth costs no call stack.
    pub fn staged_paths(&self) -> Result<Vec<StagedPath>> {
        let head = self.head_tree()?.map(|t| t.id());
        let mut out = Vec::new();
        let mut todo = vec![Task::Dir {
            prefix: Vec::new(),
            head,
            entries: 0..self.index.entries.len(),
            cache: self.index.cache_tree(),
        }];
        while let Some(task) = todo.pop() {
            match task {
                Task::Dir {
                    prefix,
                    head,
                    entries,
                    cache,
                } => self.compare_dir(prefix, head, entries, cache, &mut todo, &mut out)?,
                Task::Trees { prefix, old, new } => {
                    self.compare_trees(prefix, old, new, &mut todo, &mut out)?
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The entries of a tree, sorted by name for binary search.
    fn tree_entries(&self, id: Oid) -> Result<Vec<HeadEntry>> {
        let tree = self
            .repo
            .find_tree(id)
            .map_err(|e| git::git_error(self.repo.path(), &format!("cannot read tree {id}"), &e))?;
        let mut list: Vec<HeadEntry> = tree
            .iter()
            .map(|e| HeadEntry {
                name: e.name_bytes().to_vec(),
                mode: e.filemode() as u32,
                id: e.id(),
                seen: false,
            })
            .collect();
        list.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// Compares the index entries `range` (those under `prefix`, which is
    /// empty or ends in `/`) with HEAD's tree `head` at that path; queues
    /// subdirectories on `todo`.
    fn compare_dir<'s>(
        &'s self,
        prefix: Vec<u8>,
        head: Option<Oid>,
        range: Range<usize>,
        cache: Option<CacheDir<'s>>,
        todo: &mut Vec<Task<'s>>,
        out: &mut Vec<StagedPath>,
    ) -> Result<()> {
        let entries = &self.index.entries[range.clone()];
        if let (Some(h), Some((count, id))) = (head, cache.and_then(|c| c.valid())) {
            if id == h && count == entries.len() {
                return Ok(());
            }
        }
        // HEAD's entries here, and whether the index has each.
        let mut head_entries = match head {
            Some(h) => self.tree_entries(h)?,
            None => Vec::new(),
        };
        // The cache-tree's subdirectories, sorted by name (git keeps them
        // sorted by length first).
        let mut sub_caches: Vec<CacheDir<'s>> =
            cache.map(|c| c.children().collect()).unwrap_or_default();
        sub_caches.sort_unstable_by(|a, b| a.name().cmp(b.name()));
        let find = |list: &[HeadEntry], name: &[u8]| {
            list.binary_search_by(|e| e.name.as_slice().cmp(name)).ok()
        };
        let mut i = 0;
        while i < entries.len() {
            let path = self.index.path(&entries[i]);
            let rel = &path[prefix.len()..];
            if let Some(slash) = memchr::memchr(b'/', rel) {
                // A subdirectory: its entries are consecutive in index order.
                // Index order is by path bytes, so the group ends before the
                // first path not below `prefix/name/`, i.e. not before
                // `prefix/name0` ('0' follows '/'): a binary search, not a
                // comparison per entry at every level.
                let name = &rel[..slash];
                let mut upper = path[..prefix.len() + slash].to_vec();
                upper.push(b'/' + 1);
                let j = i + entries[i..].partition_point(|e| self.index.path(e) < &upper[..]);
                let mut sub_head = None;
                if let Some(k) = find(&head_entries, name) {
                    // A HEAD file replaced by a directory stays unseen
                    // (deleted).
                    let h = &mut head_entries[k];
                    if h.mode & 0o170000 == 0o040000 {
                        h.seen = true;
                        sub_head = Some(h.id);
                    }
                }
                let mut sub_prefix = path[..prefix.len() + slash + 1].to_vec();
                let first = &entries[i];
                if first.is_sparse_dir() && rel.len() == slash + 1 {
                    // A sparse directory: one entry naming the whole tree.
                    if j != i + 1 {
                        return Err(Error::Git {
                            path: self.index_path.clone(),
                            message: format!(
                                "cannot read the index: sparse directory `{}` has entries below it",
                                git::path_string(&sub_prefix)
                            ),
                            source: None,
                        });
                    }
                    if first.stage == 0 {
                        todo.push(Task::Trees {
                            prefix: std::mem::take(&mut sub_prefix),
                            old: sub_head,
                            new: Some(first.id),
                        });
                    }
                } else {
                    todo.push(Task::Dir {
                        prefix: sub_prefix,
                        head: sub_head,
                        entries: range.start + i..range.start + j,
                        cache: sub_caches
                            .binary_search_by(|c| c.name().cmp(name))
                            .ok()
                            .map(|k| sub_caches[k]),
                    });
                }
                i = j;
                continue;
            }
            // A file: all its stages are consecutive.
            let mut j = i + 1;
            while j < entries.len() && self.index.path(&entries[j]) == path {
                j += 1;
            }
            let e = entries[i];
            let old = find(&head_entries, rel).and_then(|k| {
                let h = &mut head_entries[k];
                // A HEAD directory replaced by a file stays unseen: its files
                // are deleted.
                (h.mode & 0o170000 != 0o040000).then(|| {
                    h.seen = true;
                    (h.mode, h.id)
                })
            });
            let staged = j == i + 1 && e.stage == 0 && !e.intent_to_add;
            if staged {
                out.extend(classify(path, old, Some((e.mode, e.id))));
            }
            i = j;
        }
        for h in head_entries {
            if h.seen {
                continue;
            }
            let mut path = prefix.clone();
            path.extend_from_slice(&h.name);
            if h.mode & 0o170000 == 0o040000 {
                path.push(b'/');
                todo.push(Task::Trees {
                    prefix: path,
                    old: Some(h.id),
                    new: None,
                });
            } else {
                out.extend(classify(&path, Some((h.mode, h.id)), None));
            }
        }
        Ok(())
    }

    /// Compares HEAD's tree `old` with the index's tree `new` (a sparse
    /// directory) at `prefix` (ending in `/`); either may be absent.
    fn compare_trees<'s>(
        &'s self,
        prefix: Vec<u8>,
        old: Option<Oid>,
        new: Option<Oid>,
        todo: &mut Vec<Task<'s>>,
        out: &mut Vec<StagedPath>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        let list = |id: Option<Oid>| match id {
            Some(id) => self.tree_entries(id),
            None => Ok(Vec::new()),
        };
        let (old, new) = (list(old)?, list(new)?);
        let is_dir = |m: u32| m & 0o170000 == 0o040000;
        let (mut a, mut b) = (old.iter().peekable(), new.iter().peekable());
        loop {
            let (o, n) = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(o), Some(n)) if o.name == n.name => (a.next(), b.next()),
                (Some(o), Some(n)) if o.name < n.name => (a.next(), None),
                (Some(_), None) => (a.next(), None),
                _ => (None, b.next()),
            };
            let name = o.or(n).map(|e| e.name.as_slice()).expect("one side");
            let mut path = prefix.clone();
            path.extend_from_slice(name);
            let dir = |e: Option<&HeadEntry>| e.filter(|e| is_dir(e.mode)).map(|e| e.id);
            let file =
                |e: Option<&HeadEntry>| e.filter(|e| !is_dir(e.mode)).map(|e| (e.mode, e.id));
            out.extend(classify(&path, file(o), file(n)));
            if dir(o).is_some() || dir(n).is_some() {
                path.push(b'/');
                todo.push(Task::Trees {
                    prefix: path,
                    old: dir(o),
                    new: dir(n),
                });
            }
        }
        Ok(())
    }

    /// The fact files (manifests, dotenv files) of the tree `id` at
    /// `prefix` (ending in `/`), walked with an explicit stack.
    fn tree_facts(&self, prefix: &[u8], id: Oid, facts: &mut Vec<(String, Oid)>) -> Result<()> {
        let mut todo = vec![(prefix.to_vec(), id)];
        while let Some((prefix, id)) = todo.pop() {
            for e in self.tree_entries(id)? {
                let mut path = prefix.clone();
                path.extend_from_slice(&e.name);
                if e.mode & 0o170000 == 0o040000 {
                    path.push(b'/');
                    todo.push((path, e.id));
                } else if EntryKind::from_mode(e.mode) == EntryKind::File && is_fact_name(&e.name) {
                    facts.push((git::path_string(&path), e.id));
                }
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
    ) -> Result<SourceOutput<GitInputs>> {
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
        let matched: Vec<&str> = blobs.iter().map(|b| b.path.as_str()).collect();
        if !blobs.is_empty() {
            for entry in &self.index.entries {
                if entry.stage != 0 || entry.intent_to_add {
                    continue;
                }
                let path = self.index.path(entry);
                if entry.is_sparse_dir() {
                    // Files staged inside a sparse directory (after
                    // `git reset --soft`): its manifests and dotenv files
                    // are facts about them.
                    if matched.iter().any(|m| m.as_bytes().starts_with(path)) {
                        self.tree_facts(path, entry.id, &mut facts)?;
                    }
                    continue;
                }
                // Judge the file name first: converting all 100,000 paths of
                // a large index to strings cost more than the rest of a run.
                let name = memchr::memrchr(b'/', path).map_or(path, |i| &path[i + 1..]);
                if is_fact_name(name) {
                    facts.push((git::path_string(path), entry.id));
                }
            }
            // Index order, with the files of sparse directories in place.
            facts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(SourceOutput {
            blobs,
            stats,
            facts: GitInputs {
                git_dir: self.repo.path().to_path_buf(),
                files: facts,
            },
        })
    }
}
