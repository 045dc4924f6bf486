//! Plumbing shared by the two git sources ([`super::staged`] and
//! [`super::history`]): opening a repository, scanning blobs by id on a pool of
//! workers, gathering project facts from git paths, and formatting commit
//! attribution.
//!
//! Everything goes through `git2` (libgit2), never through the `git` command:
//! a scanner that shells out inherits whatever `git` is on `PATH`, its config
//! and its pager, and pays a process per question.
//!
//! `git2::Repository` is `Send` but not `Sync`, so parallel scans give every
//! worker thread its own handle ([`scan_blobs`]): workers pull blob indices
//! from one atomic counter, which balances a few huge blobs against many small
//! ones without any per-blob allocation of jobs.

use super::ScanIssue;
use crate::dotenv;
use crate::error::{Error, Result};
use crate::finding::CommitInfo;
use crate::scan::{BlobScan, Matcher};
use git2::{Oid, Repository, RepositoryOpenFlags};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Git file modes that are not regular files.
const MODE_SYMLINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;

/// What a tree or index entry's mode says about scanning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular or executable file: scanned.
    File,
    /// A symbolic link: its blob is the link target, not content.
    Symlink,
    /// A submodule (gitlink): a commit of another repository.
    Submodule,
}

impl EntryKind {
    /// Classifies a raw git file mode.
    pub fn from_mode(mode: u32) -> EntryKind {
        match mode & 0o170000 {
            MODE_SYMLINK => EntryKind::Symlink,
            MODE_GITLINK => EntryKind::Submodule,
            _ => EntryKind::File,
        }
    }
}

/// Opens the repository containing `path`, searching upward like `git` does.
/// Bare repositories open too.
pub fn open(path: &Path) -> Result<Repository> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: e,
        });
    }
    Repository::open_ext(
        path,
        RepositoryOpenFlags::empty(),
        std::iter::empty::<&std::ffi::OsStr>(),
    )
    .map_err(|e| Error::Git {
        path: path.to_path_buf(),
        message: "not inside a git repository".into(),
        source: Some(e),
    })
}

/// The folder a git-mode scan takes its `.keyscan.toml` from: the
/// repository's work tree root, or `path` itself for a bare repository or
/// when `path` is not in a repository (the scan reports that error later).
pub fn config_root(path: &Path) -> PathBuf {
    match open(path) {
        Ok(repo) => repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| path.to_path_buf()),
        Err(_) => path.to_path_buf(),
    }
}

/// A `git2` error as an [`Error::Git`] about `path`, with `what` in front.
pub fn git_error(path: &Path, what: &str, e: &git2::Error) -> Error {
    Error::Git {
        path: path.to_path_buf(),
        message: what.to_string(),
        // `git2::Error` is not `Clone`; its three parts are.
        source: Some(git2::Error::new(e.code(), e.class(), e.message())),
    }
}

/// A path from git (bytes, `/`-separated) as a string.
pub fn path_string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Attribution for `commit`: id, `Name <email>` of the author, author date
/// (RFC 3339 in the author's own offset). `in_head` is filled in later.
pub fn commit_info(commit: &git2::Commit<'_>) -> CommitInfo {
    let author = commit.author();
    CommitInfo {
        id: commit.id().to_string(),
        author: format!(
            "{} <{}>",
            String::from_utf8_lossy(author.name_bytes()),
            String::from_utf8_lossy(author.email_bytes())
        ),
        date: rfc3339(author.when()),
        in_head: false,
    }
}

/// A git timestamp as RFC 3339 (`2024-03-01T12:00:00+01:00`), in its own
/// offset, as `git log --date=iso-strict` prints it.
pub fn rfc3339(t: git2::Time) -> String {
    let offset = i64::from(t.offset_minutes());
    let local = t.seconds() + offset * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", offset.abs() / 60, offset.abs() % 60)
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{zone}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// What one blob's scan gave.
#[derive(Debug)]
pub struct BlobResult {
    /// Index of the blob in the caller's list.
    pub index: usize,
    /// The matcher's result (kept only when it has matches).
    pub scan: BlobScan,
    /// Parsed dotenv entries, when the caller asked for them and there were matches.
    pub dotenv: Option<Vec<dotenv::Entry>>,
}

/// Totals of a [`scan_blobs`] run.
#[derive(Debug, Default)]
pub struct BlobTotals {
    /// Blobs with at least one match.
    pub matched: Vec<BlobResult>,
    /// Blobs scanned (not skipped).
    pub scanned: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Skipped blobs by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Blobs that could not be read (missing or corrupt objects).
    pub errors: Vec<ScanIssue>,
    /// `(index, message)` of blobs the matcher's bounds cut short.
    pub incomplete: Vec<(usize, String)>,
}

impl BlobTotals {
    /// Adds `other`'s counts and lists to these.
    pub(crate) fn merge(&mut self, other: BlobTotals) {
        self.matched.extend(other.matched);
        self.scanned += other.scanned;
        self.bytes += other.bytes;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.errors.extend(other.errors);
        self.incomplete.extend(other.incomplete);
    }
}

/// One blob to scan.
pub struct BlobJob<'a> {
    /// The object id.
    pub id: Oid,
    /// A path it appears at, for error messages.
    pub path: &'a str,
    /// Parse it as a dotenv file if it has matches.
    pub dotenv: bool,
}

/// Scans blobs on `threads` workers (0 = one per core), each with its own
/// `Repository` opened at `git_dir`. `job(i)` describes blob `i` of `n`;
/// `progress(bytes)` is called after each blob. A blob that cannot be read
/// becomes an error entry naming its object id; the others are still scanned.
/// A single worker reuses `repo` instead of opening another handle.
pub fn scan_blobs<'a>(
    repo: &Repository,
    n: usize,
    threads: usize,
    matcher: &Matcher,
    job: &(dyn Fn(usize) -> BlobJob<'a> + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BlobTotals> {
    let scan_one = |repo: &Repository, i: usize, acc: &mut BlobTotals| {
        let j = job(i);
        let blob = match repo.find_blob(j.id) {
            Ok(b) => b,
            Err(e) => {
                *acc.skipped.entry("unreadable".into()).or_default() += 1;
                acc.errors.push(ScanIssue {
                    path: j.path.to_string(),
                    message: format!("object {}: {}", j.id, e.message()),
                });
                progress(0);
                return;
            }
        };
        let content = blob.content();
        let scan = matcher.scan_bytes(content);
        progress(content.len() as u64);
        let dotenv = (j.dotenv && !scan.binary && !scan.matches.is_empty())
            .then(|| dotenv::parse_any(content));
        tally(acc, i, matcher, scan, dotenv);
    };

    let threads = if threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        threads
    };
    // A worker costs a repository handle (config, pack indexes): not worth it
    // for the few blobs of a typical commit.
    let workers = threads.min(n.div_ceil(8)).max(1);
    if workers == 1 {
        let mut acc = BlobTotals::default();
        for i in 0..n {
            scan_one(repo, i, &mut acc);
        }
        return Ok(acc);
    }
    let git_dir = repo.path().to_path_buf();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<std::result::Result<BlobTotals, git2::Error>>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                // One handle per worker: `Repository` is not `Sync`.
                let repo = match Repository::open(&git_dir) {
                    Ok(r) => r,
                    Err(e) => {
                        results.lock().unwrap().push(Err(e));
                        return;
                    }
                };
                let mut acc = BlobTotals::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    scan_one(&repo, i, &mut acc);
                }
                results.lock().unwrap().push(Ok(acc));
            });
        }
    });
    let mut total = BlobTotals::default();
    for r in results.into_inner().unwrap() {
        match r {
            Ok(acc) => total.merge(acc),
            Err(e) => {
                return Err(git_error(
                    &git_dir,
                    "cannot open the repository in a worker",
                    &e,
                ))
            }
        }
    }
    total.matched.sort_by_key(|r| r.index);
    Ok(total)
}

/// Settings for reading a whole history: process-wide `libgit2` options,
/// set once before a history scan.
///
/// - **No SHA-1 check per object.** `libgit2` re-hashes every object it
///   reads to verify its id (18 % of a history scan's time when profiled).
///   A scanner reads; it does not vouch for the repository's integrity, and
///   `git cat-file --batch` does not re-hash either. Inflate and delta errors
///   still surface as unreadable objects.
/// - **No object cache.** The history walk reads each tree once per path and
///   each blob once, so `libgit2`'s object cache (up to 256 MiB per
///   repository handle, one handle per worker) only costs: inserting into it
///   and freeing it took 10–20 % of the time and 450 MiB of peak memory.
pub fn tune_for_history() {
    git2::opts::strict_hash_verification(false);
    git2::opts::enable_caching(false);
}

/// One blob a [`scan_stream`] worker should read: its index in the caller's
/// list and its id.
pub type StreamJob = (usize, Oid);

/// What [`scan_stream`] gave: totals (with `dotenv` never parsed: the caller
/// knows only at the end which blobs are dotenv files) and the blobs that
/// could not be read, by index, with the reason.
#[derive(Debug, Default)]
pub struct StreamTotals {
    /// Totals; `errors` is empty (see `unreadable`).
    pub totals: BlobTotals,
    /// `(index, message)` of blobs that could not be read.
    pub unreadable: Vec<(usize, String)>,
}

/// Scans blobs as they arrive on `jobs`, on `workers` threads each with its
/// own `Repository` at `git_dir`, until every sender is dropped. This lets
/// the history walk hand over each blob the moment it finds it, so reading
/// trees (one core) and reading blobs (the others) overlap instead of
/// running one after the other. `progress(bytes)` is called after each blob.
pub fn scan_stream(
    git_dir: &Path,
    workers: usize,
    matcher: &Matcher,
    jobs: std::sync::mpsc::Receiver<StreamJob>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<StreamTotals> {
    let jobs = Mutex::new(jobs);
    let results: Mutex<Vec<std::result::Result<StreamTotals, git2::Error>>> =
        Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                let repo = match Repository::open(git_dir) {
                    Ok(r) => r,
                    Err(e) => {
                        // Drain nothing: the other workers (or the caller's
                        // error) account for the jobs.
                        results.lock().unwrap().push(Err(e));
                        return;
                    }
                };
                let mut acc = StreamTotals::default();
                loop {
                    // The lock is held only to take one job.
                    let next = jobs.lock().unwrap().recv();
                    let Ok((i, id)) = next else { break };
                    match repo.find_blob(id) {
                        Ok(blob) => {
                            let content = blob.content();
                            progress(content.len() as u64);
                            let scan = matcher.scan_bytes(content);
                            tally(&mut acc.totals, i, matcher, scan, None);
                        }
                        Err(e) => {
                            progress(0);
                            *acc.totals.skipped.entry("unreadable".into()).or_default() += 1;
                            acc.unreadable
                                .push((i, format!("object {id}: {}", e.message())));
                        }
                    }
                }
                results.lock().unwrap().push(Ok(acc));
            });
        }
    });
    let mut total = StreamTotals::default();
    for r in results.into_inner().unwrap() {
        match r {
            Ok(acc) => {
                total.totals.merge(acc.totals);
                total.unreadable.extend(acc.unreadable);
            }
            Err(e) => {
                return Err(git_error(
                    git_dir,
                    "cannot open the repository in a worker",
                    &e,
                ))
            }
        }
    }
    total.totals.matched.sort_by_key(|r| r.index);
    total.unreadable.sort_by_key(|u| u.0);
    Ok(total)
}

/// Counts one blob read as binary (skipped) or scanned (`bytes`); true if
/// it was scanned. [`tally`] for a blob whose scan found nothing to keep.
pub(crate) fn count(acc: &mut BlobTotals, binary: bool, bytes: u64) -> bool {
    if binary {
        *acc.skipped.entry("binary".into()).or_default() += 1;
        return false;
    }
    acc.scanned += 1;
    acc.bytes += bytes;
    true
}

/// Adds one scanned blob to `acc`.
pub(crate) fn tally(
    acc: &mut BlobTotals,
    index: usize,
    matcher: &Matcher,
    scan: BlobScan,
    dotenv: Option<Vec<dotenv::Entry>>,
) {
    for message in matcher.describe_shortfall(&scan.shortfall) {
        acc.incomplete.push((index, message));
    }
    if !count(acc, scan.binary, scan.bytes) {
        return;
    }
    if !scan.matches.is_empty() {
        acc.matched.push(BlobResult {
            index,
            scan,
            dotenv,
        });
    }
}

/// Calls `f(mode, name, id)` for each entry of a raw tree object
/// (`<octal mode> SP <name> NUL <20-byte id>`, repeated), or says what is
/// malformed.
pub fn parse_tree(
    mut data: &[u8],
    mut f: impl FnMut(u32, &[u8], Oid),
) -> std::result::Result<(), &'static str> {
    while !data.is_empty() {
        let sp = memchr::memchr(b' ', data).ok_or("tree entry without a mode")?;
        let mut mode = 0u32;
        for &d in &data[..sp] {
            if !(b'0'..=b'7').contains(&d) || mode > 0o7777777 {
                return Err("tree entry with a bad mode");
            }
            mode = mode * 8 + u32::from(d - b'0');
        }
        let rest = &data[sp + 1..];
        let nul = memchr::memchr(0, rest).ok_or("tree entry without a name")?;
        let id = rest.get(nul + 1..nul + 21).ok_or("tree entry cut short")?;
        f(
            mode,
            &rest[..nul],
            Oid::from_bytes(id).map_err(|_| "tree entry with a bad id")?,
        );
        data = &rest[nul + 21..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_in_the_authors_offset() {
        assert_eq!(rfc3339(git2::Time::new(0, 0)), "1970-01-01T00:00:00Z");
        // 2024-02-29T23:30:00Z seen from UTC+02:00 is already March.
        assert_eq!(
            rfc3339(git2::Time::new(1_709_249_400, 120)),
            "2024-03-01T01:30:00+02:00"
        );
        assert_eq!(
            rfc3339(git2::Time::new(1_709_249_400, -330)),
            "2024-02-29T18:00:00-05:30"
        );
        assert_eq!(rfc3339(git2::Time::new(-86_400, 0)), "1969-12-31T00:00:00Z");
    }

    #[test]
    fn raw_trees_are_parsed_and_damage_is_reported() {
        let mut raw = b"100644 a.txt\0".to_vec();
        raw.extend([1u8; 20]);
        raw.extend(b"40000 dir\0");
        raw.extend([2u8; 20]);
        let mut got = Vec::new();
        parse_tree(&raw, |mode, name, id| {
            got.push((mode, name.to_vec(), id.as_bytes()[0]))
        })
        .unwrap();
        assert_eq!(
            got,
            vec![
                (0o100644, b"a.txt".to_vec(), 1),
                (0o40000, b"dir".to_vec(), 2)
            ]
        );
        assert!(parse_tree(&raw[..raw.len() - 1], |_, _, _| {}).is_err());
        assert!(parse_tree(b"10x644 a\0", |_, _, _| {}).is_err());
        assert!(parse_tree(b"100644 a", |_, _, _| {}).is_err());
    }

    #[test]
    fn modes_are_classified() {
        assert_eq!(EntryKind::from_mode(0o100644), EntryKind::File);
        assert_eq!(EntryKind::from_mode(0o100755), EntryKind::File);
        assert_eq!(EntryKind::from_mode(0o120000), EntryKind::Symlink);
        assert_eq!(EntryKind::from_mode(0o160000), EntryKind::Submodule);
    }
}
