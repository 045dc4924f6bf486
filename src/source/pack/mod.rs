//! Every blob of a repository's packs, inflated once each, in pack order,
//! and scanned: the reading side of a full `--history` scan.
//!
//! Reading blob after blob through `libgit2` in the order the history walk
//! meets them resolves every delta chain from its base again, with a
//! delta-base cache too small to help (94 % of rust-lang/cargo's blobs are
//! deltas, chains up to 28 deep): half a history scan's time was zlib, about
//! twice what `git cat-file --batch-all-objects` inflates. Here the packs are
//! read the way `git index-pack` resolves them:
//!
//! 1. **Topology.** The object headers (type, size, delta base — no
//!    inflating) give, per pack, the delta forest: each full blob is a root,
//!    each delta a child of its base. Deltas always have their base's type,
//!    so the forests under commit, tree and tag roots are never touched.
//! 2. **Decoding.** Workers take a node, inflate it (a root) or inflate its
//!    delta and apply it to its parent's bytes (a child), scan the result,
//!    and hand its children on with a shared reference to those bytes. Every
//!    object is inflated exactly once; memory holds only the bases of
//!    unfinished subtrees. The work list is last-in first-out, so a worker
//!    goes deep into a forest before wide.
//!
//! The result is per object id: what the matcher found. The history source
//! joins it with the blobs its walk found reachable; a reachable blob this
//! reader did not produce — a loose object, one in a pack without a usable
//! index, a delta whose base lives elsewhere, a damaged object, one bigger
//! than [`MAX_OBJECT`] — is read through `libgit2` as before, which also
//! reports what is damaged. So this reader only ever makes a scan faster,
//! never different.

mod delta;
mod file;

use crate::scan::{BlobScan, Matcher};
use file::{Kind, Pack, OID};
use flate2::Decompress;
use foldhash::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Objects declared bigger than this are left to `libgit2` (which reads a
/// blob whole too): a hostile header must not make this reader allocate
/// gigabytes for bases it keeps while their deltas are applied.
pub const MAX_OBJECT: u64 = 512 << 20;

/// Nested alternates followed, as git does.
const MAX_ALTERNATE_DEPTH: usize = 5;

/// A decoded blob's record: 0 = not decoded; else the top bit says binary
/// and the rest is the bytes scanned plus one.
const BINARY: u64 = 1 << 63;

/// What the matcher made of one decoded blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The blob was binary (not scanned).
    pub binary: bool,
    /// Bytes scanned.
    pub bytes: u64,
}

/// The packs of a repository (and of its alternates), and what scanning
/// their blobs found.
pub struct PackScan {
    packs: Vec<Pack>,
    /// Per pack, per index entry: the blob's record (see [`BINARY`]).
    records: Vec<Vec<AtomicU64>>,
    /// Scans with matches or a shortfall, by object id.
    notable: Mutex<HashMap<[u8; OID], BlobScan>>,
    /// Packs that could not be used, with the reason.
    pub refused: Vec<String>,
}

/// One node of the work list: an object of a pack and, for a delta, its
/// base's bytes.
struct Task {
    pack: u32,
    /// Rank of the object in the pack's offset order.
    rank: u32,
    base: Option<Arc<Vec<u8>>>,
}

/// A pack's delta forests over blob roots, by offset rank.
struct Topology {
    /// Index entry of each rank.
    entry: Vec<u32>,
    /// Offset of each rank.
    offset: Vec<u64>,
    /// Children of each rank (CSR: `kids[start[r]..start[r + 1]]`).
    start: Vec<u32>,
    kids: Vec<u32>,
    /// Ranks of full blobs.
    roots: Vec<u32>,
}

impl PackScan {
    /// Finds the packs under `objects` (a repository's `objects` folder)
    /// and its alternates. Packs that cannot be used are listed in
    /// `refused`; their objects are left to the caller's fallback.
    pub fn open(objects: &Path) -> PackScan {
        let mut dirs = Vec::new();
        collect_object_dirs(objects, 0, &mut dirs);
        let mut packs = Vec::new();
        let mut refused = Vec::new();
        for dir in dirs {
            let Ok(list) = std::fs::read_dir(dir.join("pack")) else {
                continue;
            };
            let mut names: Vec<PathBuf> = list
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pack"))
                .collect();
            names.sort();
            for path in names {
                match Pack::open(&path) {
                    Ok(p) => packs.push(p),
                    Err(e) => refused.push(e),
                }
            }
        }
        let records = packs
            .iter()
            .map(|p| (0..p.count).map(|_| AtomicU64::new(0)).collect())
            .collect();
        PackScan {
            packs,
            records,
            notable: Mutex::new(HashMap::default()),
            refused,
        }
    }

    /// Packs in use.
    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }

    /// Decodes and scans every blob of every pack on `workers` threads (at
    /// least one). `progress(bytes)` is called after each blob.
    pub fn run(&self, workers: usize, matcher: &Matcher, progress: &(dyn Fn(u64) + Sync)) {
        self.decode_all(workers, &|pack, entry, data| {
            self.scan(pack, entry, data, matcher);
            progress(data.len() as u64);
        });
    }

    /// Decodes every blob of every pack on `workers` threads and calls
    /// `visit(pack, index entry, bytes)` for each.
    fn decode_all(&self, workers: usize, visit: &(dyn Fn(usize, usize, &[u8]) + Sync)) {
        let topologies: Vec<Topology> = self.packs.iter().map(topology).collect();
        let mut stack = Vec::new();
        // Last in, first out: push in reverse so the pack is read forwards.
        for (pi, t) in topologies.iter().enumerate().rev() {
            for &rank in t.roots.iter().rev() {
                stack.push(Task {
                    pack: pi as u32,
                    rank,
                    base: None,
                });
            }
        }
        let queue = Queue {
            state: Mutex::new((stack, 0)),
            ready: Condvar::new(),
        };
        std::thread::scope(|s| {
            for _ in 0..workers.max(1) {
                s.spawn(|| {
                    let mut inflater = Decompress::new(true);
                    let mut buf = Vec::new();
                    while let Some(task) = queue.take() {
                        let t = &topologies[task.pack as usize];
                        let rank = task.rank as usize;
                        let children = &t.kids[t.start[rank] as usize..t.start[rank + 1] as usize];
                        let more = match self.decode(&task, t, &mut inflater, &mut buf) {
                            Some(data) => {
                                visit(task.pack as usize, t.entry[rank] as usize, &data);
                                if children.is_empty() {
                                    Vec::new()
                                } else {
                                    let data = Arc::new(data);
                                    children
                                        .iter()
                                        .map(|&rank| Task {
                                            pack: task.pack,
                                            rank,
                                            base: Some(Arc::clone(&data)),
                                        })
                                        .collect()
                                }
                            }
                            // Not decoded: neither it nor what builds on it;
                            // the caller's fallback reads them.
                            None => Vec::new(),
                        };
                        drop(task);
                        queue.finish(more);
                    }
                });
            }
        });
    }

    /// Reads and inflates a task's object (and applies its delta), or
    /// `None` when anything is wrong with it. `buf` is the worker's reusable
    /// read buffer.
    fn decode(
        &self,
        task: &Task,
        t: &Topology,
        inflater: &mut Decompress,
        buf: &mut Vec<u8>,
    ) -> Option<Vec<u8>> {
        let pack = &self.packs[task.pack as usize];
        let rank = task.rank as usize;
        let offset = t.offset[rank];
        let end = t.offset.get(rank + 1).copied().unwrap_or(pack.end());
        // Deflate adds at most 5 bytes per 16 KiB stored block.
        if end.saturating_sub(offset) > MAX_OBJECT + MAX_OBJECT / 1024 + 4096 {
            return None;
        }
        pack.read(offset, end, buf)?;
        let h = file::parse_header(buf, offset)?;
        if h.size > MAX_OBJECT {
            return None;
        }
        let inflated = delta::inflate(inflater, &buf[h.len..], h.size as usize).ok()?;
        match &task.base {
            None => Some(inflated),
            Some(base) => delta::apply(base, &inflated, MAX_OBJECT).ok(),
        }
    }

    /// Scans one decoded blob and records the outcome.
    fn scan(&self, pack: usize, entry: usize, data: &[u8], matcher: &Matcher) {
        let scan = matcher.scan_bytes(data);
        let record = if scan.binary {
            BINARY
        } else {
            scan.bytes.min(BINARY - 2) + 1
        };
        self.records[pack][entry].store(record, Ordering::Relaxed);
        if !scan.matches.is_empty() || !scan.shortfall.is_empty() {
            let id = *self.packs[pack].oid(entry);
            self.notable.lock().unwrap().insert(id, scan);
        }
    }

    /// What scanning the blob `id` gave, if this reader decoded it.
    pub fn outcome(&self, id: &[u8; OID]) -> Option<Outcome> {
        self.packs.iter().zip(&self.records).find_map(|(p, r)| {
            let v = r[p.find(id)?].load(Ordering::Relaxed);
            (v != 0).then_some(Outcome {
                binary: v == BINARY,
                bytes: (v & !BINARY).saturating_sub(1),
            })
        })
    }

    /// Takes the scan of blob `id` if it had matches or a shortfall.
    pub fn take_scan(&self, id: &[u8; OID]) -> Option<BlobScan> {
        self.notable.lock().unwrap().remove(id)
    }
}

/// The work list: tasks and the number of tasks being worked on, so workers
/// know the list will not grow again.
struct Queue {
    state: Mutex<(Vec<Task>, usize)>,
    ready: Condvar,
}

impl Queue {
    /// The next task, or `None` when every task is done.
    fn take(&self) -> Option<Task> {
        let mut st = self.state.lock().unwrap();
        loop {
            if let Some(t) = st.0.pop() {
                st.1 += 1;
                return Some(t);
            }
            if st.1 == 0 {
                return None;
            }
            st = self.ready.wait(st).unwrap();
        }
    }

    /// Ends a task, adding the tasks it produced.
    fn finish(&self, more: Vec<Task>) {
        let mut st = self.state.lock().unwrap();
        st.1 -= 1;
        let woke = !more.is_empty() || st.1 == 0;
        st.0.extend(more);
        drop(st);
        if woke {
            self.ready.notify_all();
        }
    }
}

/// Reads every object header of `pack` (no inflating) into its delta
/// forests; keeps the forests whose root is a full blob.
fn topology(pack: &Pack) -> Topology {
    let mut ranked: Vec<(u64, u32)> = (0..pack.count)
        .filter_map(|i| Some((pack.offset(i)?, i as u32)))
        .collect();
    ranked.sort_unstable();
    ranked.dedup_by_key(|r| r.0);
    let offset: Vec<u64> = ranked.iter().map(|r| r.0).collect();
    let entry: Vec<u32> = ranked.iter().map(|r| r.1).collect();
    let n = offset.len();
    let rank_of = |off: u64| offset.binary_search(&off).ok();
    // Parent of each rank (u32::MAX: a root or unresolvable).
    let mut parent = vec![u32::MAX; n];
    let mut roots = Vec::new();
    // The headers are read front to back through a window of the pack, one
    // read per window rather than one per object.
    const WINDOW: u64 = 1 << 20;
    let (mut window, mut window_at) = (Vec::new(), 0u64);
    for r in 0..n {
        let at = offset[r];
        let need = (at + file::MAX_HEADER as u64).min(pack.end());
        if at < window_at || need > window_at + window.len() as u64 {
            window_at = at;
            if pack
                .read(at, (at + WINDOW).min(pack.end()).max(need), &mut window)
                .is_none()
            {
                window.clear();
                continue;
            }
        }
        let header = file::parse_header(&window[(at - window_at) as usize..], at);
        match header.map(|h| h.kind) {
            Some(Kind::Blob) => roots.push(r as u32),
            Some(Kind::OfsDelta(base)) => {
                if let Some(b) = rank_of(base).filter(|&b| b < r) {
                    parent[r] = b as u32;
                }
            }
            Some(Kind::RefDelta(id)) => {
                let base = pack
                    .find(&id)
                    .and_then(|i| pack.offset(i))
                    .and_then(rank_of);
                if let Some(b) = base.filter(|&b| b != r) {
                    parent[r] = b as u32;
                }
            }
            _ => {}
        }
    }
    // A ref-delta may point forward; a damaged pack could make a cycle,
    // which no root reaches and so is never decoded.
    let mut start = vec![0u32; n + 1];
    for &p in &parent {
        if p != u32::MAX {
            start[p as usize + 1] += 1;
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut kids = vec![0u32; start[n] as usize];
    for (r, &p) in parent.iter().enumerate() {
        if p != u32::MAX {
            kids[fill[p as usize] as usize] = r as u32;
            fill[p as usize] += 1;
        }
    }
    Topology {
        entry,
        offset,
        start,
        kids,
        roots,
    }
}

/// `objects` and the object folders its `info/alternates` name, recursively
/// (relative entries are relative to the folder that names them).
fn collect_object_dirs(objects: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(canonical) = objects.canonicalize() else {
        return;
    };
    if out.contains(&canonical) {
        return;
    }
    out.push(canonical.clone());
    if depth >= MAX_ALTERNATE_DEPTH {
        return;
    }
    let alternates = canonical.join("info").join("alternates");
    let Ok(Some((file, _))) = crate::fs::open_regular(&alternates, crate::fs::Links::Follow) else {
        return;
    };
    let mut text = String::new();
    if std::io::Read::read_to_string(&mut std::io::Read::take(file, 1 << 20), &mut text).is_err() {
        return;
    }
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        collect_object_dirs(&canonical.join(line), depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs git in `dir` with a clean configuration.
    pub(super) fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// A history whose files change a little in every commit, so packing
    /// makes long delta chains; returns the repository.
    pub(super) fn delta_heavy_repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q"]);
        let mut seed = 0x2545_f491_u64;
        let mut words = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            format!("{seed:016x}")
        };
        let mut files: Vec<String> = (0..4).map(|_| String::new()).collect();
        for round in 0..30 {
            for (k, f) in files.iter_mut().enumerate() {
                if (round + k) % 2 == 0 {
                    for _ in 0..20 {
                        f.push_str(&words());
                        f.push('\n');
                    }
                    std::fs::write(d.join(format!("f{k}.txt")), &*f).unwrap();
                }
            }
            std::fs::write(d.join("bin.dat"), [0u8, 1, 2, round as u8]).unwrap();
            git(d, &["add", "-A"]);
            git(
                d,
                &[
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@e",
                    "commit",
                    "-qm",
                    "c",
                ],
            );
        }
        git(d, &["gc", "-q", "--aggressive"]);
        dir
    }

    /// Every blob of a packed, delta-heavy history decodes to exactly the
    /// bytes libgit2 reads for it, whatever the number of workers.
    #[test]
    fn every_blob_decodes_to_what_libgit2_reads() {
        let dir = delta_heavy_repo();
        let repo = git2::Repository::open(dir.path()).unwrap();
        let blobs: Vec<String> = git(
            dir.path(),
            &["cat-file", "--batch-all-objects", "--batch-check"],
        )
        .lines()
        .filter(|l| l.contains(" blob "))
        .map(|l| l[..40].to_string())
        .collect();
        assert!(blobs.len() > 60, "{}", blobs.len());
        let deltas = git(dir.path(), &["count-objects", "-v"]);
        assert!(deltas.contains("count: 0"), "all objects packed: {deltas}");
        for workers in [1, 3] {
            let scan = PackScan::open(&dir.path().join(".git/objects"));
            assert_eq!(scan.pack_count(), 1);
            let got: Mutex<HashMap<[u8; OID], Vec<u8>>> = Mutex::new(HashMap::default());
            scan.decode_all(workers, &|pack, entry, data| {
                let id = *scan.packs[pack].oid(entry);
                assert!(
                    got.lock().unwrap().insert(id, data.to_vec()).is_none(),
                    "decoded twice"
                );
            });
            let got = got.into_inner().unwrap();
            assert_eq!(got.len(), blobs.len());
            for hex in &blobs {
                let oid = git2::Oid::from_str(hex).unwrap();
                let want = repo.find_blob(oid).unwrap();
                let key: [u8; OID] = oid.as_bytes().try_into().unwrap();
                assert_eq!(got[&key], want.content(), "blob {hex}");
            }
        }
    }

    /// A pack whose blob data is damaged: the damaged objects (and the
    /// deltas built on them) are not produced, the rest are, and nothing
    /// panics.
    #[test]
    fn damaged_objects_are_left_out_not_guessed() {
        let dir = delta_heavy_repo();
        let pack_dir = dir.path().join(".git/objects/pack");
        let pack = std::fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "pack"))
            .unwrap();
        let clean = PackScan::open(&dir.path().join(".git/objects"));
        let count = |s: &PackScan| {
            let n = std::sync::atomic::AtomicUsize::new(0);
            s.decode_all(2, &|_, _, _| {
                n.fetch_add(1, Ordering::Relaxed);
            });
            n.into_inner()
        };
        let all = count(&clean);
        drop(clean);
        let mut bytes = std::fs::read(&pack).unwrap();
        let n = bytes.len();
        // Flip bytes across the middle of the object data.
        for b in &mut bytes[n / 3..n / 3 + 64] {
            *b ^= 0x5a;
        }
        std::fs::remove_file(&pack).unwrap();
        std::fs::write(&pack, &bytes).unwrap();
        let damaged = PackScan::open(&dir.path().join(".git/objects"));
        let left = count(&damaged);
        assert!(left < all, "{left} of {all}");
    }

    #[test]
    fn alternates_are_followed_and_cycles_stop() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a/objects");
        let b = dir.path().join("b/objects");
        std::fs::create_dir_all(a.join("info")).unwrap();
        std::fs::create_dir_all(b.join("info")).unwrap();
        std::fs::write(a.join("info/alternates"), "# comment\n../../b/objects\n").unwrap();
        std::fs::write(b.join("info/alternates"), format!("{}\n", a.display())).unwrap();
        let mut out = Vec::new();
        collect_object_dirs(&a, 0, &mut out);
        assert_eq!(out, [a.canonicalize().unwrap(), b.canonicalize().unwrap()]);
    }
}
