//! The working-tree source: a parallel walk with the `ignore` crate.
//!
//! The walk respects `.gitignore`, `.ignore`, `.keyscanignore` and
//! `.git/info/exclude` (unless `--no-ignore`), scans hidden files (a secret
//! scanner that skips `.env` and `.github/` is no use), never descends into
//! `.git`, and never follows symlinks. Each worker thread keeps one read
//! buffer and streams every file through [`Matcher::scan_reader`], so memory
//! stays flat however large a file is.
//!
//! Two things a plain walk would miss are added afterwards, once the project
//! roots are known:
//!
//! - **build output**: `dist/`, `build/`, `.next/`, … next to a `package.json`
//!   are usually git-ignored, yet they are exactly where a key becomes public.
//!   Ignored ones are walked too (never `node_modules/`), and listed in the
//!   summary; `--no-build-dirs` turns this off.
//! - **ignored dotenv files** in project roots: `next build` and `vite build`
//!   read `.env.local` even though git ignores it, so a key in a
//!   `NEXT_PUBLIC_…` variable there is public. Such files are read; a key
//!   without an exposed prefix in them stays silent (correct usage).

use super::{ScanIssue, SeenFile, SourceOutput, SourceStats};
use crate::dotenv;
use crate::error::{Error, Result};
use crate::finding::Origin;
use crate::judge::project::{is_manifest, ProjectIndex, BUILD_DIRS};
use crate::judge::ScannedBlob;
use crate::scan::{BlobScan, Matcher};
use ignore::{WalkBuilder, WalkState};
use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Dotenv and manifest files larger than this are streamed like any file
/// instead of being parsed.
const SMALL_FILE_LIMIT: u64 = 4 * 1024 * 1024;

/// How to walk.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// Paths given on the command line (files or directories).
    pub roots: Vec<PathBuf>,
    /// Do not apply ignore files.
    pub no_ignore: bool,
    /// Also scan git-ignored build-output folders of web projects.
    pub build_dirs: bool,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Streaming buffer size.
    pub chunk: usize,
}

/// One root and how its paths are displayed.
struct Root {
    fs: PathBuf,
    /// Prefix for display paths: empty for a single directory root.
    display: String,
}

impl Root {
    fn display_path(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.fs).unwrap_or(path);
        let rel = slash_path(rel);
        match (self.display.is_empty(), rel.is_empty()) {
            (true, _) => rel,
            (false, true) => self.display.clone(),
            (false, false) => format!("{}/{rel}", self.display),
        }
    }
}

/// Each root with the prefix its display paths get: empty for a single
/// directory root (paths are relative to it), else the root as given.
pub fn root_displays(roots: &[PathBuf]) -> Vec<(PathBuf, String)> {
    let single_dir = roots.len() == 1 && roots[0].is_dir();
    roots
        .iter()
        .map(|r| {
            let display = if single_dir {
                String::new()
            } else {
                slash_path(r)
            };
            (r.clone(), display)
        })
        .collect()
}

/// A path with `/` separators and no leading `./`.
pub fn slash_path(p: &Path) -> String {
    let s: Vec<String> = p
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let joined = s.join("/");
    if p.has_root() {
        // The root component is "/" itself, so the join starts with "//".
        joined.replacen("//", "/", 1)
    } else {
        joined
    }
}

/// A manifest seen by the walk: display path, path on disk, content (package.json only).
type Manifest = (String, PathBuf, Option<Vec<u8>>);

/// Shared state of one walk.
struct Shared<'m> {
    matcher: &'m Matcher<'m>,
    chunk: usize,
    blobs: Mutex<Vec<ScannedBlob>>,
    manifests: Mutex<Vec<Manifest>>,
    sensitive: Mutex<Vec<SeenFile>>,
    visited: Mutex<HashSet<PathBuf>>,
    files: AtomicU64,
    bytes: AtomicU64,
    stats: Mutex<SourceStats>,
}

impl<'m> Shared<'m> {
    fn new(matcher: &'m Matcher<'m>, chunk: usize) -> Self {
        Shared {
            matcher,
            chunk,
            blobs: Mutex::new(Vec::new()),
            manifests: Mutex::new(Vec::new()),
            sensitive: Mutex::new(Vec::new()),
            visited: Mutex::new(HashSet::new()),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            stats: Mutex::new(SourceStats::default()),
        }
    }

    fn skip(&self, reason: &str) {
        self.stats.lock().unwrap().skip(reason);
    }

    fn error(&self, path: String, message: String) {
        let message = self.matcher.redact_secrets(&message).into_owned();
        let mut st = self.stats.lock().unwrap();
        st.skip("unreadable");
        st.errors.push(ScanIssue { path, message });
    }

    fn note(&self, note: String) {
        // A note can quote a line of a scanned `.gitignore`.
        let note = self.matcher.redact_secrets(&note).into_owned();
        self.stats.lock().unwrap().notes.push(note);
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
    fn walk_error(&self, err: &ignore::Error, display: &dyn Fn(&Path) -> String) {
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
                self.note(format!("{at}: ignore rule skipped: {leaf}"));
            } else {
                self.error(path, leaf.to_string());
            }
        }
    }

    /// Scans one regular file; `ignored` marks files git ignores.
    fn scan_file(&self, fs_path: &Path, display: String, ignored: bool, buf: &mut Vec<u8>) {
        let name = fs_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_env = dotenv::is_dotenv_name(&name);
        let manifest = is_manifest(&name);
        if is_env || manifest {
            self.visited.lock().unwrap().insert(fs_path.to_path_buf());
        }
        if is_env || dotenv::is_secret_file_path(&display) {
            self.sensitive.lock().unwrap().push(SeenFile {
                path: display.clone(),
                fs_path: fs_path.to_path_buf(),
            });
        }
        let result = (|| -> std::io::Result<Option<(BlobScan, Option<Vec<u8>>)>> {
            let file = open_regular(fs_path)?;
            let Some(file) = file else {
                return Ok(None);
            };
            let small = file
                .metadata()
                .map(|m| m.len() <= SMALL_FILE_LIMIT)
                .unwrap_or(false);
            if (is_env || manifest) && small {
                let mut bytes = Vec::new();
                file.take(SMALL_FILE_LIMIT + 1).read_to_end(&mut bytes)?;
                let scan = self.matcher.scan_bytes(&bytes);
                Ok(Some((scan, Some(bytes))))
            } else {
                Ok(Some((
                    self.matcher.scan_reader(file, self.chunk, buf)?,
                    None,
                )))
            }
        })();
        let (scan, bytes) = match result {
            Ok(Some(r)) => r,
            Ok(None) => {
                // Replaced by a FIFO, socket or device since it was listed.
                self.skip("special");
                return;
            }
            Err(e) => {
                self.error(display, e.to_string());
                return;
            }
        };
        if manifest {
            let content = if name == "package.json" {
                bytes.clone()
            } else {
                None
            };
            self.manifests
                .lock()
                .unwrap()
                .push((display.clone(), fs_path.to_path_buf(), content));
        }
        if scan.binary {
            self.skip("binary");
            return;
        }
        if scan.too_large_utf16 {
            self.skip("utf16_too_large");
            return;
        }
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(scan.bytes, Ordering::Relaxed);
        if scan.matches.is_empty() {
            return;
        }
        let dotenv_entries = match (&bytes, is_env) {
            (Some(b), true) => Some(dotenv::parse(
                &crate::scan::decode_utf16(b)
                    .map(String::into_bytes)
                    .unwrap_or_else(|| b.clone()),
            )),
            _ => None,
        };
        let blob = ScannedBlob {
            path: display,
            origin: Origin::File,
            ignored,
            scan,
            dotenv: dotenv_entries,
            commit: None,
        };
        self.blobs.lock().unwrap().push(blob);
    }

    /// Walks `builder`'s roots in parallel.
    fn walk(
        &self,
        builder: &WalkBuilder,
        root_of: &(dyn Fn(&Path) -> String + Sync),
        ignored: bool,
    ) {
        builder.build_parallel().run(|| {
            let mut buf = Vec::new();
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(e) => e,
                    Err(err) => {
                        self.walk_error(&err, root_of);
                        return WalkState::Continue;
                    }
                };
                // Problems with a directory's ignore files ride on its entry.
                if let Some(err) = entry.error() {
                    self.walk_error(err, root_of);
                }
                let Some(ft) = entry.file_type() else {
                    return WalkState::Continue;
                };
                if ft.is_dir() {
                    let name = entry.file_name().to_string_lossy();
                    if BUILD_DIRS.contains(&name.as_ref()) {
                        self.visited
                            .lock()
                            .unwrap()
                            .insert(entry.path().to_path_buf());
                    }
                    return WalkState::Continue;
                }
                if ft.is_symlink() {
                    self.skip("symlink");
                    return WalkState::Continue;
                }
                if !ft.is_file() {
                    self.skip("special");
                    return WalkState::Continue;
                }
                let display = root_of(entry.path());
                self.scan_file(entry.path(), display, ignored, &mut buf);
                WalkState::Continue
            })
        });
    }
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

/// Opens `path` for reading if it is (still) a regular file; `None` if it is
/// a FIFO, socket or device.
///
/// The walk already skips special files by their directory entry, but a file
/// can be swapped for a FIFO between listing and opening, and opening a FIFO
/// with no writer blocks forever. So the file is opened non-blocking (which
/// changes nothing for a regular file) and checked with `fstat` on the open
/// handle, which is what is actually read.
fn open_regular(path: &Path) -> std::io::Result<Option<File>> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path)?;
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    Ok(Some(file))
}

fn base_builder(roots: &[PathBuf], threads: usize) -> WalkBuilder {
    let mut b = WalkBuilder::new(&roots[0]);
    for r in &roots[1..] {
        b.add(r);
    }
    b.hidden(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(|e| e.file_name() != ".git");
    b
}

/// Walks the roots and scans every file.
pub fn scan(opts: &TreeOptions, matcher: &Matcher) -> Result<SourceOutput> {
    if opts.roots.is_empty() {
        return Err(Error::Usage("no path to scan".into()));
    }
    for r in &opts.roots {
        if let Err(e) = std::fs::symlink_metadata(r) {
            return Err(Error::Io {
                path: r.clone(),
                source: e,
            });
        }
    }
    let roots: Vec<Root> = root_displays(&opts.roots)
        .into_iter()
        .map(|(fs, display)| Root { fs, display })
        .collect();
    let root_of = |p: &Path| -> String {
        let root = roots
            .iter()
            .filter(|r| p.starts_with(&r.fs))
            .max_by_key(|r| r.fs.as_os_str().len())
            .unwrap_or(&roots[0]);
        root.display_path(p)
    };

    let shared = Shared::new(matcher, opts.chunk);

    let mut builder = base_builder(&opts.roots, opts.threads);
    builder
        .add_custom_ignore_filename(".keyscanignore")
        .git_ignore(!opts.no_ignore)
        .git_global(!opts.no_ignore)
        .git_exclude(!opts.no_ignore)
        .ignore(!opts.no_ignore)
        .parents(!opts.no_ignore);
    if opts.no_ignore {
        builder.standard_filters(false).hidden(false);
    }
    shared.walk(&builder, &root_of, false);

    // Project roots, from the manifests the walk saw.
    let mut projects = ProjectIndex::new();
    let manifests = std::mem::take(&mut *shared.manifests.lock().unwrap());
    let mut root_dirs: Vec<(String, PathBuf)> = Vec::new();
    for (display, fs, content) in &manifests {
        projects.add_manifest(display, content.as_deref());
        let dir_display = crate::judge::project::parent_dir(display).to_string();
        if let Some(parent) = fs.parent() {
            if !root_dirs.iter().any(|(d, _)| *d == dir_display) {
                root_dirs.push((dir_display, parent.to_path_buf()));
            }
        }
    }
    for r in &roots {
        if r.fs.is_dir() && !root_dirs.iter().any(|(d, _)| *d == r.display) {
            projects.ensure_root(&r.display);
            root_dirs.push((r.display.clone(), r.fs.clone()));
        }
    }

    // Ignored build output next to a package.json.
    let mut build_dirs_scanned = Vec::new();
    if opts.build_dirs && !opts.no_ignore {
        let visited = shared.visited.lock().unwrap().clone();
        let mut extra = Vec::new();
        for (dir_display, fs_dir) in &root_dirs {
            if !projects.get(dir_display).is_some_and(|f| f.javascript) {
                continue;
            }
            for name in BUILD_DIRS {
                let candidate = fs_dir.join(name);
                if candidate.is_dir() && !visited.contains(&candidate) {
                    extra.push(candidate);
                    build_dirs_scanned.push(if dir_display.is_empty() {
                        name.to_string()
                    } else {
                        format!("{dir_display}/{name}")
                    });
                }
            }
        }
        if !extra.is_empty() {
            let mut b = base_builder(&extra, opts.threads);
            b.standard_filters(false)
                .hidden(false)
                .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "node_modules");
            shared.walk(&b, &root_of, true);
        }
    }

    // Dotenv files in project roots that the walk skipped because git ignores
    // them; plus project ids from every root's dotenv files.
    let mut buf = Vec::new();
    for (dir_display, fs_dir) in &root_dirs {
        let Ok(entries) = std::fs::read_dir(fs_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !dotenv::is_dotenv_name(&name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            if let Ok(Some(file)) = open_regular(&path) {
                let mut bytes = Vec::new();
                let _ = file.take(SMALL_FILE_LIMIT).read_to_end(&mut bytes);
                // Windows tools write dotenv files as UTF-16.
                if let Some(text) = crate::scan::decode_utf16(&bytes) {
                    bytes = text.into_bytes();
                }
                for rule in &matcher.rules().rules {
                    if let Some(id) = rule.find_project_id(&bytes) {
                        projects.add_project_id(dir_display, rule.id(), &id);
                    }
                }
            }
            let seen = shared.visited.lock().unwrap().contains(&path);
            if !seen && !opts.no_ignore {
                shared.scan_file(&path, root_of(&path), true, &mut buf);
            }
        }
    }

    let mut stats = std::mem::take(&mut *shared.stats.lock().unwrap());
    stats.files_scanned = shared.files.load(Ordering::Relaxed);
    stats.bytes_scanned = shared.bytes.load(Ordering::Relaxed);
    // Manifests arrive in the parallel walk's order; reports must not.
    build_dirs_scanned.sort();
    stats.build_dirs_scanned = build_dirs_scanned;
    stats.notes.sort();
    stats.notes.dedup();
    // Whether git ignores each dotenv file is settled afterwards by the
    // audit's oracle (`audit::TreeAudit::prepare`), which asks git itself.
    let mut blobs = std::mem::take(&mut *shared.blobs.lock().unwrap());
    blobs.sort_by(|a, b| a.path.cmp(&b.path));
    let mut sensitive_files = std::mem::take(&mut *shared.sensitive.lock().unwrap());
    sensitive_files.sort_by(|a, b| a.path.cmp(&b.path));
    sensitive_files.dedup_by(|a, b| a.fs_path == b.fs_path);
    Ok(SourceOutput {
        blobs,
        projects,
        stats,
        sensitive_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use crate::scan::MIN_CHUNK;

    fn stats(shared: &Shared) -> SourceStats {
        shared.stats.lock().unwrap().clone()
    }

    #[test]
    fn a_file_that_vanished_after_listing_is_an_error_naming_it() {
        let rules = RuleSet::builtin().unwrap();
        let matcher = Matcher::new(&rules);
        let shared = Shared::new(&matcher, MIN_CHUNK);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.js");
        std::fs::write(&path, "listed, then deleted").unwrap();
        std::fs::remove_file(&path).unwrap();
        shared.scan_file(&path, "src/gone.js".into(), false, &mut Vec::new());
        let st = stats(&shared);
        assert_eq!(st.errors.len(), 1);
        assert_eq!(st.errors[0].path, "src/gone.js");
        assert!(
            st.errors[0].message.contains("No such file"),
            "{:?}",
            st.errors
        );
        assert_eq!(st.files_skipped.get("unreadable"), Some(&1));
        assert_eq!(shared.files.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_file_swapped_for_a_fifo_is_skipped_without_blocking() {
        let rules = RuleSet::builtin().unwrap();
        let matcher = Matcher::new(&rules);
        let shared = Shared::new(&matcher, MIN_CHUNK);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo is installed");
        assert!(made.success());
        // Opening a FIFO without a writer would block here forever.
        shared.scan_file(&path, ".env".into(), false, &mut Vec::new());
        let st = stats(&shared);
        assert!(st.errors.is_empty(), "{:?}", st.errors);
        assert_eq!(st.files_skipped.get("special"), Some(&1));
    }

    #[test]
    fn ignore_file_problems_are_notes_and_walk_failures_errors() {
        let rules = RuleSet::builtin().unwrap();
        let matcher = Matcher::new(&rules);
        let shared = Shared::new(&matcher, MIN_CHUNK);
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
        shared.walk_error(&bad_glob, &display);
        shared.walk_error(&unlistable, &display);
        let st = stats(&shared);
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
