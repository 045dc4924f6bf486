//! Facts: everything a judgement needs that is not in the blob itself,
//! gathered once per scan, before judging, by code whose only job is that.
//!
//! - [`project`]: the project model — project roots (folders with a
//!   manifest), whether a root is a JavaScript package and which browser-app
//!   tool builds it, build-output folders, provider project ids from dotenv
//!   files.
//! - [`tree`]: working-tree git facts — which secret-bearing files git
//!   tracks or ignores, which project roots would let a dotenv file slip
//!   into a commit — asked of git itself through [`oracle`].
//! - [`web`]: the web model of JavaScript projects that hold a matched
//!   file — the framework and its conventions ([`frameworks`], data in
//!   `frameworks/*.toml`), what the bundler config inlines (`bundler.rs`),
//!   and client reachability through the import graph (`imports.rs`).
//! - [`history`]: history facts — when each key entered history and whether
//!   it is still in HEAD.
//! - [`repo_paths`]: where each scan root sits in its repository, so
//!   reports read by GitHub can name files relative to the repository root.
//! - [`staged`]: staged-mode facts — force-added ignored dotenv files, keys
//!   HEAD already has at the same path.
//!
//! The pipeline builds one [`Facts`] per scan and hands it, read-only, to
//! the judge and the audits. Facts never run the matcher and never see a
//! finding; they may read small files (manifests, dotenv files) and ask git.

pub(crate) mod bundler;
pub mod frameworks;
pub mod history;
pub(crate) mod imports;
pub mod oracle;
pub mod project;
pub mod repo_paths;
pub mod staged;
pub mod tree;
pub mod web;

use history::KeyAges;

/// How many threads a facts step may use: `requested` (`-j`), or one per
/// core when it is 0, and never more than `jobs`.
pub(crate) fn workers(requested: usize, jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        0 => cores,
        n => n,
    }
    .min(jobs)
    .max(1)
}

/// `f` of every item, in the items' order, on `threads` threads (the
/// caller's [`workers`]) that take the next item as they come free: the
/// cost of an item may vary a hundredfold (one web project's import graph
/// against another's).
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return out;
            };
            out.push((i, f(item)));
        }
    };
    let mut all: Vec<(usize, R)> = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in others {
            all.extend(h.join().expect("a facts thread panicked"));
        }
        all
    });
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}
use project::ProjectIndex;
use tree::TreeFacts;
use web::WebFacts;

/// The facts of one scan.
#[derive(Debug, Default)]
pub struct Facts {
    /// Project roots and what they are.
    pub projects: ProjectIndex,
    /// Tree mode: what git says about the working tree's secret files.
    pub tree: Option<TreeFacts>,
    /// History mode: key ages and presence in HEAD.
    pub history: Option<KeyAges>,
    /// JavaScript projects holding a matched file: framework, bundler
    /// config, client reachability (tree and staged modes).
    pub web: WebFacts,
    /// Staged mode: what git already knows about the staged files.
    pub staged: Option<staged::StagedFacts>,
}

impl Facts {
    /// Facts with only a project model (staged mode).
    pub fn with_projects(projects: ProjectIndex) -> Facts {
        Facts {
            projects,
            ..Facts::default()
        }
    }

    /// Staged mode: whether git's ignore rules cover the staged dotenv file
    /// at `path` (it was force-added).
    pub fn force_added(&self, path: &str) -> bool {
        self.staged
            .as_ref()
            .is_some_and(|s| s.ignored.contains(path))
    }

    /// Whether git ignores the file at `path`. Git's answer wins when the
    /// tree facts have one, and a tracked file is never ignored; otherwise
    /// the source's own knowledge (`walk_ignored`: it reached the file past
    /// an ignore rule) stands.
    pub fn ignored(&self, path: &str, walk_ignored: bool) -> bool {
        match self.tree.as_ref().and_then(|t| t.file(path)) {
            Some(f) if f.tracked => false,
            Some(f) => f.ignored.unwrap_or(walk_ignored),
            None => walk_ignored,
        }
    }

    /// Whether the secret-bearing file at `path` lies outside any git work
    /// tree (tree mode, a plain folder): its ignore status then comes from
    /// `.gitignore` files alone and says nothing about what a repository
    /// holds.
    pub fn outside_git(&self, path: &str) -> bool {
        self.tree
            .as_ref()
            .and_then(|t| t.file(path))
            .is_some_and(|f| !f.git)
    }

    /// Whether git tracks the secret-bearing file at `path` (tree mode).
    pub fn tracked(&self, path: &str) -> bool {
        self.tree
            .as_ref()
            .and_then(|t| t.file(path))
            .is_some_and(|f| f.tracked)
    }

    /// History mode: whether `secret` is still in HEAD's tree (`None` in
    /// other modes).
    pub fn in_head(&self, secret: &str) -> Option<bool> {
        self.history.as_ref().map(|h| h.in_head(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_the_order_of_the_items() {
        let items: Vec<u64> = (0..500).collect();
        let slow_square = |x: &u64| {
            if x.is_multiple_of(97) {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            x * x
        };
        let want: Vec<u64> = items.iter().map(slow_square).collect();
        for threads in [1, 2, 5] {
            assert_eq!(parallel_map(&items, threads, slow_square), want);
        }
        assert!(parallel_map(&[] as &[u64], 3, slow_square).is_empty());
    }

    #[test]
    fn facts_threads_follow_j_and_never_outnumber_the_jobs() {
        assert_eq!(workers(1, 100), 1);
        assert_eq!(workers(3, 100), 3);
        assert_eq!(workers(8, 2), 2);
        assert_eq!(workers(4, 0), 1);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(workers(0, 1000), cores.min(1000));
    }

    #[test]
    fn without_tree_facts_the_source_decides_what_is_ignored() {
        let facts = Facts::default();
        assert!(facts.ignored(".env.local", true));
        assert!(!facts.ignored(".env", false));
        assert!(!facts.tracked(".env"));
        assert_eq!(facts.in_head("mbk_x"), None);
    }
}
