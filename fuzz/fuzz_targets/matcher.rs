//! Fuzz target for the matcher and the parsers that read untrusted bytes.
//!
//! For any input: the matcher must not panic, and streaming the input through
//! `scan_reader` with a chunk size taken from the first two bytes (from
//! `MIN_CHUNK` up) must give exactly the matches of `scan_bytes` on the whole
//! input — same rules, secrets, offsets, lines and columns. The dotenv and
//! config parsers and the line counter must not panic either.
#![no_main]

use keyscan::scan::{lines::LineCounter, Matcher, MIN_CHUNK};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn rules() -> std::sync::Arc<keyscan::rules::RuleSet> {
    static RULES: OnceLock<std::sync::Arc<keyscan::rules::RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            std::sync::Arc::new(keyscan::rules::RuleSet::builtin().expect("built-in rules load"))
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = data.split_at(data.len().min(2));
    let extra = head.iter().fold(0usize, |a, b| a * 256 + *b as usize);
    let chunk = MIN_CHUNK + extra;

    let matcher = Matcher::new(rules());
    let whole = matcher.scan_bytes(body);
    let mut buf = Vec::new();
    let streamed = matcher
        .scan_reader(body, chunk, &mut buf)
        .expect("reading a slice cannot fail");
    let key = |s: &keyscan::scan::BlobScan| {
        s.matches
            .iter()
            .map(|m| (m.rule, m.secret.clone(), m.offset, m.line, m.column))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&whole), key(&streamed), "chunk {chunk}");
    assert_eq!(whole.binary, streamed.binary);

    let _ = keyscan::dotenv::parse(body);
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = keyscan::config::parse(std::path::Path::new("fuzz.toml"), text);
    }
    let mut lines = LineCounter::new();
    for t in [body.len() / 2, body.len(), body.len() / 3] {
        let _ = lines.locate(body, 0, t as u64);
    }
});
