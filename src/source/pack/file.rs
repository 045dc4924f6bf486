//! One pack file and its index (`.pack` + `.idx`, version 2), validated,
//! with the object headers parsed on demand.
//!
//! The index is read into memory; the pack is read with positioned reads
//! (`pread`), never mapped: a mapping of a 200 MB pack counts in the
//! process's resident memory once it has been read through (on top of
//! `libgit2`'s own windows on the same file, which the history walk uses for
//! trees), and reading needs no `unsafe`.
//!
//! Every read is bounds-checked: a pack is repository content, and a
//! hostile or truncated one must give an error, never a panic or an
//! out-of-bounds read. Anything this reader does not understand (index
//! version 1, SHA-256 repositories, pack version other than 2 or 3) is
//! refused as a whole pack, and its objects are read through `libgit2`.

use std::fs::File;
use std::path::Path;

/// Bytes of a SHA-1 object id.
pub(super) const OID: usize = 20;

/// An object's type as the pack stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
    /// A delta against the object at this pack offset.
    OfsDelta(u64),
    /// A delta against the object with this id.
    RefDelta([u8; OID]),
}

/// An object's header: what it is, its inflated size and where its zlib
/// stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) kind: Kind,
    /// Inflated size (for a delta: of the delta instructions).
    pub(super) size: u64,
    /// Bytes of the header: the zlib stream starts this far from the
    /// object's offset.
    pub(super) len: usize,
}

/// The longest object header: type and size (up to 10 bytes) and a base
/// offset (up to 10) or id (20).
pub(super) const MAX_HEADER: usize = 32;

/// An open pack and its index.
pub(super) struct Pack {
    idx: Vec<u8>,
    pack: File,
    /// Bytes of the pack file.
    pack_len: u64,
    /// Objects in the pack.
    pub(super) count: usize,
    /// Index entries whose offset is in the large-offset table.
    large: usize,
}

/// Opens `path` if it is a regular file (non-blocking and checked on the
/// handle: a FIFO in place of a pack must not hang the scan).
fn open(path: &Path) -> Result<(File, u64), String> {
    // Git's own files (libgit2 follows links there too): not repository content.
    match crate::fs::open_regular(path, crate::fs::Links::Follow) {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err("not a regular file".into()),
        Err(e) => Err(format!("cannot open: {e}")),
    }
}

/// Fills `buf` from `file` at `offset`.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut done, mut at) = (0, offset);
        while done < buf.len() {
            match std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], at)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => {
                    done += n;
                    at += n as u64;
                }
            }
        }
        Ok(())
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

const FANOUT: usize = 8;
const OIDS: usize = FANOUT + 256 * 4;

impl Pack {
    /// Opens `pack_path` (`…/pack-X.pack`) and its `.idx`, or says why not.
    pub(super) fn open(pack_path: &Path) -> Result<Pack, String> {
        let idx_path = pack_path.with_extension("idx");
        let idx = open(&idx_path)
            .and_then(|(file, len)| {
                let mut idx = Vec::new();
                std::io::Read::read_to_end(&mut std::io::Read::take(file, len), &mut idx)
                    .map_err(|e| format!("cannot read: {e}"))?;
                Ok(idx)
            })
            .map_err(|e| format!("{}: {e}", idx_path.display()))?;
        let (pack, pack_len) =
            open(pack_path).map_err(|e| format!("{}: {e}", pack_path.display()))?;
        let bad = |what: &str| format!("{}: {what}", idx_path.display());
        if idx.get(..8) != Some(&[0xff, b't', b'O', b'c', 0, 0, 0, 2][..]) {
            return Err(bad("not a version 2 pack index"));
        }
        let mut prev = 0;
        for i in 0..256 {
            let f = be32(&idx, FANOUT + 4 * i).ok_or_else(|| bad("truncated fan-out table"))?;
            if f < prev {
                return Err(bad("fan-out table is not sorted"));
            }
            prev = f;
        }
        let count = prev as usize;
        // Offsets with the top bit set index the large-offset table.
        let small = OIDS + count * (OID + 4 + 4);
        let fixed = small + 2 * OID;
        if idx.len() < fixed || !(idx.len() - fixed).is_multiple_of(8) {
            return Err(bad(
                "size does not match its object count (a SHA-256 repository?)",
            ));
        }
        let large = (idx.len() - fixed) / 8;
        let bad_pack = |what: &str| format!("{}: {what}", pack_path.display());
        let mut head = [0u8; 12];
        if pack_len < (12 + OID) as u64 || read_exact_at(&pack, &mut head, 0).is_err() {
            return Err(bad_pack("too short for a pack file"));
        }
        if &head[..4] != b"PACK" {
            return Err(bad_pack("not a pack file"));
        }
        match be32(&head, 4) {
            Some(2 | 3) => {}
            _ => return Err(bad_pack("unsupported pack version")),
        }
        if be32(&head, 8) != Some(count as u32) {
            return Err(bad_pack("object count differs from its index"));
        }
        Ok(Pack {
            idx,
            pack,
            pack_len,
            count,
            large,
        })
    }

    /// The id of index entry `i` (entries are sorted by id).
    pub(super) fn oid(&self, i: usize) -> &[u8; OID] {
        let at = OIDS + i * OID;
        self.idx[at..at + OID]
            .try_into()
            .expect("entry within the validated table")
    }

    /// The pack offset of index entry `i`, or `None` if the index is
    /// damaged there.
    pub(super) fn offset(&self, i: usize) -> Option<u64> {
        let at = OIDS + self.count * (OID + 4) + 4 * i;
        let v = be32(&self.idx, at)?;
        if v & 0x8000_0000 == 0 {
            return Some(u64::from(v));
        }
        let j = (v & 0x7fff_ffff) as usize;
        if j >= self.large {
            return None;
        }
        be64(&self.idx, OIDS + self.count * (OID + 8) + 8 * j)
    }

    /// The index entry of `oid`, if the pack has it.
    pub(super) fn find(&self, oid: &[u8; OID]) -> Option<usize> {
        let first = oid[0] as usize;
        let lo = if first == 0 {
            0
        } else {
            be32(&self.idx, FANOUT + 4 * (first - 1))? as usize
        };
        let hi = be32(&self.idx, FANOUT + 4 * first)? as usize;
        let (mut lo, mut hi) = (lo, hi.min(self.count));
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.oid(mid).cmp(oid) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Where the objects end (the trailing checksum follows).
    pub(super) fn end(&self) -> u64 {
        self.pack_len - OID as u64
    }

    /// Reads the pack's bytes `[from, to)` into `buf` (replacing its
    /// contents), if they lie within the objects.
    pub(super) fn read(&self, from: u64, to: u64, buf: &mut Vec<u8>) -> Option<()> {
        if from > to || to > self.end() {
            return None;
        }
        buf.clear();
        buf.resize(usize::try_from(to - from).ok()?, 0);
        read_exact_at(&self.pack, buf, from).ok()
    }

    /// Reads and parses the object header at `offset`.
    #[cfg(test)]
    pub(super) fn header(&self, offset: u64) -> Option<Header> {
        let mut buf = Vec::new();
        let to = (offset + MAX_HEADER as u64).min(self.end());
        self.read(offset, to, &mut buf)?;
        parse_header(&buf, offset)
    }
}

/// Parses the header of the object at pack offset `offset`, whose bytes
/// start `b` (bounds-checked: `None` for anything malformed).
pub(super) fn parse_header(b: &[u8], offset: u64) -> Option<Header> {
    if offset < 12 {
        return None;
    }
    let mut i = 0;
    let mut c = *b.get(i)?;
    i += 1;
    let kind = (c >> 4) & 7;
    let mut size = u64::from(c & 15);
    let mut shift = 4;
    while c & 0x80 != 0 {
        c = *b.get(i)?;
        i += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(c & 0x7f) << shift;
        shift += 7;
    }
    let kind = match kind {
        1 => Kind::Commit,
        2 => Kind::Tree,
        3 => Kind::Blob,
        4 => Kind::Tag,
        6 => {
            let mut c = *b.get(i)?;
            i += 1;
            let mut back = u64::from(c & 0x7f);
            while c & 0x80 != 0 {
                c = *b.get(i)?;
                i += 1;
                back = back.checked_add(1)?.checked_mul(128)? | u64::from(c & 0x7f);
            }
            Kind::OfsDelta(
                offset
                    .checked_sub(back)
                    .filter(|&base| base >= 12 && back > 0)?,
            )
        }
        7 => {
            let id: [u8; OID] = b.get(i..i + OID)?.try_into().ok()?;
            i += OID;
            Kind::RefDelta(id)
        }
        _ => return None,
    };
    Some(Header { kind, size, len: i })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offsets, ids and headers as `git index-pack` wrote them, checked
    /// against `git verify-pack` on a real repository made by the test.
    #[test]
    fn a_real_pack_is_read_as_git_lists_it() {
        let dir = super::super::tests::delta_heavy_repo();
        let git = |args: &[&str]| super::super::tests::git(dir.path(), args);
        let packs: Vec<_> = std::fs::read_dir(dir.path().join(".git/objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pack"))
            .collect();
        assert_eq!(packs.len(), 1);
        let pack = Pack::open(&packs[0]).unwrap();
        let listing = git(&["verify-pack", "-v", packs[0].to_str().unwrap()]);
        let mut seen = 0;
        let mut deltas = 0;
        for line in listing.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 || f[0].len() != 40 {
                continue;
            }
            let mut id = [0u8; OID];
            for (k, b) in id.iter_mut().enumerate() {
                *b = u8::from_str_radix(&f[0][2 * k..2 * k + 2], 16).unwrap();
            }
            let i = pack.find(&id).expect("listed object in the index");
            let offset: u64 = f[4].parse().unwrap();
            assert_eq!(pack.offset(i), Some(offset));
            let h = pack.header(offset).unwrap();
            if f.len() >= 7 {
                deltas += 1;
                assert!(matches!(h.kind, Kind::OfsDelta(_) | Kind::RefDelta(_)));
            } else {
                let want = match f[1] {
                    "commit" => Kind::Commit,
                    "tree" => Kind::Tree,
                    "blob" => Kind::Blob,
                    _ => Kind::Tag,
                };
                assert_eq!(h.kind, want);
                assert_eq!(h.size, f[2].parse::<u64>().unwrap());
            }
            seen += 1;
        }
        assert_eq!(seen, pack.count);
        assert!(deltas > 0, "the history has deltas: {listing}");
        assert_eq!(pack.find(&[0xab; OID]), None);
    }

    #[test]
    fn damaged_indexes_and_packs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("pack-x.pack");
        std::fs::write(&pack, b"PACK\0\0\0\x02\0\0\0\0").unwrap();
        std::fs::write(dir.path().join("pack-x.idx"), b"\xfftOc\0\0\0\x01").unwrap();
        let e = Pack::open(&pack).err().unwrap();
        assert!(e.contains("not a version 2 pack index"), "{e}");
        let mut idx = b"\xfftOc\0\0\0\x02".to_vec();
        idx.extend(std::iter::repeat_n(0u8, 256 * 4 + 40 + 3));
        std::fs::write(dir.path().join("pack-x.idx"), &idx).unwrap();
        let e = Pack::open(&pack).err().unwrap();
        assert!(e.contains("does not match its object count"), "{e}");
    }
}
