//! Property tests for the code that reads untrusted bytes: the matcher, the
//! line counter, the dotenv parser and the config parser.
//!
//! - A real-shaped key (Miniback, urBackend secret, Stripe secret) put at any
//!   point of arbitrary content, between bytes that cannot extend it, is found
//!   exactly once, with the line and column a naive count gives, by
//!   `scan_bytes` and by `scan_reader` at any chunk size (from `MIN_CHUNK` up)
//!   and through a reader that returns short reads — also in UTF-16 files.
//! - For any bytes, streaming gives exactly the matches of a single buffer.
//! - Nothing panics on any input; the line counter agrees with a naive count
//!   for any targets in any order; dotenv spans stay inside the input.
//!
//! Case counts are modest so `cargo test` stays fast. For a long run (the
//! fuzzing story on stable Rust, next to `fuzz/`):
//!
//! ```sh
//! KEYSCAN_PROPTEST_CASES=100000 cargo test --release --test it proptest_matcher::
//! ```

use keyscan::rules::RuleSet;
use keyscan::scan::lines::LineCounter;
use keyscan::scan::{BlobScan, Matcher, BINARY_SNIFF, MIN_CHUNK};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Cases per property: `KEYSCAN_PROPTEST_CASES` or `default`.
fn cases(default: u32) -> u32 {
    std::env::var("KEYSCAN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        // A failing case is saved, minimised, beside this file
        // (`proptest_matcher.regressions`) and replayed first on every later
        // run: commit that file with the fix.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

fn rules() -> &'static Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES.get_or_init(|| Arc::new(RuleSet::builtin().unwrap()))
}

fn rule_index(id: &str) -> usize {
    rules().rules.iter().position(|r| r.id() == id).unwrap()
}

/// A real-shaped key and the rule that must report it.
fn key() -> impl Strategy<Value = (String, &'static str)> {
    prop_oneof![
        "[a-z0-9]{20}".prop_map(|b| (format!("mbk_{b}"), "miniback-api-key")),
        (
            "[A-Za-z0-9_-]{42}",
            prop::sample::select(vec!['-', '_']),
            0..42usize
        )
            .prop_map(|(b, c, at)| {
                // urBackend bodies carry a `-` or `_` (that is what tells
                // them from Stripe's).
                let mut b = b.into_bytes();
                b.insert(at, c as u8);
                (
                    format!("sk_live_{}", String::from_utf8(b).unwrap()),
                    "urbackend-secret-key",
                )
            }),
        "[A-Za-z0-9]{97}".prop_map(|b| (format!("sk_live_51{b}"), "stripe-secret-key")),
    ]
}

/// Content bytes: anything, with line breaks, spaces and keyword fragments
/// made frequent so that lines, near-misses and overlaps get exercised.
fn content(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => any::<u8>().prop_map(|b| vec![b]),
        2 => Just(b"\n".to_vec()),
        2 => Just(b"\r".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b" ".to_vec()),
        1 => Just(b"mbk_".to_vec()),
        1 => Just(b"sk_live_".to_vec()),
        1 => Just(b"?api_key=".to_vec()),
        1 => "[A-Za-z0-9_-]{1,40}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

/// A byte that can neither continue a key nor be part of one.
fn non_word() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("not a key byte", |b| {
        !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-' || *b == 0)
    })
}

/// (line, column) by the plainest possible count: `\n`, `\r\n` and a lone
/// `\r` end a line; columns are 1-based bytes.
fn naive_line_col(bytes: &[u8], offset: usize) -> (u64, u64) {
    let mut line = 1;
    let mut start = 0;
    for i in 0..offset {
        let lf = bytes[i] == b'\n';
        let lone_cr = bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
        if lf || lone_cr {
            line += 1;
            start = i + 1;
        }
    }
    (line, (offset - start + 1) as u64)
}

/// A reader that hands out at most `sizes[i]` bytes per call, in turn.
struct Choppy<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    call: usize,
}

impl Read for Choppy<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.call % self.sizes.len()].max(1);
        self.call += 1;
        let n = size.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

type MatchKey = (usize, String, u64, usize, u64, u64);

fn match_keys(scan: &BlobScan) -> Vec<MatchKey> {
    scan.matches
        .iter()
        .map(|m| (m.rule, m.secret.clone(), m.offset, m.len, m.line, m.column))
        .collect()
}

fn streamed(m: &Matcher, bytes: &[u8], chunk: usize, sizes: Vec<usize>) -> BlobScan {
    let mut buf = Vec::new();
    let reader = Choppy {
        data: bytes,
        sizes,
        call: 0,
    };
    m.scan_reader(reader, chunk, &mut buf).unwrap()
}

/// Asserts that `rule` reports `key` exactly once, at `offset`, `line`, `column`.
fn assert_found_once(
    scan: &BlobScan,
    rule: usize,
    key: &str,
    offset: u64,
    (line, column): (u64, u64),
) -> Result<(), TestCaseError> {
    let end = offset + key.len() as u64;
    let hits: Vec<_> = scan
        .matches
        .iter()
        .filter(|m| m.rule == rule && m.offset < end && m.offset + m.len as u64 > offset)
        .collect();
    prop_assert_eq!(hits.len(), 1, "matches over the key: {:?}", hits);
    prop_assert_eq!(&hits[0].secret, key);
    prop_assert_eq!(hits[0].offset, offset);
    prop_assert_eq!((hits[0].line, hits[0].column), (line, column));
    Ok(())
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn a_key_anywhere_is_found_once_at_its_line_and_column(
        before in content(700),
        after in content(700),
        (key, rule_id) in key(),
        left in non_word(),
        right in non_word(),
        chunk_extra in 0..3 * MIN_CHUNK,
        sizes in prop::collection::vec(1..5000usize, 1..8),
    ) {
        let mut bytes = before;
        bytes.push(left);
        let offset = bytes.len();
        bytes.extend_from_slice(key.as_bytes());
        bytes.push(right);
        bytes.extend_from_slice(&after);
        // A NUL early on makes a file binary and a BOM makes it UTF-16:
        // both have their own properties below.
        for b in bytes.iter_mut().take(BINARY_SNIFF) {
            if *b == 0 {
                *b = b' ';
            }
        }
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            bytes[0] = b' ';
        }
        let m = Matcher::new(rules().clone());
        let rule = rule_index(rule_id);
        let want = naive_line_col(&bytes, offset);
        let whole = m.scan_bytes(&bytes);
        assert_found_once(&whole, rule, &key, offset as u64, want)?;
        let chunk = MIN_CHUNK + chunk_extra;
        let stream = streamed(&m, &bytes, chunk, sizes);
        assert_found_once(&stream, rule, &key, offset as u64, want)?;
        prop_assert_eq!(match_keys(&whole), match_keys(&stream), "chunk {}", chunk);
    }

    #[test]
    fn a_key_in_utf16_text_is_found_at_its_decoded_position(
        before in "[^\u{0}]{0,300}",
        after in "[^\u{0}]{0,300}",
        (key, rule_id) in key(),
        big_endian in any::<bool>(),
        chunk_extra in 0..MIN_CHUNK,
    ) {
        let text = format!("{before}\n{key}\r\n{after}");
        let offset = before.len() + 1;
        let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&if big_endian { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        let m = Matcher::new(rules().clone());
        let rule = rule_index(rule_id);
        let want = naive_line_col(text.as_bytes(), offset);
        let whole = m.scan_bytes(&bytes);
        assert_found_once(&whole, rule, &key, offset as u64, want)?;
        let stream = streamed(&m, &bytes, MIN_CHUNK + chunk_extra, vec![4096]);
        assert_found_once(&stream, rule, &key, offset as u64, want)?;
    }

    #[test]
    fn streaming_equals_one_buffer_for_any_bytes(
        bytes in content(3000),
        nul_at in prop::option::of(0..12_000usize),
        bom in prop::option::of(prop::sample::select(vec![[0xFFu8, 0xFE], [0xFE, 0xFF]])),
        chunk_extra in 0..2 * MIN_CHUNK,
        sizes in prop::collection::vec(1..9000usize, 1..8),
    ) {
        let mut bytes = bytes;
        if let Some(at) = nul_at {
            if at < bytes.len() {
                bytes[at] = 0;
            }
        }
        if let Some(bom) = bom {
            bytes.splice(0..0, bom);
        }
        let m = Matcher::new(rules().clone());
        let whole = m.scan_bytes(&bytes);
        let stream = streamed(&m, &bytes, MIN_CHUNK + chunk_extra, sizes);
        prop_assert_eq!(match_keys(&whole), match_keys(&stream));
        prop_assert_eq!(whole.binary, stream.binary);
        prop_assert_eq!(whole.use_client, stream.use_client);
        prop_assert_eq!(whole.encoding, stream.encoding);
        if !whole.binary {
            prop_assert_eq!(whole.bytes, stream.bytes);
        }
        for w in &whole.matches {
            prop_assert!(w.line >= 1 && w.column >= 1);
        }
    }

    #[test]
    fn the_line_counter_agrees_with_a_naive_count(
        bytes in content(400),
        targets in prop::collection::vec(any::<prop::sample::Index>(), 1..20),
    ) {
        let mut c = LineCounter::new();
        for t in targets {
            let t = t.index(bytes.len() + 1);
            prop_assert_eq!(c.locate(&bytes, 0, t as u64), naive_line_col(&bytes, t), "target {}", t);
        }
    }

    #[test]
    fn the_dotenv_parser_takes_any_bytes(bytes in content(2000)) {
        let entries = keyscan::dotenv::parse(&bytes);
        let mut last_line = 0;
        for e in &entries {
            prop_assert!(e.value_span.start <= e.value_span.end);
            prop_assert!(e.value_span.end <= bytes.len());
            prop_assert_eq!(
                &e.value,
                &String::from_utf8_lossy(&bytes[e.value_span.clone()]).into_owned()
            );
            prop_assert!(!e.name.is_empty());
            prop_assert!(e.line >= 1 && e.line >= last_line, "lines go forward");
            last_line = e.line;
        }
    }

    #[test]
    fn the_config_parser_takes_any_text(
        text in prop_oneof![
            any::<String>(),
            prop::collection::vec(
                prop_oneof![
                    Just("[allowlist]\n".to_string()),
                    Just("[[rule]]\n".to_string()),
                    Just("[rule.rotation]\n".to_string()),
                    Just("fail_on = ".to_string()),
                    Just("paths = [".to_string()),
                    Just("pattern = '".to_string()),
                    Just("\"".to_string()),
                    Just("]\n".to_string()),
                    "[a-z_]{1,8} = ".prop_map(|s| s),
                    "\\PC{0,6}".prop_map(|s| s),
                    Just("\n".to_string()),
                ],
                0..30,
            )
            .prop_map(|v| v.concat()),
        ],
    ) {
        if let Err(e) = keyscan::config::parse(Path::new("fuzz.toml"), &text) {
            prop_assert!(e.to_string().starts_with("fuzz.toml"), "{}", e);
        }
    }
}
