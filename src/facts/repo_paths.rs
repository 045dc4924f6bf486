//! Where the scanned paths sit in their git repository.
//!
//! Findings carry *display paths* relative to the scan root (see
//! `crate::paths`): `keyscan apps/web` reports `src/api.js`. GitHub code
//! scanning and workflow annotations resolve a path against the repository
//! root, where that file is `apps/web/src/api.js`, so the SARIF and GitHub
//! reports rewrite display paths with a [`RepoPaths`] map. Text and JSON
//! keep the display paths people and baselines use.
//!
//! The map is a fact about the scan roots: for each root, the repository
//! that holds it (found the way git finds it, upward from the root) and the
//! root's place in that repository's work tree, compared as canonical paths.
//! A root outside any repository, or in one libgit2 will not open, keeps its
//! paths as they are. Staged and history scans already report
//! repository-relative paths: their map is the identity.

use crate::paths::{join_display, root_displays, slash_path};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Display-path prefix → repository-relative prefix, one entry per scan root
/// inside a git work tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoPaths {
    entries: Vec<(String, String)>,
}

impl RepoPaths {
    /// The identity map: display paths already are repository-relative.
    pub fn identity() -> RepoPaths {
        RepoPaths::default()
    }

    /// The map for a tree scan of `roots` (as given on the command line).
    pub fn for_roots(roots: &[PathBuf]) -> RepoPaths {
        let entries = root_displays(roots)
            .into_iter()
            .filter_map(|(root, display)| Some((display, repo_prefix(&root)?)))
            .collect();
        RepoPaths { entries }
    }

    /// `display` as a path relative to its repository's root (unchanged when
    /// its root is not in a repository).
    pub fn repo_relative<'a>(&self, display: &'a str) -> Cow<'a, str> {
        for (prefix, repo) in &self.entries {
            let rest = if prefix.is_empty() {
                Some(display)
            } else if display == prefix {
                Some("")
            } else {
                display
                    .strip_prefix(prefix.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            if let Some(rest) = rest {
                return Cow::Owned(join_display(repo, rest));
            }
        }
        Cow::Borrowed(display)
    }
}

/// `root`'s path relative to the work tree of the repository holding it.
fn repo_prefix(root: &Path) -> Option<String> {
    let dir = if root.is_dir() {
        root.to_path_buf()
    } else {
        match root.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let repo = git2::Repository::discover(&dir).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let canonical_dir = dir.canonicalize().ok()?;
    let rel_dir = canonical_dir.strip_prefix(&workdir).ok()?;
    let rel = if root.is_dir() {
        rel_dir.to_path_buf()
    } else {
        rel_dir.join(root.file_name()?)
    };
    Some(slash_path(&rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> RepoPaths {
        RepoPaths {
            entries: entries
                .iter()
                .map(|(d, r)| (d.to_string(), r.to_string()))
                .collect(),
        }
    }

    #[test]
    fn prefixes_replace_whole_components_only() {
        let one = map(&[("", "apps/web")]);
        assert_eq!(one.repo_relative("src/api.js"), "apps/web/src/api.js");
        let many = map(&[("web", "apps/web"), ("/abs/api", "api"), ("a.js", "x/a.js")]);
        assert_eq!(many.repo_relative("web/src/a.js"), "apps/web/src/a.js");
        assert_eq!(many.repo_relative("/abs/api/s.js"), "api/s.js");
        assert_eq!(many.repo_relative("a.js"), "x/a.js");
        assert_eq!(many.repo_relative("webapp/a.js"), "webapp/a.js");
        assert_eq!(RepoPaths::identity().repo_relative("s/a.js"), "s/a.js");
        // The repository root itself: nothing to add.
        assert_eq!(map(&[("", "")]).repo_relative("a.js"), "a.js");
    }

    #[test]
    fn roots_are_placed_in_their_repository() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("apps/web/src")).unwrap();
        std::fs::write(dir.path().join("apps/web/src/a.js"), "").unwrap();
        let web = dir.path().join("apps/web");
        assert_eq!(
            RepoPaths::for_roots(std::slice::from_ref(&web)).repo_relative("src/a.js"),
            "apps/web/src/a.js"
        );
        let file = web.join("src/a.js");
        let m = RepoPaths::for_roots(&[file.clone(), dir.path().join("apps")]);
        assert_eq!(m.repo_relative(&slash_path(&file)), "apps/web/src/a.js");
        // Outside a repository: unchanged.
        let plain = tempfile::tempdir().unwrap();
        assert_eq!(
            RepoPaths::for_roots(&[plain.path().to_path_buf()]).repo_relative("a.js"),
            "a.js"
        );
    }
}
