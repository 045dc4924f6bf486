//! Facts about a working tree that only git can tell: which secret-bearing
//! files are tracked or ignored, and which project roots would let a dotenv
//! file slip into a commit.
//!
//! [`TreeFacts::gather`] runs once per tree scan, after the walk has listed
//! the tree's secret-bearing files and project roots and before judgement.
//! It asks git through [`super::oracle`] (or reads `.gitignore` files where
//! there is no git) and records, per file, *tracked* and *ignored*; per
//! project root, the dotenv names git would not ignore ([`CoverageGap`]).
//! The judge reads these facts to word a key's message (a key in a tracked
//! `.env` is committed; one in an ignored `.env` is correct usage), the
//! audits turn them into findings, and `--fix` into `.gitignore` lines. It
//! reads no file content.

use super::oracle::Oracles;
use super::project::ProjectIndex;
use crate::dotenv as parser;
use crate::fs::{EntryKind, Folder, Links};
use crate::paths::{file_name, join_display, root_displays, slash_path};
use git2::Oid;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What the walk's listing of one folder showed, for questions the facts
/// step would otherwise ask the file system (a `stat` each, per project
/// root and per folder on the way up: thousands in a tree with a
/// `node_modules`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListedDir {
    /// A `.git` (folder or file) or `HEAD` entry: libgit2's discovery may
    /// stop here.
    pub repo_marker: bool,
    /// The `.gitignore` entry: `None` absent, `Some(true)` a regular file,
    /// `Some(false)` a link or special file.
    pub gitignore: Option<bool>,
}

impl ListedDir {
    /// What a folder's entries (name, kind) show.
    pub fn of<'a>(entries: impl IntoIterator<Item = (&'a str, EntryKind)>) -> ListedDir {
        let mut marks = ListedDir::default();
        for (name, ft) in entries {
            match name {
                ".git" | "HEAD" => marks.repo_marker = true,
                ".gitignore" => marks.gitignore = Some(ft.is_file()),
                _ => {}
            }
        }
        marks
    }

    /// Lists `dir` for a folder the walk did not list; `None` if it cannot
    /// be listed.
    pub fn read(dir: &Path) -> Option<ListedDir> {
        let entries: Vec<(String, EntryKind)> = Folder::open(dir, Links::Follow)
            .ok()?
            .entries()
            .entries
            .into_iter()
            .map(|(name, kind)| (name.to_string_lossy().into_owned(), kind))
            .collect();
        Some(ListedDir::of(
            entries.iter().map(|(n, ft)| (n.as_str(), *ft)),
        ))
    }
}

/// What the walk's own reading of git's ignore rules says of one folder
/// that holds a manifest: whether git ignores the folder, and which of
/// [`PROBES`] it would not ignore there. The walk has every ignore file of
/// the way down in hand, so this costs a few pattern matches, where libgit2
/// reads and matches every ignore file from the work tree down for each
/// project root (thousands in a tree with a `node_modules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvCover {
    /// The top of the work tree whose rules these are (absolute, as the
    /// walk reached it; canonical once the facts step has checked it).
    pub top: PathBuf,
    /// Git ignores the folder, or a folder above it in the work tree.
    pub excluded: bool,
    /// Bit `i` set: git would not ignore `PROBES[i]` in the folder.
    pub unignored: u8,
}

impl DotenvCover {
    /// The probe names git would not ignore (none in an excluded folder).
    pub fn unignored(&self) -> Vec<&'static str> {
        if self.excluded {
            return Vec::new();
        }
        PROBES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.unignored & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// The folders the walk listed, by canonical path.
pub type Listed = HashMap<PathBuf, ListedDir, foldhash::fast::RandomState>;

/// The dotenv files every project root must have ignored (at most 8: a
/// [`DotenvCover`] holds them as bits).
pub const PROBES: &[&str] = &[
    ".env",
    ".env.local",
    ".env.development.local",
    ".env.production",
    ".env.production.local",
    ".env.staging",
];
const _: () = assert!(
    PROBES.len() <= 8,
    "a DotenvCover holds the probes as 8 bits"
);

/// The probes a project root is missing, after subtracting what an ancestor
/// root's lines will cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageGap {
    /// The project root, relative and `/`-separated (`""` for the scan root).
    pub dir: String,
    /// Probe names git would not ignore there.
    pub missing: Vec<&'static str>,
    /// Nested project roots whose gaps these lines cover too.
    pub covers: Vec<String>,
}

/// `dir/.gitignore` (or `.gitignore` at the top).
pub fn gitignore_path(dir: &str) -> String {
    if dir.is_empty() {
        ".gitignore".to_string()
    } else {
        format!("{dir}/.gitignore")
    }
}

/// Removes from each gap the names that a gap of an ancestor root in the same
/// tree also lacks (the ancestor's bare-name lines will cover them), and drops
/// gaps left empty. `same_tree(a, b)` says whether two roots share a repository.
///
/// Each gap looks up its own ancestors (one per `/` of its path) instead of
/// comparing itself with every other gap: linear in roots × depth, where a
/// monorepo with a `node_modules` has thousands of roots.
pub fn subtract_ancestors(
    mut gaps: Vec<CoverageGap>,
    same_tree: impl Fn(&str, &str) -> bool,
) -> Vec<CoverageGap> {
    gaps.sort_by(|a, b| a.dir.cmp(&b.dir));
    let snapshot = gaps.clone();
    let mut by_dir: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, g) in snapshot.iter().enumerate() {
        by_dir.entry(g.dir.as_str()).or_default().push(i);
    }
    // covers[i]: the gaps (in path order) that gap i is a same-tree ancestor of.
    let mut covers: Vec<Vec<String>> = vec![Vec::new(); snapshot.len()];
    for (gap, own) in gaps.iter_mut().zip(&snapshot) {
        for anc_dir in proper_ancestors(&own.dir) {
            for &a in by_dir.get(anc_dir).map(Vec::as_slice).unwrap_or(&[]) {
                if same_tree(anc_dir, &own.dir) {
                    gap.missing.retain(|m| !snapshot[a].missing.contains(m));
                    covers[a].push(own.dir.clone());
                }
            }
        }
    }
    gaps.into_iter()
        .zip(covers)
        .filter(|(g, _)| !g.missing.is_empty())
        .map(|(mut g, covers)| {
            g.covers = covers;
            g
        })
        .collect()
}

/// The proper ancestors of a `/`-separated relative folder: `""` (the scan
/// root) and every prefix ending before a `/`. None for `""` itself.
fn proper_ancestors(dir: &str) -> impl Iterator<Item = &str> {
    let top = (!dir.is_empty()).then_some("");
    top.into_iter().chain(
        dir.match_indices('/')
            .map(move |(i, _)| &dir[..i])
            .filter(|d| !d.is_empty()),
    )
}

/// What git says about one secret-bearing file of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// Display path (relative to the scan root, `/`-separated).
    pub path: String,
    /// In git's index.
    pub tracked: bool,
    /// Git (or, without git, the `.gitignore` files) ignores it; `None`: unknown.
    pub ignored: Option<bool>,
    /// The file exists in the working tree.
    pub on_disk: bool,
    /// The `git rm --cached` command that untracks it, as the user would type it.
    pub untrack: String,
    /// The `.gitignore` (display path) and the line that would ignore it.
    pub ignore_with: (String, String),
    /// Git answered for it (false: a plain folder, `.gitignore` files only).
    pub git: bool,
}

/// A directory scan root: where it is and how its paths are displayed.
#[derive(Debug, Clone)]
struct ScanRoot {
    /// As given on the command line.
    given: PathBuf,
    /// Canonical.
    canon: PathBuf,
    /// Display prefix (empty for a single directory root).
    display: String,
}

/// A secret-bearing file the walk saw (a dotenv file, `secrets.json`,
/// `config/keys.js`), whether or not it had matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFile {
    /// Display path, relative to the scan root, `/`-separated.
    pub path: String,
    /// Where it is on disk.
    pub fs_path: PathBuf,
}

/// A tracked secret-bearing file that the walk did not read (it matched an
/// ignore pattern, or is deleted from the work tree but still in the
/// index): the tree source reads it from `disk`, else from the index blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadFile {
    /// Display path.
    pub path: String,
    /// The file on disk, when it exists there.
    pub disk: Option<PathBuf>,
    /// Else the repository's git folder and the index blob.
    pub blob: Option<(PathBuf, Oid)>,
}

/// What git says about a scanned working tree.
#[derive(Debug)]
pub struct TreeFacts {
    roots: Vec<ScanRoot>,
    /// Secret-bearing files (and templates), by display path, in path order.
    pub files: Vec<FileFacts>,
    /// Project roots where git would not ignore some dotenv names.
    pub gaps: Vec<CoverageGap>,
    /// Tracked secret-bearing files the walk did not read.
    pub unread: Vec<UnreadFile>,
    /// Display paths of `files`, for lookups.
    by_path: HashMap<String, usize>,
    /// Folders where git was not available, with the reason (summary notes).
    no_git: Vec<(PathBuf, String)>,
}

impl TreeFacts {
    /// Asks git (or the `.gitignore` files) about the tree a source walked:
    /// `roots` as given to the source, the secret-bearing files it saw and
    /// its project roots.
    pub fn gather(
        roots: &[PathBuf],
        seen_files: &[SeenFile],
        projects: &ProjectIndex,
    ) -> TreeFacts {
        Self::gather_listed(roots, seen_files, projects, Walked::default(), 0)
    }

    /// [`TreeFacts::gather`], with what the walk's listings showed: folders
    /// found there are not asked about again, and a project root the walk
    /// answered the coverage question for ([`DotenvCover`]) is not put to
    /// libgit2. `threads`: at most this many threads for the coverage check
    /// (`-j`; 0 = one per core).
    pub fn gather_listed(
        roots: &[PathBuf],
        seen_files: &[SeenFile],
        projects: &ProjectIndex,
        walked: Walked,
        threads: usize,
    ) -> TreeFacts {
        let roots: Vec<ScanRoot> = root_displays(roots)
            .into_iter()
            .filter(|(given, _)| given.is_dir())
            .filter_map(|(given, display)| {
                let canon = given.canonicalize().ok()?;
                Some(ScanRoot {
                    given,
                    canon,
                    display,
                })
            })
            .collect();
        let canonical = |walked: &Path| -> Option<(usize, PathBuf)> {
            let i = roots.iter().position(|r| walked.starts_with(&r.given))?;
            let rel = walked.strip_prefix(&roots[i].given).ok()?;
            Some((i, roots[i].canon.join(rel)))
        };
        // Sized once: the walk lists every folder (15,000 on the real tree).
        let mut listed = Listed::with_capacity_and_hasher(walked.listed.len(), Default::default());
        listed.extend(
            walked
                .listed
                .iter()
                .filter_map(|(walked, marks)| Some((canonical(walked)?.1, *marks))),
        );
        let listed = std::sync::Arc::new(listed);
        let mut oracles = Oracles::new(roots.iter().map(|r| r.canon.clone()).collect())
            .with_listed(std::sync::Arc::clone(&listed));
        let covers = trusted_covers(&mut oracles, &roots, walked.covers, canonical);
        let mut facts = TreeFacts {
            roots,
            files: Vec::new(),
            gaps: Vec::new(),
            unread: Vec::new(),
            by_path: HashMap::new(),
            no_git: Vec::new(),
        };
        let seen: std::collections::BTreeSet<&str> =
            seen_files.iter().map(|f| f.path.as_str()).collect();

        // Candidate files: what the walk saw, plus what git tracks.
        let mut candidates: BTreeMap<String, PathBuf> = BTreeMap::new();
        for f in seen_files {
            let canon = f
                .fs_path
                .canonicalize()
                .unwrap_or_else(|_| f.fs_path.clone());
            candidates.entry(f.path.clone()).or_insert(canon);
        }
        for r in &facts.roots {
            let tree = oracles.tree_of_dir(&r.canon);
            for (p, _) in oracles.tracked_under(tree, &r.canon) {
                if let Some(display) = facts.display_of(&p) {
                    candidates.entry(display).or_insert(p);
                }
            }
        }
        for (display, canon) in candidates {
            let tree = oracles.tree_of(&canon);
            let tracked_blob = oracles.tracked(tree, &canon);
            let ignored = oracles.is_ignored(tree, &canon, false);
            let on_disk = canon.is_file();
            if let Some(oid) = tracked_blob {
                if !seen.contains(display.as_str()) {
                    facts.unread.push(UnreadFile {
                        path: display.clone(),
                        disk: on_disk.then(|| canon.clone()),
                        blob: (!on_disk)
                            .then(|| oracles.git_dir(tree).map(|d| (d, oid)))
                            .flatten(),
                    });
                }
            }
            facts.by_path.insert(display.clone(), facts.files.len());
            facts.files.push(FileFacts {
                untrack: facts.untrack_command(&display),
                ignore_with: ignore_line(&display, projects),
                on_disk,
                path: display,
                tracked: tracked_blob.is_some(),
                ignored,
                git: oracles.is_git(tree),
            });
        }

        // Coverage of every project root, on every core: libgit2 answers
        // each probe by reading the ignore files from the work tree down,
        // and a tree with a `node_modules` has thousands of roots. Each
        // thread asks its own oracles (a `Repository` is not shared between
        // threads) about a contiguous share of the roots, the first share on
        // this thread with the oracles that already answered for the files.
        let dirs: Vec<(String, PathBuf)> = projects
            .roots()
            .filter_map(|(dir, _)| Some((dir.to_string(), facts.fs_of_dir(dir)?)))
            .collect();
        let threads = super::workers(threads, dirs.len().div_ceil(ROOTS_PER_THREAD));
        let scan_dirs: Vec<PathBuf> = facts.roots.iter().map(|r| r.canon.clone()).collect();
        // Roots are handed out in runs of neighbours (which share folders
        // and answers) as threads come free: the cost of a root varies a
        // hundredfold (a `node_modules` package shares its answers, a folder
        // of a monorepo asks libgit2), so equal shares left one thread with
        // most of the work.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let take = || {
            let at = next.fetch_add(ROOTS_PER_RUN, std::sync::atomic::Ordering::Relaxed);
            dirs.get(at..(at + ROOTS_PER_RUN).min(dirs.len()))
                .filter(|run| !run.is_empty())
        };
        let covers = &covers;
        let work = |oracles: &mut Oracles| {
            let mut out = Coverage::default();
            while let Some(run) = take() {
                out.extend(coverage(oracles, covers, run));
            }
            out
        };
        let covered: Vec<Coverage> = std::thread::scope(|s| {
            let others: Vec<_> = (1..threads)
                .map(|_| {
                    let scan_dirs = scan_dirs.clone();
                    let listed = std::sync::Arc::clone(&listed);
                    s.spawn(move || work(&mut Oracles::new(scan_dirs).with_listed(listed)))
                })
                .collect();
            let mut out = vec![work(&mut oracles)];
            out.extend(
                others
                    .into_iter()
                    .map(|h| h.join().expect("a coverage thread panicked")),
            );
            out
        });
        let mut gaps = Vec::new();
        let mut tree_of_root: HashMap<String, (bool, PathBuf)> = HashMap::new();
        let mut no_git = oracles.no_git.clone();
        for c in covered {
            gaps.extend(c.gaps);
            tree_of_root.extend(c.tree_of_root);
            for (root, why) in c.no_git {
                if !no_git.iter().any(|(r, _)| *r == root) {
                    no_git.push((root, why));
                }
            }
        }
        facts.gaps = subtract_ancestors(gaps, |a, b| {
            tree_of_root.contains_key(a) && tree_of_root.get(a) == tree_of_root.get(b)
        });
        facts.no_git = no_git;
        facts
    }

    /// What git says about the secret-bearing file at display path `path`.
    pub fn file(&self, path: &str) -> Option<&FileFacts> {
        self.by_path.get(path).map(|&i| &self.files[i])
    }

    /// Summary notes: folders where git was not available.
    pub fn notes(&self) -> Vec<String> {
        self.no_git
            .iter()
            .map(|(root, why)| {
                let shown = self
                    .roots
                    .iter()
                    .find(|r| r.canon == *root)
                    .map(|r| slash_path(&r.given))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| root.display().to_string());
                format!(
                    "git was not available for `{shown}` ({why}): ignore rules were read from .gitignore files with the ignore crate, and tracked files could not be checked"
                )
            })
            .collect()
    }

    /// The display path of a canonical path under a directory scan root.
    fn display_of(&self, canon: &Path) -> Option<String> {
        let root = self
            .roots
            .iter()
            .filter(|r| canon.starts_with(&r.canon))
            .max_by_key(|r| r.canon.as_os_str().len())?;
        let rel = slash_path(canon.strip_prefix(&root.canon).ok()?);
        Some(join_display(&root.display, &rel))
    }

    /// The canonical folder of a display folder path.
    pub fn fs_of_dir(&self, dir: &str) -> Option<PathBuf> {
        let root = self
            .roots
            .iter()
            .filter(|r| {
                r.display.is_empty()
                    || dir == r.display
                    || dir.starts_with(&format!("{}/", r.display))
            })
            .max_by_key(|r| r.display.len())?;
        let rel = dir[root.display.len()..].trim_start_matches('/');
        Some(if rel.is_empty() {
            root.canon.clone()
        } else {
            root.canon.join(rel)
        })
    }

    /// `git rm --cached` as the user would type it from where keyscan ran.
    fn untrack_command(&self, display: &str) -> String {
        // With one directory root, display paths are relative to it; else they
        // start with the root as given, i.e. are relative to the current folder.
        let single = self.roots.len() == 1 && self.roots[0].display.is_empty();
        match self.roots.first() {
            Some(r) if single && !slash_path(&r.given).is_empty() => format!(
                "git -C {} rm --cached -- {}",
                shell_quote(&slash_path(&r.given)),
                shell_quote(display)
            ),
            _ => format!("git rm --cached -- {}", shell_quote(display)),
        }
    }
}

/// Below this many project roots per thread, the coverage check runs on
/// fewer threads (opening the repositories again costs more than it saves).
const ROOTS_PER_THREAD: usize = 64;

/// Project roots one coverage thread takes at a time.
const ROOTS_PER_RUN: usize = 32;

/// The coverage of some project roots, as one thread found it.
#[derive(Default)]
struct Coverage {
    gaps: Vec<CoverageGap>,
    /// Display folder → the tree that answers for it.
    tree_of_root: Vec<(String, (bool, PathBuf))>,
    /// Folders where git was not available, with the reason.
    no_git: Vec<(PathBuf, String)>,
}

impl Coverage {
    /// Adds a later run of the same thread (whose `no_git` is its oracles'
    /// whole list so far).
    fn extend(&mut self, later: Coverage) {
        self.gaps.extend(later.gaps);
        self.tree_of_root.extend(later.tree_of_root);
        self.no_git = later.no_git;
    }
}

/// What the walk gives the facts step: every folder it listed (as walked)
/// with what its listing showed, and what git's rules say of the dotenv
/// files of those that hold a manifest.
#[derive(Clone, Copy, Default)]
pub struct Walked<'a> {
    /// Every folder listed (as walked) and what its listing showed.
    pub listed: &'a [(PathBuf, ListedDir)],
    /// The walk's coverage answers, per folder with a manifest (as walked).
    pub covers: &'a [(PathBuf, DotenvCover)],
}

/// The walk's coverage answers, by canonical folder, that git would give
/// too. The walk reads a work tree's rules from its top down, and starts
/// afresh at every repository it enters; it does not know whether git
/// ignores a scan root inside a work tree (it starts every root as not
/// ignored). So an answer is trusted when its work tree's top is below the
/// scan root, or is the root's own work tree and git does not ignore the
/// root; and only when libgit2 finds a work tree at that top too (not
/// across a file-system boundary it stops at, say). `canonical`: a walked
/// path's root and canonical path.
fn trusted_covers(
    oracles: &mut Oracles,
    roots: &[ScanRoot],
    covers: &[(PathBuf, DotenvCover)],
    canonical: impl Fn(&Path) -> Option<(usize, PathBuf)>,
) -> HashMap<PathBuf, DotenvCover> {
    if covers.is_empty() {
        return HashMap::new();
    }
    // Per root: its work tree's top, when git does not ignore the root.
    let mut root_top: Vec<Option<Option<PathBuf>>> = vec![None; roots.len()];
    let mut tops: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    let mut out = HashMap::with_capacity(covers.len());
    for (walked, cover) in covers {
        let Some((root, dir)) = canonical(walked) else {
            continue;
        };
        let top = tops.entry(cover.top.clone()).or_insert_with(|| {
            let canon = cover.top.canonicalize().ok()?;
            let tree = oracles.tree_of_dir(&canon);
            (oracles.tree_key(tree) == (true, canon.clone())).then_some(canon)
        });
        let Some(top) = top else {
            continue;
        };
        let scan_root = &roots[root].canon;
        if !(top.starts_with(scan_root) && top != scan_root) {
            let root_ok = root_top[root].get_or_insert_with(|| {
                let tree = oracles.tree_of_dir(scan_root);
                let (git, workdir) = oracles.tree_key(tree);
                (git && oracles.is_ignored(tree, scan_root, true) != Some(true)).then_some(workdir)
            });
            if root_ok.as_ref() != Some(&*top) {
                continue;
            }
        }
        out.insert(
            dir,
            DotenvCover {
                top: top.clone(),
                ..cover.clone()
            },
        );
    }
    out
}

/// Which of [`PROBES`] git would not ignore in each of `dirs` (display
/// folder, canonical folder): from the walk's answer where there is one
/// (`covers`), from the oracles otherwise.
fn coverage(
    oracles: &mut Oracles,
    covers: &HashMap<PathBuf, DotenvCover>,
    dirs: &[(String, PathBuf)],
) -> Coverage {
    let mut gaps = Vec::new();
    let mut tree_of_root = Vec::new();
    for (dir, fs_dir) in dirs {
        let listed = oracles.listed(fs_dir);
        // The tree that answers, and the probes git would not ignore (none
        // when it ignores the folder itself).
        let (tree_key, missing) = match covers.get(fs_dir) {
            Some(cover) => ((true, cover.top.clone()), cover.unignored()),
            None => {
                if listed.is_none() && !fs_dir.is_dir() {
                    continue;
                }
                let tree = oracles.tree_of_dir(fs_dir);
                let missing = if oracles.is_ignored(tree, fs_dir, true) == Some(true) {
                    Vec::new()
                } else {
                    oracles.unignored_probes(tree, fs_dir, PROBES)
                };
                (oracles.tree_key(tree), missing)
            }
        };
        tree_of_root.push((dir.clone(), tree_key));
        if missing.is_empty() {
            continue;
        }
        gaps.push(CoverageGap {
            dir: dir.clone(),
            missing,
            covers: Vec::new(),
        });
    }
    Coverage {
        gaps,
        tree_of_root,
        no_git: oracles.no_git.clone(),
    }
}

/// Quotes a path for a shell command line when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-+@=:,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The `.gitignore` (display path) of the nearest project root and the line
/// that ignores `path` from there: the bare name for dotenv files and
/// `secrets.json` (matching at any depth), the relative path otherwise.
fn ignore_line(path: &str, projects: &ProjectIndex) -> (String, String) {
    let dir = projects.nearest(path).map(|(d, _)| d).unwrap_or("");
    let name = file_name(path);
    let line = if parser::is_dotenv_name(name) || name == "secrets.json" {
        name.to_string()
    } else if dir.is_empty() {
        path.to_string()
    } else {
        path[dir.len() + 1..].to_string()
    };
    (gitignore_path(dir), line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk's coverage answers ([`DotenvCover`]) equal what git itself
    /// says (`git check-ignore`), on random repositories: nested
    /// `.gitignore` files with dotenv patterns, negations, anchored and
    /// folder patterns, `info/exclude`, `.ignore` files (which must not
    /// change git's answer) and nested repositories.
    #[test]
    fn walk_coverage_answers_equal_git_check_ignore() {
        use crate::testing::Rng;
        const NAMES: &[&str] = &["a", "b", "app", "node_modules", "build", "pkg"];
        const LINES: &[&str] = &[
            ".env",
            ".env*",
            "!.env",
            "*.local",
            "!.env.local",
            ".env.*",
            "/.env",
            "a/.env",
            "**/.env.production",
            "node_modules",
            "!node_modules",
            "node_modules/",
            "!/node_modules/",
            "build/",
            "!/build/",
            "*.env",
            ".env.production*",
            "a/",
            "/a",
            "!a/",
            "**/b/",
            "!**/b/.env",
            "pkg/.env.staging",
            ".env.?taging",
            "[.]env",
            "app/**",
            "!app/**/.env.local",
            "# .env",
        ];
        let git_ok = crate::testing::git;
        let matcher = crate::scan::Matcher::new(crate::rules::RuleSet::builtin().unwrap());
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut compared = 0;
        for case in 0..60 {
            let t = tempfile::tempdir().unwrap();
            let root = t.path().join("repo");
            std::fs::create_dir_all(&root).unwrap();
            git_ok(&root, &["init", "-q"]);
            let lines = |rng: &mut Rng| -> String {
                (0..1 + rng.below(4))
                    .map(|_| format!("{}\n", rng.pick(LINES)))
                    .collect()
            };
            if rng.below(3) == 0 {
                let text = lines(&mut rng);
                std::fs::write(root.join(".git/info/exclude"), text).unwrap();
            }
            // An excludes file of the repository's own: the walk does not
            // read it, so it must leave the question to libgit2.
            let own_excludes = rng.below(6) == 0;
            if own_excludes {
                let file = t.path().join("excludes");
                std::fs::write(&file, ".env\n").unwrap();
                git_ok(
                    &root,
                    &["config", "core.excludesFile", &file.to_string_lossy()],
                );
            }
            let mut dirs = vec![root.clone()];
            for _ in 0..10 {
                let parent = dirs[rng.below(dirs.len())].clone();
                let dir = parent.join(rng.pick(NAMES));
                std::fs::create_dir_all(&dir).unwrap();
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
            for dir in &dirs {
                if rng.below(5) < 3 {
                    std::fs::write(dir.join("package.json"), "{}").unwrap();
                }
                if rng.below(5) < 2 {
                    std::fs::write(dir.join(".gitignore"), lines(&mut rng)).unwrap();
                }
                if rng.below(4) == 0 {
                    let text = format!(
                        "{}\n",
                        rng.pick(&["!.env", "!a/", "!node_modules/", "!build/", ".env.local"])
                    );
                    std::fs::write(dir.join(".ignore"), text).unwrap();
                }
                if dir != &root && rng.below(5) == 0 {
                    git_ok(dir, &["init", "-q"]);
                }
            }
            let opts = crate::source::tree::TreeOptions {
                roots: vec![root.clone()],
                no_ignore: false,
                build_dirs: false,
                threads: 2,
                chunk: crate::scan::MIN_CHUNK,
            };
            let inputs = crate::source::tree::scan(&opts, &matcher).unwrap().facts;
            let canon_tmp = t.path().canonicalize().unwrap();
            for (walked, cover) in &inputs.covers {
                let top = cover.top.canonicalize().unwrap();
                assert!(
                    !(own_excludes && top == root.canonicalize().unwrap()),
                    "case {case}: an answer for a repository with its own excludes file"
                );
                let dir = walked.canonicalize().unwrap();
                let rel = slash_path(dir.strip_prefix(&top).unwrap());
                assert!(top.starts_with(&canon_tmp), "{top:?}");
                let mut asked: Vec<String> = PROBES.iter().map(|p| join_display(&rel, p)).collect();
                // The folder without a trailing `/`: git then looks at what
                // it is, as `git add` does (with the `/`, `app/**` matches
                // `app/` itself, which `git add` never asks).
                if !rel.is_empty() {
                    asked.push(rel.clone());
                }
                let out = std::process::Command::new("git")
                    .args(["check-ignore", "--no-index", "--stdin"])
                    .current_dir(&top)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .and_then(|mut c| {
                        use std::io::Write;
                        c.stdin
                            .take()
                            .unwrap()
                            .write_all(asked.join("\n").as_bytes())?;
                        c.wait_with_output()
                    })
                    .unwrap();
                let ignored: Vec<&str> =
                    std::str::from_utf8(&out.stdout).unwrap().lines().collect();
                let git_excluded = !rel.is_empty() && ignored.contains(&rel.as_str());
                let git_unignored: Vec<&str> = PROBES
                    .iter()
                    .copied()
                    .filter(|p| !ignored.contains(&join_display(&rel, p).as_str()))
                    .collect();
                let files = |d: &Path| {
                    ["", ".gitignore", ".ignore"]
                        .iter()
                        .filter_map(|n| {
                            std::fs::read_to_string(d.join(n))
                                .ok()
                                .map(|t| format!("{n}: {t:?}"))
                        })
                        .collect::<Vec<_>>()
                };
                let why = || {
                    format!(
                        "case {case}, folder `{rel}` of {top:?}; ignore files on the way: {:?}",
                        dir.ancestors()
                            .take_while(|a| a.starts_with(&top))
                            .map(|a| (a.to_path_buf(), files(a)))
                            .collect::<Vec<_>>()
                    )
                };
                assert_eq!(cover.excluded, git_excluded, "{}", why());
                assert_eq!(cover.unignored(), git_unignored, "{}", why());
                compared += 1;
            }
        }
        assert!(compared > 100, "only {compared} folders compared");
    }

    #[test]
    fn answers_from_the_walks_listings_equal_answers_from_the_file_system() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let git = crate::testing::git;
        write("package.json", "{}");
        write(".gitignore", "node_modules/\n.env\n");
        write(".env.local", "A=1\n");
        write("apps/web/package.json", "{}");
        write("apps/web/.env", "A=1\n");
        write("apps/api/package.json", "{}");
        write("apps/api/.gitignore", "!.env\n.env.production\n");
        write("apps/api/.env.example", "A=\n");
        write("apps/api/src/index.js", "x\n");
        write("apps/linked/package.json", "{}");
        std::os::unix::fs::symlink("/etc/hostname", root.join("apps/linked/.gitignore")).unwrap();
        write("node_modules/pkg/package.json", "{}");
        write("vendor/lib/package.json", "{}");
        write("vendor/lib/.env.staging", "A=1\n");
        git(&root, &["init", "-q"]);
        git(&root.join("vendor/lib"), &["init", "-q"]);
        git(
            &root,
            &["add", "-f", "package.json", ".gitignore", "apps/web/.env"],
        );

        let matcher = crate::scan::Matcher::new(crate::rules::RuleSet::builtin().unwrap());
        let roots = vec![root.clone()];
        let opts = crate::source::tree::TreeOptions {
            roots: roots.clone(),
            no_ignore: false,
            build_dirs: true,
            threads: 2,
            chunk: crate::scan::MIN_CHUNK,
        };
        let inputs = crate::source::tree::scan(&opts, &matcher).unwrap().facts;
        assert!(inputs.listed.len() >= 8, "{:?}", inputs.listed);
        let asked = TreeFacts::gather(&roots, &inputs.seen, &inputs.projects);
        let walked = Walked {
            listed: &inputs.listed,
            covers: &inputs.covers,
        };
        let listed = TreeFacts::gather_listed(&roots, &inputs.seen, &inputs.projects, walked, 2);
        assert!(!asked.gaps.is_empty() && !asked.files.is_empty());
        assert_eq!(listed.gaps, asked.gaps);
        assert_eq!(listed.files, asked.files);
        assert_eq!(listed.unread, asked.unread);
        assert_eq!(listed.no_git, asked.no_git);
    }

    #[test]
    fn ignore_lines_and_quoting() {
        let mut idx = ProjectIndex::new();
        idx.ensure_root("");
        idx.add_manifest("apps/web/package.json", None);
        assert_eq!(
            ignore_line("apps/web/config/.env.test", &idx),
            ("apps/web/.gitignore".into(), ".env.test".into())
        );
        assert_eq!(
            ignore_line("apps/web/config/keys.js", &idx),
            ("apps/web/.gitignore".into(), "config/keys.js".into())
        );
        assert_eq!(
            ignore_line("config/keys.js", &idx),
            (".gitignore".into(), "config/keys.js".into())
        );
        assert_eq!(shell_quote("a/.env"), "a/.env");
        assert_eq!(shell_quote("my app/.env"), "'my app/.env'");
        assert_eq!(shell_quote("it's/.env"), "'it'\\''s/.env'");
    }

    /// The quadratic definition `subtract_ancestors` replaced: every gap
    /// compared with every other.
    fn subtract_ancestors_reference(
        mut gaps: Vec<CoverageGap>,
        same_tree: impl Fn(&str, &str) -> bool,
    ) -> Vec<CoverageGap> {
        gaps.sort_by(|a, b| a.dir.cmp(&b.dir));
        let snapshot = gaps.clone();
        let is_below =
            |d: &str, anc: &str| d != anc && (anc.is_empty() || d.starts_with(&format!("{anc}/")));
        for gap in gaps.iter_mut() {
            for anc in &snapshot {
                if is_below(&gap.dir, &anc.dir) && same_tree(&anc.dir, &gap.dir) {
                    gap.missing.retain(|m| !anc.missing.contains(m));
                }
            }
        }
        let dirs: Vec<String> = snapshot.iter().map(|g| g.dir.clone()).collect();
        gaps.into_iter()
            .filter(|g| !g.missing.is_empty())
            .map(|mut g| {
                g.covers = dirs
                    .iter()
                    .filter(|d| is_below(d, &g.dir) && same_tree(&g.dir, d))
                    .cloned()
                    .collect();
                g
            })
            .collect()
    }

    #[test]
    fn subtracting_ancestors_by_lookup_matches_comparing_every_pair() {
        // Deterministic pseudo-random trees of roots, some in a second repository.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let names = ["a", "b", "apps", "web", "node_modules", "x-y", "a.b"];
        for _ in 0..200 {
            let mut dirs = std::collections::BTreeSet::new();
            for _ in 0..next(12) {
                let depth = next(4);
                let parts: Vec<&str> = (0..depth).map(|_| names[next(7) as usize]).collect();
                dirs.insert(parts.join("/"));
            }
            let gaps: Vec<CoverageGap> = dirs
                .iter()
                .map(|d| CoverageGap {
                    dir: d.clone(),
                    missing: PROBES.iter().copied().filter(|_| next(2) == 0).collect(),
                    covers: vec![],
                })
                .collect();
            // Roots under `b` belong to another repository.
            let same = |a: &str, b: &str| {
                (a == "b" || a.starts_with("b/")) == (b == "b" || b.starts_with("b/"))
            };
            assert_eq!(
                subtract_ancestors(gaps.clone(), same),
                subtract_ancestors_reference(gaps, same)
            );
        }
    }

    #[test]
    fn ancestors_cover_nested_roots() {
        let gap = |dir: &str, missing: &[&'static str]| CoverageGap {
            dir: dir.into(),
            missing: missing.to_vec(),
            covers: vec![],
        };
        let out = subtract_ancestors(
            vec![
                gap("apps/web", &[".env", ".env.local"]),
                gap("", &[".env"]),
                gap("apps/api", &[".env"]),
            ],
            |_, _| true,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].dir, "");
        assert_eq!(
            out[0].covers,
            vec!["apps/api".to_string(), "apps/web".to_string()]
        );
        assert_eq!(out[1].dir, "apps/web");
        assert_eq!(out[1].missing, vec![".env.local"]);
        // Different repositories: no subtraction.
        let out = subtract_ancestors(vec![gap("", &[".env"]), gap("sub", &[".env"])], |_, _| {
            false
        });
        assert_eq!(out.len(), 2);
    }
}
