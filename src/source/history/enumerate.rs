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

/// Paths interned to small ids: history repeats the same paths endlessly.
#[derive(Default)]
pub(super) struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub(super) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub(super) fn get(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// A path a blob appeared at, and the first commit that had it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Appearance {
    pub(super) path: u32,
    pub(super) commit: u32,
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
    pub(super) fn add_blob(&mut self, id: Oid, path: &str, commit: u32) {
        let pid = self.paths.intern(path);
        if is_fact_path(path) {
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
                let rec = &mut self.blobs[i];
                if rec.first.path != pid && !rec.more.iter().any(|a| a.path == pid) {
                    rec.more.push(Appearance { path: pid, commit });
                }
            }
            None => {
                if let Some(tx) = &self.tx {
                    // The receiver lives until the walk is over; a worker
                    // that failed to start is reported by `scan_stream`.
                    let _ = tx.send((self.blobs.len(), id));
                }
                self.blob_index.insert(key(id), self.blobs.len());
                self.blobs.push(BlobRec {
                    id,
                    first: Appearance { path: pid, commit },
                    more: Vec::new(),
                });
            }
        }
    }

    /// Walks `root` (a tree) for `commit`, skipping subtrees already seen at
    /// the same path.
    pub(super) fn visit_tree(&mut self, odb: &Odb<'_>, root: Oid, commit: u32) {
        let root_path = self.paths.intern("");
        let mut stack = vec![(root, root_path)];
        let mut child = String::new();
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
                Ok(obj) => {
                    // One buffer for every child path: interning looks up by
                    // `&str` and copies only paths it has not seen.
                    child.clear();
                    child.push_str(self.paths.get(path_id));
                    if !child.is_empty() {
                        child.push('/');
                    }
                    let base = child.len();
                    git::parse_tree(obj.data(), |mode, name, id| {
                        child.truncate(base);
                        child.push_str(&String::from_utf8_lossy(name));
                        if mode & 0o170000 == 0o040000 {
                            let pid = self.paths.intern(&child);
                            stack.push((id, pid));
                            return;
                        }
                        match EntryKind::from_mode(mode) {
                            EntryKind::File => self.add_blob(id, &child, commit),
                            EntryKind::Symlink => {
                                self.symlinks.insert(key(id));
                            }
                            // Submodule commits belong to another repository.
                            EntryKind::Submodule => {}
                        }
                    })
                    .err()
                    .map(str::to_string)
                }
                Err(e) => Some(e.message().to_string()),
            };
            if let Some(message) = problem {
                let prefix = self.paths.get(path_id);
                self.errors.push(ScanIssue {
                    path: if prefix.is_empty() {
                        "/".into()
                    } else {
                        prefix.to_string()
                    },
                    message: format!("tree {tree_id}: {message}"),
                });
            }
        }
    }
}
