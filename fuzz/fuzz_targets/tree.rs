//! Fuzz target for the raw git tree parser (`source::git::parse_tree`),
//! which history mode runs on every tree object of a repository.
//!
//! For any input: no panic; when it parses, writing the entries back in
//! git's format and parsing again gives the same entries.
#![no_main]

use keyscan::source::git::parse_tree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut got = Vec::new();
    if parse_tree(data, |mode, name, id| got.push((mode, name.to_vec(), id))).is_err() {
        return;
    }
    let mut raw = Vec::new();
    for (mode, name, id) in &got {
        raw.extend(format!("{mode:o} ").into_bytes());
        raw.extend(name);
        raw.push(0);
        raw.extend(id.as_bytes());
    }
    let mut again = Vec::new();
    parse_tree(&raw, |mode, name, id| again.push((mode, name.to_vec(), id)))
        .expect("a tree written back parses");
    assert_eq!(got, again);
});
