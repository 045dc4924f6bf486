//! The parallel walk: folders are listed once each, on a small pool of
//! threads sharing one stack of jobs, and every regular file is handed to a
//! [`Visitor`] of the thread that reached it.
//!
//! Each folder is listed with one `getdents` loop, and everything the walk
//! needs comes from that listing: the kind of each entry (so links and
//! special files are never opened), which ignore files the folder has
//! ([`rules::Present`], so nothing is probed with `stat`), and whether it is a
//! repository's top. Files are opened by path, without `O_NOFOLLOW` ever
//! being lifted; folders are entered only through the entries of their
//! parent, never through a link, and `.git` is never entered.
//!
//! Jobs are folders, and batches of files of large folders, so a folder with
//! tens of thousands of files is shared between threads too. The stack is
//! last-in first-out: the walk goes depth-first and the pending work stays
//! small.

use super::rules::{self, Layer, Present, RootBase, Rules};
use super::visit::{Visitor, Walk};
use crate::fs::{Folder, Links};
use crate::index::Index;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

/// Files of one folder handled as one job.
const FILES_PER_JOB: usize = 64;

/// What to walk and how.
pub(super) struct Spec<'a> {
    /// Files and folders to walk (a link given here is followed).
    pub(super) roots: &'a [PathBuf],
    /// Apply ignore files (off for `--no-ignore` and for build output).
    pub(super) rules: bool,
    /// Entries with these names are never entered or read (`.git` always
    /// is one).
    pub(super) skip_names: &'a [&'a str],
    /// Worker threads (0 = one per core).
    pub(super) threads: usize,
}

enum Job {
    Dir {
        path: PathBuf,
        /// A scan root named on the command line (a link is followed).
        top: bool,
        layer: Option<Arc<Layer>>,
        root: usize,
        /// The folder is git-ignored and was entered for the files git
        /// tracks in it: only those are read.
        git_ignored: bool,
        /// Git's rules alone (whatever `.ignore` says) ignore the folder or
        /// one above it in its work tree: for [`Rules::dotenv_cover`].
        git_excluded: bool,
    },
    /// Files of a large folder, opened relative to it; `start`: where
    /// their names start in their paths ([`name_start`]).
    Files {
        folder: Arc<Folder>,
        start: usize,
        files: Vec<PathBuf>,
    },
}

/// The paths git tracks, per work tree, read (with keyscan's own index
/// reader) the first time the walk meets a git-ignored entry there.
///
/// Git never ignores a tracked file: a `.gitignore` that names a folder
/// whose files were committed anyway (a playground, a vendored `dist/`)
/// leaves them in every clone and every push. The walk reads them like any
/// file; what git does not track in such a folder stays unread.
#[derive(Default)]
struct Tracked {
    repos: Mutex<HashMap<PathBuf, Arc<OnceLock<Option<Index>>>>>,
}

impl Tracked {
    /// Whether git tracks `rel` (a file) or anything below it (a folder) in
    /// the work tree at `top`. `false` when the index cannot be read (a
    /// `.git` file, a damaged index): the entry stays ignored, as before.
    fn holds(&self, top: &Path, rel: &[u8], is_dir: bool) -> bool {
        let cell = {
            let mut repos = self.repos.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(repos.entry(top.to_path_buf()).or_default())
        };
        let index = cell.get_or_init(|| {
            let git_dir = top.join(".git");
            if !std::fs::symlink_metadata(&git_dir).is_ok_and(|m| m.is_dir()) {
                return None;
            }
            Index::read(&crate::index::default_path(&git_dir), &git_dir).ok()
        });
        index.as_ref().is_some_and(|ix| holds(ix, rel, is_dir))
    }
}

/// Whether index `ix` holds file `rel`, or (`is_dir`) a path below folder
/// `rel`. Entries are in path order, so this is one binary search.
fn holds(ix: &Index, rel: &[u8], is_dir: bool) -> bool {
    let mut key = rel.to_vec();
    if is_dir {
        key.push(b'/');
    }
    let at = ix.entries.partition_point(|e| ix.path(e) < key.as_slice());
    ix.entries.get(at).is_some_and(|e| {
        let p = ix.path(e);
        if is_dir {
            p.starts_with(&key)
        } else {
            p == key.as_slice()
        }
    })
}

/// The shared stack of jobs. A worker waits while the stack is empty and
/// others are busy (they may push more); the walk is over when the stack is
/// empty and nobody is busy.
struct Queue {
    /// Pending jobs, workers busy with one, and whether a worker panicked.
    state: Mutex<(Vec<Job>, usize, bool)>,
    ready: Condvar,
}

/// A job being worked on: done when dropped, also when the worker panics
/// (then every other worker stops instead of waiting for it forever, and
/// the panic reaches the caller).
struct Busy<'q>(&'q Queue);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.done(std::thread::panicking());
    }
}

impl Queue {
    fn next(&self) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.2 {
                return None;
            }
            if let Some(job) = state.0.pop() {
                state.1 += 1;
                return Some(job);
            }
            if state.1 == 0 {
                self.ready.notify_all();
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn push(&self, jobs: impl IntoIterator<Item = Job>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let before = state.0.len();
        state.0.extend(jobs);
        if state.0.len() > before {
            self.ready.notify_all();
        }
    }

    fn done(&self, panicked: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 -= 1;
        state.2 |= panicked;
        if panicked || (state.1 == 0 && state.0.is_empty()) {
            self.ready.notify_all();
        }
    }
}

/// Walks `spec.roots`, handing every file to the visitors of `walk`.
pub(super) fn run(spec: &Spec, walk: &Walk) {
    let mut first = Visitor::new(walk);
    let global = Arc::new(if spec.rules {
        rules::global(&mut |p| first.problem(p))
    } else {
        ignore::gitignore::Gitignore::empty()
    });
    let mut roots = Vec::new();
    let mut jobs = Vec::new();
    for r in spec.roots {
        let meta = match std::fs::metadata(r) {
            Ok(m) => m,
            Err(e) => {
                first.error(r, e);
                continue;
            }
        };
        if meta.is_dir() {
            first.dir(r);
            let base = RootBase {
                walked: r.clone(),
                canonical: spec.rules.then(|| r.canonicalize().ok()).flatten(),
            };
            let layer = if spec.rules {
                Layer::above(&base, &mut |p| first.problem(p))
            } else {
                None
            };
            roots.push(Rules {
                base,
                global: Arc::clone(&global),
            });
            jobs.push(Job::Dir {
                path: r.clone(),
                top: true,
                layer,
                root: roots.len() - 1,
                git_ignored: false,
                // The facts step checks each root with libgit2 before it
                // trusts the answers below it.
                git_excluded: false,
            });
        } else if meta.is_file() {
            // Named on the command line: read as given.
            first.file(r, true);
        } else {
            first.skip("special");
        }
    }
    drop(first);
    let queue = Queue {
        state: Mutex::new((jobs, 0, false)),
        ready: Condvar::new(),
    };
    let threads = crate::facts::workers(spec.threads, usize::MAX);
    let tracked = Tracked::default();
    let work = || {
        let mut v = Visitor::new(walk);
        while let Some(job) = queue.next() {
            let _busy = Busy(&queue);
            match job {
                Job::Dir {
                    path,
                    top,
                    layer,
                    root,
                    git_ignored,
                    git_excluded,
                } => {
                    let at = Place {
                        rules: &roots[root],
                        root,
                        git_ignored,
                        git_excluded,
                    };
                    list(spec, &at, &queue, &tracked, &mut v, (path, top), layer)
                }
                Job::Files {
                    folder,
                    start,
                    files,
                } => {
                    for f in &files {
                        v.listed_file(&folder, f, start);
                    }
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        work();
    });
}

/// Where the names of `dir`'s entries start in their paths
/// (`dir.join(name)`: after the separator `join` adds, if it adds one).
pub(super) fn name_start(dir: &Path) -> usize {
    dir.join("n").as_os_str().len() - 1
}

/// The name of an entry whose path is its folder's joined with it, found by
/// where names start ([`name_start`]) instead of parsing the path's
/// components again (several times per file, 1% of a walk's time).
pub(super) fn name_at(path: &Path, start: usize) -> &std::ffi::OsStr {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        std::ffi::OsStr::from_bytes(bytes.get(start..).unwrap_or_default())
    }
    #[cfg(not(unix))]
    {
        let _ = start;
        path.file_name().unwrap_or_default()
    }
}

/// Where a listed folder is: its root's rules, and whether git ignores it.
struct Place<'r> {
    rules: &'r Rules,
    root: usize,
    git_ignored: bool,
    git_excluded: bool,
}

/// Lists one folder: queues its sub-folders and large batches of its files,
/// and reads the rest.
fn list(
    spec: &Spec,
    at: &Place,
    queue: &Queue,
    tracked: &Tracked,
    v: &mut Visitor,
    (dir, top): (PathBuf, bool),
    layer: Option<Arc<Layer>>,
) {
    let rules = at.rules;
    // A folder found in the tree is never entered through a link, even one
    // swapped in since its parent was listed.
    let links = if top { Links::Follow } else { Links::Refuse };
    let folder = match Folder::open(&dir, links) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            v.error(&dir, e);
            return;
        }
    };
    let listing = folder.entries();
    for (name, e) in listing.errors {
        // A failing listing keeps the entries read before it; an entry whose
        // kind could not be learned is an error naming it.
        match name {
            Some(name) => v.error(&dir.join(name), e),
            None => v.error(&dir, e),
        }
    }
    let names = listing.entries;
    let mut entries = Vec::with_capacity(names.len());
    let mut present = Present::default();
    let start = name_start(&dir);
    for (name, kind) in names {
        // One allocation per entry: its path (the name is sliced from it).
        let path = dir.join(name);
        if spec.rules {
            present.see(name_at(&path, start), kind);
        }
        entries.push((path, kind));
    }
    let layer = if spec.rules {
        Layer::child(layer.as_ref(), &dir, &present, &mut |p| v.problem(p))
    } else {
        None
    };
    // A repository's top starts afresh: the rules of the work tree around
    // it do not apply inside it.
    let git_excluded = at.git_excluded && !present.repo_marker;
    if v.listed(&dir, &entries, start) && spec.rules {
        if let Some(cover) = rules.dotenv_cover(layer.as_ref(), &dir, git_excluded) {
            v.covered(&dir, cover);
        }
    }
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for (path, ft) in entries {
        let name = name_at(&path, start);
        if name == ".git" || spec.skip_names.iter().any(|n| name == *n) {
            continue;
        }
        let is_dir = ft.is_dir();
        let mut git_ignored = at.git_ignored;
        let mut excluded = git_excluded;
        if spec.rules {
            let d = rules.decide(layer.as_ref(), &path, is_dir);
            excluded |= d.git == Some(true);
            let ignored_by_git = match d.ignored {
                Some(true) if !d.by_git => continue,
                Some(false) if !d.by_git => false,
                Some(true) => true,
                _ => at.git_ignored,
            };
            if ignored_by_git {
                // Git ignores it: read only what git tracks there anyway.
                let is_tracked = rules
                    .git_scope(layer.as_ref(), &path)
                    .is_some_and(|(top, rel)| tracked.holds(&top, &rel, is_dir));
                if !is_tracked {
                    continue;
                }
                git_ignored = true;
            }
        }
        if is_dir {
            v.dir(&path);
            dirs.push(Job::Dir {
                path,
                top: false,
                layer: layer.clone(),
                root: at.root,
                git_ignored,
                git_excluded: excluded,
            });
        } else if ft.is_symlink() {
            v.skip("symlink");
        } else if ft.is_file() {
            files.push(path);
        } else {
            v.skip("special");
        }
    }
    let mut batches = Vec::new();
    while files.len() > FILES_PER_JOB {
        batches.push(Job::Files {
            folder: Arc::clone(&folder),
            start,
            files: files.split_off(files.len() - FILES_PER_JOB),
        });
    }
    queue.push(dirs.into_iter().chain(batches));
    for f in &files {
        v.listed_file(&folder, f, start);
    }
}

#[cfg(test)]
mod tests {
    use super::super::visit::{Found, Root};
    use super::*;
    use crate::rules::RuleSet;
    use crate::scan::{Matcher, MIN_CHUNK};
    use std::collections::BTreeSet;
    use std::path::Path;

    use crate::testing::Rng;

    const PATTERNS: &[&str] = &[
        "*.log",
        "!keep.log",
        "build/",
        "/top.txt",
        "a/**/b.txt",
        "sub",
        "!sub",
        "*.txt",
        "!*.md",
        "deep/*",
        "**/x",
        "[ab].js",
        "c?.js",
        "dir/",
        "!dir/",
        "nested/",
        "!b.txt",
        "/sub/",
        "*.js",
        "!a.js",
        "# comment",
        "",
        "x/",
        "!x",
        "README.md",
        "b",
    ];
    const FILES: &[&str] = &[
        "a.js",
        "b.txt",
        "keep.log",
        "x.log",
        "top.txt",
        "c1.js",
        "b.js",
        "README.md",
        "x",
        "b",
    ];
    const DIRS: &[&str] = &["sub", "build", "dir", "deep", "a", "b", "nested", "x"];
    const IGNORE_FILES: &[&str] = &[".gitignore", ".ignore", ".keyscanignore"];

    /// Writes a random tree of files, folders, ignore files and repository
    /// tops under `dir`.
    fn grow(rng: &mut Rng, dir: &Path, depth: usize) {
        std::fs::create_dir_all(dir).unwrap();
        if depth > 0 && rng.below(6) == 0 {
            std::fs::create_dir_all(dir.join(".git/info")).unwrap();
            if rng.below(2) == 0 {
                std::fs::write(dir.join(".git/info/exclude"), rng.pick(PATTERNS)).unwrap();
            }
        }
        for name in IGNORE_FILES {
            if rng.below(3) == 0 {
                let lines: Vec<&str> = (0..1 + rng.below(4)).map(|_| rng.pick(PATTERNS)).collect();
                std::fs::write(dir.join(name), lines.join("\n")).unwrap();
            }
        }
        for _ in 0..1 + rng.below(4) {
            let key = rng.key();
            let file = dir.join(rng.pick(FILES));
            if !file.is_dir() {
                std::fs::write(file, format!("k = \"{key}\"\n")).unwrap();
            }
        }
        if depth < 3 {
            for _ in 0..rng.below(3) {
                let sub = dir.join(rng.pick(DIRS));
                if !sub.is_file() {
                    grow(rng, &sub, depth + 1);
                }
            }
        }
    }

    /// The files the `ignore` crate's own walker reads, as keyscan set it
    /// up before it walked by itself.
    fn crate_walk(root: &Path) -> BTreeSet<String> {
        let mut files = BTreeSet::new();
        for e in ignore::WalkBuilder::new(root)
            .hidden(false)
            .follow_links(false)
            .add_custom_ignore_filename(".keyscanignore")
            .filter_entry(|e| e.file_name() != ".git")
            .build()
        {
            let e = e.unwrap();
            // Ignore files hold no key, so they leave no trace of the own walk.
            let keyless = IGNORE_FILES.iter().any(|n| e.file_name() == *n);
            if e.file_type().is_some_and(|t| t.is_file()) && !keyless {
                let rel = e.path().strip_prefix(root).unwrap();
                files.insert(crate::paths::slash_path(rel));
            }
        }
        files
    }

    /// The files keyscan's walk reads (each holds a key, so each is kept).
    fn own_walk(root: &Path, matcher: &Matcher, threads: usize) -> BTreeSet<String> {
        let merged = Mutex::new(Found::default());
        let roots = [Root {
            fs: root.to_path_buf(),
            display: String::new(),
        }];
        let walk = Walk {
            matcher,
            chunk: MIN_CHUNK,
            roots: &roots,
            ignored: false,
            merged: &merged,
        };
        let spec = Spec {
            roots: &[root.to_path_buf()],
            rules: true,
            skip_names: &[],
            threads,
        };
        run(&spec, &walk);
        let found = merged.into_inner().unwrap();
        assert!(found.stats.errors.is_empty(), "{:?}", found.stats.errors);
        found.blobs.into_iter().map(|b| b.path).collect()
    }

    #[test]
    fn a_worker_that_panics_stops_the_others_instead_of_leaving_them_waiting() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let queue = Queue {
                state: Mutex::new((
                    (0..2)
                        .map(|_| Job::Files {
                            folder: Arc::new(
                                Folder::open(&std::env::temp_dir(), Links::Follow).unwrap(),
                            ),
                            start: 0,
                            files: Vec::new(),
                        })
                        .collect(),
                    0,
                    false,
                )),
                ready: Condvar::new(),
            };
            let taken = std::sync::Barrier::new(2);
            let outcome = std::thread::scope(|s| {
                let waiter = s.spawn(|| {
                    let job = queue.next();
                    let _busy = Busy(&queue);
                    taken.wait();
                    drop(job);
                    // Busy with its job until the other panics; then its
                    // next call must not wait for the panicked worker.
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    drop(_busy);
                    queue.next().is_none()
                });
                let panicker = s.spawn(|| {
                    let _job = queue.next();
                    let _busy = Busy(&queue);
                    taken.wait();
                    panic!("a bug in a visitor");
                });
                let panicked = panicker.join().is_err();
                (panicked, waiter.join().unwrap())
            });
            tx.send(outcome).unwrap();
        });
        let outcome = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the walk hung after a worker panicked");
        assert_eq!(outcome, (true, true));
    }

    #[test]
    fn names_found_by_where_they_start_are_the_file_names() {
        let dirs = [".", "a", "a/", "/", "./x/", "deep/er/and deeper", "é"];
        let names = ["n", ".env", "package.json", "é.js", "a b"];
        for d in dirs {
            let dir = Path::new(d);
            let start = name_start(dir);
            for n in names {
                let path = dir.join(n);
                assert_eq!(name_at(&path, start), path.file_name().unwrap(), "{d} {n}");
            }
        }
    }

    #[test]
    fn tracked_lookups_tell_folders_from_names_that_share_a_prefix() {
        let t = tempfile::tempdir().unwrap();
        let top = t.path();
        for f in ["play-x/a.js", "play/b.js", "playground/c/d.js", "p", "z.js"] {
            let p = top.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let git = |args: &[&str]| crate::testing::git(top, args);
        git(&["init", "-q"]);
        git(&["add", "."]);
        let tracked = Tracked::default();
        let holds = |rel: &str, dir: bool| tracked.holds(top, rel.as_bytes(), dir);
        assert!(holds("play", true));
        assert!(holds("play-x", true));
        assert!(holds("playground", true) && holds("playground/c", true));
        assert!(!holds("playgr", true) && !holds("pla", true));
        assert!(holds("play/b.js", false) && holds("p", false) && holds("z.js", false));
        assert!(!holds("p", true) && !holds("play", false) && !holds("play/b", false));
        assert!(!holds("zz", true) && !holds("a", false));
        // No readable index (a `.git` file, a folder that is no repository):
        // nothing is taken as tracked.
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join(".git"), "gitdir: /nowhere\n").unwrap();
        assert!(!tracked.holds(other.path(), b"p", false));
    }

    #[test]
    fn walks_exactly_the_files_the_ignore_crate_walks_on_random_trees() {
        let matcher = Matcher::new(RuleSet::builtin().unwrap());
        let mut rng = Rng(0x5eed_0fca_7d06);
        for case in 0..240 {
            let t = tempfile::tempdir().unwrap();
            let root = t.path().join("tree");
            grow(&mut rng, &root, 0);
            if case % 2 == 0 {
                std::fs::create_dir_all(root.join(".git")).unwrap();
            }
            // Sometimes a folder below the top is walked: the ignore files
            // and repository tops above it apply too.
            let below = DIRS.iter().map(|d| root.join(d)).find(|d| d.is_dir());
            let walked = match below {
                Some(d) if case % 3 == 1 => d,
                _ => root.clone(),
            };
            let expected = crate_walk(&walked);
            let threads = 1 + case % 3;
            let got = own_walk(&walked, &matcher, threads);
            let extra: Vec<_> = got.difference(&expected).collect();
            let missing: Vec<_> = expected.difference(&got).collect();
            assert!(
                extra.is_empty() && missing.is_empty(),
                "case {case}: read but not by the crate {extra:?}, not read {missing:?}; tree:{}",
                describe(&root)
            );
        }
    }

    /// The tree's files and ignore files, for a failure message.
    fn describe(root: &Path) -> String {
        let mut out = String::new();
        for e in walkdir(root) {
            let rel = e.strip_prefix(root).unwrap();
            let name = e.file_name().unwrap().to_string_lossy();
            if name.starts_with('.') && e.is_file() {
                let text = std::fs::read_to_string(&e).unwrap_or_default();
                out.push_str(&format!("\n{}: {:?}", rel.display(), text));
            } else {
                out.push_str(&format!("\n{}", rel.display()));
            }
        }
        out
    }

    fn walkdir(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            out.push(p.clone());
            if p.is_dir() {
                out.extend(walkdir(&p));
            }
        }
        out
    }
}
