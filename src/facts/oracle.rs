//! Asking git — not a re-implementation of it — whether a path is ignored and
//! whether it is tracked.
//!
//! Inside a git work tree every answer comes from libgit2:
//! [`git2::Repository::is_path_ignored`] applies nested `.gitignore` files,
//! negations, `.git/info/exclude` and `core.excludesFile` exactly as git does,
//! and the index says what is tracked. A few libgit2 quirks shape the code:
//!
//! - paths must be relative to the work tree (an absolute path is an error,
//!   and `Index::get_path` even panics on one), so every path is
//!   canonicalised and stripped of the canonical work-tree prefix first;
//! - `is_path_ignored` answers for a path whether or not it exists, and
//!   whether or not it is tracked (a tracked file can match an ignore
//!   pattern), so "tracked" is always looked up in the index separately;
//! - a `Repository` caches ignore files; after `--fix` edits a `.gitignore`
//!   the caller builds a fresh [`Oracles`];
//! - libgit2 (1.9) drops a negation (`!.env.local`) from a `.gitignore` when
//!   that same file has no earlier rule it negates, so a nested
//!   `apps/web/.gitignore` cannot re-include what the root `.gitignore`
//!   excluded, though git can (libgit2 issues #7284 and #3535). When libgit2
//!   says "ignored", the `.gitignore` files between the path and the work
//!   tree are read with the `ignore` crate: if the deepest one that decides
//!   is a negation, and no folder on the way is excluded, the path is not
//!   ignored — what `git check-ignore` says;
//! - `Repository::discover` refuses a repository owned by another user
//!   (`safe.directory`); that error is reported in the summary notes and the
//!   folder is treated like one without git.
//!
//! Outside a git work tree (an unpacked release, a plain folder) there is no
//! index and no `.git/info/exclude`; the fallback reads `.gitignore` files
//! with the `ignore` crate's matcher, deepest file first, and honours git's
//! rule that nothing inside an ignored folder can be re-included.

use crate::dotenv;
use git2::{Oid, Repository};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One git work tree.
struct GitTree {
    repo: Repository,
    /// Canonical work-tree path.
    workdir: PathBuf,
    /// Tracked secret-bearing and dotenv files: work-tree-relative path → blob id.
    tracked: HashMap<String, Oid>,
    /// Parsed `.gitignore` per folder, for the negation workaround.
    cache: HashMap<PathBuf, Option<Gitignore>>,
}

/// `.gitignore` files under one folder, read with the `ignore` crate.
struct PlainTree {
    /// Canonical folder the `.gitignore` files are read from (downwards).
    root: PathBuf,
    /// Parsed `.gitignore` per folder (`None`: the folder has none).
    cache: HashMap<PathBuf, Option<Gitignore>>,
}

/// Which tree answers for a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TreeId {
    /// A git work tree (index into the git trees).
    Git(usize),
    /// A folder without git (index into the plain trees).
    Plain(usize),
}

/// Ignore and tracking answers for every path of a scan, with the trees they
/// come from cached.
pub struct Oracles {
    git: Vec<GitTree>,
    plain: Vec<PlainTree>,
    by_dir: HashMap<PathBuf, TreeId>,
    /// Canonical scan roots that are directories (fallback roots).
    scan_dirs: Vec<PathBuf>,
    /// Why git was not used, per plain tree root (for the summary).
    pub no_git: Vec<(PathBuf, String)>,
}

impl std::fmt::Debug for Oracles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oracles")
            .field(
                "git_trees",
                &self.git.iter().map(|g| &g.workdir).collect::<Vec<_>>(),
            )
            .field(
                "plain_trees",
                &self.plain.iter().map(|p| &p.root).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Whether a work-tree path is worth remembering from the index.
fn interesting(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    dotenv::is_dotenv_name(name) || dotenv::is_secret_file_path(path)
}

impl Oracles {
    /// Oracles for a scan of `scan_dirs` (canonical directories).
    pub fn new(scan_dirs: Vec<PathBuf>) -> Self {
        Oracles {
            git: Vec::new(),
            plain: Vec::new(),
            by_dir: HashMap::new(),
            scan_dirs,
            no_git: Vec::new(),
        }
    }

    /// The tree that answers for files in directory `dir` (canonical).
    pub fn tree_of_dir(&mut self, dir: &Path) -> TreeId {
        if let Some(id) = self.by_dir.get(dir) {
            return *id;
        }
        let id = match Repository::discover(dir) {
            Ok(repo) => match repo.workdir().and_then(|w| w.canonicalize().ok()) {
                Some(workdir) => self.git_tree(repo, workdir),
                None => self.plain_tree(dir, "the repository has no work tree (bare)".into()),
            },
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                self.plain_tree(dir, "not inside a git work tree".into())
            }
            Err(e) => self.plain_tree(dir, format!("git could not open it: {}", e.message())),
        };
        self.by_dir.insert(dir.to_path_buf(), id);
        id
    }

    /// The tree that answers for the file at `path` (canonical).
    pub fn tree_of(&mut self, path: &Path) -> TreeId {
        self.tree_of_dir(path.parent().unwrap_or(path))
    }

    fn git_tree(&mut self, repo: Repository, workdir: PathBuf) -> TreeId {
        if let Some(i) = self.git.iter().position(|g| g.workdir == workdir) {
            return TreeId::Git(i);
        }
        let mut tracked = HashMap::new();
        if let Ok(index) = repo.index() {
            for entry in index.iter() {
                let path = String::from_utf8_lossy(&entry.path);
                if interesting(&path) {
                    tracked.insert(path.into_owned(), entry.id);
                }
            }
        }
        self.git.push(GitTree {
            repo,
            workdir,
            tracked,
            cache: HashMap::new(),
        });
        TreeId::Git(self.git.len() - 1)
    }

    fn plain_tree(&mut self, dir: &Path, why: String) -> TreeId {
        // The fallback reads `.gitignore` files from the scan root down.
        let root = self
            .scan_dirs
            .iter()
            .filter(|r| dir.starts_with(r))
            .max_by_key(|r| r.as_os_str().len())
            .cloned()
            .unwrap_or_else(|| dir.to_path_buf());
        if let Some(i) = self.plain.iter().position(|p| p.root == root) {
            return TreeId::Plain(i);
        }
        self.no_git.push((root.clone(), why));
        self.plain.push(PlainTree {
            root,
            cache: HashMap::new(),
        });
        TreeId::Plain(self.plain.len() - 1)
    }

    /// Whether `tree` is a git work tree.
    pub fn is_git(&self, tree: TreeId) -> bool {
        matches!(tree, TreeId::Git(_))
    }

    /// Whether git (or, without git, the `.gitignore` files) ignores `path`
    /// (canonical, need not exist). `None` when the tree cannot tell (the
    /// path lies outside it).
    pub fn is_ignored(&mut self, tree: TreeId, path: &Path, is_dir: bool) -> Option<bool> {
        match tree {
            TreeId::Git(i) => self.git[i].is_ignored(path, is_dir),
            TreeId::Plain(i) => self.plain[i].is_ignored(path, is_dir),
        }
    }

    /// The index's blob id for `path` (canonical) when git tracks it. Only
    /// dotenv and secret-bearing files are looked up.
    pub fn tracked(&self, tree: TreeId, path: &Path) -> Option<Oid> {
        let TreeId::Git(i) = tree else {
            return None;
        };
        let g = &self.git[i];
        let rel = crate::paths::slash_path(path.strip_prefix(&g.workdir).ok()?);
        g.tracked.get(&rel).copied()
    }

    /// Tracked dotenv and secret-bearing files of the git tree `tree` under
    /// folder `dir` (canonical), as canonical paths with their blob ids.
    pub fn tracked_under(&self, tree: TreeId, dir: &Path) -> Vec<(PathBuf, Oid)> {
        let TreeId::Git(i) = tree else {
            return Vec::new();
        };
        let g = &self.git[i];
        let mut out: Vec<(PathBuf, Oid)> = g
            .tracked
            .iter()
            .map(|(rel, oid)| (g.workdir.join(rel), *oid))
            .filter(|(p, _)| p.starts_with(dir))
            .collect();
        out.sort();
        out
    }

    /// The git folder of the git tree `tree`, where its index blobs can be
    /// read (by the tree source, which reads content; facts do not).
    pub fn git_dir(&self, tree: TreeId) -> Option<PathBuf> {
        let TreeId::Git(i) = tree else {
            return None;
        };
        Some(self.git[i].repo.path().to_path_buf())
    }
}

/// The `.gitignore` of `dir`, parsed with the `ignore` crate (cached).
fn load_gitignore<'c>(
    cache: &'c mut HashMap<PathBuf, Option<Gitignore>>,
    dir: &Path,
) -> Option<&'c Gitignore> {
    cache
        .entry(dir.to_path_buf())
        .or_insert_with(|| {
            // Never through a link, never a FIFO or device, never huge
            // (`GitignoreBuilder::add` would open anything).
            let file = dir.join(".gitignore");
            let bytes =
                crate::fs::read_limited(&file, 16 * 1024 * 1024, crate::fs::Links::Refuse).ok()?;
            let mut b = GitignoreBuilder::new(dir);
            let text = String::from_utf8_lossy(&bytes);
            for line in text.trim_start_matches('\u{feff}').lines() {
                // A bad line is skipped, as git does; the rest still applies.
                let _ = b.add_line(Some(file.clone()), line);
            }
            b.build().ok()
        })
        .as_ref()
}

impl GitTree {
    fn libgit2_ignored(&self, rel: &Path, is_dir: bool) -> Option<bool> {
        if rel.as_os_str().is_empty() {
            return Some(false);
        }
        let mut rel = crate::paths::slash_path(rel);
        if is_dir {
            rel.push('/');
        }
        self.repo.is_path_ignored(&rel).ok()
    }

    fn is_ignored(&mut self, path: &Path, is_dir: bool) -> Option<bool> {
        let rel = path.strip_prefix(&self.workdir).ok()?.to_path_buf();
        let ignored = self.libgit2_ignored(&rel, is_dir)?;
        if !ignored || self.reincluded(path, is_dir) != Some(true) {
            return Some(ignored);
        }
        // A negation re-includes it, unless a folder on the way is excluded
        // (git never looks inside an excluded folder).
        let mut folder = PathBuf::new();
        let comps: Vec<_> = rel.components().collect();
        for c in comps.iter().take(comps.len().saturating_sub(1)) {
            folder.push(c);
            if self.libgit2_ignored(&folder, true) == Some(true) {
                return Some(true);
            }
        }
        Some(false)
    }

    /// Whether the deepest `.gitignore` between `path` and the work tree that
    /// has a rule for it re-includes it (`Some(true)`) or excludes it
    /// (`Some(false)`); `None` when no `.gitignore` decides.
    fn reincluded(&mut self, path: &Path, is_dir: bool) -> Option<bool> {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if !d.starts_with(&self.workdir) {
                break;
            }
            let rel = path.strip_prefix(d).ok()?.to_path_buf();
            if let Some(gi) = load_gitignore(&mut self.cache, d) {
                let m = gi.matched(&rel, is_dir);
                if m.is_whitelist() {
                    return Some(true);
                }
                if m.is_ignore() {
                    return Some(false);
                }
            }
            dir = d.parent();
        }
        None
    }
}

impl PlainTree {
    fn gitignore(&mut self, dir: &Path) -> Option<&Gitignore> {
        load_gitignore(&mut self.cache, dir)
    }

    /// The decision of the `.gitignore` files for `path` itself: the deepest
    /// file with a matching pattern wins (its last matching line).
    fn decide(&mut self, path: &Path, is_dir: bool) -> Option<bool> {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if !d.starts_with(&self.root) {
                break;
            }
            let rel = path.strip_prefix(d).ok()?.to_path_buf();
            if let Some(gi) = self.gitignore(d) {
                let m = gi.matched(&rel, is_dir);
                if m.is_ignore() {
                    return Some(true);
                }
                if m.is_whitelist() {
                    return Some(false);
                }
            }
            dir = d.parent();
        }
        None
    }

    fn is_ignored(&mut self, path: &Path, is_dir: bool) -> Option<bool> {
        let rel = path.strip_prefix(&self.root).ok()?.to_path_buf();
        // Git never descends into an ignored folder, so nothing below it can
        // be re-included: check the folders from the top first.
        let mut prefix = self.root.clone();
        let comps: Vec<_> = rel.components().collect();
        for c in comps.iter().take(comps.len().saturating_sub(1)) {
            prefix.push(c);
            if self.decide(&prefix, true) == Some(true) {
                return Some(true);
            }
        }
        Some(self.decide(path, is_dir).unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_tree_follows_nesting_negation_and_ignored_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("app/secret")).unwrap();
        std::fs::write(root.join(".gitignore"), ".env*\n!.env.example\nsecret/\n").unwrap();
        std::fs::write(root.join("app/.gitignore"), "!.env.local\n").unwrap();
        std::fs::write(root.join("app/secret/.gitignore"), "!.env\n").unwrap();
        let mut o = Oracles::new(vec![root.clone()]);
        let t = o.tree_of_dir(&root);
        assert!(!o.is_git(t));
        assert_eq!(o.no_git.len(), 1);
        let ig = |o: &mut Oracles, p: &str| o.is_ignored(t, &root.join(p), false).unwrap();
        assert!(ig(&mut o, ".env"));
        assert!(!ig(&mut o, ".env.example"));
        assert!(ig(&mut o, "app/.env.production"));
        assert!(!ig(&mut o, "app/.env.local"));
        // `secret/` is ignored as a folder: its own negation cannot help.
        assert!(ig(&mut o, "app/secret/.env"));
        assert!(!ig(&mut o, "app/index.js"));
        assert_eq!(o.tracked(t, &root.join(".env")), None);
    }
}
