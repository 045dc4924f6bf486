//! The working-tree source: a parallel walk (`walker`) with ripgrep's
//! ignore rules (`rules`).
//!
//! The walk respects `.gitignore`, `.ignore`, `.keyscanignore`,
//! `.git/info/exclude` and git's global excludes (unless `--no-ignore`),
//! scans hidden files (a secret scanner that skips `.env` and `.github/` is
//! no use), never descends into `.git`, and never follows symlinks. Each
//! worker thread owns a `Visitor` — its read buffer, the blobs it matched,
//! its counts — and
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

mod rules;
mod visit;
mod walker;

use super::{ScanIssue, SourceOutput, TreeInputs};
use crate::dotenv;
use crate::error::{Error, Result};
use crate::facts::project::{ProjectIndex, BUILD_DIRS};
use crate::facts::tree::UnreadFile;
use crate::finding::Origin;
use crate::fs::{EntryKind, Folder, Links};
use crate::paths::{parent_dir, root_displays};
use crate::scan::Matcher;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
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

    walker::run(
        &walker::Spec {
            roots: &opts.roots,
            rules: !opts.no_ignore,
            skip_names: &[],
            threads: opts.threads,
        },
        &walk,
    );

    // Project roots, from the manifests the walk saw.
    let mut projects = ProjectIndex::new();
    let mut manifests = std::mem::take(&mut merged.lock().unwrap().manifests);
    // The parallel walk's order is not the report's.
    manifests.sort_by(|a, b| a.0.cmp(&b.0));
    let mut root_dirs: Vec<(String, PathBuf)> = Vec::new();
    let mut known: HashSet<String> = HashSet::new();
    for (display, fs, browser_app) in manifests {
        projects.add_manifest_facts(&display, browser_app);
        let dir_display = parent_dir(&display).to_string();
        if let Some(parent) = fs.parent() {
            if known.insert(dir_display.clone()) {
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

    // The walk kept the dotenv files and build folders of every folder with
    // a manifest (ignored ones included); the scan roots are listed here.
    let mut by_dir: std::collections::HashMap<PathBuf, Vec<(String, PathBuf, EntryKind)>> =
        std::mem::take(&mut merged.lock().unwrap().listings)
            .into_iter()
            .collect();
    let listings: Vec<Vec<(String, PathBuf, EntryKind)>> = root_dirs
        .iter()
        .map(|(_, fs_dir)| {
            if let Some(listing) = by_dir.remove(fs_dir) {
                return listing;
            }
            let Ok(folder) = Folder::open(fs_dir, Links::Follow) else {
                return Vec::new();
            };
            folder
                .entries()
                .entries
                .into_iter()
                .filter_map(|(name, kind)| {
                    let path = fs_dir.join(&name);
                    let name = name.to_string_lossy().into_owned();
                    visit::is_root_entry(&name).then_some((name, path, kind))
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
            walk.ignored = true;
            walker::run(
                &walker::Spec {
                    roots: &extra,
                    rules: false,
                    skip_names: &["node_modules"],
                    threads: opts.threads,
                },
                &walk,
            );
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
                scan_file(
                    matcher,
                    opts.chunk,
                    &mut found,
                    (&path, crate::fs::Links::Refuse, None),
                    &|| display_of(&roots, &path),
                    true,
                    &mut buf,
                );
            }
        }
    }

    let found_dirs = std::mem::take(&mut found.dirs);
    let covers = std::mem::take(&mut found.covers);
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
            listed: found_dirs,
            covers,
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
