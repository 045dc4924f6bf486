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
use super::pack::PackScan;
use super::{GitInputs, ScanIssue, SourceOutput, SourceStats};
use crate::dotenv;
use crate::error::{Error, Result};
use crate::facts::history::KeyAges;
use crate::scan::Matcher;
use enumerate::{Enumeration, MessageOf, MessageRec, NO_COMMIT, SEED};
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
    pub source: SourceOutput<GitInputs>,
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

/// What the refs of a repository hold, for a full scan.
#[derive(Default)]
struct Refs {
    /// Commits at ref tips (and HEAD).
    commits: Vec<Oid>,
    /// Refs that point straight at a tree or a blob.
    trees: Vec<NamedObject>,
    blobs: Vec<NamedObject>,
    /// Annotated tag objects (each once), with a ref name reaching them.
    tags: Vec<NamedObject>,
}

/// Every ref's commit and HEAD; refs to trees or blobs, and annotated tags
/// (with the tags they point to in turn). Broken refs become error entries.
fn all_refs(repo: &Repository, errors: &mut Vec<ScanIssue>) -> Result<Refs> {
    let mut out = Refs::default();
    let mut tags_seen: HashSet<Oid> = HashSet::default();
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
        // Annotated tags along the way (a tag may name another tag).
        let mut target = r.target();
        while let Some(id) = target {
            match repo.find_tag(id) {
                Ok(tag) => {
                    if tags_seen.insert(id) {
                        out.tags.push((id, name.clone()));
                    }
                    target = Some(tag.target_id());
                }
                Err(_) => break,
            }
        }
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
            Some(ObjectType::Commit) => out.commits.push(obj.id()),
            Some(ObjectType::Tree) => out.trees.push((obj.id(), name)),
            Some(ObjectType::Blob) => out.blobs.push((obj.id(), name)),
            _ => {}
        }
    }
    // HEAD too: a detached HEAD is on no branch.
    if let Ok(head) = repo.head() {
        if let Some(id) = head.target() {
            out.commits.push(id);
        }
    }
    Ok(out)
}

/// The commits to walk, parents before children: reachable from `tips`,
/// not from `hidden`. libgit2's sorted walk gives up when it cannot parse a
/// commit (a corrupt root commit made the whole history "0 commits"); then
/// the walk is done here, commit by commit, and every commit that cannot be
/// read is listed in `errors` while all the readable ones are walked.
fn commit_order(
    repo: &Repository,
    tips: &[Oid],
    hidden: &[Oid],
    errors: &mut Vec<ScanIssue>,
) -> Result<Vec<Oid>> {
    let sorted = (|| -> std::result::Result<Vec<Oid>, git2::Error> {
        let mut walk = repo.revwalk()?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME | Sort::REVERSE)?;
        for t in tips {
            walk.push(*t)?;
        }
        for h in hidden {
            walk.hide(*h)?;
        }
        walk.collect()
    })();
    if let Ok(order) = sorted {
        return Ok(order);
    }
    // Reachable from the hidden commits: not walked.
    let reach = |from: &[Oid], stop: &HashSet<Oid>, mut errors: Option<&mut Vec<ScanIssue>>| {
        let mut seen: HashSet<Oid> = HashSet::default();
        let mut commits: Vec<(Oid, Vec<Oid>, i64)> = Vec::new();
        let mut todo: Vec<Oid> = from.to_vec();
        while let Some(id) = todo.pop() {
            if stop.contains(&id) || !seen.insert(id) {
                continue;
            }
            match repo.find_commit(id) {
                Ok(c) => {
                    let parents: Vec<Oid> = c.parent_ids().collect();
                    todo.extend(parents.iter().copied());
                    commits.push((id, parents, c.time().seconds()));
                }
                Err(e) => {
                    if let Some(errors) = errors.as_mut() {
                        errors.push(ScanIssue {
                            path: format!("commit {id}"),
                            message: format!(
                                "cannot be read ({}); its own tree and message are not scanned, the commits around it are",
                                e.message()
                            ),
                        });
                    }
                }
            }
        }
        commits
    };
    let hidden_set: HashSet<Oid> = reach(hidden, &HashSet::default(), None)
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    let mut commits = reach(tips, &hidden_set, Some(errors));
    // Parents before children (Kahn's algorithm), oldest first among ready
    // commits; a parent that could not be read does not hold a child back.
    commits.sort_by_key(|c| (c.2, key_bytes(c.0)));
    let index: foldhash::HashMap<Oid, usize> =
        commits.iter().enumerate().map(|(i, c)| (c.0, i)).collect();
    let mut waiting = vec![0usize; commits.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); commits.len()];
    for (i, (_, parents, _)) in commits.iter().enumerate() {
        for p in parents {
            if let Some(&j) = index.get(p) {
                waiting[i] += 1;
                children[j].push(i);
            }
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..commits.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(commits.len());
    while let Some(i) = ready.pop_first() {
        order.push(commits[i].0);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.insert(c);
            }
        }
    }
    Ok(order)
}

fn key_bytes(id: Oid) -> [u8; 20] {
    enumerate::key(id)
}

/// The all-zero id CI systems send as the `before` of a newly pushed
/// branch.
fn is_zero_id(rev: &str) -> bool {
    rev.len() >= 7 && rev.bytes().all(|b| b == b'0')
}

/// A full hexadecimal object id (a `before` sha from a CI event).
fn is_full_hex(rev: &str) -> bool {
    rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `--range A..B`: the tip, the commits to hide, and notes on how the
/// range was read. CI passes ranges git cannot always answer exactly; each
/// case gets a note and a fallback that scans more, never less.
fn range_walk(repo: &Repository, range: &str, notes: &mut Vec<String>) -> Result<(Oid, Vec<Oid>)> {
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
    let tip = resolve_commit(repo, b, "the tip of --range")?;
    if is_zero_id(a) {
        // A new branch: its own commits are those no other ref has.
        let mut hidden = Vec::new();
        if let Ok(refs) = repo.references() {
            for r in refs.flatten() {
                if r.kind() == Some(ReferenceType::Symbolic) {
                    continue;
                }
                if let Ok(c) = r.peel_to_commit() {
                    let id = c.id();
                    if id != tip && repo.graph_descendant_of(tip, id).unwrap_or(false) {
                        hidden.push(id);
                    }
                }
            }
        }
        notes.push(if hidden.is_empty() {
            format!("--range base `{a}` is the all-zero id of a newly pushed branch, and no other branch or tag of this clone shares history with `{b}`: every commit reachable from `{b}` was scanned.")
        } else {
            format!("--range base `{a}` is the all-zero id of a newly pushed branch: the commits of `{b}` that no other branch or tag of this clone has were scanned ({} refs' history left out).", hidden.len())
        });
        return Ok((tip, hidden));
    }
    match resolve_commit(repo, a, "the base of --range") {
        Ok(base) => {
            if base != tip && !repo.graph_descendant_of(tip, base).unwrap_or(false) {
                let mb = repo
                    .merge_base(base, tip)
                    .map(|m| format!("from their merge base {}", &m.to_string()[..12]))
                    .unwrap_or_else(|_| "they share no history".to_string());
                notes.push(format!(
                    "--range base `{a}` is not an ancestor of `{b}` (a force push?): scanned the commits of `{b}` that `{a}` does not have, {mb}."
                ));
            }
            Ok((tip, vec![base]))
        }
        Err(e) if repo.is_shallow() || is_full_hex(a) => {
            let why = if repo.is_shallow() {
                "this is a shallow clone that does not reach it"
            } else {
                "it is not in this clone (a force push whose old tip was never fetched?)"
            };
            let _ = e;
            notes.push(format!(
                "--range base `{a}` cannot be read: {why}. Every commit reachable from `{b}` was scanned instead, so nothing new is missed; fetch the base (or the whole history: `fetch-depth: 0` with actions/checkout) for an exact range."
            ));
            Ok((tip, Vec::new()))
        }
        Err(e) => Err(e),
    }
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
    let mut notes = Vec::new();
    let mut refs = Refs::default();
    let (tips, hidden) = match (&opts.range, &opts.since) {
        (Some(range), _) => {
            let (tip, hidden) = range_walk(&repo, range, &mut notes)?;
            (vec![tip], hidden)
        }
        (None, since) => {
            let hidden = since
                .as_deref()
                .map(|rev| resolve_commit(&repo, rev, "--since"))
                .transpose()?;
            refs = all_refs(&repo, &mut en.errors)?;
            let tips = std::mem::take(&mut refs.commits);
            if hidden.is_some() {
                // Only commits after REV: refs' trees and blobs are not new.
                refs.trees.clear();
                refs.blobs.clear();
            }
            (tips, hidden.into_iter().collect())
        }
    };
    let order = commit_order(&repo, &tips, &hidden, &mut en.errors)?;
    let limited = opts.range.is_some() || opts.since.is_some();
    let walked: HashSet<Oid> = order.iter().copied().collect();
    if limited {
        // Tags of commits outside the range are not new in it.
        refs.tags.retain(|(id, _)| {
            repo.find_tag(*id)
                .ok()
                .and_then(|t| t.target().ok())
                .and_then(|o| o.peel_to_commit().ok())
                .is_some_and(|c| walked.contains(&c.id()))
        });
    }
    let (extra_trees, extra_blobs) = (
        std::mem::take(&mut refs.trees),
        std::mem::take(&mut refs.blobs),
    );

    // Steps 1 and 2 overlap: the walk (this thread) hands each new blob to
    // the scanning workers the moment it finds it.
    let bar = progress_bar(opts.progress);
    let bytes_seen = AtomicU64::new(0);
    let blobs_done = AtomicU64::new(0);
    let on_blob = |bytes: u64| {
        bytes_seen.fetch_add(bytes, Ordering::Relaxed);
        blobs_done.fetch_add(1, Ordering::Relaxed);
    };
    let (tx, rx) = std::sync::mpsc::channel();
    // A full history reads the packs in pack order, every blob once
    // (`source::pack`); the walk's blobs go to the `libgit2` workers only
    // if that reader did not produce them. A range reads the few blobs it
    // introduces one by one, as the walk finds them.
    let packs = (!limited)
        .then(|| PackScan::open(&repo.commondir().join("objects")))
        .filter(|p| p.pack_count() > 0);
    if packs.is_none() {
        en.tx = Some(tx.clone());
    }
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
        let reader = packs
            .as_ref()
            .map(|p| s.spawn(|| p.run(workers, matcher, &on_blob)));
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
            // The message, once per commit: every clone and `git log` show it.
            let scan = matcher.scan_bytes(commit.message_raw_bytes());
            if !scan.matches.is_empty() {
                en.messages.push(MessageRec {
                    of: MessageOf::Commit(idx),
                    scan,
                });
            }
            if idx.is_multiple_of(256) {
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
            let pid = en.paths.intern(name);
            en.add_blob(*blob, pid, NO_COMMIT);
        }
        for (id, name) in &refs.tags {
            match repo.find_tag(*id) {
                Ok(tag) => {
                    let scan = matcher.scan_bytes(tag.message_bytes().unwrap_or_default());
                    if !scan.matches.is_empty() {
                        let name = name.strip_prefix("refs/tags/").unwrap_or(name);
                        en.messages.push(MessageRec {
                            of: MessageOf::Tag(*id, name.to_string()),
                            scan,
                        });
                    }
                }
                Err(e) => en.errors.push(ScanIssue {
                    path: name.clone(),
                    message: format!("tag {id} cannot be read: {}", e.message()),
                }),
            }
        }
        en.tx = None;
        bar.set_message("scanning the last blobs");
        // What the pack reader produced is counted here; what it did not
        // (loose objects, damaged or unusable packs) is read through
        // libgit2, which also says what is wrong with it.
        let mut from_packs = git::BlobTotals::default();
        if let (Some(reader), Some(packs)) = (reader, &packs) {
            reader.join().expect("pack reader thread panicked");
            for (i, b) in en.blobs.iter().enumerate() {
                let k = enumerate::key(b.id);
                match (packs.outcome(&k), packs.take_scan(&k)) {
                    (None, _) => {
                        let _ = tx.send((i, b.id));
                    }
                    (Some(_), Some(scan)) => git::tally(&mut from_packs, i, matcher, scan, None),
                    (Some(o), None) => {
                        git::count(&mut from_packs, o.binary, o.bytes);
                    }
                }
            }
        }
        // Dropping the last sender ends the workers once they drain the queue.
        drop(tx);
        let streamed = scanner.join().expect("history scanner thread panicked");
        streamed.map(|mut s| {
            s.totals.merge(from_packs);
            s.totals.matched.sort_by_key(|r| r.index);
            s
        })
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
            path: en.paths.get(en.blobs[i].first.path),
            message,
        });
    }
    // Whether a blob is a dotenv file depends on every path it appeared at,
    // known only now: parse the few matched ones that are.
    for r in &mut totals.matched {
        let rec = &en.blobs[r.index];
        if rec
            .appearances()
            .any(|a| dotenv::is_dotenv_name(&String::from_utf8_lossy(en.paths.file_name(a.path))))
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
    stats.notes.extend(notes);
    // A scan that read nothing proves nothing: if commits could not be read
    // and none could, fail instead of reporting a clean history.
    if en.commits.is_empty() && totals.scanned == 0 && !stats.errors.is_empty() {
        let listed: Vec<String> = stats
            .errors
            .iter()
            .take(5)
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect();
        return Err(Error::Git {
            path: repo.path().to_path_buf(),
            message: format!(
                "no commit of the history could be read, so nothing was scanned: {}",
                listed.join("; ")
            ),
            source: None,
        });
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
        .map(|(p, id)| (en.paths.get(*p), *id))
        .collect();
    files.sort();
    Ok(HistoryOutput {
        source: SourceOutput {
            blobs,
            stats,
            facts: GitInputs {
                git_dir: repo.path().to_path_buf(),
                files,
            },
        },
        commits: en.commits.len() as u64,
        complete: !shallow,
        ages,
    })
}
