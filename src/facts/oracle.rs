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
use crate::facts::tree::{Listed, ListedDir, PROBES as PROBE_NAMES};
use git2::{Oid, Repository};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
/// Maps keyed by paths and names, asked thousands of times per scan: a fast
/// hash (nothing here is keyed by an attacker's choice in a way that could
/// degrade more than this scan).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One git work tree.
struct GitTree {
    repo: Repository,
    /// Canonical work-tree path.
    workdir: PathBuf,
    /// Tracked secret-bearing and dotenv files: work-tree-relative path → blob
    /// id. Read from the index on first use (the coverage threads never ask).
    tracked: std::cell::OnceCell<HashMap<String, Oid>>,
    /// Parsed `.gitignore` per folder, for the negation workaround.
    cache: HashMap<PathBuf, Option<Gitignore>>,
    /// Per folder: `None` when it has no `.gitignore`, else what its rules
    /// allow ([`IgnoreFile`]).
    ignore_files: HashMap<PathBuf, Option<IgnoreFile>>,
    /// What the walk's listings showed.
    listed: Arc<Listed>,
    /// The same for `.git/info/exclude` and `core.excludesFile` together
    /// (read on first use).
    globals: Option<IgnoreFile>,
    /// Probe answers per chain of `.gitignore` folders (work tree down).
    shared: HashMap<Vec<PathBuf>, HashMap<&'static str, bool>>,
    /// libgit2's answers for folders (`rel/`).
    dirs_ignored: HashMap<String, Option<bool>>,
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
    /// What the walk's listings showed, by canonical folder.
    listed: Arc<Listed>,
    /// Device of each folder asked about (libgit2's discovery stops at a
    /// device boundary).
    devices: HashMap<PathBuf, Option<u64>>,
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
            by_dir: HashMap::default(),
            scan_dirs,
            no_git: Vec::new(),
            listed: Arc::default(),
            devices: HashMap::default(),
        }
    }

    /// These oracles, answering from the walk's listings where they can.
    pub fn with_listed(mut self, listed: Arc<Listed>) -> Self {
        self.listed = listed;
        self
    }

    /// What the walk's listing of folder `dir` (canonical) showed, if the
    /// walk listed it.
    pub fn listed(&self, dir: &Path) -> Option<ListedDir> {
        self.listed.get(dir).copied()
    }

    /// Whether libgit2's discovery could stop at `dir`: it has a `.git`
    /// (folder or file) or is itself a repository folder (which has a
    /// `HEAD`).
    fn may_hold_repository(&self, dir: &Path) -> bool {
        match self.listed.get(dir) {
            Some(l) => l.repo_marker,
            None => {
                dir.join(".git").symlink_metadata().is_ok()
                    || dir.join("HEAD").symlink_metadata().is_ok()
            }
        }
    }

    /// Whether two folders are on the same device; unknown counts as
    /// different. Each folder is asked once.
    fn same_device(&mut self, a: &Path, b: &Path) -> bool {
        let mut dev = |p: &Path| {
            *self
                .devices
                .entry(p.to_path_buf())
                .or_insert_with(|| device(p))
        };
        matches!((dev(a), dev(b)), (Some(x), Some(y)) if x == y)
    }

    /// The tree that answers for files in directory `dir` (canonical).
    ///
    /// Opening a repository reads its config and index, and
    /// `Repository::discover` stats `.git` in every folder up to the work
    /// tree: per project root, that was the bulk of a scan of a monorepo
    /// with a `node_modules`. So the answer is shared along the way up: a
    /// folder with no `.git` and no `HEAD` of its own (the only things
    /// libgit2's discovery stops at) on the same device as its parent gets
    /// the parent's answer, which is what `discover` would have found.
    pub fn tree_of_dir(&mut self, dir: &Path) -> TreeId {
        if let Some(id) = self.by_dir.get(dir) {
            return *id;
        }
        let mut passed: Vec<&Path> = Vec::new();
        let mut cur = dir;
        let found = loop {
            if self.may_hold_repository(cur) {
                break None;
            }
            passed.push(cur);
            let Some(parent) = cur.parent() else {
                break None;
            };
            if !self.same_device(cur, parent) {
                break None;
            }
            if let Some(id) = self.by_dir.get(parent) {
                break Some(*id);
            }
            cur = parent;
        };
        let id = match found {
            Some(id) => id,
            None => self.discover(dir),
        };
        for p in passed {
            self.by_dir.insert(p.to_path_buf(), id);
        }
        self.by_dir.insert(dir.to_path_buf(), id);
        id
    }

    /// What `Repository::discover` finds from `dir`, as a tree.
    fn discover(&mut self, dir: &Path) -> TreeId {
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
        id
    }

    /// A key that names the same tree in every [`Oracles`] of a scan (tree
    /// ids are per instance): the work tree, or the plain tree's root.
    pub fn tree_key(&self, tree: TreeId) -> (bool, PathBuf) {
        match tree {
            TreeId::Git(i) => (true, self.git[i].workdir.clone()),
            TreeId::Plain(i) => (false, self.plain[i].root.clone()),
        }
    }

    /// The tree that answers for the file at `path` (canonical).
    pub fn tree_of(&mut self, path: &Path) -> TreeId {
        self.tree_of_dir(path.parent().unwrap_or(path))
    }

    fn git_tree(&mut self, repo: Repository, workdir: PathBuf) -> TreeId {
        if let Some(i) = self.git.iter().position(|g| g.workdir == workdir) {
            return TreeId::Git(i);
        }
        self.git.push(GitTree {
            repo,
            workdir,
            tracked: std::cell::OnceCell::new(),
            cache: HashMap::default(),
            ignore_files: HashMap::default(),
            listed: Arc::clone(&self.listed),
            globals: None,
            shared: HashMap::default(),
            dirs_ignored: HashMap::default(),
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
            cache: HashMap::default(),
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

    /// Which of `names` git would not ignore in folder `dir` (canonical):
    /// those for which [`Oracles::is_ignored`] says `Some(false)`.
    ///
    /// A tree with a `node_modules` has thousands of project roots, and
    /// libgit2 answers each question by reading (and `stat`ing) the ignore
    /// files of every folder from the work tree down. Where it provably
    /// makes no difference, the answer is shared between folders with the
    /// same `.gitignore` files on their way up; see [`rules_sharing`].
    pub fn unignored_probes(
        &mut self,
        tree: TreeId,
        dir: &Path,
        names: &[&'static str],
    ) -> Vec<&'static str> {
        let chain = match tree {
            TreeId::Git(i) => self.git[i].shared_chain(dir),
            TreeId::Plain(_) => None,
        };
        let Some(chain) = chain else {
            return names
                .iter()
                .copied()
                .filter(|n| self.is_ignored(tree, &dir.join(n), false) == Some(false))
                .collect();
        };
        let TreeId::Git(i) = tree else {
            unreachable!("only git trees share answers")
        };
        // The chain's answers so far, looked up once (a chain hashes every
        // folder path in it).
        let known_all: Option<Vec<Option<bool>>> = self.git[i]
            .shared
            .get(&chain)
            .map(|m| names.iter().map(|n| m.get(n).copied()).collect());
        let mut out = Vec::new();
        for (k, &name) in names.iter().enumerate() {
            let known = known_all.as_ref().and_then(|a| a[k]);
            let ignored = match known {
                Some(v) => Some(v),
                None => {
                    let v = self.git[i].is_ignored(&dir.join(name), false);
                    if let Some(v) = v {
                        self.git[i]
                            .shared
                            .entry(chain.clone())
                            .or_default()
                            .insert(name, v);
                    }
                    v
                }
            };
            if ignored == Some(false) {
                out.push(name);
            }
        }
        out
    }

    /// The index's blob id for `path` (canonical) when git tracks it. Only
    /// dotenv and secret-bearing files are looked up.
    pub fn tracked(&self, tree: TreeId, path: &Path) -> Option<Oid> {
        let TreeId::Git(i) = tree else {
            return None;
        };
        let g = &self.git[i];
        let rel = crate::paths::slash_path(path.strip_prefix(&g.workdir).ok()?);
        g.tracked().get(&rel).copied()
    }

    /// Tracked dotenv and secret-bearing files of the git tree `tree` under
    /// folder `dir` (canonical), as canonical paths with their blob ids.
    pub fn tracked_under(&self, tree: TreeId, dir: &Path) -> Vec<(PathBuf, Oid)> {
        let TreeId::Git(i) = tree else {
            return Vec::new();
        };
        let g = &self.git[i];
        let mut out: Vec<(PathBuf, Oid)> = g
            .tracked()
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

/// The device of folder `p`, if it can be read.
#[cfg(unix)]
fn device(p: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    p.symlink_metadata().ok().map(|m| m.dev())
}

#[cfg(not(unix))]
fn device(_: &Path) -> Option<u64> {
    None
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

/// What the rules of an ignore file allow for sharing probe answers:
/// `None`, never; `Some(folders)`, the answer for a file named `N` directly
/// in a folder `D` can be shared by every such folder with the same ignore
/// files on its way up — provided libgit2 does not ignore `D` itself —
/// except when `D` is one of `folders` (relative to the ignore file's
/// folder, `/`-separated, `""` for that folder itself), where it is asked.
///
/// libgit2 decides `D/N` by the first ignore file (deepest first, then
/// `info/exclude`, then `core.excludesFile`) with a rule matching it, else
/// by what it says of `D/`. A rule without `/` matches the name alone:
/// the same answer in every `D`. A folder-only rule (`build/`) matches a file
/// only through a folder on its way, and that folder would make `D/` ignored.
/// A rule with a `/` inside is matched against the path from its file's
/// folder, so it depends on `D` — unless its last part is plain text that
/// is none of the probe names; and when the part before its last `/` is
/// plain text (`scripts/smoke/*`, `/.env`), it can only match files
/// directly in that one folder, which is returned. A negation (`!rule`) is
/// judged by the same test as its rule: it decides `D/N` only where its rule
/// matches `D/N`. (What a negation does to a *folder* on the way — git never
/// looks inside an excluded folder, libgit2 drops some negations — is in
/// libgit2's answer for `D/`, which must be "not ignored" for sharing, and in
/// the workaround of `GitTree::is_ignored`, which reads the same ignore
/// files for every folder of the chain.) Anything else (escapes, a `**` in
/// the last part, a wildcard before it) disables sharing for that chain:
/// the questions are asked one by one. Names are compared without regard
/// to case (`core.ignoreCase`), which can only ask more.
pub fn rules_sharing(text: &str, probes: &[&str]) -> Option<Sharing> {
    let mut except = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r').trim_end_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains('\\') {
            return None;
        }
        let line = line.strip_prefix('!').unwrap_or(line);
        let body = line.strip_suffix('/').unwrap_or(line);
        let dir_only = body.len() != line.len();
        if body.is_empty() || !body.contains('/') || dir_only {
            continue;
        }
        let (before, last) = body.rsplit_once('/').unwrap_or(("", body));
        if !last.is_empty() && !may_match_a_name(last, probes) {
            continue;
        }
        let before = before.strip_prefix('/').unwrap_or(before);
        let plain = |t: &str| !t.contains(['*', '?', '[']) && !t.split('/').any(str::is_empty);
        if last.is_empty() || last.contains("**") || !(before.is_empty() || plain(before)) {
            return None;
        }
        except.push(before.to_string());
    }
    Some(except)
}

/// Folders (relative to an ignore file's folder) where that file's rules
/// may single out a probe name; see [`rules_sharing`].
pub type Sharing = Vec<String>;

/// Whether `rules_sharing` allows sharing everywhere (no exceptions): used
/// by the tests.
#[cfg(test)]
fn rules_shareable(text: &str, probes: &[&str]) -> bool {
    rules_sharing(text, probes).is_some_and(|e| e.is_empty())
}

/// Whether the glob `part` (one path component) matches one of `names`, as
/// a `.gitignore` line would; `true` when it cannot be told.
fn may_match_a_name(part: &str, names: &[&str]) -> bool {
    if !part.contains(['*', '?', '[']) {
        return names.iter().any(|n| n.eq_ignore_ascii_case(part));
    }
    let mut b = GitignoreBuilder::new("/");
    if b.case_insensitive(true).is_err() || b.add_line(None, part).is_err() {
        return true;
    }
    match b.build() {
        Ok(gi) => names.iter().any(|n| !gi.matched(n, false).is_none()),
        Err(_) => true,
    }
}

/// What a `.gitignore` (or `info/exclude`, `core.excludesFile`) allows:
/// sharing probe answers ([`rules_sharing`]) and answering for folders
/// from their parent ([`NameMatch`]).
#[derive(Debug, Clone)]
struct IgnoreFile {
    sharing: Option<Sharing>,
    names: NameMatch,
}

impl IgnoreFile {
    fn parse(bytes: &[u8]) -> IgnoreFile {
        let text = String::from_utf8_lossy(bytes);
        IgnoreFile {
            sharing: rules_sharing(&text, PROBE_NAMES),
            names: match std::str::from_utf8(bytes) {
                Ok(text) => NameMatch::of(text),
                Err(_) => NameMatch::always(),
            },
        }
    }

    /// A file that cannot be read (or is no regular file): allows nothing.
    fn opaque() -> IgnoreFile {
        IgnoreFile {
            sharing: None,
            names: NameMatch::always(),
        }
    }

    /// Both files' rules.
    fn and(self, other: IgnoreFile) -> IgnoreFile {
        IgnoreFile {
            sharing: self.sharing.zip(other.sharing).map(|(mut a, b)| {
                a.extend(b);
                a
            }),
            names: NameMatch {
                always: self.names.always || other.names.always,
                globs: self
                    .names
                    .globs
                    .into_iter()
                    .chain(other.names.globs)
                    .collect(),
            },
        }
    }
}

/// Which folder names a rule of an ignore file may match.
///
/// libgit2 decides `D/` level by level, from `D` up: at each level, the
/// first ignore file (deepest first, then `info/exclude`, then
/// `core.excludesFile`, after its built-in `.git`) with a rule matching that
/// path decides; no match at any level is "not ignored". A rule matches a
/// path by its name (a rule without `/`) or by its whole path from the rule
/// file's folder, whose last part must then match the name — unless the
/// rule's last part has a `**`. So when no rule of the files that apply at
/// `D`'s level can match `D`'s name, libgit2's answer for `D/` is its answer
/// for the parent folder, which is cached: one question per distinct answer
/// instead of one per project root. Names are compared without regard to
/// case; escapes, `[…]`, `{`, tabs and `**` in a last part count as "may
/// match" (ask libgit2).
#[derive(Debug, Clone, Default)]
struct NameMatch {
    always: bool,
    globs: Vec<globset::GlobMatcher>,
}

impl NameMatch {
    fn always() -> NameMatch {
        NameMatch {
            always: true,
            globs: Vec::new(),
        }
    }

    fn of(text: &str) -> NameMatch {
        let mut m = NameMatch::default();
        for line in text.lines() {
            let line = line.trim_end_matches(' ');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix('!').unwrap_or(line);
            let body = line.strip_suffix('/').unwrap_or(line);
            let last = body.rsplit('/').next().unwrap_or(body);
            if last.is_empty()
                || last.contains(['\\', '[', '{', '}', '\t', '\r'])
                || last.contains("**")
            {
                return NameMatch::always();
            }
            let glob = globset::GlobBuilder::new(last)
                .case_insensitive(true)
                .literal_separator(true)
                .backslash_escape(false)
                .build();
            match glob {
                Ok(g) => m.globs.push(g.compile_matcher()),
                Err(_) => return NameMatch::always(),
            }
        }
        m
    }

    fn may_match(&self, name: &str) -> bool {
        self.always || self.globs.iter().any(|g| g.is_match(name))
    }
}

/// `.git/info/exclude` and `core.excludesFile` (or git's default
/// `$XDG_CONFIG_HOME/git/ignore`) of `repo`, as one [`IgnoreFile`] (their
/// rules are matched from the work tree).
fn globals_file(repo: &Repository) -> IgnoreFile {
    let mut files = vec![Some(repo.path().join("info").join("exclude"))];
    let configured = repo.config().ok().map(|c| c.get_path("core.excludesfile"));
    files.push(match configured {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) if e.code() == git2::ErrorCode::NotFound => {
            std::env::var_os("XDG_CONFIG_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
                .map(|c| c.join("git").join("ignore"))
        }
        _ => None,
    });
    let mut all = IgnoreFile::parse(b"");
    for f in files {
        let file = match f.map(|f| std::fs::read(&f)) {
            None => IgnoreFile::opaque(),
            Some(Ok(b)) => IgnoreFile::parse(&b),
            Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => IgnoreFile::parse(b""),
            Some(Err(_)) => IgnoreFile::opaque(),
        };
        all = all.and(file);
    }
    all
}

impl GitTree {
    /// The tracked secret-bearing and dotenv files, read once: with
    /// keyscan's own index reader (the staged scan's), which borrows every
    /// path where libgit2 copies each entry, and with libgit2 when it
    /// cannot read the index.
    fn tracked(&self) -> &HashMap<String, Oid> {
        self.tracked.get_or_init(|| {
            let mut tracked = HashMap::default();
            let mut keep = |path: &[u8], id: Oid| {
                let path = String::from_utf8_lossy(path);
                if interesting(&path) {
                    tracked.insert(path.into_owned(), id);
                }
            };
            let git_dir = self.repo.path();
            match crate::index::Index::read(&crate::index::default_path(git_dir), git_dir) {
                Ok(index) => {
                    for entry in &index.entries {
                        keep(index.path(entry), entry.id);
                    }
                }
                Err(_) => {
                    if let Ok(index) = self.repo.index() {
                        for entry in index.iter() {
                            keep(&entry.path, entry.id);
                        }
                    }
                }
            }
            tracked
        })
    }

    /// The folders between the work tree and `dir` (both included) that hold
    /// a `.gitignore`, when answers for files in `dir` can be shared with
    /// other folders of the same chain: libgit2 does not ignore `dir`, and
    /// every ignore file on the way allows it for `dir` ([`rules_sharing`]).
    fn shared_chain(&mut self, dir: &Path) -> Option<Vec<PathBuf>> {
        let rel = dir.strip_prefix(&self.workdir).ok()?.to_path_buf();
        let singled_out = |except: &Sharing, from: &Path| {
            let Ok(sub) = dir.strip_prefix(from) else {
                return true;
            };
            let sub = crate::paths::slash_path(sub);
            except.iter().any(|e| e.eq_ignore_ascii_case(&sub))
        };
        let workdir = self.workdir.clone();
        match &self.globals().sharing {
            Some(except) if !singled_out(except, &workdir) => {}
            _ => return None,
        }
        if self.libgit2_ignored(&rel, true) != Some(false) {
            return None;
        }
        let mut chain = Vec::new();
        let mut folder = self.workdir.clone();
        let mut parts = rel.components();
        loop {
            match &self.ignore_file(&folder) {
                None => {}
                Some(IgnoreFile {
                    sharing: Some(except),
                    ..
                }) if !singled_out(except, &folder) => chain.push(folder.clone()),
                Some(_) => return None,
            }
            match parts.next() {
                Some(c) => folder.push(c),
                None => return Some(chain),
            }
        }
    }

    /// The `.gitignore` of folder `f` (canonical), read once; `None` when
    /// there is none.
    fn ignore_file(&mut self, f: &Path) -> &Option<IgnoreFile> {
        let listed = self.listed.get(f).map(|l| l.gitignore);
        self.ignore_files.entry(f.to_path_buf()).or_insert_with(|| {
            let file = f.join(".gitignore");
            let kind = match listed {
                // The walk's listing said: no `stat`, and none at all when
                // there is no `.gitignore`.
                Some(None) => return None,
                Some(Some(false)) => return Some(IgnoreFile::opaque()),
                Some(Some(true)) => Ok(true),
                None => file.symlink_metadata().map(|m| m.is_file()),
            };
            match kind {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                // Opened without following a link, non-blocking, checked on
                // the handle.
                Ok(true) => Some(match crate::fs::read_small(&file, 16 * 1024 * 1024 + 1) {
                    Ok(Some(b)) if b.len() <= 16 * 1024 * 1024 => IgnoreFile::parse(&b),
                    _ => IgnoreFile::opaque(),
                }),
                _ => Some(IgnoreFile::opaque()),
            }
        })
    }

    /// `.git/info/exclude` and `core.excludesFile`, read once.
    fn globals(&mut self) -> &IgnoreFile {
        let repo = &self.repo;
        self.globals.get_or_insert_with(|| globals_file(repo))
    }

    fn libgit2_ignored(&mut self, rel: &Path, is_dir: bool) -> Option<bool> {
        if rel.as_os_str().is_empty() {
            return Some(false);
        }
        let mut key = crate::paths::slash_path(rel);
        if !is_dir {
            return self.repo.is_path_ignored(&key).ok();
        }
        key.push('/');
        // Folders are asked about again and again (each root, then the
        // coverage probes and the negation workaround's folder walk).
        if let Some(v) = self.dirs_ignored.get(&key) {
            return *v;
        }
        let v = match self.folder_by_parent(rel) {
            Some(parent) => self.libgit2_ignored(&parent, true),
            None => self.repo.is_path_ignored(&key).ok(),
        };
        self.dirs_ignored.insert(key, v);
        v
    }

    /// The parent of folder `rel` when libgit2's answer for `rel/` is its
    /// answer for the parent: no rule that applies at `rel`'s level can
    /// match its name ([`NameMatch`]).
    fn folder_by_parent(&mut self, rel: &Path) -> Option<PathBuf> {
        // libgit2 compares bytes (`?` is one byte): non-ASCII names are asked.
        let name = rel.file_name()?.to_str().filter(|n| n.is_ascii())?;
        let parent = rel.parent()?.to_path_buf();
        // libgit2's built-in rules: `.`, `..`, `.git`.
        if [".", "..", ".git"]
            .iter()
            .any(|b| b.eq_ignore_ascii_case(name))
        {
            return None;
        }
        if self.globals().names.may_match(name) {
            return None;
        }
        let mut folder = self.workdir.clone();
        let mut parts = parent.components();
        loop {
            if self
                .ignore_file(&folder)
                .as_ref()
                .is_some_and(|f| f.names.may_match(name))
            {
                return None;
            }
            match parts.next() {
                Some(c) => folder.push(c),
                None => return Some(parent),
            }
        }
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
    fn which_ignore_rules_let_probe_answers_be_shared() {
        let probes = crate::facts::tree::PROBES;
        let ok = |t: &str| rules_shareable(t, probes);
        // Bare names, folder-only rules, comments, paths ending in other names.
        assert!(ok(
            "# c\n\nnode_modules/\n.env\n*.local\n/target\n/etc/*.pyc\ndist\n"
        ));
        assert!(ok("packages/**/fixtures/**/.astro/\n**/node_modules\r\n"));
        // Negations are judged by their rule: bare names, and paths whose
        // last part is no probe name, do not depend on the folder.
        assert!(ok("!.env.example"));
        assert!(ok(
            "*.local\n!.env.local\n!**/glob-import/root/dir/node_modules\n!x/"
        ));
        assert!(ok(
            "!packages/astro/test/units/_temp-fixtures/package.json\n!"
        ));
        assert!(!ok("!apps/web/.env.local"));
        assert!(!ok("!/.env"));
        assert!(!ok("!keep/*"));
        // A path whose last part can be a probe name singles out the one
        // folder its plain-text part names; with wildcards before its last
        // part, or `**` in it, nothing is shared.
        let except = |t: &str| rules_sharing(t, probes);
        assert_eq!(
            except("/.env\n!/.env.local"),
            Some(vec!["".into(), "".into()])
        );
        assert_eq!(
            except("apps/web/.ENV.local\nscripts/smoke/*\n/x/y/.env*"),
            Some(vec![
                "apps/web".into(),
                "scripts/smoke".into(),
                "x/y".into()
            ])
        );
        assert_eq!(except("a/**/.env"), None);
        assert_eq!(except("a/**"), None);
        assert_eq!(except("a/.e**"), None);
        assert_eq!(except("a/b**"), Some(vec![]));
        assert_eq!(except("a//.env"), None);
        // Escapes, and paths whose last part can be a probe name.
        assert!(!ok("\\!.env"));
        assert!(!ok("\\#x"));
        assert!(!ok("/.env"));
        assert!(!ok("apps/web/.env.local"));
        assert!(!ok("apps/*/.env*"));
        assert!(!ok("scripts/smoke/*"));
        assert!(!ok("foo/**"));
    }

    #[test]
    fn shared_probe_answers_agree_with_asking_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let git = |args: &[&str]| crate::testing::git(&root, args);
        git(&["init", "-q"]);
        std::fs::write(
            root.join(".gitignore"),
            "node_modules/\n.env.local\n*.production\n/build\n",
        )
        .unwrap();
        let dirs = ["", "a", "a/b", "node_modules/x", "c", "c/d", "e", "e/f"];
        for d in dirs {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        // A nested file that ignores `.env`, one with a negation (not shared).
        std::fs::write(root.join("c/.gitignore"), ".env\n").unwrap();
        std::fs::write(root.join("e/.gitignore"), "!.env.local\n").unwrap();
        let probes = crate::facts::tree::PROBES;
        let mut shared = Oracles::new(vec![root.clone()]);
        for d in dirs {
            let path = root.join(d);
            let mut fresh = Oracles::new(vec![root.clone()]);
            let t = fresh.tree_of_dir(&path);
            let one_by_one: Vec<&str> = probes
                .iter()
                .copied()
                .filter(|p| fresh.is_ignored(t, &path.join(p), false) == Some(false))
                .collect();
            let t = shared.tree_of_dir(&path);
            assert_eq!(shared.unignored_probes(t, &path, probes), one_by_one, "{d}");
        }
        let t = shared.tree_of_dir(&root.join("c/d"));
        assert_eq!(
            shared.unignored_probes(t, &root.join("c/d"), probes),
            vec![
                ".env.development.local",
                ".env.production.local",
                ".env.staging"
            ]
        );
        let t = shared.tree_of_dir(&root.join("e/f"));
        assert!(shared
            .unignored_probes(t, &root.join("e/f"), probes)
            .contains(&".env.local"));
    }

    /// `git check-ignore`'s answer for each of `paths` (relative to `root`).
    fn git_ignored(root: &Path, paths: &[String]) -> Vec<bool> {
        use std::io::Write;
        let mut child = std::process::Command::new("git")
            .args(["check-ignore", "--stdin", "-z", "--no-index"])
            .current_dir(root)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("git is installed");
        let mut input = Vec::new();
        for p in paths {
            input.extend_from_slice(p.as_bytes());
            input.push(0);
        }
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        let ignored: std::collections::HashSet<&[u8]> = out
            .stdout
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .collect();
        paths
            .iter()
            .map(|p| ignored.contains(p.as_bytes()))
            .collect()
    }

    /// A fresh `git init` folder and its canonical path.
    fn new_git_tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        crate::testing::git(&root, &["init", "-q"]);
        (dir, root)
    }

    /// Writes `text` to `root/rel`, creating folders.
    fn write_file(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn shared_answers_under_negations_are_what_git_says() {
        let (_dir, root) = new_git_tree();
        let write = |rel: &str, text: &str| write_file(&root, rel, text);
        // Negations everywhere: bare names (shared), paths that end in no
        // probe name (shared), paths ending in a probe name (asked one by
        // one); nested files that negate what the root excludes (libgit2
        // drops a negation with no earlier rule in its own file), folders
        // excluded and re-included, and info/exclude.
        write(
            ".gitignore",
            "node_modules\n*.local\n!.env.development.local\n.env*\n!.env.staging\n\
             !**/fixtures/keep/node_modules\n/out/\n!/out/\nbuild/\n!packages/*/build/\n\
             apps/other/.env.staging\nlibs/x/y/*\n!/.env.production\n",
        );
        write("apps/.gitignore", "!.env.local\n");
        write("apps/web/.gitignore", ".env.staging\n!*.local\n");
        write(
            "apps/api/.gitignore",
            "!.env\n.env\n!deep/er/.env.production\n",
        );
        write("libs/.gitignore", "!node_modules/\n");
        write(
            "libs/x/.gitignore",
            ".env.production.local\n!.env.production.local\n",
        );
        write(".git/info/exclude", ".env.production\n!.env.production\n");
        let dirs = [
            "",
            "apps",
            "apps/web",
            "apps/web/src",
            "apps/api",
            "apps/api/deep/er",
            "apps/other",
            "libs",
            "libs/x",
            "libs/x/y",
            "libs/node_modules/pkg",
            "fixtures/keep/node_modules/pkg",
            "a/fixtures/keep/node_modules",
            "out",
            "out/sub",
            "packages/p/build",
            "packages/p/build/inner",
            "plain",
            "plain/deeper/still",
        ];
        for d in dirs {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let probes = crate::facts::tree::PROBES;
        let mut shared = Oracles::new(vec![root.clone()]);
        let mut compared = 0;
        for d in dirs {
            let path = root.join(d);
            let t = shared.tree_of_dir(&path);
            if shared.is_ignored(t, &path, true) != Some(false) {
                continue;
            }
            let rels: Vec<String> = probes
                .iter()
                .map(|p| {
                    if d.is_empty() {
                        p.to_string()
                    } else {
                        format!("{d}/{p}")
                    }
                })
                .collect();
            let by_git: Vec<&str> = probes
                .iter()
                .zip(git_ignored(&root, &rels))
                .filter(|(_, ignored)| !ignored)
                .map(|(p, _)| *p)
                .collect();
            assert_eq!(
                shared.unignored_probes(t, &path, probes),
                by_git,
                "in `{d}`"
            );
            compared += 1;
        }
        assert!(compared >= 14, "{compared} folders compared");
        // The chains with negations were shared, not asked one by one.
        let TreeId::Git(i) = shared.tree_of_dir(&root) else {
            panic!("a git tree")
        };
        assert!(
            shared.git[i].shared.len() >= 4,
            "{:?}",
            shared.git[i].shared.keys()
        );
    }

    #[test]
    fn folder_answers_from_the_parent_are_libgit2s() {
        let (_dir, root) = new_git_tree();
        let write = |rel: &str, text: &str| write_file(&root, rel, text);
        // Name rules, path rules, folder rules, negations (some libgit2
        // drops), wildcards, `**`, nested files and info/exclude.
        write(
            ".gitignore",
            "node_modules\nbuild/\n!keep/build/\n/top-only\npackages/*/tmp\nfix*/\n\
             !fixtures-kept/\ndocs/**/gen\nCase\n",
        );
        write("packages/.gitignore", "!node_modules\nout\n");
        write("packages/a/.gitignore", "deep/x/\n!deep/x/y/\n");
        write("odd/.gitignore", "[ab]c\nwild?\n\\#lit\n");
        write(".git/info/exclude", "excluded-by-info\n");
        let dirs = [
            "node_modules/p",
            "node_modules/p/q",
            "packages/node_modules/p",
            "packages/out",
            "packages/out/x",
            "packages/a/tmp",
            "packages/a/tmp/z",
            "packages/a/deep/x",
            "packages/a/deep/x/y",
            "packages/a/deep/x/y/z",
            "build/x",
            "keep/build",
            "keep/build/y",
            "top-only/a",
            "a/top-only",
            "fixtures/f",
            "fixtures-kept/f",
            "docs/a/b/gen",
            "docs/gen/x",
            "odd/ac",
            "odd/bc",
            "odd/cc",
            "odd/wild1",
            "odd/#lit",
            "case/x",
            "CASE",
            "excluded-by-info/x",
            "plain/a/b/c",
            "sub.git/x",
            "é/x",
        ];
        for d in dirs {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let mut o = Oracles::new(vec![root.clone()]);
        let TreeId::Git(i) = o.tree_of_dir(&root) else {
            panic!("a git tree")
        };
        let repo = Repository::open(&root).unwrap();
        let mut by_parent = 0;
        for d in dirs {
            // Every folder on the way, shallow first and deep first.
            let parts: Vec<&str> = d.split('/').collect();
            for n in (1..=parts.len()).rev().chain(1..=parts.len()) {
                let rel = parts[..n].join("/");
                let g = &mut o.git[i];
                by_parent += usize::from(g.folder_by_parent(Path::new(&rel)).is_some());
                assert_eq!(
                    g.libgit2_ignored(Path::new(&rel), true),
                    repo.is_path_ignored(format!("{rel}/")).ok(),
                    "{rel}/"
                );
            }
        }
        assert!(by_parent > 20, "{by_parent} answers from the parent");
    }

    /// The tracked dotenv and secret files, read with keyscan's own index
    /// reader, are libgit2's: every index version git writes, with
    /// conflicts, intent-to-add entries and files that are not interesting.
    #[test]
    fn tracked_files_are_what_libgit2_reads_from_the_index() {
        for version in ["2", "3", "4"] {
            let (_dir, root) = new_git_tree();
            let git = |args: &[&str]| crate::testing::git(&root, args);
            git(&["config", "index.version", version]);
            let files = [
                ".env",
                ".env.production",
                "apps/web/.env.local",
                "apps/web/.env.example",
                "apps/web/src/index.js",
                "deploy/secrets.json",
                "server/config/keys.js",
                "keys/server.pem",
                "README.md",
                "é/.env",
            ];
            for f in files {
                write_file(&root, f, &format!("{f}\n"));
            }
            git(&["add", "-A"]);
            write_file(&root, "later/.env", "x\n");
            git(&["add", "-N", "later/.env"]);
            let mut o = Oracles::new(vec![root.clone()]);
            let TreeId::Git(i) = o.tree_of_dir(&root) else {
                panic!("a git tree")
            };
            let ours = o.git[i].tracked().clone();
            let repo = Repository::open(&root).unwrap();
            let mut theirs = HashMap::default();
            for e in repo.index().unwrap().iter() {
                let path = String::from_utf8_lossy(&e.path).into_owned();
                if interesting(&path) {
                    theirs.insert(path, e.id);
                }
            }
            assert_eq!(ours, theirs, "index version {version}");
            assert!(ours.contains_key("é/.env") && ours.contains_key("later/.env"));
            assert!(ours.contains_key("server/config/keys.js"));
            assert!(
                !ours.contains_key("README.md") && ours.len() == 8,
                "{ours:?}"
            );
        }
    }

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
