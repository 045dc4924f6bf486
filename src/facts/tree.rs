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
    /// A dotenv file (not a template) that is a regular file.
    pub dotenv: bool,
}

impl ListedDir {
    /// What a folder's entries (name, kind) show.
    pub fn of<'a>(entries: impl IntoIterator<Item = (&'a str, std::fs::FileType)>) -> ListedDir {
        let mut marks = ListedDir::default();
        for (name, ft) in entries {
            match name {
                ".git" | "HEAD" => marks.repo_marker = true,
                ".gitignore" => marks.gitignore = Some(ft.is_file()),
                _ if ft.is_file()
                    && parser::is_dotenv_name(name)
                    && !parser::is_template_name(name) =>
                {
                    marks.dotenv = true
                }
                _ => {}
            }
        }
        marks
    }

    /// Lists `dir` for a folder the walk did not list; `None` if it cannot
    /// be listed.
    pub fn read(dir: &Path) -> Option<ListedDir> {
        let entries: Vec<(String, std::fs::FileType)> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .filter_map(|e| {
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    e.file_type().ok()?,
                ))
            })
            .collect();
        Some(ListedDir::of(
            entries.iter().map(|(n, ft)| (n.as_str(), *ft)),
        ))
    }
}

/// The folders the walk listed, by canonical path.
pub type Listed = HashMap<PathBuf, ListedDir, foldhash::fast::RandomState>;

/// The dotenv files every project root must have ignored.
pub const PROBES: &[&str] = &[
    ".env",
    ".env.local",
    ".env.development.local",
    ".env.production",
    ".env.production.local",
    ".env.staging",
];

/// The probes a project root is missing, after subtracting what an ancestor
/// root's lines will cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageGap {
    /// The project root, relative and `/`-separated (`""` for the scan root).
    pub dir: String,
    /// Probe names git would not ignore there.
    pub missing: Vec<&'static str>,
    /// A non-template dotenv file already exists in the folder.
    pub dotenv_exists: bool,
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
        Self::gather_listed(roots, seen_files, projects, &[], 0)
    }

    /// [`TreeFacts::gather`], with what the walk's listings showed
    /// (`(folder as walked, what it held)`): folders found there are not
    /// asked about again. `threads`: at most this many threads for the
    /// coverage check (`-j`; 0 = one per core).
    pub fn gather_listed(
        roots: &[PathBuf],
        seen_files: &[SeenFile],
        projects: &ProjectIndex,
        listed: &[(PathBuf, ListedDir)],
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
        let listed: std::sync::Arc<Listed> = std::sync::Arc::new(
            listed
                .iter()
                .filter_map(|(walked, marks)| {
                    let root = roots.iter().find(|r| walked.starts_with(&r.given))?;
                    let rel = walked.strip_prefix(&root.given).ok()?;
                    Some((root.canon.join(rel), *marks))
                })
                .collect(),
        );
        let mut oracles = Oracles::new(roots.iter().map(|r| r.canon.clone()).collect())
            .with_listed(std::sync::Arc::clone(&listed));
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
        let work = |oracles: &mut Oracles| {
            let mut out = Coverage::default();
            while let Some(run) = take() {
                out.extend(coverage(oracles, run));
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

/// Which of [`PROBES`] git would not ignore in each of `dirs` (display
/// folder, canonical folder).
fn coverage(oracles: &mut Oracles, dirs: &[(String, PathBuf)]) -> Coverage {
    let mut gaps = Vec::new();
    let mut tree_of_root = Vec::new();
    for (dir, fs_dir) in dirs {
        let listed = oracles.listed(fs_dir);
        if listed.is_none() && !fs_dir.is_dir() {
            continue;
        }
        let tree = oracles.tree_of_dir(fs_dir);
        tree_of_root.push((dir.clone(), oracles.tree_key(tree)));
        if oracles.is_ignored(tree, fs_dir, true) == Some(true) {
            continue;
        }
        let missing = oracles.unignored_probes(tree, fs_dir, PROBES);
        if missing.is_empty() {
            continue;
        }
        let dotenv_exists = listed
            .or_else(|| ListedDir::read(fs_dir))
            .is_some_and(|l| l.dotenv);
        gaps.push(CoverageGap {
            dir: dir.clone(),
            missing,
            dotenv_exists,
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

    #[test]
    fn answers_from_the_walks_listings_equal_answers_from_the_file_system() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let git = |dir: &Path, args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("git is installed")
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
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
        let listed =
            TreeFacts::gather_listed(&roots, &inputs.seen, &inputs.projects, &inputs.listed, 2);
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
                    dotenv_exists: next(2) == 0,
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
            dotenv_exists: false,
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
