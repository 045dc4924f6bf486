//! The history source: every blob reachable from the repository's refs, each
//! decompressed and scanned once.
//!
//! A key deleted in the latest commit is still leaked — every clone has it —
//! so `--history` reads what git keeps, not what is checked out. It works in
//! three steps:
//!
//! 1. **Enumerate.** Walk the commits reachable from every ref (branches,
//!    tags, remotes, the stash, notes) and HEAD — or only the commits of
//!    `--since REV` / `--range A..B` — parents before children. For each
//!    commit, walk its tree, skipping any subtree already seen *at the same
//!    path*: in a typical history almost every subtree is unchanged from the
//!    parent, so each commit costs only its changed directories. With a
//!    range, the trees of out-of-range parents are walked first and what
//!    they hold at the same path counts as already seen, so only content the
//!    range introduces is scanned. (A subtree
//!    seen at another path is walked again, so a copied or renamed folder's
//!    files are known at both paths.) Each distinct blob is recorded with the
//!    paths it appears at and, per path, the first commit that had it there —
//!    the commit that introduced it, because parents come first. Only ids and
//!    interned paths are kept: no content.
//!    Trees are read as raw objects and parsed here ([`git::parse_tree`]),
//!    and object ids are hashed as plain bytes: both showed up in profiles.
//! 2. **Scan**, overlapping step 1: each distinct blob is handed to the
//!    scanning workers over a channel the moment the walk first meets it
//!    ([`git::scan_stream`]), so reading trees and reading blobs run on
//!    different cores at once. Each worker owns a `git2::Repository` (which
//!    is not `Sync`); a blob is decompressed, run through the matcher and
//!    dropped, so memory holds one blob per worker plus ids and paths.
//!    Binary blobs stop at the matcher's own NUL check. A missing or corrupt
//!    object becomes an error entry naming the object id, and the scan goes
//!    on. `libgit2`'s object cache and per-object SHA-1 check are off for the
//!    scan ([`git::tune_for_history`]).
//! 3. **Attribute**, only for blobs with matches: each path the blob appeared
//!    at becomes one [`crate::blob::ScannedBlob`] with the introducing commit (author,
//!    author date), and each key is looked up in HEAD's tree — present at HEAD
//!    or only in history — and dated by the oldest commit holding it, for
//!    `key-rotation-overdue` (the judge's `overdue` check); see `attribute.rs`.
//!
//! Shallow clones are scanned as they are and reported incomplete
//! ([`HistoryOutput::complete`]); a range or `--since` base that cannot be
//! resolved is an error, never an empty — and therefore clean — scan.

mod attribute;
mod enumerate;

use super::git;
use super::{FactInputs, ScanIssue, SourceOutput, SourceStats};
use crate::dotenv;
use crate::error::{Error, Result};
use crate::facts::history::KeyAges;
use crate::paths::file_name;
use crate::scan::Matcher;
use enumerate::{Enumeration, NO_COMMIT, SEED};
use foldhash::HashSet;
use git2::{ObjectType, Oid, ReferenceType, Repository, Sort};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// What to scan.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Only commits not reachable from this revision (`--since REV`).
    pub since: Option<String>,
    /// Only commits of `A..B` (`--range A..B`).
    pub range: Option<String>,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Draw a progress bar on stderr (the caller checks it is a terminal).
    pub progress: bool,
}

/// The history source's result.
#[derive(Debug)]
pub struct HistoryOutput {
    /// Blobs with matches (one per path they appeared at), stats, projects.
    pub source: SourceOutput,
    /// Commits walked.
    pub commits: u64,
    /// False for shallow clones: older history was not there to scan.
    pub complete: bool,
    /// Key ages and presence in HEAD.
    pub ages: KeyAges,
}

/// Note for the summary of a shallow clone.
pub const SHALLOW_NOTE: &str = "history is incomplete: this is a shallow clone, so commits before its boundary were not scanned, and keys are attributed to the oldest commit present. Fetch the full history (`git fetch --unshallow`, or `fetch-depth: 0` with actions/checkout) and scan again.";

/// Resolves `rev` to a commit, or explains why not (with the shallow-clone
/// fix when the repository is shallow).
fn resolve_commit(repo: &Repository, rev: &str, what: &str) -> Result<Oid> {
    let found = repo.revparse_single(rev).and_then(|o| o.peel_to_commit());
    found.map(|c| c.id()).map_err(|e| {
        let mut message = format!("{what} `{rev}` is not a commit in this repository: {}", e.message());
        if repo.is_shallow() {
            message.push_str(
                ". This is a shallow clone, so the base of the range may simply not have been fetched: fetch the full history (`git fetch --unshallow`, or `fetch-depth: 0` with actions/checkout). A range without its base cannot be proven clean.",
            );
        }
        Error::Git {
            path: repo.path().to_path_buf(),
            message,
            source: None,
        }
    })
}

/// An object a ref points at directly, with the ref's name.
type NamedObject = (Oid, String);

/// Pushes every ref's commit and HEAD; refs to trees or blobs are returned
/// for scanning without a commit. Broken refs become error entries.
fn push_all_refs(
    repo: &Repository,
    walk: &mut git2::Revwalk<'_>,
    errors: &mut Vec<ScanIssue>,
) -> Result<(Vec<NamedObject>, Vec<NamedObject>)> {
    let mut trees = Vec::new();
    let mut blobs = Vec::new();
    let refs = repo
        .references()
        .map_err(|e| git::git_error(repo.path(), "cannot list references", &e))?;
    for r in refs {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                errors.push(ScanIssue {
                    path: "refs".into(),
                    message: e.message().to_string(),
                });
                continue;
            }
        };
        // A symbolic ref (refs/remotes/origin/HEAD) names another ref, which
        // is listed on its own.
        if r.kind() == Some(ReferenceType::Symbolic) {
            continue;
        }
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        let obj = match r.peel(ObjectType::Any) {
            Ok(o) => o,
            Err(e) => {
                errors.push(ScanIssue {
                    path: name,
                    message: format!(
                        "points to object {} which cannot be read: {}",
                        r.target().map(|o| o.to_string()).unwrap_or_default(),
                        e.message()
                    ),
                });
                continue;
            }
        };
        match obj.kind() {
            Some(ObjectType::Commit) => {
                if let Err(e) = walk.push(obj.id()) {
                    errors.push(ScanIssue {
                        path: name,
                        message: format!("commit {}: {}", obj.id(), e.message()),
                    });
                }
            }
            Some(ObjectType::Tree) => trees.push((obj.id(), name)),
            Some(ObjectType::Blob) => blobs.push((obj.id(), name)),
            _ => {}
        }
    }
    // HEAD too: a detached HEAD is on no branch.
    if let Ok(head) = repo.head() {
        if let Ok(c) = head.peel_to_commit() {
            let _ = walk.push(c.id());
        }
    }
    Ok((trees, blobs))
}

fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
    bar
}

/// Scans the history of the repository containing `path`.
pub fn scan(path: &Path, opts: &HistoryOptions, matcher: &Matcher) -> Result<HistoryOutput> {
    git::tune_for_history();
    let repo = git::open(path)?;
    let shallow = repo.is_shallow();
    let mut en = Enumeration::default();
    let mut walk = repo
        .revwalk()
        .map_err(|e| git::git_error(repo.path(), "cannot walk history", &e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME | Sort::REVERSE)
        .map_err(|e| git::git_error(repo.path(), "cannot walk history", &e))?;
    let mut extra_trees = Vec::new();
    let mut extra_blobs = Vec::new();
    match (&opts.range, &opts.since) {
        (Some(range), _) => {
            if range.contains("...") {
                return Err(Error::Usage(format!(
                    "--range `{range}`: symmetric differences (A...B) are not supported; give A..B"
                )));
            }
            let Some((a, b)) = range.split_once("..") else {
                return Err(Error::Usage(format!("--range `{range}`: expected A..B")));
            };
            let a = if a.is_empty() { "HEAD" } else { a };
            let b = if b.is_empty() { "HEAD" } else { b };
            let base = resolve_commit(&repo, a, "the base of --range")?;
            let tip = resolve_commit(&repo, b, "the tip of --range")?;
            walk.push(tip)
                .and_then(|_| walk.hide(base))
                .map_err(|e| git::git_error(repo.path(), "cannot walk the range", &e))?;
        }
        (None, since) => {
            let hidden = since
                .as_deref()
                .map(|rev| resolve_commit(&repo, rev, "--since"))
                .transpose()?;
            let (trees, blobs) = push_all_refs(&repo, &mut walk, &mut en.errors)?;
            if let Some(h) = hidden {
                walk.hide(h)
                    .map_err(|e| git::git_error(repo.path(), "cannot walk history", &e))?;
            } else {
                extra_trees = trees;
                extra_blobs = blobs;
            }
        }
    }

    // Steps 1 and 2 overlap: the walk (this thread) hands each new blob to
    // the scanning workers the moment it finds it.
    let bar = progress_bar(opts.progress);
    let mut order = Vec::new();
    for oid in walk {
        match oid {
            Ok(o) => order.push(o),
            Err(e) => en.errors.push(ScanIssue {
                path: "history".into(),
                message: format!("walking commits: {}", e.message()),
            }),
        }
    }
    let limited = opts.range.is_some() || opts.since.is_some();
    let walked: HashSet<Oid> = if limited {
        order.iter().copied().collect()
    } else {
        HashSet::default()
    };
    let bytes_seen = AtomicU64::new(0);
    let blobs_done = AtomicU64::new(0);
    let on_blob = |bytes: u64| {
        bytes_seen.fetch_add(bytes, Ordering::Relaxed);
        blobs_done.fetch_add(1, Ordering::Relaxed);
    };
    let (tx, rx) = std::sync::mpsc::channel();
    en.tx = Some(tx);
    let git_dir = repo.path().to_path_buf();
    let workers = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let odb = repo
        .odb()
        .map_err(|e| git::git_error(repo.path(), "cannot open the object database", &e))?;
    let streamed = std::thread::scope(|s| {
        let scanner = s.spawn(|| git::scan_stream(&git_dir, workers, matcher, rx, &on_blob));
        for oid in order {
            let commit = match repo.find_commit(oid) {
                Ok(c) => c,
                Err(e) => {
                    en.errors.push(ScanIssue {
                        path: format!("commit {oid}"),
                        message: e.message().to_string(),
                    });
                    continue;
                }
            };
            if limited {
                // With --since/--range, what a parent outside the range already
                // had is not new here: seed its tree first (parents come before
                // children, so in-range parents are already walked).
                for parent in commit.parent_ids() {
                    if !walked.contains(&parent) && en.seeded.insert(parent) {
                        if let Ok(p) = repo.find_commit(parent) {
                            en.visit_tree(&odb, p.tree_id(), SEED);
                        }
                    }
                }
            }
            let idx = en.commits.len() as u32;
            en.commits.push(oid);
            en.visit_tree(&odb, commit.tree_id(), idx);
            if idx % 256 == 0 {
                bar.set_message(format!(
                    "reading history: {} commits, {} blobs found, {} scanned, {}",
                    idx + 1,
                    en.blobs.len(),
                    blobs_done.load(Ordering::Relaxed),
                    HumanBytes(bytes_seen.load(Ordering::Relaxed))
                ));
                bar.tick();
            }
        }
        for (tree, _) in &extra_trees {
            en.visit_tree(&odb, *tree, NO_COMMIT);
        }
        for (blob, name) in &extra_blobs {
            en.add_blob(*blob, name, NO_COMMIT);
        }
        // Dropping the sender ends the workers once they drain the queue.
        en.tx = None;
        bar.set_message("scanning the last blobs");
        scanner.join().expect("history scanner thread panicked")
    });
    let streamed = streamed?;
    bar.finish_and_clear();

    let mut stats = SourceStats::default();
    for _ in &en.symlinks {
        stats.skip("symlink");
    }
    stats.errors = std::mem::take(&mut en.errors);
    let mut totals = streamed.totals;
    for (i, message) in std::mem::take(&mut totals.incomplete) {
        stats.incomplete.push(ScanIssue {
            path: en.paths.get(en.blobs[i].first.path).to_string(),
            message,
        });
    }
    for (i, message) in streamed.unreadable {
        stats.errors.push(ScanIssue {
            path: en.paths.get(en.blobs[i].first.path).to_string(),
            message,
        });
    }
    // Whether a blob is a dotenv file depends on every path it appeared at,
    // known only now: parse the few matched ones that are.
    for r in &mut totals.matched {
        let rec = &en.blobs[r.index];
        if rec
            .appearances()
            .any(|a| dotenv::is_dotenv_name(file_name(en.paths.get(a.path))))
        {
            if let Ok(blob) = repo.find_blob(rec.id) {
                r.dotenv = Some(dotenv::parse_any(blob.content()));
            }
        }
    }
    stats.files_scanned = totals.scanned;
    stats.bytes_scanned = totals.bytes;
    for (k, v) in totals.skipped {
        *stats.files_skipped.entry(k).or_default() += v;
    }
    if shallow {
        stats.notes.push(SHALLOW_NOTE.to_string());
    }

    // Step 3: attribution, HEAD presence and ages, for matched blobs only.
    let (blobs, ages) = attribute::attribute(
        &repo,
        &en,
        totals.matched,
        matcher,
        opts.threads,
        &mut stats,
    );

    let mut files: Vec<(String, Oid)> = en
        .facts
        .iter()
        .map(|(p, id)| (en.paths.get(*p).to_string(), *id))
        .collect();
    files.sort();
    Ok(HistoryOutput {
        source: SourceOutput {
            blobs,
            stats,
            facts: FactInputs::Git {
                git_dir: repo.path().to_path_buf(),
                files,
            },
        },
        commits: en.commits.len() as u64,
        complete: !shallow,
        ages,
    })
}
