//! Step 1 of a history scan: distinct blobs, the paths they appear at and
//! the commit that introduced each (see the parent module for the walk).

use super::super::git::{self, EntryKind};
use super::ScanIssue;
use crate::facts::project::is_fact_path;
use foldhash::{HashMap, HashSet};
use git2::{ObjectType, Odb, Oid};

/// Marks appearances that come from a ref pointing straight at a tree or
/// blob (e.g. a tag of a public key), which have no commit.
pub(super) const NO_COMMIT: u32 = u32::MAX;
/// Marks a tree walked only to learn what the range's base already had.
pub(super) const SEED: u32 = u32::MAX - 1;

/// Paths interned to small ids, as a trie: each path is its parent's id
/// plus one name, so a tree 25,000 levels deep costs memory in proportion
/// to its names, not to the sum of its paths' lengths (which is quadratic
/// in the depth). History repeats the same paths endlessly; full path
/// strings are built only for what is reported.
pub(super) struct Interner {
    nodes: Vec<PathNode>,
    names: Vec<u8>,
    /// First node with a given hash of (parent, name); others chain.
    by_hash: HashMap<u64, u32>,
    hasher: foldhash::fast::FixedState,
}

struct PathNode {
    parent: u32,
    start: usize,
    len: u32,
    /// Next node whose (parent, name) hashes the same, or `NONE`.
    next: u32,
}

const NONE: u32 = u32::MAX;
/// The root path (`""`).
pub(super) const ROOT: u32 = 0;

impl Default for Interner {
    fn default() -> Self {
        Interner {
            nodes: vec![PathNode {
                parent: NONE,
                start: 0,
                len: 0,
                next: NONE,
            }],
            names: Vec::new(),
            by_hash: HashMap::default(),
            hasher: foldhash::fast::FixedState::with_seed(0x6b65_7973),
        }
    }
}

impl Interner {
    fn name_of(&self, id: u32) -> &[u8] {
        let n = &self.nodes[id as usize];
        &self.names[n.start..n.start + n.len as usize]
    }

    /// The id of `parent/name`, interning it.
    pub(super) fn child(&mut self, parent: u32, name: &[u8]) -> u32 {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one((parent, name));
        let head = self.by_hash.get(&h).copied();
        let mut at = head.unwrap_or(NONE);
        while at != NONE {
            if self.nodes[at as usize].parent == parent && self.name_of(at) == name {
                return at;
            }
            at = self.nodes[at as usize].next;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(PathNode {
            parent,
            start: self.names.len(),
            len: name.len() as u32,
            next: head.unwrap_or(NONE),
        });
        self.names.extend_from_slice(name);
        self.by_hash.insert(h, id);
        id
    }

    /// The id of a `/`-separated path, interning it.
    pub(super) fn intern(&mut self, path: &str) -> u32 {
        path.split('/')
            .filter(|c| !c.is_empty())
            .fold(ROOT, |parent, name| self.child(parent, name.as_bytes()))
    }

    /// The last component of the path (empty for the root).
    pub(super) fn file_name(&self, id: u32) -> &[u8] {
        self.name_of(id)
    }

    /// The full path, `/`-separated (names that are not UTF-8 lossily).
    pub(super) fn get(&self, id: u32) -> String {
        let mut parts = Vec::new();
        let mut at = id;
        while at != ROOT && at != NONE {
            parts.push(at);
            at = self.nodes[at as usize].parent;
        }
        let mut out = Vec::new();
        for (i, p) in parts.iter().rev().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(self.name_of(*p));
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A path a blob appeared at, and the first commit that had it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Appearance {
    pub(super) path: u32,
    pub(super) commit: u32,
}

/// A scanned message with matches: a commit's (its index in
/// `Enumeration::commits`) or an annotated tag's.
pub(super) struct MessageRec {
    pub(super) of: MessageOf,
    pub(super) scan: crate::scan::BlobScan,
}

/// Whose message.
pub(super) enum MessageOf {
    /// A walked commit.
    Commit(u32),
    /// An annotated tag object and the ref name that reaches it.
    Tag(Oid, String),
}

pub(super) struct BlobRec {
    pub(super) id: Oid,
    pub(super) first: Appearance,
    pub(super) more: Vec<Appearance>,
}

impl BlobRec {
    pub(super) fn appearances(&self) -> impl Iterator<Item = Appearance> + '_ {
        std::iter::once(self.first).chain(self.more.iter().copied())
    }
}

/// An object id as a hash key. `git2::Oid`'s equality is a foreign call
/// into `libgit2`, which showed up at 4 % of a history scan's profile in
/// the walk's hash lookups; plain bytes compare inline.
pub(super) type Key = [u8; 20];

pub(super) fn key(id: Oid) -> Key {
    let mut k = [0u8; 20];
    k.copy_from_slice(&id.as_bytes()[..20]);
    k
}

/// Step 1: distinct blobs, their paths and introducing commits.
#[derive(Default)]
pub(super) struct Enumeration {
    pub(super) paths: Interner,
    pub(super) seen_trees: HashSet<(Key, u32)>,
    pub(super) blob_index: HashMap<Key, usize>,
    pub(super) blobs: Vec<BlobRec>,
    /// `(blob, path)` appearances already recorded: one lookup, however
    /// many paths a blob has (a blob at 50,000 paths in 250 commits made the
    /// list search quadratic).
    pub(super) appear: HashSet<(u32, u32)>,
    /// Commit and tag messages with matches.
    pub(super) messages: Vec<MessageRec>,
    pub(super) symlinks: HashSet<Key>,
    /// Newest blob of each manifest or dotenv path, for project facts.
    pub(super) facts: HashMap<u32, Oid>,
    pub(super) commits: Vec<Oid>,
    /// `(blob, path)` pairs already in a commit just outside the range: not
    /// new in the range, so not scanned.
    pub(super) known: HashSet<(Key, u32)>,
    /// Out-of-range parents whose trees were seeded into `known`.
    pub(super) seeded: HashSet<Oid>,
    pub(super) errors: Vec<ScanIssue>,
    /// Where each new blob goes to be scanned while the walk goes on.
    pub(super) tx: Option<std::sync::mpsc::Sender<git::StreamJob>>,
}

impl Enumeration {
    /// Records blob `id` at path `pid` (whose file name is `name`) in
    /// `commit`.
    pub(super) fn add_blob(&mut self, id: Oid, pid: u32, commit: u32) {
        if is_fact_path(&String::from_utf8_lossy(self.paths.file_name(pid))) {
            self.facts.insert(pid, id);
        }
        if commit == SEED {
            self.known.insert((key(id), pid));
            return;
        }
        if !self.known.is_empty() && self.known.contains(&(key(id), pid)) {
            return;
        }
        match self.blob_index.get(&key(id)) {
            Some(&i) => {
                if self.appear.insert((i as u32, pid)) {
                    self.blobs[i].more.push(Appearance { path: pid, commit });
                }
            }
            None => {
                if let Some(tx) = &self.tx {
                    // The receiver lives until the walk is over; a worker
                    // that failed to start is reported by `scan_stream`.
                    let _ = tx.send((self.blobs.len(), id));
                }
                let i = self.blobs.len();
                self.appear.insert((i as u32, pid));
                self.blob_index.insert(key(id), i);
                self.blobs.push(BlobRec {
                    id,
                    first: Appearance { path: pid, commit },
                    more: Vec::new(),
                });
            }
        }
    }

    /// Walks `root` (a tree) for `commit`, skipping subtrees already seen at
    /// the same path. Iterative: a tree of any depth costs no call stack.
    pub(super) fn visit_tree(&mut self, odb: &Odb<'_>, root: Oid, commit: u32) {
        let mut stack = vec![(root, ROOT)];
        while let Some((tree_id, path_id)) = stack.pop() {
            if !self.seen_trees.insert((key(tree_id), path_id)) {
                continue;
            }
            // The raw tree, parsed here: `libgit2`'s tree objects cost an
            // allocation per tree and a foreign call per entry field.
            let obj = odb.read(tree_id).and_then(|obj| {
                if obj.kind() == ObjectType::Tree {
                    Ok(obj)
                } else {
                    Err(git2::Error::from_str(&format!(
                        "expected a tree, found a {}",
                        obj.kind()
                    )))
                }
            });
            let problem = match obj {
                Ok(obj) => git::parse_tree(obj.data(), |mode, name, id| {
                    if mode & 0o170000 == 0o040000 {
                        let pid = self.paths.child(path_id, name);
                        stack.push((id, pid));
                        return;
                    }
                    match EntryKind::from_mode(mode) {
                        EntryKind::File => {
                            let pid = self.paths.child(path_id, name);
                            self.add_blob(id, pid, commit);
                        }
                        EntryKind::Symlink => {
                            self.symlinks.insert(key(id));
                        }
                        // Submodule commits belong to another repository.
                        EntryKind::Submodule => {}
                    }
                })
                .err()
                .map(str::to_string),
                Err(e) => Some(e.message().to_string()),
            };
            if let Some(message) = problem {
                let prefix = self.paths.get(path_id);
                self.errors.push(ScanIssue {
                    path: if prefix.is_empty() {
                        "/".into()
                    } else {
                        prefix
                    },
                    message: format!("tree {tree_id}: {message}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_a_trie_and_read_back_whole() {
        let mut p = Interner::default();
        let a = p.intern("src/lib/a.js");
        let src = p.intern("src");
        let lib = p.child(src, b"lib");
        assert_eq!(p.child(lib, b"a.js"), a);
        assert_eq!(p.get(a), "src/lib/a.js");
        assert_eq!(p.get(ROOT), "");
        assert_eq!(p.file_name(a), b"a.js");
        // A deep path costs one node per level.
        let mut at = ROOT;
        for _ in 0..25_000 {
            at = p.child(at, b"d");
        }
        assert!(p.names.len() < 30_000);
        assert_eq!(p.get(at).len(), 25_000 * 2 - 1);
    }
}
