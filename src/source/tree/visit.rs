//! One walk worker's job: open a file the walk lists, stream it through the
//! matcher, keep what matched — with per-thread state, merged once when the
//! worker is done — and turn the `ignore` crate's errors into summary notes
//! and errors.

use super::rules::Problem;
use super::SMALL_FILE_LIMIT;
use crate::blob::ScannedBlob;
use crate::dotenv;
use crate::facts::project::{is_manifest, BUILD_DIRS};
use crate::facts::tree::{DotenvCover, ListedDir, SeenFile};
use crate::finding::Origin;
use crate::fs::{
    open_listed, open_listed_in, open_regular, open_regular_in, EntryKind, Folder, Links,
};
use crate::paths::slash_path;
use crate::scan::{BlobScan, Matcher};
use crate::source::{ScanIssue, SourceStats};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One root and how its paths are displayed.
pub(super) struct Root {
    pub(super) fs: PathBuf,
    /// Prefix for display paths: empty for a single directory root.
    pub(super) display: String,
}

impl Root {
    pub(super) fn display_path(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.fs).unwrap_or(path);
        crate::paths::join_display(&self.display, &slash_path(rel))
    }
}

/// A manifest seen by the walk: display path, path on disk, the browser-app
/// dependency of a `package.json` (parsed on the worker thread).
pub(super) type Manifest = (String, PathBuf, Option<String>);

/// A folder and its dotenv files and build folders: name, path, kind.
pub(super) type Listing = (PathBuf, Vec<(String, PathBuf, EntryKind)>);

/// What one worker (or the whole walk, once merged) found.
#[derive(Default)]
pub(super) struct Found {
    pub(super) blobs: Vec<ScannedBlob>,
    pub(super) manifests: Vec<Manifest>,
    pub(super) sensitive: Vec<SeenFile>,
    /// Build folders, dotenv files and manifests the walk reached, on disk.
    pub(super) visited: Vec<PathBuf>,
    /// The dotenv files and build folders (name, path, kind) of every
    /// listed folder that holds a manifest.
    pub(super) listings: Vec<Listing>,
    /// Every folder listed, with what the facts step would ask of it.
    pub(super) dirs: Vec<(PathBuf, ListedDir)>,
    /// What git's rules say of the dotenv files of every listed folder
    /// that holds a manifest.
    pub(super) covers: Vec<(PathBuf, DotenvCover)>,
    pub(super) stats: SourceStats,
}

impl Found {
    pub(super) fn merge(&mut self, other: Found) {
        self.blobs.extend(other.blobs);
        self.manifests.extend(other.manifests);
        self.sensitive.extend(other.sensitive);
        self.visited.extend(other.visited);
        self.listings.extend(other.listings);
        self.dirs.extend(other.dirs);
        self.covers.extend(other.covers);
        let (a, b) = (&mut self.stats, other.stats);
        a.files_scanned += b.files_scanned;
        a.bytes_scanned += b.bytes_scanned;
        for (k, v) in b.files_skipped {
            *a.files_skipped.entry(k).or_default() += v;
        }
        a.errors.extend(b.errors);
        a.incomplete.extend(b.incomplete);
        a.notes.extend(b.notes);
    }
}

/// What every worker of one walk shares (read-only, but for the one merge
/// at the end).
pub(super) struct Walk<'m> {
    pub(super) matcher: &'m Matcher,
    pub(super) chunk: usize,
    pub(super) roots: &'m [Root],
    /// Files reached past the ignore rules (build output, ignored dotenv).
    pub(super) ignored: bool,
    pub(super) merged: &'m Mutex<Found>,
}

impl Walk<'_> {
    fn display(&self, p: &Path) -> String {
        display_of(self.roots, p)
    }
}

/// The display path of `p`, under the deepest root that holds it.
pub(super) fn display_of(roots: &[Root], p: &Path) -> String {
    // Asked for every file: with one root, every walked path is the root as
    // given, a `/` and the rest — a string prefix, no component walk needed.
    if let [root] = roots {
        if let (Some(whole), Some(prefix)) = (p.to_str(), root.fs.to_str()) {
            let rest = whole.strip_prefix(prefix).and_then(|rest| {
                if rest.is_empty() || prefix.ends_with('/') {
                    Some(rest)
                } else {
                    rest.strip_prefix('/')
                }
            });
            if let Some(rest) = rest.filter(|r| !r.starts_with('/')) {
                return crate::paths::join_display(&root.display, &slash_path(Path::new(rest)));
            }
        }
    }
    display_by_components(roots, p)
}

/// [`display_of`] by path components.
fn display_by_components(roots: &[Root], p: &Path) -> String {
    let root = roots
        .iter()
        .filter(|r| p.starts_with(&r.fs))
        .max_by_key(|r| r.fs.as_os_str().len())
        .unwrap_or(&roots[0]);
    root.display_path(p)
}

/// Whether an entry of a project root matters after the walk: a dotenv file
/// (project ids, ignored dotenv files) or a build-output folder.
pub(super) fn is_root_entry(name: &str) -> bool {
    dotenv::is_dotenv_name(name) || BUILD_DIRS.contains(&name)
}

/// One worker thread's state: nothing here is shared, so nothing is locked
/// while files are scanned. What it found is merged into the walk's when it
/// is dropped.
pub(super) struct Visitor<'w, 'm> {
    walk: &'w Walk<'m>,
    buf: Vec<u8>,
    found: Found,
}

impl<'w, 'm> Visitor<'w, 'm> {
    pub(super) fn new(walk: &'w Walk<'m>) -> Self {
        Visitor {
            walk,
            buf: Vec::new(),
            found: Found::default(),
        }
    }

    /// A folder the walk enters.
    pub(super) fn dir(&mut self, path: &Path) {
        let is_build_dir = path
            .file_name()
            .is_some_and(|n| BUILD_DIRS.iter().any(|b| n == *b));
        if is_build_dir {
            self.found.visited.push(path.to_path_buf());
        }
    }

    /// A folder's listing. The dotenv files and build folders of a folder
    /// with a manifest are kept (ignored ones included): the project-root
    /// checks after the walk need them, and listing those folders again
    /// costs thousands of system calls in a tree with a `node_modules`.
    /// Whether the folder holds a manifest (is a project root).
    /// `start`: where the names start in the entries' paths
    /// ([`super::walker::name_start`]).
    pub(super) fn listed(
        &mut self,
        dir: &Path,
        entries: &[(PathBuf, EntryKind)],
        start: usize,
    ) -> bool {
        let names = || {
            entries
                .iter()
                .filter_map(move |(p, ft)| Some((super::walker::name_at(p, start).to_str()?, *ft)))
        };
        self.found
            .dirs
            .push((dir.to_path_buf(), ListedDir::of(names())));
        if !names().any(|(n, _)| is_manifest(n)) {
            return false;
        }
        let wanted = names()
            .filter(|(n, _)| is_root_entry(n))
            .map(|(n, ft)| (n.to_string(), dir.join(n), ft))
            .collect();
        self.found.listings.push((dir.to_path_buf(), wanted));
        true
    }

    /// What git's rules say of the dotenv files of `dir`, a listed folder
    /// with a manifest (see [`super::rules::Rules::dotenv_cover`]).
    pub(super) fn covered(&mut self, dir: &Path, cover: DotenvCover) {
        self.found.covers.push((dir.to_path_buf(), cover));
    }

    /// An entry that is not read, counted by `why`.
    pub(super) fn skip(&mut self, why: &'static str) {
        self.found.stats.skip(why);
    }

    /// A folder or file that could not be listed or opened.
    pub(super) fn error(&mut self, path: &Path, e: std::io::Error) {
        let shown = self.walk.display(path);
        let shown = if shown.is_empty() { ".".into() } else { shown };
        file_error(
            &mut self.found.stats,
            self.walk.matcher,
            shown,
            e.to_string(),
        );
    }

    /// A problem with an ignore file: an invalid pattern, or a file not
    /// read (a link, a special file, over 16 MiB).
    pub(super) fn problem(&mut self, p: Problem) {
        match p {
            Problem::Pattern(err) => {
                walk_error(&mut self.found.stats, self.walk.matcher, &err, &|p| {
                    self.walk.display(p)
                })
            }
            Problem::NotRead { file, why } => {
                let shown = self.walk.display(&file);
                self.found.stats.notes.push(format!(
                    "`{shown}` {why}: not read; its ignore rules were not applied (more is scanned, never less)"
                ));
            }
        }
    }

    /// A regular file to scan; `named` for one given on the command line
    /// (a link there is followed).
    pub(super) fn file(&mut self, path: &Path, named: bool) {
        let walk = self.walk;
        let links = if named { Links::Follow } else { Links::Refuse };
        scan_file(
            walk.matcher,
            walk.chunk,
            &mut self.found,
            (path, links, None),
            &|| walk.display(path),
            self.walk.ignored,
            &mut self.buf,
        );
    }

    /// A regular file of a listed folder, opened relative to the open
    /// `folder` (`start`: where the name starts in `path`, see
    /// [`super::walker::name_start`]). Never through a link.
    pub(super) fn listed_file(&mut self, folder: &Folder, path: &Path, start: usize) {
        let walk = self.walk;
        let name = super::walker::name_at(path, start);
        scan_file(
            walk.matcher,
            walk.chunk,
            &mut self.found,
            (path, Links::Refuse, Some((folder, name))),
            &|| walk.display(path),
            self.walk.ignored,
            &mut self.buf,
        );
    }
}

impl Drop for Visitor<'_, '_> {
    fn drop(&mut self) {
        let found = std::mem::take(&mut self.found);
        if let Ok(mut merged) = self.walk.merged.lock() {
            merged.merge(found);
        }
    }
}

/// Records an error of the walk itself. The `ignore` crate nests them
/// (`WithPath`, `WithDepth`, `WithLineNumber`, `Partial`), so each leaf
/// is reported with the path and line it was tagged with.
///
/// A bad line in an ignore file (an invalid glob, bytes that are not
/// UTF-8) only drops ignore rules — more is scanned, never less — so it
/// becomes a note naming the file and line. Anything else (a directory
/// that cannot be listed, a root that vanished) lost part of the scan and
/// is an error.
pub(super) fn walk_error(
    stats: &mut SourceStats,
    matcher: &Matcher,
    err: &ignore::Error,
    display: &dyn Fn(&Path) -> String,
) {
    let mut leaves = Vec::new();
    walk_error_leaves(err, None, None, &mut leaves);
    for (path, line, leaf) in leaves {
        let path = path.map(display).unwrap_or_default();
        let in_ignore_file = line.is_some() || matches!(leaf, ignore::Error::Glob { .. });
        if in_ignore_file {
            let at = match line {
                Some(l) => format!("{path}:{l}"),
                None => path,
            };
            // A note can quote a line of a scanned `.gitignore`.
            let note = format!("{at}: ignore rule skipped: {leaf}");
            stats.notes.push(matcher.redact_secrets(&note).into_owned());
        } else {
            file_error(stats, matcher, path, leaf.to_string());
        }
    }
}

/// Records a file that could not be read.
pub(super) fn file_error(
    stats: &mut SourceStats,
    matcher: &Matcher,
    path: String,
    message: String,
) {
    let message = matcher.redact_secrets(&message).into_owned();
    stats.skip("unreadable");
    stats.errors.push(ScanIssue { path, message });
}

/// Scans one regular file into `found`; `ignored` marks files reached past
/// the ignore rules.
pub(super) fn scan_file(
    matcher: &Matcher,
    chunk: usize,
    found: &mut Found,
    (fs_path, links, folder): (&Path, Links, Option<(&Folder, &std::ffi::OsStr)>),
    display: &dyn Fn() -> String,
    ignored: bool,
    buf: &mut Vec<u8>,
) {
    let name = fs_path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let is_env = dotenv::is_dotenv_name(&name);
    let manifest = is_manifest(&name);
    // The display path is made only for files that need it (most files
    // have no match): one allocation or two per file saved.
    let named = is_env || manifest || name == "secrets.json" || name == "keys.js";
    let early = named.then(display);
    if is_env || manifest {
        found.visited.push(fs_path.to_path_buf());
    }
    if let Some(shown) = &early {
        if is_env || dotenv::is_secret_file_path(shown) {
            found.sensitive.push(SeenFile {
                path: shown.clone(),
                fs_path: fs_path.to_path_buf(),
            });
        }
    }
    let result = (|| -> std::io::Result<Option<(BlobScan, Option<Vec<u8>>)>> {
        if !(is_env || manifest) && links == Links::Refuse {
            // Neither the length nor a second look at the file's kind is
            // needed: see `open_listed`.
            let opened = match folder {
                Some((folder, name)) => open_listed_in(folder, name, fs_path)?,
                None => open_listed(fs_path)?,
            };
            let Some(file) = opened else {
                return Ok(None);
            };
            return Ok(Some((matcher.scan_reader(file, chunk, buf)?, None)));
        }
        let opened = match folder {
            Some((folder, name)) => open_regular_in(folder, name, fs_path)?,
            None => open_regular(fs_path, links)?,
        };
        let Some((file, len)) = opened else {
            return Ok(None);
        };
        let small = len <= SMALL_FILE_LIMIT;
        if (is_env || manifest) && small {
            let mut bytes = Vec::new();
            file.take(SMALL_FILE_LIMIT + 1).read_to_end(&mut bytes)?;
            let scan = matcher.scan_bytes(&bytes);
            Ok(Some((scan, Some(bytes))))
        } else {
            Ok(Some((matcher.scan_reader(file, chunk, buf)?, None)))
        }
    })();
    let (scan, bytes) = match result {
        Ok(Some(r)) => r,
        Ok(None) => {
            // Replaced by a FIFO, socket or device since it was listed.
            found.stats.skip("special");
            return;
        }
        Err(e) => {
            let shown = early.unwrap_or_else(display);
            file_error(&mut found.stats, matcher, shown, e.to_string());
            return;
        }
    };
    let needed = early.is_some() || !scan.matches.is_empty() || !scan.shortfall.is_empty();
    let shown = match early {
        Some(shown) => shown,
        None if needed => display(),
        // Counted only (`add_scanned` keeps nothing without matches).
        None => String::new(),
    };
    if manifest {
        let browser_app = if name == "package.json" {
            bytes
                .as_deref()
                .and_then(crate::facts::project::browser_app_of)
        } else {
            None
        };
        found
            .manifests
            .push((shown.clone(), fs_path.to_path_buf(), browser_app));
    }
    let dotenv_bytes = if is_env { bytes } else { None };
    found.stats.shortfall(matcher, &shown, &scan);
    add_scanned(found, shown, Origin::File, ignored, scan, dotenv_bytes);
}

/// Counts a scanned blob and keeps it when it has matches (with its dotenv
/// entries when `dotenv_bytes` is given).
pub(super) fn add_scanned(
    found: &mut Found,
    path: String,
    origin: Origin,
    ignored: bool,
    scan: BlobScan,
    dotenv_bytes: Option<Vec<u8>>,
) {
    if scan.binary {
        found.stats.skip("binary");
        return;
    }
    found.stats.files_scanned += 1;
    found.stats.bytes_scanned += scan.bytes;
    if scan.matches.is_empty() {
        return;
    }
    let dotenv = dotenv_bytes.map(|b| dotenv::parse_any(&b));
    found.blobs.push(ScannedBlob {
        path,
        origin,
        ignored,
        scan,
        dotenv,
        commit: None,
    });
}

/// The leaves of an `ignore` error tree, each with the innermost path and
/// line number it was tagged with.
fn walk_error_leaves<'e>(
    err: &'e ignore::Error,
    path: Option<&'e Path>,
    line: Option<u64>,
    out: &mut Vec<(Option<&'e Path>, Option<u64>, &'e ignore::Error)>,
) {
    match err {
        ignore::Error::Partial(errs) => {
            for e in errs {
                walk_error_leaves(e, path, line, out);
            }
        }
        ignore::Error::WithPath { path, err } => walk_error_leaves(err, Some(path), line, out),
        ignore::Error::WithLineNumber { line, err } => {
            walk_error_leaves(err, path, Some(*line), out)
        }
        ignore::Error::WithDepth { err, .. } => walk_error_leaves(err, path, line, out),
        leaf => out.push((path, line, leaf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::tests::mkfifo;
    use crate::rules::RuleSet;
    use crate::scan::MIN_CHUNK;

    /// Scans one file the way a walk worker does; returns what it found.
    fn scan_one(matcher: &Matcher, path: &Path, display: &str) -> Found {
        let mut found = Found::default();
        scan_file(
            matcher,
            MIN_CHUNK,
            &mut found,
            (path, Links::Refuse, None),
            &|| display.into(),
            false,
            &mut Vec::new(),
        );
        found
    }

    #[test]
    fn display_paths_by_string_prefix_equal_those_by_components() {
        for (fs, display) in [
            ("/r/tree", ""),
            ("tree", ""),
            ("./t/", ""),
            ("/", ""),
            ("/r/x", "x"),
        ] {
            let roots = [Root {
                fs: PathBuf::from(fs),
                display: display.into(),
            }];
            for rest in ["", "a", "a/b.js", "a/./b", ".env", "x//y", "a/"] {
                let p = PathBuf::from(format!("{fs}/{rest}"));
                assert_eq!(
                    display_of(&roots, &p),
                    display_by_components(&roots, &p),
                    "{p:?}"
                );
                let p = Path::new(fs).join(rest);
                assert_eq!(
                    display_of(&roots, &p),
                    display_by_components(&roots, &p),
                    "{p:?}"
                );
            }
            let elsewhere = Path::new("/elsewhere/f");
            assert_eq!(
                display_of(&roots, elsewhere),
                display_by_components(&roots, elsewhere)
            );
            let sibling = PathBuf::from(format!("{}x/f", fs.trim_end_matches('/')));
            assert_eq!(
                display_of(&roots, &sibling),
                display_by_components(&roots, &sibling)
            );
        }
    }

    #[test]
    fn a_file_that_vanished_after_listing_is_an_error_naming_it() {
        let rules = RuleSet::builtin().unwrap();
        let matcher = Matcher::new(rules);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.js");
        std::fs::write(&path, "listed, then deleted").unwrap();
        std::fs::remove_file(&path).unwrap();
        let st = scan_one(&matcher, &path, "src/gone.js").stats;
        assert_eq!(st.errors.len(), 1);
        assert_eq!(st.errors[0].path, "src/gone.js");
        assert!(
            st.errors[0].message.contains("No such file"),
            "{:?}",
            st.errors
        );
        assert_eq!(st.files_skipped.get("unreadable"), Some(&1));
        assert_eq!(st.files_scanned, 0);
    }

    #[test]
    fn a_file_swapped_for_a_fifo_is_skipped_without_blocking() {
        let rules = RuleSet::builtin().unwrap();
        let matcher = Matcher::new(rules);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        mkfifo(&path);
        // Opening a FIFO without a writer would block here forever.
        let st = scan_one(&matcher, &path, ".env").stats;
        assert!(st.errors.is_empty(), "{:?}", st.errors);
        assert_eq!(st.files_skipped.get("special"), Some(&1));
    }

    #[test]
    fn any_file_swapped_for_a_fifo_or_link_is_read_without_blocking_or_following() {
        let rules = RuleSet::builtin().unwrap();
        let matcher = Matcher::new(rules);
        let dir = tempfile::tempdir().unwrap();
        // Not a dotenv file or a manifest: opened without a second `fstat`.
        let fifo = dir.path().join("app.js");
        mkfifo(&fifo);
        let st = scan_one(&matcher, &fifo, "app.js").stats;
        assert!(st.errors.is_empty(), "{:?}", st.errors);
        assert_eq!(st.bytes_scanned, 0);
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.js");
        std::fs::write(&secret, "outside the tree").unwrap();
        let link = dir.path().join("lib.js");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let st = scan_one(&matcher, &link, "lib.js").stats;
        assert_eq!(st.files_scanned, 0);
        assert_eq!(st.bytes_scanned, 0);
        assert_eq!(st.files_skipped.get("special"), Some(&1));
    }

    #[test]
    fn ignore_file_problems_are_notes_and_walk_failures_errors() {
        let rules = RuleSet::builtin().unwrap();
        let matcher = Matcher::new(rules);
        let mut st = SourceStats::default();
        let bad_glob = ignore::Error::Partial(vec![
            ignore::Error::WithLineNumber {
                line: 3,
                err: Box::new(ignore::Error::Glob {
                    glob: Some("[z-a]".into()),
                    err: "invalid range".into(),
                }),
            }
            .with_path_for_test("/r/web/.gitignore"),
            ignore::Error::WithLineNumber {
                line: 7,
                err: Box::new(ignore::Error::Glob {
                    glob: Some("{a".into()),
                    err: "unclosed alternate group".into(),
                }),
            }
            .with_path_for_test("/r/web/.gitignore"),
        ]);
        let unlistable = ignore::Error::WithDepth {
            depth: 2,
            err: Box::new(
                ignore::Error::Io(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
                    .with_path_for_test("/r/web/private"),
            ),
        };
        let display = |p: &Path| slash_path(p.strip_prefix("/r").unwrap_or(p));
        walk_error(&mut st, &matcher, &bad_glob, &display);
        walk_error(&mut st, &matcher, &unlistable, &display);
        assert_eq!(st.notes.len(), 2, "{:?}", st.notes);
        assert!(
            st.notes[0].starts_with("web/.gitignore:3: ignore rule skipped:")
                && st.notes[0].contains("[z-a]"),
            "{:?}",
            st.notes
        );
        assert!(st.notes[1].starts_with("web/.gitignore:7:"));
        assert_eq!(st.errors.len(), 1);
        assert_eq!(st.errors[0].path, "web/private");
        assert_eq!(st.files_skipped.get("unreadable"), Some(&1));
    }

    trait WithPathForTest {
        fn with_path_for_test(self, p: &str) -> ignore::Error;
    }

    impl WithPathForTest for ignore::Error {
        fn with_path_for_test(self, p: &str) -> ignore::Error {
            ignore::Error::WithPath {
                path: PathBuf::from(p),
                err: Box::new(self),
            }
        }
    }
}
