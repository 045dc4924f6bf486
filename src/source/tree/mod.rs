//! The working-tree source: a parallel walk with the `ignore` crate.
//!
//! The walk respects `.gitignore`, `.ignore`, `.keyscanignore` and
//! `.git/info/exclude` (unless `--no-ignore`), scans hidden files (a secret
//! scanner that skips `.env` and `.github/` is no use), never descends into
//! `.git`, and never follows symlinks. Each worker thread owns a
//! `Visitor` — its read buffer, the blobs it matched, its counts — and
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

mod visit;

use super::{ScanIssue, SourceOutput, TreeInputs};
use crate::dotenv;
use crate::error::{Error, Result};
use crate::facts::project::{ProjectIndex, BUILD_DIRS};
use crate::facts::tree::UnreadFile;
use crate::finding::Origin;
use crate::paths::{parent_dir, root_displays};
use crate::scan::Matcher;
use ignore::WalkBuilder;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use visit::{add_scanned, display_of, scan_file, Found, Root, Walk};

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

/// The ignore files the walk reads in every folder.
const IGNORE_FILES: [&str; 3] = [".gitignore", ".ignore", ".keyscanignore"];

/// Largest ignore file the walk lets the `ignore` crate read.
const MAX_IGNORE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The ignore files in `dir` that must not be opened, and why: the `ignore`
/// crate opens them itself, following links and blocking on FIFOs, so a
/// `.gitignore -> /dev/zero` would be read forever, a FIFO would hang the
/// scan and a link to `/proc/self/environ` would put the CI job's
/// environment into the notes.
fn unsafe_ignore_files(dir: &Path) -> Vec<(&'static str, &'static str)> {
    IGNORE_FILES
        .iter()
        .filter_map(|&name| {
            let m = std::fs::symlink_metadata(dir.join(name)).ok()?;
            let why = if m.file_type().is_symlink() {
                "is a symbolic link"
            } else if !m.is_file() {
                "is not a regular file"
            } else if m.len() > MAX_IGNORE_FILE_BYTES {
                "is larger than 16 MiB"
            } else {
                return None;
            };
            Some((name, why))
        })
        .collect()
}

/// A walk filter that keeps `.git` out and sets aside (in `deferred`)
/// every folder with an ignore file the `ignore` crate must not open, before
/// the crate enters it.
fn guarded_filter(
    deferred: Arc<Mutex<Vec<PathBuf>>>,
) -> impl Fn(&ignore::DirEntry) -> bool + Send + Sync + 'static {
    move |e| {
        if e.file_name() == ".git" {
            return false;
        }
        if e.file_type().is_some_and(|t| t.is_dir()) && !unsafe_ignore_files(e.path()).is_empty() {
            deferred.lock().unwrap().push(e.path().to_path_buf());
            return false;
        }
        true
    }
}

/// Scans the folders set aside by [`guarded_filter`]: each folder's bad
/// ignore files are named, never opened, and its entries are walked as roots
/// of their own. The `ignore` crate reads the ignore files of every folder
/// above a root whenever `.gitignore` support is on, so these walks run
/// without `.gitignore` rules (`.ignore` and `.keyscanignore` below still
/// apply): more is scanned, never less. Folders below with bad ignore files
/// are set aside again.
fn scan_deferred(
    walk: &Walk,
    configure: &dyn Fn(&mut WalkBuilder),
    threads: usize,
    deferred: &Arc<Mutex<Vec<PathBuf>>>,
) {
    loop {
        let dirs = std::mem::take(&mut *deferred.lock().unwrap());
        if dirs.is_empty() {
            return;
        }
        let mut roots = Vec::new();
        {
            let mut merged = walk.merged.lock().unwrap();
            for dir in &dirs {
                let shown = display_of(walk.roots, dir);
                let shown = if shown.is_empty() { ".".into() } else { shown };
                // Named here; the walk counts the file itself (a link or a
                // special file) among the skipped entries.
                for (name, why) in unsafe_ignore_files(dir) {
                    merged.stats.notes.push(format!(
                        "`{}` {why}: not read; `{shown}` was scanned without it and without .gitignore rules",
                        crate::paths::join_display(if shown == "." { "" } else { &shown }, name)
                    ));
                }
                let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
                if name.is_some_and(|n| BUILD_DIRS.contains(&n.as_str())) {
                    merged.visited.push(dir.clone());
                }
                let entries = match std::fs::read_dir(dir) {
                    Ok(e) => e,
                    Err(e) => {
                        visit::file_error(&mut merged.stats, walk.matcher, shown, e.to_string());
                        continue;
                    }
                };
                for entry in entries.flatten() {
                    let Ok(ft) = entry.file_type() else { continue };
                    if entry.file_name() == ".git" {
                        continue;
                    }
                    if ft.is_symlink() {
                        merged.stats.skip("symlink");
                    } else if ft.is_dir() && !unsafe_ignore_files(&entry.path()).is_empty() {
                        deferred.lock().unwrap().push(entry.path());
                    } else {
                        roots.push(entry.path());
                    }
                }
            }
        }
        if roots.is_empty() {
            continue;
        }
        roots.sort();
        let mut b = base_builder(&roots, threads);
        configure(&mut b);
        b.parents(false)
            .git_ignore(false)
            .git_exclude(false)
            .git_global(false)
            .filter_entry(guarded_filter(Arc::clone(deferred)));
        b.build_parallel().visit(&mut &*walk);
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
pub fn scan(opts: &TreeOptions, matcher: &Matcher) -> Result<SourceOutput<TreeInputs>> {
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

    let no_ignore = opts.no_ignore;
    let configure = move |b: &mut WalkBuilder| {
        b.add_custom_ignore_filename(".keyscanignore")
            .git_ignore(!no_ignore)
            .git_global(!no_ignore)
            .git_exclude(!no_ignore)
            .ignore(!no_ignore)
            .parents(!no_ignore);
        if no_ignore {
            b.standard_filters(false).hidden(false);
        }
    };
    // Ignore files are opened by the `ignore` crate, which follows links:
    // folders holding one that is a link, a special file or huge are set
    // aside before the crate enters them, and scanned without it.
    let deferred: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
    let mut walk_roots = Vec::new();
    for r in &opts.roots {
        if !no_ignore && r.is_dir() && !unsafe_ignore_files(r).is_empty() {
            deferred.lock().unwrap().push(r.clone());
        } else {
            walk_roots.push(r.clone());
        }
    }
    // Above a root, the crate reads the ignore files of every parent folder.
    let parents_safe = walk_roots.iter().all(|r| {
        std::path::absolute(r)
            .map(|a| {
                a.ancestors()
                    .skip(1)
                    .all(|d| unsafe_ignore_files(d).is_empty())
            })
            .unwrap_or(false)
    });
    if !walk_roots.is_empty() {
        let mut builder = base_builder(&walk_roots, opts.threads);
        configure(&mut builder);
        if !no_ignore {
            builder.filter_entry(guarded_filter(Arc::clone(&deferred)));
            if !parents_safe {
                // The crate reads every parent's ignore files whenever any
                // `.gitignore` support is on.
                builder
                    .parents(false)
                    .git_ignore(false)
                    .git_exclude(false)
                    .git_global(false);
                merged.lock().unwrap().stats.notes.push(
                    "a folder above the scanned path has an ignore file that is a symbolic link, a special file or huge: it was not read, and the scan ran without .gitignore rules".into(),
                );
            }
        }
        builder.build_parallel().visit(&mut &walk);
    }
    scan_deferred(&walk, &configure, opts.threads, &deferred);

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

    // One listing per project root serves both checks below (a `stat` per
    // candidate name would mostly fail, thousands of times in a tree with a
    // `node_modules`): its dotenv files and its build-output folders.
    let listings: Vec<Vec<(String, PathBuf, std::fs::FileType)>> = root_dirs
        .iter()
        .map(|(_, fs_dir)| {
            let Ok(entries) = std::fs::read_dir(fs_dir) else {
                return Vec::new();
            };
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let wanted =
                        dotenv::is_dotenv_name(&name) || BUILD_DIRS.contains(&name.as_str());
                    Some((name, e.path(), e.file_type().ok()?)).filter(|_| wanted)
                })
                .collect()
        })
        .collect();

    // Ignored build output next to a package.json.
    let mut build_dirs_scanned = Vec::new();
    if opts.build_dirs && !opts.no_ignore {
        let visited: HashSet<PathBuf> = merged.lock().unwrap().visited.iter().cloned().collect();
        let mut extra = Vec::new();
        for ((dir_display, fs_dir), listing) in root_dirs.iter().zip(&listings) {
            if !projects.get(dir_display).is_some_and(|f| f.javascript) {
                continue;
            }
            for name in BUILD_DIRS {
                let candidate = fs_dir.join(name);
                // From the root's listing: a `stat` per candidate name would
                // mostly fail. A link (`dist -> /`) would lead out of the tree.
                let Some((_, _, file_type)) = listing.iter().find(|(n, _, _)| n == name) else {
                    continue;
                };
                if file_type.is_symlink() {
                    let shown = crate::paths::join_display(dir_display, name);
                    let found = &mut merged.lock().unwrap().stats;
                    found.skip("symlink");
                    found.notes.push(format!(
                        "build folder `{shown}` is a symbolic link: not followed (keyscan never leaves the scanned tree through a link)"
                    ));
                    continue;
                }
                if file_type.is_dir() && !visited.contains(&candidate) {
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
    for ((dir_display, _), listing) in root_dirs.iter().zip(&listings) {
        for (name, path, file_type) in listing {
            if !dotenv::is_dotenv_name(name) || !file_type.is_file() {
                continue;
            }
            let path = path.clone();
            root_dotenv.push((dir_display.clone(), path.clone()));
            if !visited.contains(&path) && !opts.no_ignore {
                let display = display_of(&roots, &path);
                scan_file(
                    matcher,
                    opts.chunk,
                    &mut found,
                    (&path, crate::fs::Links::Refuse),
                    display,
                    true,
                    &mut buf,
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
        facts: TreeInputs {
            projects,
            seen,
            root_dotenv,
        },
    })
}

/// Reads and scans files the facts step names — tracked secret-bearing
/// files the walk did not read — from disk, or from the index blob when the
/// file is gone from the work tree. Adds them to `out`.
pub fn scan_listed<F>(files: &[UnreadFile], matcher: &Matcher, out: &mut SourceOutput<F>) {
    let mut found = Found::default();
    for f in files {
        if let Some(disk) = &f.disk {
            if std::fs::symlink_metadata(disk).is_ok_and(|m| m.file_type().is_symlink()) {
                // A tracked `.env -> /outside/secrets`: git stores the link,
                // not the file it points at; keyscan never reads through it.
                found.stats.skip("symlink");
                found.stats.notes.push(format!(
                    "`{}` is a symbolic link: not read (keyscan never leaves the scanned tree through a link)",
                    f.path
                ));
                continue;
            }
        }
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
    stats.notes.extend(found.stats.notes);
    stats.notes.sort();
    out.blobs.extend(found.blobs);
    out.blobs.sort_by(|a, b| a.path.cmp(&b.path));
}
