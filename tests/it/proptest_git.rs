//! Property tests for keyscan's readers of git's binary formats: the index
//! reader (`source::index`) and the raw tree parser (`source::git::parse_tree`).
//!
//! - Any set of entries written as an index of version 2, 3 or 4 (with
//!   extended flags where the version has them) reads back exactly.
//! - A split index — a shared index, and a split file replacing, deleting
//!   and adding entries through EWAH bitmaps — reads back as a plain model
//!   of git's `merge_base_index` says (a map: replacements and deletions
//!   applied, additions inserted, a stage-0 addition replacing every stage
//!   of its path).
//! - Damaged indexes (bytes flipped, cut, inserted) never panic; what reads
//!   is in git's order and its paths stay within the version 4 bound.
//! - Raw trees read back exactly; damaged or random trees never panic.
//!
//! The same readers have cargo-fuzz targets in `fuzz/` (`index`, `tree`).
//! Longer runs: `KEYSCAN_PROPTEST_CASES=100000 cargo test --release --test it
//! proptest_git::`.

use crate::common::index::{link, write_index, RawEntry};
use keyscan::source::git::parse_tree;
use keyscan::source::index::{Index, V4_EXPANSION, V4_SLACK};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::collections::BTreeMap;

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("KEYSCAN_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

/// Paths from a few components chosen to collide: `a`, `a-b` and `a0`
/// sort around `a/`, and shared prefixes exercise version 4 compression.
fn path() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "a-b", "a0", "b", "ab"]),
        1..5,
    )
    .prop_map(|c| c.join("/").into_bytes())
}

fn entry(ext: bool) -> impl Strategy<Value = RawEntry> {
    (
        path(),
        prop::sample::select(vec![0o100644u32, 0o100755, 0o120000, 0o160000, 0o040000]),
        any::<[u8; 20]>(),
        0u8..4,
        any::<(bool, bool, bool)>(),
    )
        .prop_map(move |(path, mode, id, stage, (ita, sw, au))| RawEntry {
            path,
            mode,
            id,
            stage,
            intent_to_add: ext && ita,
            skip_worktree: ext && sw,
            assume_unchanged: au,
        })
}

/// Entries in index order, unique by (path, stage).
fn entries(ext: bool, max: usize) -> impl Strategy<Value = Vec<RawEntry>> {
    prop::collection::vec(entry(ext), 0..max).prop_map(|v| {
        let map: BTreeMap<(Vec<u8>, u8), RawEntry> = v
            .into_iter()
            .map(|e| ((e.path.clone(), e.stage), e))
            .collect();
        map.into_values().collect()
    })
}

/// What keyscan read, in the writer's terms.
fn read_back(idx: &Index) -> Vec<RawEntry> {
    idx.entries
        .iter()
        .map(|e| RawEntry {
            path: idx.path(e).to_vec(),
            mode: e.mode,
            id: e.id.as_bytes().try_into().unwrap(),
            stage: e.stage,
            intent_to_add: e.intent_to_add,
            skip_worktree: e.skip_worktree,
            assume_unchanged: e.assume_unchanged,
        })
        .collect()
}

/// A split index: the shared index's entries, and for each one whether it
/// is kept, replaced (by the given entry, same path and stage) or deleted;
/// plus added entries.
#[derive(Debug, Clone)]
enum Fate {
    Keep,
    Replace(RawEntry),
    Delete,
}

fn split_case() -> impl Strategy<Value = (u32, Vec<RawEntry>, Vec<Fate>, Vec<RawEntry>)> {
    (prop::sample::select(vec![2u32, 3, 4]), entries(true, 40)).prop_flat_map(|(v, base)| {
        let n = base.len();
        let fates = prop::collection::vec(
            prop_oneof![
                3 => Just(None),
                1 => entry(true).prop_map(Some),
                1 => Just(Some(RawEntry::file("", [0; 20]))),
            ],
            n,
        );
        (Just(v), Just(base), fates, entries(true, 12)).prop_map(|(v, base, fates, added)| {
            let base: Vec<RawEntry> = base.into_iter().map(|e| fit(v, e)).collect();
            let added: Vec<RawEntry> = added.into_iter().map(|e| fit(v, e)).collect();
            let fates = fates
                .into_iter()
                .zip(&base)
                .map(|(f, b)| match f {
                    None => Fate::Keep,
                    Some(e) if e.path.is_empty() => Fate::Delete,
                    Some(e) => Fate::Replace(fit(
                        v,
                        RawEntry {
                            path: b.path.clone(),
                            stage: b.stage,
                            ..e
                        },
                    )),
                })
                .collect();
            (v, base, fates, added)
        })
    })
}

/// Version 2 has no extended flags.
fn fit(v: u32, e: RawEntry) -> RawEntry {
    RawEntry {
        intent_to_add: v >= 3 && e.intent_to_add,
        skip_worktree: v >= 3 && e.skip_worktree,
        ..e
    }
}

/// git's `merge_base_index`, as a map.
fn model_merge(base: &[RawEntry], fates: &[Fate], added: &[RawEntry]) -> Vec<RawEntry> {
    let mut map: BTreeMap<(Vec<u8>, u8), RawEntry> = BTreeMap::new();
    for (b, f) in base.iter().zip(fates) {
        match f {
            Fate::Keep => {
                map.insert((b.path.clone(), b.stage), b.clone());
            }
            Fate::Replace(r) => {
                map.insert((b.path.clone(), b.stage), r.clone());
            }
            Fate::Delete => {}
        }
    }
    for a in added {
        if a.stage == 0 {
            map.retain(|(p, _), _| *p != a.path);
        }
        map.insert((a.path.clone(), a.stage), a.clone());
    }
    map.into_values().collect()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_entries_read_back_in_every_version(
        v in prop::sample::select(vec![2u32, 3, 4]),
        list in entries(true, 60),
    ) {
        let list: Vec<RawEntry> = list.into_iter().map(|e| fit(v, e)).collect();
        let bytes = write_index(v, &list, b"", [0; 20]);
        let idx = Index::parse(&bytes, None).unwrap();
        prop_assert_eq!(read_back(&idx), list);
        prop_assert!(!idx.split);
    }

    #[test]
    fn a_split_index_reads_as_git_merges_it((v, base, fates, added) in split_case()) {
        let id = [0x5a; 20];
        let shared = write_index(v, &base, b"", id);
        let mut own: Vec<RawEntry> = Vec::new();
        let (mut deleted, mut replaced) = (Vec::new(), Vec::new());
        for (i, f) in fates.iter().enumerate() {
            match f {
                Fate::Keep => {}
                Fate::Delete => deleted.push(i),
                Fate::Replace(r) => {
                    replaced.push(i);
                    // git strips the path of a replacement.
                    own.push(RawEntry { path: Vec::new(), ..r.clone() });
                }
            }
        }
        own.extend(added.iter().cloned());
        let split = write_index(v, &own, &link(id, &deleted, &replaced), [0; 20]);
        let idx = Index::parse(&split, Some(&shared)).unwrap();
        prop_assert_eq!(read_back(&idx), model_merge(&base, &fates, &added));
        prop_assert!(idx.split);
        // The shared index must be the one the split index names.
        let mut other = shared.clone();
        let n = other.len();
        other[n - 1] ^= 1;
        prop_assert!(Index::parse(&split, Some(&other)).is_err());
    }

    #[test]
    fn damaged_indexes_never_panic_and_stay_bounded(
        v in prop::sample::select(vec![2u32, 3, 4]),
        list in entries(true, 30),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        tree in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let ext = crate::common::index::ext(b"TREE", &tree);
        let mut bytes = write_index(v, &list, &ext, [0; 20]);
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.truncate(i),
                _ => bytes.insert(i, byte),
            }
        }
        if let Ok(idx) = Index::parse(&bytes, None) {
            let total: usize = idx.entries.iter().map(|e| idx.path(e).len()).sum();
            prop_assert!(total <= bytes.len() * (V4_EXPANSION + 1) + V4_SLACK);
            for w in idx.entries.windows(2) {
                prop_assert!((idx.path(&w[0]), w[0].stage) < (idx.path(&w[1]), w[1].stage));
            }
            if let Some(root) = idx.cache_tree() {
                let _ = root.children().count();
            }
        }
    }

    #[test]
    fn raw_trees_read_back_and_damage_never_panics(
        list in prop::collection::vec(
            (
                prop::sample::select(vec![0o100644u32, 0o100755, 0o120000, 0o160000, 0o40000]),
                prop::collection::vec(1u8..=255, 1..12),
                any::<[u8; 20]>(),
            ),
            0..20,
        ),
        cut in any::<prop::sample::Index>(),
        noise in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut raw = Vec::new();
        for (mode, name, id) in &list {
            raw.extend(format!("{mode:o} ").into_bytes());
            raw.extend(name);
            raw.push(0);
            raw.extend(id);
        }
        let mut got = Vec::new();
        parse_tree(&raw, |mode, name, id| {
            got.push((mode, name.to_vec(), <[u8; 20]>::try_from(id.as_bytes()).unwrap()))
        })
        .unwrap();
        prop_assert_eq!(got, list);
        let n = cut.index(raw.len() + 1);
        let _ = parse_tree(&raw[..n], |_, _, _| {});
        let _ = parse_tree(&noise, |_, _, _| {});
    }
}
