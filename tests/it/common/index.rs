//! A writer for git index files, for crafting indexes git itself would not
//! write (hostile inputs) and for property tests of keyscan's reader. It
//! follows Documentation/gitformat-index.txt: versions 2–4, extended flags,
//! extensions, the split index's `link` extension with EWAH bitmaps.

/// One entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub path: Vec<u8>,
    pub mode: u32,
    pub id: [u8; 20],
    pub stage: u8,
    pub intent_to_add: bool,
    pub skip_worktree: bool,
    pub assume_unchanged: bool,
}

impl RawEntry {
    /// A stage-0 regular file without flags.
    pub fn file(path: impl Into<Vec<u8>>, id: [u8; 20]) -> RawEntry {
        RawEntry {
            path: path.into(),
            mode: 0o100644,
            id,
            stage: 0,
            intent_to_add: false,
            skip_worktree: false,
            assume_unchanged: false,
        }
    }
}

/// git's offset varint (`encode_varint`), used by version 4 paths.
pub fn varint(mut value: u64) -> Vec<u8> {
    let mut out = vec![(value & 127) as u8];
    while value >> 7 != 0 {
        value >>= 7;
        value -= 1;
        out.push(128 | (value & 127) as u8);
    }
    out.reverse();
    out
}

/// An index file: header, entries, `extensions` (already framed, see
/// [`ext`]) and a 20-byte trailer (`trailer`, which keyscan does not verify;
/// a shared index's trailer is its id).
pub fn write_index(
    version: u32,
    entries: &[RawEntry],
    extensions: &[u8],
    trailer: [u8; 20],
) -> Vec<u8> {
    let mut out = b"DIRC".to_vec();
    out.extend(version.to_be_bytes());
    out.extend((entries.len() as u32).to_be_bytes());
    let mut prev: &[u8] = b"";
    for e in entries {
        let start = out.len();
        out.extend([0u8; 24]);
        out.extend(e.mode.to_be_bytes());
        out.extend([0u8; 12]);
        out.extend(e.id);
        let extended = version >= 3 && (e.intent_to_add || e.skip_worktree);
        let mut flags = (u16::from(e.stage) << 12) | (e.path.len().min(0xfff) as u16);
        if extended {
            flags |= 0x4000;
        }
        if e.assume_unchanged {
            flags |= 0x8000;
        }
        out.extend(flags.to_be_bytes());
        if extended {
            let mut x = 0u16;
            if e.skip_worktree {
                x |= 0x4000;
            }
            if e.intent_to_add {
                x |= 0x2000;
            }
            out.extend(x.to_be_bytes());
        }
        if version == 4 {
            let common = prev.iter().zip(&e.path).take_while(|(a, b)| a == b).count();
            out.extend(varint((prev.len() - common) as u64));
            out.extend(&e.path[common..]);
            out.push(0);
            prev = &e.path;
        } else {
            out.extend(&e.path);
            let len = out.len() - start;
            out.resize(start + ((len + 8) & !7), 0);
        }
    }
    out.extend(extensions);
    out.extend(trailer);
    out
}

/// One framed extension: signature, size, body.
pub fn ext(sig: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = sig.to_vec();
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}

/// An EWAH bitmap with the given bits set, compressed as git's encoder
/// would: runs of all-zero or all-one words become run-length words.
pub fn ewah(bits: &[usize]) -> Vec<u8> {
    let nwords = bits.iter().max().map_or(0, |m| m / 64 + 1);
    let mut plain = vec![0u64; nwords];
    for &b in bits {
        plain[b / 64] |= 1 << (b % 64);
    }
    let mut words: Vec<u64> = Vec::new();
    let mut i = 0;
    while i < nwords {
        // A run of identical fill words, then literal words until the next run.
        let fill = plain[i];
        let mut run = 0u64;
        if fill == 0 || fill == u64::MAX {
            while i < nwords && plain[i] == fill {
                run += 1;
                i += 1;
            }
        }
        let lit_start = i;
        while i < nwords && plain[i] != 0 && plain[i] != u64::MAX {
            i += 1;
        }
        let lits = &plain[lit_start..i];
        let bit = u64::from(fill == u64::MAX && run > 0);
        words.push(bit | (run << 1) | ((lits.len() as u64) << 33));
        words.extend(lits);
    }
    let mut out = Vec::new();
    out.extend(((nwords * 64) as u32).to_be_bytes());
    out.extend((words.len() as u32).to_be_bytes());
    for w in &words {
        out.extend(w.to_be_bytes());
    }
    out.extend(0u32.to_be_bytes());
    out
}

/// The `link` extension of a split index over the shared index `base`.
pub fn link(base: [u8; 20], delete: &[usize], replace: &[usize]) -> Vec<u8> {
    let mut body = base.to_vec();
    body.extend(ewah(delete));
    body.extend(ewah(replace));
    ext(b"link", &body)
}
