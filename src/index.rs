//! A reader for git's index file (`.git/index`, or `GIT_INDEX_FILE`) and its
//! cache-tree, for [`crate::source::staged`]; the tree walk and the tree
//! facts read which files git tracks with it too (a top-level module, so
//! the facts need not depend on the sources that feed them). Also reachable
//! as `keyscan::source::index`.
//!
//! A pre-commit hook runs on every commit, so its cost is paid in the
//! largest repositories. `libgit2` reads an index by allocating every entry
//! and re-hashing the whole file (150 ms for the 14 MB index of a
//! 100,000-file repository), and its tree-to-index diff loads every tree of
//! HEAD because it cannot use the index's cache-tree (another 140 ms); it
//! also cannot read split or sparse indexes at all. This module reads the
//! file once into one buffer, keeps entries as fixed-size records over a
//! single path arena, and parses the `TREE` extension: the tree id each
//! directory of the index would be written as, for directories whose content
//! has not changed since it was last computed. A directory whose cached id
//! equals HEAD's tree at that path holds nothing staged, so
//! [`crate::source::staged`] never opens it.
//!
//! **What is read.** Versions 2, 3 and 4 (prefix-compressed paths);
//! extended flags (`git add -N`, `skip-worktree`) and the assume-unchanged
//! bit; optional extensions (an upper-case first letter) other than `TREE`
//! are skipped, as git does.
//!
//! - **Split index** (`core.splitIndex`, the `link` extension): the file
//!   holds only the entries changed since a shared index,
//!   `<git dir>/sharedindex.<id>`. The shared file is read into the same
//!   buffer, and the two are merged the way git's `merge_base_index` does:
//!   entries of the shared index marked in the *replace* bitmap take the
//!   split file's first entries in order (keeping the shared entry's path),
//!   entries marked in the *delete* bitmap are dropped, and the split file's
//!   remaining entries are added in path order (a stage-0 entry replacing
//!   every stage of its path). The bitmaps are EWAH-compressed and read
//!   without expanding them. The shared file's trailing checksum must be the
//!   id the `link` extension names, as git checks.
//! - **Sparse index** (`index.sparse`, the `sdir` extension): a directory
//!   outside the sparse-checkout cone is one entry, mode `040000`, path
//!   ending in `/`, naming the tree the directory holds in the index.
//!   Entries keep it; [`crate::source::staged`] compares that tree with HEAD's tree
//!   at the path (usually the same id: nothing staged there).
//! - Other mandatory extensions (a lower-case first letter) are refused
//!   with an error naming the file: entries read without them might not be
//!   the full index, and a partial index would be judged clean.
//!
//! **Hostile or damaged files.** The file is opened non-blocking and read
//! only if `fstat` on the open handle says it is a regular file (a FIFO in
//! place of `.git/index` never hangs), up to [`MAX_INDEX_BYTES`]. Every
//! field is bounds-checked; entries must be in git's order (path bytes, then
//! stage), as git itself insists, because [`crate::source::staged`] finds the
//! entries of a directory by binary search. Version 4 paths are rebuilt into
//! an arena, which may not outgrow the file by more than
//! [`V4_EXPANSION`]× (plus [`V4_SLACK`] bytes): prefix compression chained
//! over many entries could otherwise make a few megabytes of index claim
//! gigabytes of paths. The cache-tree is stored flat and parsed without
//! recursion, so a directory nesting of any depth costs no stack; a
//! malformed cache-tree is ignored, as git ignores it (it only saves work).
//! The trailing checksum is not verified (git verifies it when it writes).
//!
//! Only SHA-1 repositories are supported, like the rest of `libgit2` 1.9.

use crate::error::{Error, Result};
use git2::Oid;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Object id length in a SHA-1 repository.
const OID_LEN: usize = 20;
/// Fixed part of an on-disk entry before its flags: ctime, mtime, dev, ino,
/// mode, uid, gid, size (10 × 4 bytes) and the object id.
const ENTRY_FIXED: usize = 40 + OID_LEN;
/// Flag bits of an entry.
const FLAG_ASSUME_VALID: u16 = 0x8000;
const FLAG_EXTENDED: u16 = 0x4000;
const FLAG_STAGE_MASK: u16 = 0x3000;
const FLAG_NAME_MASK: u16 = 0x0fff;
/// Extended flags: `skip-worktree` (sparse checkout) and `git add -N` (the
/// path is known, its content is not staged).
const XFLAG_SKIP_WORKTREE: u16 = 0x4000;
const XFLAG_INTENT_TO_ADD: u16 = 0x2000;
/// Mode of a sparse directory entry.
const MODE_DIR: u32 = 0o040000;

/// Largest index file read (each of a split index's two files). The
/// index of a 3.5-million-file repository is about 400 MB.
pub const MAX_INDEX_BYTES: u64 = 2 << 30;
/// Version 4 path arenas may grow to this many times the file's size…
pub const V4_EXPANSION: usize = 16;
/// …plus this many bytes.
pub const V4_SLACK: usize = 64 << 20;

/// One index entry: path (into the index's arena), id, mode, stage, flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    start: u32,
    end: u32,
    /// The staged blob (a submodule's commit, a sparse directory's tree).
    pub id: Oid,
    /// Raw git file mode.
    pub mode: u32,
    /// Merge stage: 0 for a normal entry, 1–3 for an unmerged path.
    pub stage: u8,
    /// Added with `git add -N`: no content is staged yet.
    pub intent_to_add: bool,
    /// The `skip-worktree` bit (sparse checkout): the work tree file is
    /// absent or ignored by git, the staged content stands.
    pub skip_worktree: bool,
    /// The assume-unchanged bit (`git update-index --assume-unchanged`).
    pub assume_unchanged: bool,
}

impl Entry {
    /// A sparse directory entry (mode `040000`, path ending in `/`): the
    /// whole directory is this tree.
    pub fn is_sparse_dir(&self) -> bool {
        self.mode & 0o170000 == MODE_DIR
    }
}

/// The cache-tree (`TREE` extension), stored flat in pre-order.
#[derive(Debug, Clone, Default)]
pub struct CacheTree {
    nodes: Vec<Node>,
    names: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Node {
    name: (u32, u32),
    valid: Option<(usize, Oid)>,
    /// One past the last node of this node's subtree.
    end: u32,
}

/// One directory of a [`CacheTree`].
#[derive(Debug, Clone, Copy)]
pub struct CacheDir<'a> {
    tree: &'a CacheTree,
    at: usize,
}

impl<'a> CacheDir<'a> {
    /// The directory's name (empty for the root).
    pub fn name(&self) -> &'a [u8] {
        let (s, e) = self.tree.nodes[self.at].name;
        &self.tree.names[s as usize..e as usize]
    }

    /// Index entries below this directory, and the tree id they make, or
    /// `None` when git invalidated the directory since.
    pub fn valid(&self) -> Option<(usize, Oid)> {
        self.tree.nodes[self.at].valid
    }

    /// The subdirectories.
    pub fn children(&self) -> impl Iterator<Item = CacheDir<'a>> + 'a {
        let tree = self.tree;
        let end = tree.nodes[self.at].end as usize;
        let mut next = self.at + 1;
        std::iter::from_fn(move || {
            (next < end).then(|| {
                let at = next;
                next = tree.nodes[at].end as usize;
                CacheDir { tree, at }
            })
        })
    }

    /// The subdirectory named `name`.
    pub fn child(&self, name: &[u8]) -> Option<CacheDir<'a>> {
        self.children().find(|c| c.name() == name)
    }
}

/// A parsed index (a split index merged with its shared index).
#[derive(Debug)]
pub struct Index {
    /// Path bytes: the file(s) themselves (versions 2 and 3), followed by
    /// the arenas of rebuilt version 4 paths.
    paths: Vec<u8>,
    /// Entries in index order (by path bytes, then stage).
    pub entries: Vec<Entry>,
    tree: Option<CacheTree>,
    /// The index was a split index (read together with its shared index).
    pub split: bool,
    /// The index holds sparse directory entries.
    pub sparse: bool,
}

impl Index {
    /// An index with no entries (a repository before its first `git add`).
    pub fn empty() -> Index {
        Index {
            paths: Vec::new(),
            entries: Vec::new(),
            tree: None,
            split: false,
            sparse: false,
        }
    }

    /// The path of `e` (bytes, `/`-separated, relative to the work tree; a
    /// sparse directory's path ends in `/`).
    pub fn path(&self, e: &Entry) -> &[u8] {
        &self.paths[e.start as usize..e.end as usize]
    }

    /// The cache-tree's root, when the index has a (well-formed) one.
    pub fn cache_tree(&self) -> Option<CacheDir<'_>> {
        self.tree
            .as_ref()
            .filter(|t| !t.nodes.is_empty())
            .map(|tree| CacheDir { tree, at: 0 })
    }

    /// Reads and parses the index file at `path`; a split index's shared
    /// index is read from `git_dir` (the repository's, or a linked work
    /// tree's, git directory), where git keeps it.
    pub fn read(path: &Path, git_dir: &Path) -> Result<Index> {
        let mut buf = Vec::new();
        read_regular(path, &mut buf)?;
        let err = |path: &Path, message: String| Error::Git {
            path: path.to_path_buf(),
            message: format!("cannot read the index: {message}"),
            source: None,
        };
        let main = parse_file(&buf, 0).map_err(|m| err(path, m))?;
        let Some(base) = main.link.as_ref().and_then(|l| l.base) else {
            return assemble(buf, main, None).map_err(|m| err(path, m));
        };
        let shared_path = git_dir.join(format!("sharedindex.{base}"));
        let split_len = buf.len();
        read_regular(&shared_path, &mut buf).map_err(|e| match e {
            Error::Io { path: p, source } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::Git {
                    path: path.to_path_buf(),
                    message: format!(
                        "cannot read the index: it is a split index and its shared index {} is missing",
                        p.display()
                    ),
                    source: None,
                }
            }
            other => other,
        })?;
        check_shared_id(&buf[split_len..], base).map_err(|m| err(&shared_path, m))?;
        let shared = parse_file(&buf[split_len..], split_len).map_err(|m| err(&shared_path, m))?;
        assemble(buf, main, Some(shared)).map_err(|m| err(path, m))
    }

    /// Parses an index from bytes: `shared` is the shared index of a split
    /// index (`None` when there is none). For tests and fuzzing; keyscan
    /// itself uses [`Index::read`].
    pub fn parse(index: &[u8], shared: Option<&[u8]>) -> std::result::Result<Index, String> {
        let mut buf = index.to_vec();
        let main = parse_file(&buf, 0)?;
        let shared = match (main.link.as_ref().and_then(|l| l.base), shared) {
            (None, _) => None,
            (Some(base), None) => {
                return Err(format!("split index without its shared index {base}"))
            }
            (Some(base), Some(s)) => {
                check_shared_id(s, base)?;
                let at = buf.len();
                buf.extend_from_slice(s);
                Some(parse_file(&buf[at..], at)?)
            }
        };
        assemble(buf, main, shared)
    }
}

/// The shared index's trailing checksum must be the id the split index
/// names, as git checks.
fn check_shared_id(shared: &[u8], base: Oid) -> Parse<()> {
    let got = shared.len().checked_sub(OID_LEN).map(|at| &shared[at..]);
    if got != Some(base.as_bytes()) {
        return Err(format!(
            "the shared index is not the one the split index names ({base})"
        ));
    }
    Ok(())
}

/// Appends the regular file at `path` to `buf`: opened non-blocking (a FIFO
/// never blocks), checked with `fstat` on the open handle, read up to
/// [`MAX_INDEX_BYTES`].
fn read_regular(path: &Path, buf: &mut Vec<u8>) -> Result<()> {
    let io = |source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(Error::Git {
            path: path.to_path_buf(),
            message: "cannot read the index: not a regular file (a FIFO, socket or device)".into(),
            source: None,
        });
    }
    if meta.len() > MAX_INDEX_BYTES {
        return Err(Error::Git {
            path: path.to_path_buf(),
            message: format!(
                "cannot read the index: {} bytes is over the limit of {MAX_INDEX_BYTES}",
                meta.len()
            ),
            source: None,
        });
    }
    buf.reserve(meta.len() as usize);
    let start = buf.len();
    // `File`'s own `read_to_end` sizes its reads from the file's length: one
    // `read` for the whole index (through `take`, reads started at 8 KiB and
    // doubled: eleven reads and as many reallocations for a 9 MB index).
    // The size is checked again below, should the file have grown.
    (&file).read_to_end(buf).map_err(io)?;
    if (buf.len() - start) as u64 > MAX_INDEX_BYTES {
        return Err(Error::Git {
            path: path.to_path_buf(),
            message: format!(
                "cannot read the index: it grew over the limit of {MAX_INDEX_BYTES} bytes"
            ),
            source: None,
        });
    }
    Ok(())
}

/// A bounds-checked cursor over the file.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

type Parse<T> = std::result::Result<T, String>;

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Parse<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Parse<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u16(&mut self) -> Parse<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u64(&mut self) -> Parse<u64> {
        let b = self.take(8)?;
        Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    /// Bytes up to the next NUL, which is consumed.
    fn until_nul(&mut self) -> Parse<&'a [u8]> {
        let rest = &self.data[self.pos..];
        let n = memchr::memchr(0, rest)
            .ok_or_else(|| format!("unterminated path at byte {}", self.pos))?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    /// git's offset varint (used by version 4 path compression).
    fn varint(&mut self) -> Parse<usize> {
        let mut c = self.take(1)?[0];
        let mut val = usize::from(c & 0x7f);
        while c & 0x80 != 0 {
            c = self.take(1)?[0];
            val = val
                .checked_add(1)
                .and_then(|v| v.checked_mul(128))
                .map(|v| v | usize::from(c & 0x7f))
                .ok_or("path prefix length overflows")?;
        }
        Ok(val)
    }
}

fn oid(bytes: &[u8]) -> Oid {
    Oid::from_bytes(bytes).expect("20-byte slice")
}

/// The `link` extension of a split index.
struct Link {
    /// The shared index's id (`None`: all zero, no shared index).
    base: Option<Oid>,
    /// EWAH bitmaps over the shared index's entries (raw bytes).
    delete: Vec<u8>,
    replace: Vec<u8>,
}

/// One file of an index, parsed.
struct Parsed {
    /// Entries; offsets are absolute in the caller's buffer (versions 2
    /// and 3) or relative to `arena` (version 4).
    entries: Vec<Entry>,
    arena: Option<Vec<u8>>,
    tree: Option<CacheTree>,
    link: Option<Link>,
    sparse: bool,
}

/// Parses one index file, `data`, which starts at offset `base` of the
/// buffer its entries will point into.
fn parse_file(data: &[u8], base: usize) -> Parse<Parsed> {
    let mut c = Cursor { data, pos: 0 };
    if c.take(4)? != b"DIRC" {
        return Err("not an index file (no DIRC signature)".into());
    }
    let version = c.u32()?;
    if !(2..=4).contains(&version) {
        return Err(format!("index version {version} is not supported"));
    }
    let count = c.u32()? as usize;
    // Everything after the entries ends with the file's checksum.
    let body_end = data
        .len()
        .checked_sub(OID_LEN)
        .ok_or("truncated (no checksum)")?;
    let mut entries = Vec::with_capacity(count.min(data.len() / (ENTRY_FIXED + 2)));
    // Versions 2 and 3 store each path whole: entries point into the file's
    // own bytes. Version 4 paths are rebuilt into an arena, bounded.
    let v4 = version == 4;
    let mut arena: Vec<u8> = Vec::new();
    let arena_limit = data
        .len()
        .saturating_mul(V4_EXPANSION)
        .saturating_add(V4_SLACK);
    let mut prev: (usize, usize) = (0, 0);
    let mut sparse = false;
    for _ in 0..count {
        let start_pos = c.pos;
        let fixed = c.take(ENTRY_FIXED)?;
        let mode = u32::from_be_bytes([fixed[24], fixed[25], fixed[26], fixed[27]]);
        let id = oid(&fixed[40..]);
        let flags = c.u16()?;
        let xflags = if flags & FLAG_EXTENDED != 0 {
            if version < 3 {
                return Err("extended entry flags in a version 2 index".into());
            }
            c.u16()?
        } else {
            0
        };
        let (start, end);
        if v4 {
            start = arena.len();
            let strip = c.varint()?;
            let prev_len = prev.1 - prev.0;
            if strip > prev_len {
                return Err(format!("bad path compression at byte {start_pos}"));
            }
            let suffix = c.until_nul()?;
            let len = prev_len - strip + suffix.len();
            if arena.len() + len > arena_limit {
                return Err(format!(
                    "version 4 path compression expands to more than {V4_EXPANSION} times the file's size at entry {} (a crafted index?); `git update-index --index-version 2` rewrites it",
                    entries.len()
                ));
            }
            arena.extend_from_within(prev.0..prev.1 - strip);
            arena.extend_from_slice(suffix);
            end = arena.len();
        } else {
            let name_len = usize::from(flags & FLAG_NAME_MASK);
            let name = if name_len < usize::from(FLAG_NAME_MASK) {
                c.take(name_len)?
            } else {
                // Names of 4095 bytes or more: the length is not stored.
                let rest = &c.data[c.pos..];
                let n = memchr::memchr(0, rest).ok_or("unterminated long path")?;
                c.take(n)?
            };
            start = base + c.pos - name.len();
            end = base + c.pos;
            // 1–8 NULs pad the entry to a multiple of 8 bytes.
            let len = c.pos - start_pos;
            let padded = (len + 8) & !7;
            c.take(padded - len)?;
        }
        if start > u32::MAX as usize || end > u32::MAX as usize {
            return Err("index paths of 4 GiB or more are not supported".into());
        }
        if mode & 0o170000 == MODE_DIR {
            sparse = true;
        }
        prev = if v4 { (start, end) } else { (0, 0) };
        entries.push(Entry {
            start: start as u32,
            end: end as u32,
            id,
            mode,
            stage: ((flags & FLAG_STAGE_MASK) >> 12) as u8,
            intent_to_add: xflags & XFLAG_INTENT_TO_ADD != 0,
            skip_worktree: xflags & XFLAG_SKIP_WORKTREE != 0,
            assume_unchanged: flags & FLAG_ASSUME_VALID != 0,
        });
    }

    let mut tree = None;
    let mut link = None;
    while c.pos < body_end {
        let sig = c.take(4)?;
        let size = c.u32()? as usize;
        let body = c.take(size)?;
        match sig {
            b"TREE" => tree = parse_cache_tree(body),
            b"link" => link = Some(parse_link(body)?),
            b"sdir" => sparse = true,
            _ if sig[0].is_ascii_uppercase() => {}
            _ => {
                return Err(format!(
                    "unsupported mandatory extension `{}`",
                    String::from_utf8_lossy(sig).escape_debug()
                ))
            }
        }
    }
    if c.pos != body_end {
        return Err("extensions overrun the checksum".into());
    }
    Ok(Parsed {
        entries,
        arena: v4.then_some(arena),
        tree,
        link,
        sparse,
    })
}

fn parse_link(body: &[u8]) -> Parse<Link> {
    let mut c = Cursor { data: body, pos: 0 };
    let id = c.take(OID_LEN)?;
    let base = id.iter().any(|&b| b != 0).then(|| oid(id));
    let (delete, replace) = if c.pos < body.len() {
        let d = ewah_span(&mut c)?;
        let r = ewah_span(&mut c)?;
        (d.to_vec(), r.to_vec())
    } else {
        (Vec::new(), Vec::new())
    };
    if c.pos != body.len() {
        return Err("garbage at the end of the split index's `link` extension".into());
    }
    Ok(Link {
        base,
        delete,
        replace,
    })
}

/// The bytes of one EWAH bitmap: bit count, word count, the words, and the
/// position of the last run-length word (all big-endian).
fn ewah_span<'a>(c: &mut Cursor<'a>) -> Parse<&'a [u8]> {
    let start = c.pos;
    c.u32()?;
    let words = c.u32()? as usize;
    c.take(words.checked_mul(8).ok_or("EWAH bitmap too large")?)?;
    c.u32()?;
    Ok(&c.data[start..c.pos])
}

/// Calls `f` with every set bit of an EWAH bitmap, in increasing order,
/// refusing any bit at or past `limit` before enumerating it (a run of set
/// bits is checked as a whole, so a crafted run costs nothing).
fn ewah_each_bit(raw: &[u8], limit: usize, mut f: impl FnMut(usize) -> Parse<()>) -> Parse<()> {
    if raw.is_empty() {
        return Ok(());
    }
    let mut c = Cursor { data: raw, pos: 0 };
    c.u32()?;
    let words = c.u32()? as usize;
    let limit = limit as u64;
    let out_of_range = |pos: u64| {
        format!("the split index's bitmap names entry {pos} of a shared index of {limit}")
    };
    let mut pos: u64 = 0;
    let mut read = 0;
    while read < words {
        let rlw = c.u64()?;
        read += 1;
        let run = ((rlw >> 1) & 0xffff_ffff) * 64;
        let literals = (rlw >> 33) as usize;
        if rlw & 1 != 0 && run > 0 {
            if pos.saturating_add(run) > limit {
                return Err(out_of_range(pos + run - 1));
            }
            for p in pos..pos + run {
                f(p as usize)?;
            }
        }
        pos = pos.saturating_add(run);
        for _ in 0..literals {
            if read >= words {
                return Err("truncated EWAH bitmap".into());
            }
            let mut w = c.u64()?;
            read += 1;
            while w != 0 {
                let bit = pos.saturating_add(u64::from(w.trailing_zeros()));
                if bit >= limit {
                    return Err(out_of_range(bit));
                }
                f(bit as usize)?;
                w &= w - 1;
            }
            pos = pos.saturating_add(64);
        }
    }
    Ok(())
}

/// Builds the final index from the file's entries and, for a split index,
/// the shared index's.
fn assemble(mut paths: Vec<u8>, main: Parsed, shared: Option<Parsed>) -> Parse<Index> {
    let mut relocate = |p: &mut Parsed| -> Parse<()> {
        if let Some(arena) = p.arena.take() {
            let shift = paths.len();
            if shift + arena.len() > u32::MAX as usize {
                return Err("index paths of 4 GiB or more are not supported".into());
            }
            paths.extend_from_slice(&arena);
            for e in &mut p.entries {
                e.start += shift as u32;
                e.end += shift as u32;
            }
        }
        Ok(())
    };
    let mut main = main;
    relocate(&mut main)?;
    let split = main.link.as_ref().is_some_and(|l| l.base.is_some());
    let (entries, sparse) = match shared {
        None => (main.entries, main.sparse),
        Some(mut shared) => {
            relocate(&mut shared)?;
            if shared.link.is_some() {
                return Err("the shared index is itself a split index".into());
            }
            let link = main.link.as_ref().expect("a split index has a link");
            let merged = merge_split(&paths, link, shared.entries, main.entries)?;
            (merged, main.sparse || shared.sparse)
        }
    };
    check_order(&paths, &entries)?;
    Ok(Index {
        paths,
        entries,
        tree: main.tree,
        split,
        sparse,
    })
}

/// git's `merge_base_index`: the shared entries with replacements applied
/// and deletions dropped, then the split file's added entries.
fn merge_split(
    paths: &[u8],
    link: &Link,
    mut base: Vec<Entry>,
    own: Vec<Entry>,
) -> Parse<Vec<Entry>> {
    let n = base.len();
    let mut deleted = vec![false; n];
    ewah_each_bit(&link.delete, n, |p| {
        deleted[p] = true;
        Ok(())
    })?;
    let mut replaced = 0;
    ewah_each_bit(&link.replace, n, |p| {
        let src = own
            .get(replaced)
            .ok_or("the split index replaces more entries than it holds")?;
        if deleted[p] {
            return Err(format!(
                "shared index entry {p} is both replaced and deleted"
            ));
        }
        let dst = &mut base[p];
        let src_path = &paths[src.start as usize..src.end as usize];
        if !src_path.is_empty() && src_path != &paths[dst.start as usize..dst.end as usize] {
            return Err(format!(
                "replacement for shared index entry {p} names another path"
            ));
        }
        *dst = Entry {
            start: dst.start,
            end: dst.end,
            ..*src
        };
        replaced += 1;
        Ok(())
    })?;
    let added = &own[replaced..];
    if added.iter().any(|e| e.start == e.end) {
        return Err("an added entry of the split index has no path".into());
    }
    let path = |e: &Entry| &paths[e.start as usize..e.end as usize];
    let kept = base
        .into_iter()
        .zip(deleted)
        .filter(|(_, d)| !d)
        .map(|(e, _)| e);
    // Both lists are in index order: merge them. An added entry replaces a
    // kept one with its path and stage; a stage-0 one replaces every stage.
    let mut out = Vec::with_capacity(n + added.len());
    let mut kept = kept.peekable();
    for a in added {
        while let Some(k) = kept.next_if(|k| (path(k), k.stage) < (path(a), a.stage)) {
            out.push(k);
        }
        while kept
            .next_if(|k| path(k) == path(a) && (k.stage == a.stage || a.stage == 0))
            .is_some()
        {}
        out.push(*a);
    }
    out.extend(kept);
    Ok(out)
}

/// Entries must be sorted by path bytes, then stage, without duplicates —
/// git refuses an index otherwise, and the staged comparison depends on it.
fn check_order(paths: &[u8], entries: &[Entry]) -> Parse<()> {
    let path = |e: &Entry| &paths[e.start as usize..e.end as usize];
    for (i, w) in entries.windows(2).enumerate() {
        let ord = path(&w[0])
            .cmp(path(&w[1]))
            .then(w[0].stage.cmp(&w[1].stage));
        if ord != std::cmp::Ordering::Less {
            return Err(format!(
                "entries {} and {} are out of order (`{}`)",
                i,
                i + 1,
                String::from_utf8_lossy(path(&w[1])).escape_debug()
            ));
        }
    }
    Ok(())
}

/// Parses the `TREE` extension: nodes in pre-order, each `name NUL count SP
/// subtrees LF [id]`, with `count` -1 for an invalidated directory. Built
/// with an explicit stack, never recursion. `None` when malformed: git then
/// ignores the cache-tree too (it only saves work).
fn parse_cache_tree(body: &[u8]) -> Option<CacheTree> {
    if body.first().is_none_or(|&b| b != 0) {
        return None;
    }
    let mut c = Cursor { data: body, pos: 0 };
    let mut tree = CacheTree::default();
    // (node, subtrees still to read)
    let mut open: Vec<(usize, u64)> = Vec::new();
    loop {
        let name = c.until_nul().ok()?;
        let rest = &c.data[c.pos..];
        let nl = memchr::memchr(b'\n', rest)?;
        let line = std::str::from_utf8(&rest[..nl]).ok()?;
        c.pos += nl + 1;
        let (count, subtrees) = line.split_once(' ')?;
        let count: i64 = count.parse().ok()?;
        let subtrees: u64 = subtrees.parse().ok()?;
        let valid = if count >= 0 {
            Some((usize::try_from(count).ok()?, oid(c.take(OID_LEN).ok()?)))
        } else {
            None
        };
        let s = tree.names.len();
        tree.names.extend_from_slice(name);
        let at = tree.nodes.len();
        tree.nodes.push(Node {
            name: (s as u32, tree.names.len() as u32),
            valid,
            end: 0,
        });
        if let Some(parent) = open.last_mut() {
            parent.1 -= 1;
        }
        open.push((at, subtrees));
        while let Some(&(i, 0)) = open.last() {
            tree.nodes[i].end = tree.nodes.len() as u32;
            open.pop();
        }
        if open.is_empty() {
            break;
        }
    }
    (c.pos == body.len()).then_some(tree)
}

/// The index file of a work tree's repository when `GIT_INDEX_FILE` is not
/// set: `<git dir>/index`.
pub fn default_path(git_dir: &Path) -> PathBuf {
    git_dir.join("index")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a version 2 or 4 index with the given entries and raw extensions.
    fn build(version: u32, entries: &[(&str, u32, u16)], ext: &[u8]) -> Vec<u8> {
        let mut out = b"DIRC".to_vec();
        out.extend(version.to_be_bytes());
        out.extend((entries.len() as u32).to_be_bytes());
        let mut prev: &str = "";
        for (i, (path, mode, stage)) in entries.iter().enumerate() {
            let start = out.len();
            out.extend([0u8; 24]);
            out.extend(mode.to_be_bytes());
            out.extend([0u8; 12]);
            let mut id = [0u8; 20];
            id[0] = i as u8 + 1;
            out.extend(id);
            let flags = (stage << 12) | (path.len().min(0xfff) as u16);
            out.extend(flags.to_be_bytes());
            if version == 4 {
                let common = prev
                    .bytes()
                    .zip(path.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                let strip = prev.len() - common;
                assert!(strip < 128);
                out.push(strip as u8);
                out.extend(&path.as_bytes()[common..]);
                out.push(0);
            } else {
                out.extend(path.as_bytes());
                let len = out.len() - start;
                out.resize(start + ((len + 8) & !7), 0);
            }
            prev = path;
        }
        out.extend(ext);
        out.extend([0u8; 20]);
        out
    }

    fn names(idx: &Index) -> Vec<(String, u32, u8)> {
        idx.entries
            .iter()
            .map(|e| {
                (
                    String::from_utf8_lossy(idx.path(e)).into_owned(),
                    e.mode,
                    e.stage,
                )
            })
            .collect()
    }

    fn ext(sig: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = sig.to_vec();
        out.extend((body.len() as u32).to_be_bytes());
        out.extend(body);
        out
    }

    /// An EWAH bitmap of literal words only.
    fn ewah(bits: &[usize]) -> Vec<u8> {
        let nwords = bits.iter().max().map_or(0, |m| m / 64 + 1);
        let mut lits = vec![0u64; nwords];
        for &b in bits {
            lits[b / 64] |= 1 << (b % 64);
        }
        let mut out = Vec::new();
        out.extend((nwords as u32 * 64).to_be_bytes());
        out.extend(((nwords + usize::from(nwords > 0)) as u32).to_be_bytes());
        if nwords > 0 {
            out.extend(((nwords as u64) << 33).to_be_bytes());
            for w in lits {
                out.extend(w.to_be_bytes());
            }
        }
        out.extend(0u32.to_be_bytes());
        out
    }

    #[test]
    fn versions_2_and_4_give_the_same_entries() {
        let list = [
            ("a.txt", 0o100644, 0),
            ("src/lib.rs", 0o100644, 0),
            ("src/main.rs", 0o100755, 0),
            ("src/x/y.rs", 0o120000, 2),
        ];
        for v in [2, 4] {
            let idx = Index::parse(&build(v, &list, b""), None).unwrap();
            let want: Vec<(String, u32, u8)> = list
                .iter()
                .map(|(p, m, s)| (p.to_string(), *m, *s as u8))
                .collect();
            assert_eq!(names(&idx), want, "version {v}");
            assert_eq!(idx.entries[1].id.as_bytes()[0], 2);
        }
    }

    #[test]
    fn cache_tree_is_parsed_flat_and_invalid_nodes_have_no_id() {
        let mut tree = Vec::new();
        tree.extend(b"\x003 2\n");
        tree.extend([7u8; 20]);
        tree.extend(b"src\0-1 1\n");
        tree.extend(b"deep\x001 0\n");
        tree.extend([8u8; 20]);
        tree.extend(b"z\x001 0\n");
        tree.extend([9u8; 20]);
        let idx = Index::parse(
            &build(
                2,
                &[
                    ("a", 0o100644, 0),
                    ("src/deep/b", 0o100644, 0),
                    ("z/c", 0o100644, 0),
                ],
                &ext(b"TREE", &tree),
            ),
            None,
        )
        .unwrap();
        let root = idx.cache_tree().unwrap();
        assert_eq!(root.valid().unwrap().0, 3);
        assert_eq!(root.valid().unwrap().1.as_bytes(), &[7u8; 20]);
        let kids: Vec<&[u8]> = root.children().map(|c| c.name()).collect();
        assert_eq!(kids, vec![&b"src"[..], b"z"]);
        let src = root.child(b"src").unwrap();
        assert!(src.valid().is_none());
        assert_eq!(
            src.child(b"deep").unwrap().valid().unwrap().1.as_bytes(),
            &[8u8; 20]
        );
        assert_eq!(
            root.child(b"z").unwrap().valid().unwrap().1.as_bytes(),
            &[9u8; 20]
        );
        assert!(root.child(b"deep").is_none());
    }

    #[test]
    fn a_malformed_or_very_deep_cache_tree_costs_no_stack() {
        // 200,000 levels: recursion would overflow; the flat parser does not.
        let depth = 200_000;
        let mut tree = Vec::new();
        tree.extend(b"\0-1 1\n");
        for i in 0..depth {
            tree.extend(b"d\0-1 ");
            tree.extend(if i + 1 < depth { &b"1\n"[..] } else { b"0\n" });
        }
        let idx =
            Index::parse(&build(2, &[("a", 0o100644, 0)], &ext(b"TREE", &tree)), None).unwrap();
        let mut d = idx.cache_tree().unwrap();
        let mut n = 0;
        while let Some(c) = d.child(b"d") {
            d = c;
            n += 1;
        }
        assert_eq!(n, depth);
        // A truncated or lying cache-tree is ignored, not an error.
        for bad in [
            &b"\0-1 2\n"[..],
            b"x\x001 0\n",
            b"\x001 0\nabc",
            b"\0-1 0\nmore",
        ] {
            let idx =
                Index::parse(&build(2, &[("a", 0o100644, 0)], &ext(b"TREE", bad)), None).unwrap();
            assert!(idx.cache_tree().is_none(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_mandatory_extensions_and_damage_are_refused() {
        let err =
            Index::parse(&build(2, &[("a", 0o100644, 0)], &ext(b"abcd", b"")), None).unwrap_err();
        assert!(err.contains("mandatory extension `abcd`"), "{err}");
        let opt = ext(b"UNTR", b"xyz");
        assert!(Index::parse(&build(2, &[("a", 0o100644, 0)], &opt), None).is_ok());
        let good = build(2, &[("a", 0o100644, 0)], b"");
        for cut in [3, 11, 30, good.len() - 21] {
            assert!(Index::parse(&good[..cut], None).is_err(), "cut at {cut}");
        }
        assert!(Index::parse(b"DIRC\0\0\0\x09\0\0\0\0", None).is_err());
        let err = Index::parse(
            &build(2, &[("b", 0o100644, 0), ("a", 0o100644, 0)], b""),
            None,
        )
        .unwrap_err();
        assert!(err.contains("out of order"), "{err}");
        let err = Index::parse(
            &build(2, &[("a", 0o100644, 1), ("a", 0o100644, 1)], b""),
            None,
        )
        .unwrap_err();
        assert!(err.contains("out of order"), "{err}");
    }

    #[test]
    fn sparse_directory_entries_are_kept_and_flagged() {
        let list = [
            ("a/x.txt", 0o100644, 0),
            ("b/", 0o040000, 0),
            ("c.txt", 0o100644, 0),
        ];
        let idx = Index::parse(&build(4, &list, &ext(b"sdir", b"")), None).unwrap();
        assert!(idx.sparse);
        assert!(idx.entries[1].is_sparse_dir());
        assert_eq!(idx.path(&idx.entries[1]), b"b/");
        assert!(!idx.entries[0].is_sparse_dir());
    }

    /// A split index: the shared index, and the split file with `link`.
    fn split_pair(
        shared: &[(&str, u32, u16)],
        own: &[(&str, u32, u16)],
        delete: &[usize],
        replace: &[usize],
    ) -> (Vec<u8>, Vec<u8>) {
        let mut shared = build(2, shared, b"");
        let at = shared.len() - 20;
        shared[at..].fill(0xab);
        let mut link = vec![0xabu8; 20];
        link.extend(ewah(delete));
        link.extend(ewah(replace));
        (build(2, own, &ext(b"link", &link)), shared)
    }

    #[test]
    fn a_split_index_merges_replacements_deletions_and_additions() {
        let shared = [
            ("a", 0o100644, 0),
            ("b", 0o100644, 0),
            ("c", 0o100644, 0),
            ("d", 0o100644, 0),
        ];
        // Replace `b` (name stripped) and `d`, delete `c`, add `bb` and `e`.
        let own = [
            ("", 0o100755, 0),
            ("", 0o120000, 0),
            ("bb", 0o100644, 0),
            ("e", 0o100644, 0),
        ];
        let (main, sh) = split_pair(&shared, &own, &[2], &[1, 3]);
        let idx = Index::parse(&main, Some(&sh)).unwrap();
        assert!(idx.split);
        assert_eq!(
            names(&idx),
            vec![
                ("a".into(), 0o100644, 0),
                ("b".into(), 0o100755, 0),
                ("bb".into(), 0o100644, 0),
                ("d".into(), 0o120000, 0),
                ("e".into(), 0o100644, 0),
            ]
        );
        // The replacement's id comes from the split file.
        assert_eq!(idx.entries[1].id.as_bytes()[0], 1);
        assert!(Index::parse(&main, None)
            .unwrap_err()
            .contains("shared index"));
    }

    #[test]
    fn a_split_index_stage_0_addition_resolves_a_conflict_in_the_shared_index() {
        let shared = [
            ("a", 0o100644, 1),
            ("a", 0o100644, 2),
            ("a", 0o100644, 3),
            ("b", 0o100644, 0),
        ];
        let (main, sh) = split_pair(&shared, &[("a", 0o100644, 0)], &[], &[]);
        let idx = Index::parse(&main, Some(&sh)).unwrap();
        assert_eq!(
            names(&idx),
            vec![("a".into(), 0o100644, 0), ("b".into(), 0o100644, 0)]
        );
    }

    #[test]
    fn split_index_bitmaps_out_of_range_or_inconsistent_are_refused() {
        let shared = [("a", 0o100644, 0), ("b", 0o100644, 0)];
        let (main, sh) = split_pair(&shared, &[], &[5], &[]);
        let err = Index::parse(&main, Some(&sh)).unwrap_err();
        assert!(err.contains("entry 5"), "{err}");
        let (main, sh) = split_pair(&shared, &[], &[], &[0]);
        assert!(Index::parse(&main, Some(&sh))
            .unwrap_err()
            .contains("replaces more"));
        let (main, sh) = split_pair(&shared, &[("", 0o100644, 0)], &[0], &[0]);
        assert!(Index::parse(&main, Some(&sh)).unwrap_err().contains("both"));
        // A run of 2^32 × 64 set bits is refused without enumerating it.
        let mut bomb = Vec::new();
        bomb.extend(0u32.to_be_bytes());
        bomb.extend(1u32.to_be_bytes());
        bomb.extend((((0xffff_ffffu64) << 1) | 1).to_be_bytes());
        bomb.extend(0u32.to_be_bytes());
        let mut link = vec![0xabu8; 20];
        link.extend(&bomb);
        link.extend(ewah(&[]));
        let main = build(2, &[], &ext(b"link", &link));
        let mut sh = build(2, &shared, b"");
        let at = sh.len() - 20;
        sh[at..].fill(0xab);
        assert!(Index::parse(&main, Some(&sh))
            .unwrap_err()
            .contains("names entry"));
    }

    #[test]
    fn chained_v4_path_compression_is_bounded() {
        // Each path is the previous one plus one byte: n entries, n²/2 bytes
        // of paths from a file of ~64 n bytes.
        let n = 30_000;
        let mut out = b"DIRC".to_vec();
        out.extend(4u32.to_be_bytes());
        out.extend((n as u32).to_be_bytes());
        for _ in 0..n {
            out.extend([0u8; 24]);
            out.extend(0o100644u32.to_be_bytes());
            out.extend([0u8; 32]);
            out.extend(0xfffu16.to_be_bytes());
            out.extend([0u8, b'a', 0]);
        }
        out.extend([0u8; 20]);
        // 30,000² / 2 = 450 MB > 16 × 2 MB + 64 MiB.
        let err = Index::parse(&out, None).unwrap_err();
        assert!(err.contains("path compression expands"), "{err}");
    }
}
