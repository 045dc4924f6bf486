//! A reader for git's index file (`.git/index`, or `GIT_INDEX_FILE`) and its
//! cache-tree, for [`super::staged`].
//!
//! A pre-commit hook runs on every commit, so its cost is paid in the
//! largest repositories. `libgit2` reads an index by allocating every entry
//! and re-hashing the whole file (150 ms for the 14 MB index of a
//! 100,000-file repository), and its tree-to-index diff loads every tree of
//! HEAD because it cannot use the index's cache-tree (another 140 ms). This
//! module reads the file once into one buffer, keeps entries as fixed-size
//! records over a single path arena, and parses the `TREE` extension: the
//! tree id each directory of the index would be written as, for directories
//! whose content has not changed since it was last computed. A directory
//! whose cached id equals HEAD's tree at that path holds nothing staged, so
//! [`super::staged`] never opens it.
//!
//! Versions 2, 3 and 4 (prefix-compressed paths) are read. Optional
//! extensions (an upper-case first letter) other than `TREE` are skipped, as
//! git does. Mandatory ones — the split index (`link`) and the sparse index
//! (`sdir`) among them — are refused with an error naming the file, because
//! the entries read without them would not be the full index: a partial
//! index would be judged clean. The trailing checksum is not verified (git
//! verifies it when it writes; a truncated or malformed file is still
//! refused, since every field is bounds-checked).
//!
//! Only SHA-1 repositories are supported, like the rest of `libgit2` 1.9.

use crate::error::{Error, Result};
use git2::Oid;
use std::path::{Path, PathBuf};

/// Object id length in a SHA-1 repository.
const OID_LEN: usize = 20;
/// Fixed part of an on-disk entry before its flags: ctime, mtime, dev, ino,
/// mode, uid, gid, size (10 × 4 bytes) and the object id.
const ENTRY_FIXED: usize = 40 + OID_LEN;
/// Flag bits of an entry.
const FLAG_EXTENDED: u16 = 0x4000;
const FLAG_STAGE_MASK: u16 = 0x3000;
const FLAG_NAME_MASK: u16 = 0x0fff;
/// Extended flag: `git add -N` (the path is known, its content is not staged).
const XFLAG_INTENT_TO_ADD: u16 = 0x2000;

/// One index entry: path (into the index's arena), id, mode and stage.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    start: u32,
    end: u32,
    /// The staged blob (or submodule commit).
    pub id: Oid,
    /// Raw git file mode.
    pub mode: u32,
    /// Merge stage: 0 for a normal entry, 1–3 for an unmerged path.
    pub stage: u8,
    /// Added with `git add -N`: no content is staged yet.
    pub intent_to_add: bool,
}

/// A directory of the cache-tree (`TREE` extension).
#[derive(Debug, Clone)]
pub struct CacheTree {
    /// Path component (empty for the root).
    pub name: Vec<u8>,
    /// Index entries below this directory, and the tree id they make, or
    /// `None` when git invalidated the directory since.
    pub valid: Option<(usize, Oid)>,
    /// Subdirectories.
    pub children: Vec<CacheTree>,
}

impl CacheTree {
    /// The subdirectory named `name`.
    pub fn child(&self, name: &[u8]) -> Option<&CacheTree> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// A parsed index.
#[derive(Debug)]
pub struct Index {
    /// Path bytes: the file itself (versions 2 and 3) or an arena (version 4).
    paths: Vec<u8>,
    /// Entries in index order (by path bytes, then stage).
    pub entries: Vec<Entry>,
    /// The cache-tree's root, when the index has one.
    pub tree: Option<CacheTree>,
}

impl Index {
    /// An index with no entries (a repository before its first `git add`).
    pub fn empty() -> Index {
        Index {
            paths: Vec::new(),
            entries: Vec::new(),
            tree: None,
        }
    }

    /// The path of `e` (bytes, `/`-separated, relative to the work tree).
    pub fn path(&self, e: &Entry) -> &[u8] {
        &self.paths[e.start as usize..e.end as usize]
    }

    /// Reads and parses the index file at `path`.
    pub fn read(path: &Path) -> Result<Index> {
        let data = std::fs::read(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        parse(data).map_err(|message| Error::Git {
            path: path.to_path_buf(),
            message: format!("cannot read the index: {message}"),
            source: None,
        })
    }
}

/// A bounds-checked cursor over the file.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u16(&mut self) -> std::result::Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Bytes up to the next NUL, which is consumed.
    fn until_nul(&mut self) -> std::result::Result<&'a [u8], String> {
        let rest = &self.data[self.pos..];
        let n = memchr::memchr(0, rest)
            .ok_or_else(|| format!("unterminated path at byte {}", self.pos))?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    /// git's offset varint (used by version 4 path compression).
    fn varint(&mut self) -> std::result::Result<usize, String> {
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

fn parse(data: Vec<u8>) -> std::result::Result<Index, String> {
    let mut c = Cursor {
        data: &data,
        pos: 0,
    };
    if c.take(4)? != b"DIRC" {
        return Err("not an index file (no DIRC signature)".into());
    }
    let version = c.u32()?;
    if !(2..=4).contains(&version) {
        return Err(format!("index version {version} is not supported"));
    }
    let count = c.u32()? as usize;
    if data.len() > u32::MAX as usize {
        return Err("index files of 4 GiB or more are not supported".into());
    }
    // Everything after the entries ends with the file's checksum.
    let body_end = c
        .data
        .len()
        .checked_sub(OID_LEN)
        .ok_or("truncated (no checksum)")?;
    let mut entries = Vec::with_capacity(count.min(c.data.len() / (ENTRY_FIXED + 2)));
    // Versions 2 and 3 store each path whole: entries point into the file's
    // own bytes. Version 4 paths are rebuilt into an arena.
    let v4 = version == 4;
    let mut paths: Vec<u8> = Vec::new();
    let mut prev: (usize, usize) = (0, 0);
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
            start = paths.len();
            let strip = c.varint()?;
            let prev_len = prev.1 - prev.0;
            if strip > prev_len {
                return Err(format!("bad path compression at byte {start_pos}"));
            }
            paths.extend_from_within(prev.0..prev.1 - strip);
            paths.extend_from_slice(c.until_nul()?);
            end = paths.len();
        } else {
            let name_len = usize::from(flags & FLAG_NAME_MASK);
            let name = if name_len < usize::from(FLAG_NAME_MASK) {
                let name = c.take(name_len)?;
                name
            } else {
                // Names of 4095 bytes or more: the length is not stored.
                let rest = &c.data[c.pos..];
                let n = memchr::memchr(0, rest).ok_or("unterminated long path")?;
                c.take(n)?
            };
            start = c.pos - name.len();
            end = c.pos;
            // 1–8 NULs pad the entry to a multiple of 8 bytes.
            let len = c.pos - start_pos;
            let padded = (len + 8) & !7;
            c.take(padded - len)?;
        }
        if mode & 0o170000 == 0o040000 {
            return Err(
                "this is a sparse index (it holds directory entries); run `git sparse-checkout disable` or set index.sparse=false, then scan again"
                    .into(),
            );
        }
        prev = (start, end);
        entries.push(Entry {
            start: start as u32,
            end: end as u32,
            id,
            mode,
            stage: ((flags & FLAG_STAGE_MASK) >> 12) as u8,
            intent_to_add: xflags & XFLAG_INTENT_TO_ADD != 0,
        });
    }

    let mut tree = None;
    while c.pos < body_end {
        let sig = c.take(4)?;
        let size = c.u32()? as usize;
        let body = c.take(size)?;
        match sig {
            b"TREE" => tree = parse_tree(body)?,
            _ if sig[0].is_ascii_uppercase() => {}
            b"link" => {
                return Err(
                    "this is a split index (`link` extension), which keyscan does not read; run `git update-index --no-split-index`, then scan again"
                        .into(),
                )
            }
            b"sdir" => {
                return Err(
                    "this is a sparse index (`sdir` extension); run `git sparse-checkout disable` or set index.sparse=false, then scan again"
                        .into(),
                )
            }
            _ => {
                return Err(format!(
                    "unsupported mandatory extension `{}`",
                    String::from_utf8_lossy(sig)
                ))
            }
        }
    }
    if c.pos != body_end {
        return Err("extensions overrun the checksum".into());
    }
    let paths = if v4 { paths } else { data };
    Ok(Index {
        paths,
        entries,
        tree,
    })
}

/// Parses the `TREE` extension: nodes in pre-order, each `name NUL count SP
/// subtrees LF [id]`, with `count` -1 for an invalidated directory.
fn parse_tree(body: &[u8]) -> std::result::Result<Option<CacheTree>, String> {
    if body.is_empty() {
        return Ok(None);
    }
    let mut c = Cursor { data: body, pos: 0 };
    let root = parse_tree_node(&mut c, 0)?;
    Ok(Some(root))
}

fn parse_tree_node(c: &mut Cursor<'_>, depth: usize) -> std::result::Result<CacheTree, String> {
    if depth > 4096 {
        return Err("cache-tree nests too deep".into());
    }
    let bad = || "malformed cache-tree (TREE extension)".to_string();
    let name = c.until_nul()?.to_vec();
    let rest = &c.data[c.pos..];
    let nl = memchr::memchr(b'\n', rest).ok_or_else(bad)?;
    let line = std::str::from_utf8(&rest[..nl]).map_err(|_| bad())?;
    c.pos += nl + 1;
    let (count, subtrees) = line.split_once(' ').ok_or_else(bad)?;
    let count: i64 = count.parse().map_err(|_| bad())?;
    let subtrees: usize = subtrees.parse().map_err(|_| bad())?;
    let valid = if count >= 0 {
        Some((count as usize, oid(c.take(OID_LEN)?)))
    } else {
        None
    };
    let mut children = Vec::with_capacity(subtrees.min(1024));
    for _ in 0..subtrees {
        children.push(parse_tree_node(c, depth + 1)?);
    }
    Ok(CacheTree {
        name,
        valid,
        children,
    })
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

    #[test]
    fn versions_2_and_4_give_the_same_entries() {
        let list = [
            ("a.txt", 0o100644, 0),
            ("src/lib.rs", 0o100644, 0),
            ("src/main.rs", 0o100755, 0),
            ("src/x/y.rs", 0o120000, 2),
        ];
        for v in [2, 4] {
            let idx = parse(build(v, &list, b"")).unwrap();
            let got: Vec<(String, u32, u8)> = idx
                .entries
                .iter()
                .map(|e| {
                    (
                        String::from_utf8_lossy(idx.path(e)).into_owned(),
                        e.mode,
                        e.stage,
                    )
                })
                .collect();
            let want: Vec<(String, u32, u8)> = list
                .iter()
                .map(|(p, m, s)| (p.to_string(), *m, *s as u8))
                .collect();
            assert_eq!(got, want, "version {v}");
            assert_eq!(idx.entries[1].id.as_bytes()[0], 2);
        }
    }

    #[test]
    fn cache_tree_is_parsed_and_invalid_nodes_have_no_id() {
        let mut tree = Vec::new();
        tree.extend(b"\x002 1\n");
        tree.extend([7u8; 20]);
        tree.extend(b"src\0-1 0\n");
        let mut ext = b"TREE".to_vec();
        ext.extend((tree.len() as u32).to_be_bytes());
        ext.extend(&tree);
        let idx = parse(build(
            2,
            &[("a", 0o100644, 0), ("src/b", 0o100644, 0)],
            &ext,
        ))
        .unwrap();
        let root = idx.tree.unwrap();
        assert_eq!(root.valid.unwrap().0, 2);
        assert_eq!(root.valid.unwrap().1.as_bytes(), &[7u8; 20]);
        let src = root.child(b"src").unwrap();
        assert!(src.valid.is_none());
    }

    #[test]
    fn mandatory_extensions_and_damage_are_refused() {
        let mut link = b"link".to_vec();
        link.extend(4u32.to_be_bytes());
        link.extend([0u8; 4]);
        let err = parse(build(2, &[("a", 0o100644, 0)], &link)).unwrap_err();
        assert!(err.contains("split index"), "{err}");
        let mut sdir = b"sdir".to_vec();
        sdir.extend(0u32.to_be_bytes());
        let err = parse(build(2, &[("a", 0o100644, 0)], &sdir)).unwrap_err();
        assert!(err.contains("sparse index"), "{err}");
        let mut opt = b"UNTR".to_vec();
        opt.extend(3u32.to_be_bytes());
        opt.extend(b"xyz");
        assert!(parse(build(2, &[("a", 0o100644, 0)], &opt)).is_ok());
        let good = build(2, &[("a", 0o100644, 0)], b"");
        for cut in [3, 11, 30, good.len() - 21] {
            assert!(parse(good[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        assert!(parse(b"DIRC\0\0\0\x09\0\0\0\0".to_vec()).is_err());
    }
}
