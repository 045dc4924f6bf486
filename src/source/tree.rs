//! The working-tree source: a parallel walk with the `ignore` crate.
//!
//! The walk respects `.gitignore`, `.ignore`, `.keyscanignore` and
//! `.git/info/exclude` (unless `--no-ignore`), scans hidden files (a secret
//! scanner that skips `.env` and `.github/` is no use), never descends into
//! `.git`, and never follows symlinks. Each worker thread owns a
//! [`Visitor`] — its read buffer, the blobs it matched, its counts — and
//! streams every file through [`Matcher::scan_reader`], so memory stays flat
//! however large a file is and no lock is taken per file; the visitors'
//! results are merged once, when the walk ends.
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
//!   `NEXT_PUBLIC_…` variable there is public. Such files are read; whether a
//!   key in them is correct usage is the judge's call.
//!
//! [`scan_listed`] reads files the facts step names (tracked secret files
//! the walk skipped because they match an ignore pattern).
//!
//! The source only enumerates and matches: which files git tracks or
//! ignores, what the project roots are and what a key means are decided by
//! [`crate::facts`] and [`crate::judge`].

use super::{FactInputs, ScanIssue, SourceOutput, SourceStats};
use crate::blob::ScannedBlob;
use crate::dotenv;
use crate::error::{Error, Result};
use crate::facts::project::{is_manifest, ProjectIndex, BUILD_DIRS};
use crate::facts::tree::{SeenFile, UnreadFile};
use crate::finding::Origin;
use crate::fs::open_regular;
use crate::paths::{parent_dir, root_displays, slash_path};
use crate::scan::{BlobScan, Matcher};
use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
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
        crate::paths::join_display(&self.display, &slash_path(rel))
    }
}

/// A manifest seen by the walk: display path, path on disk, content (package.json only).
type Manifest = (String, PathBuf, Option<Vec<u8>>);

/// What one worker (or the whole walk, once merged) found.
#[derive(Default)]
struct Found {
    blobs: Vec<ScannedBlob>,
    manifests: Vec<Manifest>,
    sensitive: Vec<SeenFile>,
    /// Build folders, dotenv files and manifests the walk reached, on disk.
    visited: Vec<PathBuf>,
    stats: SourceStats,
}

impl Found {
    fn merge(&mut self, other: Found) {
        self.blobs.extend(other.blobs);
        self.manifests.extend(other.manifests);
        self.sensitive.extend(other.sensitive);
        self.visited.extend(other.visited);
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
struct Walk<'m> {
    matcher: &'m Matcher,
    chunk: usize,
    roots: &'m [Root],
    /// Files reached past the ignore rules (build output, ignored dotenv).
    ignored: bool,
    merged: &'m Mutex<Found>,
}

impl Walk<'_> {
    fn display(&self, p: &Path) -> String {
        display_of(self.roots, p)
    }
}

/// The display path of `p`, under the deepest root that holds it.
fn display_of(roots: &[Root], p: &Path) -> String {
    let root = roots
        .iter()
        .filter(|r| p.starts_with(&r.fs))
        .max_by_key(|r| r.fs.as_os_str().len())
        .unwrap_or(&roots[0]);
    root.display_path(p)
}

/// One worker thread's state: nothing here is shared, so nothing is locked
/// while files are scanned.
struct Visitor<'w, 'm> {
    walk: &'w Walk<'m>,
    buf: Vec<u8>,
    found: Found,
}

impl<'s, 'm> ParallelVisitorBuilder<'s> for &'s Walk<'m> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            walk: self,
            buf: Vec::new(),
            found: Found::default(),
        })
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

impl ParallelVisitor for Visitor<'_, '_> {
    fn visit(&mut self, entry: std::result::Result<DirEntry, ignore::Error>) -> WalkState {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                walk_error(&mut self.found.stats, self.walk.matcher, &err, &|p| {
                    self.walk.display(p)
                });
                return WalkState::Continue;
            }
        };
        // Problems with a directory's ignore files ride on its entry.
        if let Some(err) = entry.error() {
            walk_error(&mut self.found.stats, self.walk.matcher, err, &|p| {
                self.walk.display(p)
            });
        }
        let Some(ft) = entry.file_type() else {
            return WalkState::Continue;
        };
        if ft.is_dir() {
            let name = entry.file_name().to_string_lossy();
            if BUILD_DIRS.contains(&name.as_ref()) {
                self.found.visited.push(entry.path().to_path_buf());
            }
            return WalkState::Continue;
        }
        if ft.is_symlink() {
            self.found.stats.skip("symlink");
            return WalkState::Continue;
        }
        if !ft.is_file() {
            self.found.stats.skip("special");
            return WalkState::Continue;
        }
        let display = self.walk.display(entry.path());
        scan_file(
            self.walk.matcher,
            self.walk.chunk,
            &mut self.found,
            entry.path(),
            display,
            self.walk.ignored,
            &mut self.buf,
        );
        WalkState::Continue
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
fn walk_error(
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
fn file_error(stats: &mut SourceStats, matcher: &Matcher, path: String, message: String) {
    let message = matcher.redact_secrets(&message).into_owned();
    stats.skip("unreadable");
    stats.errors.push(ScanIssue { path, message });
}

/// Scans one regular file into `found`; `ignored` marks files reached past
/// the ignore rules.
fn scan_file(
    matcher: &Matcher,
    chunk: usize,
    found: &mut Found,
    fs_path: &Path,
    display: String,
    ignored: bool,
    buf: &mut Vec<u8>,
) {
    let name = fs_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let is_env = dotenv::is_dotenv_name(&name);
    let manifest = is_manifest(&name);
    if is_env || manifest {
        found.visited.push(fs_path.to_path_buf());
    }
    if is_env || dotenv::is_secret_file_path(&display) {
        found.sensitive.push(SeenFile {
            path: display.clone(),
            fs_path: fs_path.to_path_buf(),
        });
    }
    let result = (|| -> std::io::Result<Option<(BlobScan, Option<Vec<u8>>)>> {
        let Some(file) = open_regular(fs_path)? else {
            return Ok(None);
        };
        let small = file
            .metadata()
            .map(|m| m.len() <= SMALL_FILE_LIMIT)
            .unwrap_or(false);
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
            file_error(&mut found.stats, matcher, display, e.to_string());
            return;
        }
    };
    if manifest {
        let content = if name == "package.json" {
            bytes.clone()
        } else {
            None
        };
        found
            .manifests
            .push((display.clone(), fs_path.to_path_buf(), content));
    }
    let dotenv_bytes = if is_env { bytes } else { None };
    found.stats.shortfall(matcher, &display, &scan);
    add_scanned(found, display, Origin::File, ignored, scan, dotenv_bytes);
}

/// Counts a scanned blob and keeps it when it has matches (with its dotenv
/// entries when `dotenv_bytes` is given).
fn add_scanned(
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
    let merged = Mutex::new(Found::default());
    let mut walk = Walk {
        matcher,
        chunk: opts.chunk,
        roots: &roots,
        ignored: false,
        merged: &merged,
    };

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
    builder.build_parallel().visit(&mut &walk);

    // Project roots, from the manifests the walk saw.
    let mut projects = ProjectIndex::new();
    let manifests = std::mem::take(&mut merged.lock().unwrap().manifests);
    let mut root_dirs: Vec<(String, PathBuf)> = Vec::new();
    for (display, fs, content) in &manifests {
        projects.add_manifest(display, content.as_deref());
        let dir_display = parent_dir(display).to_string();
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
        let visited: HashSet<PathBuf> = merged.lock().unwrap().visited.iter().cloned().collect();
        let mut extra = Vec::new();
        for (dir_display, fs_dir) in &root_dirs {
            if !projects.get(dir_display).is_some_and(|f| f.javascript) {
                continue;
            }
            for name in BUILD_DIRS {
                let candidate = fs_dir.join(name);
                if candidate.is_dir() && !visited.contains(&candidate) {
                    extra.push(candidate);
                    build_dirs_scanned.push(crate::paths::join_display(dir_display, name));
                }
            }
        }
        if !extra.is_empty() {
            let mut b = base_builder(&extra, opts.threads);
            b.standard_filters(false)
                .hidden(false)
                .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "node_modules");
            walk.ignored = true;
            b.build_parallel().visit(&mut &walk);
        }
    }

    // Dotenv files in project roots that the walk skipped because git ignores
    // them; the facts step reads every root's dotenv files for project ids.
    let mut found = merged.into_inner().unwrap_or_else(|e| e.into_inner());
    let visited: HashSet<PathBuf> = found.visited.iter().cloned().collect();
    let mut root_dotenv = Vec::new();
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
            root_dotenv.push((dir_display.clone(), path.clone()));
            if !visited.contains(&path) && !opts.no_ignore {
                let display = display_of(&roots, &path);
                scan_file(
                    matcher, opts.chunk, &mut found, &path, display, true, &mut buf,
                );
            }
        }
    }

    let mut stats = found.stats;
    // The parallel walk's order is not the report's.
    build_dirs_scanned.sort();
    stats.build_dirs_scanned = build_dirs_scanned;
    stats.notes.sort();
    stats.notes.dedup();
    stats.errors.sort_by(|a, b| a.path.cmp(&b.path));
    let mut blobs = found.blobs;
    blobs.sort_by(|a, b| a.path.cmp(&b.path));
    let mut seen = found.sensitive;
    seen.sort_by(|a, b| a.path.cmp(&b.path));
    seen.dedup_by(|a, b| a.fs_path == b.fs_path);
    Ok(SourceOutput {
        blobs,
        stats,
        facts: FactInputs::Tree {
            projects,
            seen,
            root_dotenv,
        },
    })
}

/// Reads and scans files the facts step names — tracked secret-bearing
/// files the walk did not read — from disk, or from the index blob when the
/// file is gone from the work tree. Adds them to `out`.
pub fn scan_listed(files: &[UnreadFile], matcher: &Matcher, out: &mut SourceOutput) {
    let mut found = Found::default();
    for f in files {
        let bytes = if let Some(disk) = &f.disk {
            crate::fs::read_small(disk, u64::MAX).ok().flatten()
        } else if let Some((git_dir, oid)) = &f.blob {
            git2::Repository::open(git_dir)
                .and_then(|r| r.find_blob(*oid).map(|b| b.content().to_vec()))
                .ok()
        } else {
            None
        };
        let Some(bytes) = bytes else {
            found.stats.errors.push(ScanIssue {
                path: f.path.clone(),
                message: "tracked by git but could not be read".into(),
            });
            continue;
        };
        let scan = matcher.scan_bytes(&bytes);
        found.stats.shortfall(matcher, &f.path, &scan);
        let is_env = dotenv::is_dotenv_name(crate::paths::file_name(&f.path));
        add_scanned(
            &mut found,
            f.path.clone(),
            Origin::File,
            false,
            scan,
            is_env.then_some(bytes),
        );
    }
    let stats = &mut out.stats;
    stats.files_scanned += found.stats.files_scanned;
    stats.bytes_scanned += found.stats.bytes_scanned;
    for (k, v) in found.stats.files_skipped {
        *stats.files_skipped.entry(k).or_default() += v;
    }
    stats.errors.extend(found.stats.errors);
    stats.incomplete.extend(found.stats.incomplete);
    out.blobs.extend(found.blobs);
    out.blobs.sort_by(|a, b| a.path.cmp(&b.path));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use crate::scan::MIN_CHUNK;

    /// Scans one file the way a walk worker does; returns what it found.
    fn scan_one(matcher: &Matcher, path: &Path, display: &str) -> Found {
        let mut found = Found::default();
        scan_file(
            matcher,
            MIN_CHUNK,
            &mut found,
            path,
            display.into(),
            false,
            &mut Vec::new(),
        );
        found
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
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo is installed");
        assert!(made.success());
        // Opening a FIFO without a writer would block here forever.
        let st = scan_one(&matcher, &path, ".env").stats;
        assert!(st.errors.is_empty(), "{:?}", st.errors);
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
