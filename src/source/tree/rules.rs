//! The ignore rules of the tree walk: `.keyscanignore`, `.ignore`,
//! `.gitignore`, `.git/info/exclude` and git's global excludes file, with
//! the precedence of the `ignore` crate (and ripgrep), whose matcher
//! ([`Gitignore`]) decides each pattern.
//!
//! keyscan reads these files itself instead of letting the crate's walker
//! do it, for two reasons:
//!
//! - **safety**: the crate opens them through links and would read a
//!   `.gitignore -> /proc/self/environ` or `-> /proc/kmsg`. Here an ignore
//!   file is read only if its directory entry says it is a regular file, it
//!   is opened with `O_NOFOLLOW | O_NONBLOCK`, checked again on the handle,
//!   and read up to 16 MiB; anything else is named in a note and its rules
//!   are not applied (more is scanned, never less — git itself does not
//!   follow a `.gitignore` link);
//! - **cost**: which of these files a folder has is known from the folder's
//!   listing, so nothing is probed with `stat`, and a folder without one adds
//!   no layer.
//!
//! A [`Layer`] holds one folder's files; layers chain up to the scan root and,
//! above it, to the file system root (the crate's "parents": a scan of
//! `repo/src` applies `repo/.gitignore`). For one path, each kind of file is
//! asked from the nearest layer up and the first that has an opinion wins;
//! the kinds rank `.keyscanignore`, `.ignore`, `.gitignore`,
//! `info/exclude`, global. `.gitignore` and the excludes count only inside a
//! git (or jj) work tree, and only up to the nearest one: a nested
//! repository's files are not ruled by the outer repository's `.gitignore`.

use crate::facts::tree::{DotenvCover, PROBES};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The ignore files read in every folder, most authoritative first.
pub(super) const CUSTOM: &str = ".keyscanignore";
pub(super) const DOT_IGNORE: &str = ".ignore";
pub(super) const GITIGNORE: &str = ".gitignore";

/// Largest ignore file that is read.
pub(super) const MAX_IGNORE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The rules one folder adds.
#[derive(Debug, Default)]
pub(super) struct Layer {
    parent: Option<Arc<Layer>>,
    /// The folder: as walked, or absolute above the scan root.
    dir: PathBuf,
    /// A folder above the scan root: its matchers see absolute paths.
    above_root: bool,
    custom: Option<Gitignore>,
    dot_ignore: Option<Gitignore>,
    git: Option<Gitignore>,
    exclude: Option<Gitignore>,
    /// The folder is a work tree's top (`.git` or `.jj` in it).
    has_git: bool,
    /// Its `.git` is a folder (not a worktree's or submodule's `.git`
    /// file, whose `info/exclude` lives elsewhere).
    git_dir: bool,
    /// Its `.git/config` may name an excludes file of its own
    /// (`core.excludesFile`, or an `include` that could): git reads it, the
    /// walk reads only the user's global one.
    own_excludes: bool,
}

/// What the walk knows of one walk root, for the layers above it.
#[derive(Debug, Clone)]
pub(super) struct RootBase {
    /// The root as walked (paths below it start with it).
    pub(super) walked: PathBuf,
    /// Its canonical path, which the layers above the root match against.
    pub(super) canonical: Option<PathBuf>,
}

/// A problem met while reading ignore files: an error of the `ignore` crate
/// (an invalid pattern, tagged with file and line), or a file not read.
#[derive(Debug)]
pub(super) enum Problem {
    Pattern(ignore::Error),
    NotRead { file: PathBuf, why: &'static str },
}

/// How a folder's entry looks in its parent's listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Link,
    Other,
}

/// The ignore-relevant entries of one folder's listing.
#[derive(Debug, Default)]
pub(super) struct Present {
    pub(super) custom: Option<Kind>,
    pub(super) dot_ignore: Option<Kind>,
    pub(super) git: Option<Kind>,
    /// `.git` is a folder (its `info/exclude` is read).
    pub(super) git_dir: bool,
    /// `.git` (folder or file) or `.jj` is there.
    pub(super) repo_marker: bool,
}

impl Present {
    /// Notes one entry of the listing.
    pub(super) fn see(&mut self, name: &OsStr, ft: crate::fs::EntryKind) {
        let kind = || {
            if ft.is_symlink() {
                Kind::Link
            } else if ft.is_file() {
                Kind::File
            } else {
                Kind::Other
            }
        };
        match name.as_encoded_bytes() {
            b".keyscanignore" => self.custom = Some(kind()),
            b".ignore" => self.dot_ignore = Some(kind()),
            b".gitignore" => self.git = Some(kind()),
            b".git" => {
                self.repo_marker = true;
                self.git_dir = ft.is_dir();
            }
            b".jj" => self.repo_marker = true,
            _ => {}
        }
    }

    /// Whether the folder adds anything to the rules.
    fn adds_rules(&self) -> bool {
        self.custom.is_some() || self.dot_ignore.is_some() || self.git.is_some() || self.repo_marker
    }
}

impl Layer {
    /// The layer for folder `dir` below `parent`, from what its listing
    /// showed; `parent` itself when the folder adds no rules. Problems
    /// (invalid patterns, files not read) are handed to `problem`.
    pub(super) fn child(
        parent: Option<&Arc<Layer>>,
        dir: &Path,
        present: &Present,
        problem: &mut dyn FnMut(Problem),
    ) -> Option<Arc<Layer>> {
        if !present.adds_rules() {
            return parent.cloned();
        }
        Some(Arc::new(Self::read(parent, dir, present, false, problem)))
    }

    fn read(
        parent: Option<&Arc<Layer>>,
        dir: &Path,
        present: &Present,
        above_root: bool,
        problem: &mut dyn FnMut(Problem),
    ) -> Layer {
        let mut file = |name: &str, kind: Option<Kind>| {
            kind.and_then(|k| read_ignore_file(dir, &dir.join(name), k, problem))
        };
        let custom = file(CUSTOM, present.custom);
        let dot_ignore = file(DOT_IGNORE, present.dot_ignore);
        let git = file(GITIGNORE, present.git);
        let own_excludes =
            present.git_dir && config_may_name_excludes(&dir.join(".git").join("config"));
        let exclude = if present.git_dir {
            let path = dir.join(".git").join("info").join("exclude");
            // Absent in most clones; git never checks out `.git`, so a link
            // here was made by hand — not followed all the same.
            read_ignore_file(dir, &path, Kind::File, problem)
        } else {
            None
        };
        Layer {
            parent: parent.cloned(),
            dir: dir.to_path_buf(),
            above_root,
            custom,
            dot_ignore,
            git,
            exclude,
            has_git: present.repo_marker,
            git_dir: present.git_dir,
            own_excludes,
        }
    }

    /// The layers of the folders above a walk root (its canonical path's
    /// ancestors, top first): what the `ignore` crate calls parents. These
    /// few folders are probed by name, every name with one `lstat`.
    pub(super) fn above(root: &RootBase, problem: &mut dyn FnMut(Problem)) -> Option<Arc<Layer>> {
        let canonical = root.canonical.as_ref()?;
        let mut dirs: Vec<&Path> = canonical.ancestors().skip(1).collect();
        dirs.reverse();
        let mut layer: Option<Arc<Layer>> = None;
        for dir in dirs {
            let mut present = Present::default();
            for name in [CUSTOM, DOT_IGNORE, GITIGNORE, ".git", ".jj"] {
                if let Ok(m) = std::fs::symlink_metadata(dir.join(name)) {
                    present.see(OsStr::new(name), m.file_type().into());
                }
            }
            if present.adds_rules() {
                layer = Some(Arc::new(Self::read(
                    layer.as_ref(),
                    dir,
                    &present,
                    true,
                    problem,
                )));
            }
        }
        layer
    }
}

/// Whether a repository's `config` may name an excludes file (or include
/// another config that could): then only libgit2 knows git's rules. A
/// config that is not a regular file, unreadable or oversized counts as
/// may.
fn config_may_name_excludes(config: &Path) -> bool {
    const LIMIT: u64 = 1024 * 1024;
    match crate::fs::read_small(config, LIMIT) {
        Ok(Some(bytes)) if (bytes.len() as u64) < LIMIT => {
            let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
            text.contains("excludesfile") || text.contains("include")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // A link, a special file, an error: libgit2 decides.
        _ => true,
    }
}

/// Reads one ignore file into a matcher rooted at `dir`; `None` (and a
/// problem) when it is not read, `None` when it has no patterns or is gone
/// (`info/exclude` is absent from most clones).
fn read_ignore_file(
    dir: &Path,
    path: &Path,
    kind: Kind,
    problem: &mut dyn FnMut(Problem),
) -> Option<Gitignore> {
    let mut not_read = |why| {
        problem(Problem::NotRead {
            file: path.to_path_buf(),
            why,
        });
        None
    };
    match kind {
        Kind::Link => return not_read("is a symbolic link"),
        Kind::Other => return not_read("is not a regular file"),
        Kind::File => {}
    }
    let (file, len) = match crate::fs::open_regular(path, crate::fs::Links::Refuse) {
        Ok(Some(opened)) => opened,
        Ok(None) => return not_read("is not a regular file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(_) => return not_read("could not be read"),
    };
    if len > MAX_IGNORE_FILE_BYTES {
        return not_read("is larger than 16 MiB");
    }
    let mut bytes = Vec::new();
    if file
        .take(MAX_IGNORE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .is_err()
    {
        return not_read("could not be read");
    }
    if bytes.len() as u64 > MAX_IGNORE_FILE_BYTES {
        return not_read("is larger than 16 MiB");
    }
    let mut builder = GitignoreBuilder::new(dir);
    let mut errors = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let tag = |err: ignore::Error| ignore::Error::WithPath {
            path: path.to_path_buf(),
            err: Box::new(ignore::Error::WithLineNumber {
                line: i as u64 + 1,
                err: Box::new(err),
            }),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            // As the crate does: the rest of the file is not read.
            errors.push(tag(ignore::Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))));
            break;
        };
        // Git skips a byte-order mark at the start of the file.
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        if let Err(e) = builder.add_line(Some(path.to_path_buf()), line) {
            errors.push(tag(e));
        }
    }
    if !errors.is_empty() {
        problem(Problem::Pattern(ignore::Error::Partial(errors)));
    }
    match builder.build() {
        Ok(gi) if gi.is_empty() => None,
        Ok(gi) => Some(gi),
        Err(e) => {
            problem(Problem::Pattern(e));
            None
        }
    }
}

/// The rules that apply below one walk root.
pub(super) struct Rules {
    pub(super) base: RootBase,
    /// Git's global excludes (`core.excludesFile`), shared by every root.
    pub(super) global: Arc<Gitignore>,
}

/// What the rules say of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Decision {
    /// `Some(true)` ignored, `Some(false)` re-included by a `!` pattern,
    /// `None` no rule.
    pub(super) ignored: Option<bool>,
    /// The deciding rule is git's (`.gitignore`, `info/exclude`, global
    /// excludes), which a tracked file overrides; `.keyscanignore` and
    /// `.ignore` rules are the user's word to keyscan and always hold.
    pub(super) by_git: bool,
    /// What git's rules alone say, whatever `.keyscanignore` and `.ignore`
    /// say: `Some(true)` when `git add` would ignore the path itself (its
    /// folders are another question; see [`Rules::dotenv_cover`]).
    pub(super) git: Option<bool>,
}

impl Rules {
    /// What the rules say of `path` (below the root, as walked).
    pub(super) fn decide(&self, layer: Option<&Arc<Layer>>, path: &Path, is_dir: bool) -> Decision {
        let Some(nearest) = layer else {
            return Decision::default();
        };
        let chain = || std::iter::successors(Some(nearest), |l| l.parent.as_ref());
        let any_git = chain().any(|l| l.has_git);
        let (mut custom, mut dot_ignore, mut git, mut exclude) = (None, None, None, None);
        let mut saw_git = false;
        let mut absolute: Option<PathBuf> = None;
        for l in chain() {
            if l.above_root && absolute.is_none() {
                match self.absolute(path) {
                    Some(abs) => absolute = Some(abs),
                    None => break,
                }
            }
            let p: &Path = match (&absolute, l.above_root) {
                (Some(abs), true) => abs,
                _ => path,
            };
            let ask = |m: &Option<Gitignore>, slot: &mut Option<bool>| {
                if slot.is_none() {
                    *slot = m.as_ref().and_then(|m| verdict(m.matched(p, is_dir)));
                }
            };
            ask(&l.custom, &mut custom);
            ask(&l.dot_ignore, &mut dot_ignore);
            if any_git && !saw_git {
                ask(&l.git, &mut git);
                ask(&l.exclude, &mut exclude);
            }
            saw_git |= l.has_git;
        }
        let global = if any_git {
            verdict(self.global.matched(path, is_dir))
        } else {
            None
        };
        let git = git.or(exclude).or(global);
        match custom.or(dot_ignore) {
            Some(v) => Decision {
                ignored: Some(v),
                by_git: false,
                git,
            },
            None => Decision {
                ignored: git,
                by_git: true,
                git,
            },
        }
    }

    /// What git's rules say of the dotenv files a project root must keep
    /// out of git ([`PROBES`]), for folder `dir` (as walked, listed with
    /// `layer`) — the coverage question the facts step would otherwise put
    /// to libgit2 once per project root, reading every ignore file from the
    /// work tree down each time. `excluded`: git ignores `dir` or a folder
    /// above it in the same work tree (then every file in it is ignored:
    /// git never looks inside an ignored folder).
    ///
    /// `None` outside a work tree whose `.git` is a folder (a worktree's or
    /// submodule's `.git` file keeps `info/exclude` elsewhere, and a tree
    /// without git has no rules to read): the facts step asks libgit2.
    pub(super) fn dotenv_cover(
        &self,
        layer: Option<&Arc<Layer>>,
        dir: &Path,
        excluded: bool,
    ) -> Option<DotenvCover> {
        let top = std::iter::successors(layer, |l| l.parent.as_ref()).find(|l| l.has_git)?;
        if !top.git_dir || top.own_excludes {
            return None;
        }
        let mut unignored = 0u8;
        if !excluded {
            for (i, name) in PROBES.iter().enumerate() {
                if self.decide(layer, &dir.join(name), false).git != Some(true) {
                    unignored |= 1 << i;
                }
            }
        }
        let top = if top.above_root {
            top.dir.clone()
        } else {
            // Below the root, layers hold walked paths: made absolute the
            // way the root's own path is.
            self.absolute(&top.dir).unwrap_or_else(|| top.dir.clone())
        };
        Some(DotenvCover {
            top,
            excluded,
            unignored,
        })
    }

    /// The work tree whose git rules apply to `path` (the nearest folder up
    /// with a `.git`) and `path` relative to it, `/`-separated: where to ask
    /// whether git tracks it.
    pub(super) fn git_scope(
        &self,
        layer: Option<&Arc<Layer>>,
        path: &Path,
    ) -> Option<(PathBuf, Vec<u8>)> {
        let top = std::iter::successors(layer, |l| l.parent.as_ref()).find(|l| l.has_git)?;
        let rel = if top.above_root {
            self.absolute(path)?
                .strip_prefix(&top.dir)
                .ok()?
                .to_path_buf()
        } else {
            path.strip_prefix(&top.dir).ok()?.to_path_buf()
        };
        let rel = crate::paths::slash_path(&rel);
        Some((top.dir.clone(), rel.into_bytes()))
    }

    /// `path` (as walked) made absolute from the root's canonical path.
    fn absolute(&self, path: &Path) -> Option<PathBuf> {
        let canonical = self.base.canonical.as_ref()?;
        let rel = path.strip_prefix(&self.base.walked).ok()?;
        Some(canonical.join(rel))
    }
}

fn verdict<T>(m: Match<T>) -> Option<bool> {
    match m {
        Match::None => None,
        Match::Ignore(_) => Some(true),
        Match::Whitelist(_) => Some(false),
    }
}

/// Git's global excludes file, read once per scan; problems with it are
/// notes like any ignore file's.
pub(super) fn global(problem: &mut dyn FnMut(Problem)) -> Gitignore {
    let (gi, err) = Gitignore::global();
    if let Some(e) = err {
        problem(Problem::Pattern(e));
    }
    gi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(
        dir: &Path,
        files: &[(&str, &str)],
        parent: Option<&Arc<Layer>>,
    ) -> Option<Arc<Layer>> {
        let mut present = Present::default();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
            let ft = std::fs::symlink_metadata(dir.join(name))
                .unwrap()
                .file_type();
            present.see(OsStr::new(name), ft.into());
        }
        Layer::child(parent, dir, &present, &mut |p| panic!("{p:?}"))
    }

    #[test]
    fn precedence_nesting_and_repository_boundaries() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().to_path_buf();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("sub/inner/.git")).unwrap();
        let mut present = Present::default();
        present.see(
            OsStr::new(".git"),
            std::fs::metadata(root.join(".git"))
                .unwrap()
                .file_type()
                .into(),
        );
        std::fs::write(root.join(".gitignore"), "*.log\n!keep.log\nsecret/\n").unwrap();
        std::fs::write(root.join(".ignore"), "keep.log\n").unwrap();
        for n in [".gitignore", ".ignore"] {
            present.see(
                OsStr::new(n),
                std::fs::metadata(root.join(n)).unwrap().file_type().into(),
            );
        }
        let top = Layer::child(None, &root, &present, &mut |p| panic!("{p:?}"));
        let sub = layer(
            &root.join("sub"),
            &[(".keyscanignore", "!x.log\n")],
            top.as_ref(),
        );
        let mut inner_present = Present::default();
        inner_present.see(
            OsStr::new(".git"),
            std::fs::metadata(root.join("sub/inner/.git"))
                .unwrap()
                .file_type()
                .into(),
        );
        let inner = Layer::child(
            sub.as_ref(),
            &root.join("sub/inner"),
            &inner_present,
            &mut |p| panic!("{p:?}"),
        );
        let rules = Rules {
            base: RootBase {
                walked: root.clone(),
                canonical: None,
            },
            global: Arc::new(Gitignore::empty()),
        };
        let d = |l: &Option<Arc<Layer>>, p: &str, dir: bool| {
            rules.decide(l.as_ref(), &root.join(p), dir).ignored
        };
        assert_eq!(d(&top, "a.log", false), Some(true));
        // `.ignore` outranks `.gitignore`'s re-inclusion.
        assert_eq!(d(&top, "keep.log", false), Some(true));
        assert_eq!(d(&top, "secret", true), Some(true));
        assert_eq!(d(&top, "secret", false), None);
        // `.keyscanignore` outranks both.
        assert_eq!(d(&sub, "sub/x.log", false), Some(false));
        assert_eq!(d(&sub, "sub/y.log", false), Some(true));
        // A nested repository is not ruled by the outer `.gitignore`, but
        // `.keyscanignore` and `.ignore` still apply.
        assert_eq!(d(&inner, "sub/inner/y.log", false), None);
        assert_eq!(d(&inner, "sub/inner/x.log", false), Some(false));
        assert_eq!(d(&inner, "sub/inner/keep.log", false), Some(true));
        // Outside any repository, `.gitignore` is not applied.
        let plain = t.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        let alone = layer(&plain, &[(".gitignore", "*.js\n")], None);
        assert_eq!(
            rules
                .decide(alone.as_ref(), &plain.join("a.js"), false)
                .ignored,
            None
        );
    }

    #[test]
    fn unsafe_and_invalid_ignore_files_are_reported_not_read() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path();
        std::os::unix::fs::symlink("/proc/self/environ", dir.join(".gitignore")).unwrap();
        std::fs::write(dir.join(".ignore"), "ok.js\n{broken\n").unwrap();
        let mut present = Present::default();
        for n in [".gitignore", ".ignore"] {
            present.see(
                OsStr::new(n),
                std::fs::symlink_metadata(dir.join(n))
                    .unwrap()
                    .file_type()
                    .into(),
            );
        }
        let mut problems = Vec::new();
        let l = Layer::child(None, dir, &present, &mut |p| problems.push(p));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| matches!(
            p,
            Problem::NotRead { why: "is a symbolic link", file } if file.ends_with(".gitignore")
        )));
        let Some(Problem::Pattern(e)) = problems.iter().find(|p| matches!(p, Problem::Pattern(_)))
        else {
            panic!("{problems:?}")
        };
        assert!(e.to_string().contains("line 2"), "{e}");
        let rules = Rules {
            base: RootBase {
                walked: dir.to_path_buf(),
                canonical: None,
            },
            global: Arc::new(Gitignore::empty()),
        };
        // The valid line of `.ignore` still applies.
        assert_eq!(
            rules.decide(l.as_ref(), &dir.join("ok.js"), false).ignored,
            Some(true)
        );
    }
}
