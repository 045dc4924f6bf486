//! Fuzz target for the git index reader (`source::index`).
//!
//! The input is an index file, or — when its first byte is odd — an index
//! and the shared index of a split index, cut where the next two bytes say.
//! For any input: no panic; what reads is in git's order (path bytes, then
//! stage) and its paths stay within the version 4 expansion bound; the
//! cache-tree walks without recursion.
#![no_main]

use keyscan::source::index::{Index, V4_EXPANSION, V4_SLACK};
use libfuzzer_sys::fuzz_target;

fn check(idx: &Index, input_len: usize) {
    let total: usize = idx.entries.iter().map(|e| idx.path(e).len()).sum();
    assert!(total <= input_len * (V4_EXPANSION + 1) + V4_SLACK);
    for w in idx.entries.windows(2) {
        assert!((idx.path(&w[0]), w[0].stage) < (idx.path(&w[1]), w[1].stage));
    }
    if let Some(root) = idx.cache_tree() {
        let mut todo = vec![root];
        while let Some(d) = todo.pop() {
            let _ = d.valid();
            todo.extend(d.children());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(idx) = Index::parse(data, None) {
        check(&idx, data.len());
    }
    if data.len() >= 3 && data[0] & 1 == 1 {
        let rest = &data[3..];
        let at = usize::from(u16::from_be_bytes([data[1], data[2]])) % (rest.len() + 1);
        let (index, shared) = rest.split_at(at);
        if let Ok(idx) = Index::parse(index, Some(shared)) {
            check(&idx, rest.len());
        }
    }
});
