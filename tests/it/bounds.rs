//! End-to-end tests of keyscan's bounds: the real binary on files built to
//! make a scan unbounded in memory or time, UTF-16 that must be streamed or
//! must not be taken for UTF-16, and config and baseline files that are not
//! what they seem (FIFOs, devices, symlinks, huge files).
//!
//! Every bound that cuts work is counted and named in the summary's
//! `incomplete` list and makes `--strict` fail; nothing here asserts a time.

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// Nothing here should take long; a hang fails instead of stalling CI.
const TIMEOUT: Duration = Duration::from_secs(120);

fn run(dir: &Path, args: &[&str]) -> Output {
    run_within(dir, args, TIMEOUT)
}

fn json(dir: &Path, args: &[&str]) -> (Value, i32) {
    json_within(dir, args, TIMEOUT)
}

fn incomplete(v: &Value) -> Vec<(String, String)> {
    v["summary"]["incomplete"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["path"].as_str().unwrap().to_string(),
                        e["message"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

#[test]
fn a_flood_of_placeholder_keys_keeps_a_bounded_number_and_counts_the_rest() {
    // 60,000 placeholder keys: the matcher keeps 50,000 for judging (memory
    // bounded by that, not by the file), counts the rest, and says so.
    let t = TempTree::new();
    t.write("flood.txt", "k=mbk_aaaaaaaaaaaaaaaaaaaa\n".repeat(60_000));
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 0, "no finding: {v}");
    assert!(key_findings(&v).is_empty());
    assert_eq!(v["summary"]["placeholders_ignored"], 50_000);
    let inc = incomplete(&v);
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert_eq!(inc[0].0, "flood.txt");
    assert!(inc[0].1.contains("10000 more were counted"), "{}", inc[0].1);
    let (_, strict) = json(t.path(), &[".", "--strict"]);
    assert_eq!(strict, 1, "--strict fails a scan that was cut short");
    let text = run(t.path(), &["."]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains("not fully scanned: flood.txt"), "{out}");
}

#[test]
fn keyword_floods_that_start_regex_attempts_find_nothing_and_cut_nothing() {
    // `-sk_live_` and `-mbk_` let `\b` match before each keyword, so every
    // hit used to start a regex attempt over up to 256 bytes; now a run of
    // failing hits is settled by one lazy-DFA search. Real keys inside the
    // flood are still found, once each.
    let t = TempTree::new();
    let mut rng = Rng::new(1101);
    let (k1, k2) = (urbackend_key(&mut rng, "sk_live_"), miniback_key(&mut rng));
    let flood = "-sk_live_".repeat(200_000);
    t.write("a.txt", format!("{flood}\n{k1}\n{flood}\n"));
    t.write("b.txt", format!("{}\n{k2}\n", "-mbk_".repeat(400_000)));
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1);
    let keys = key_findings(&v);
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(find(&v, "urbackend-secret-key", "a.txt")[0]["line"], 2);
    assert_eq!(find(&v, "miniback-api-key", "b.txt")[0]["line"], 2);
    assert!(incomplete(&v).is_empty());
}

#[test]
fn a_slow_config_rule_is_cut_named_and_fails_strict() {
    // Alternation under a large repetition count: about a millisecond per
    // keyword hit here. 10,000 hits would take seconds; the rule's budget
    // (1 s per file) stops it and the summary says where and why.
    let t = TempTree::new();
    t.write(
        ".keyscan.toml",
        "[[rule]]\nid = \"acme-slow\"\nprovider = \"Acme\"\nname = \"Acme key\"\n\
         description = \"a config rule with a slow regex\"\nkeywords = [\"acme_\"]\n\
         pattern = '''(acme_(?:a|b|ab|ba){1,300}Q)'''\n\
         examples = ['acme_abQ']\nnegative_examples = ['acme_']\n\
         [rule.rotation]\nurl = \"https://acme.test\"\nsteps = []\n",
    );
    let mut rng = Rng::new(1102);
    let mut text = String::new();
    for _ in 0..10_000 {
        text.push_str("acme_");
        text.push_str(&rng.string(b"ab", 1094));
        text.push('\n');
    }
    t.write("slow.txt", text);
    let key = miniback_key(&mut rng);
    t.write("fast.txt", format!("k = \"{key}\"\n"));
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1, "the built-in rules still ran: {v}");
    assert_eq!(find(&v, "miniback-api-key", "fast.txt").len(), 1);
    let inc = incomplete(&v);
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert_eq!(inc[0].0, "slow.txt");
    assert!(inc[0].1.contains("rule `acme-slow`"), "{}", inc[0].1);
    assert!(inc[0].1.contains("time budget"), "{}", inc[0].1);
    t.write("fast.txt", "nothing\n");
    let (_, lenient) = json(t.path(), &["."]);
    assert_eq!(lenient, 0);
    let (_, strict) = json(t.path(), &[".", "--strict"]);
    assert_eq!(strict, 1);
}

#[test]
fn a_byte_order_mark_before_ascii_text_does_not_hide_a_key() {
    let t = TempTree::new();
    let mut rng = Rng::new(1103);
    let key = miniback_key(&mut rng);
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend_from_slice(format!("KEY={key}\n").as_bytes());
    t.write("odd.txt", &bytes);
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1);
    let f = find(&v, "miniback-api-key", "odd.txt");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(
        (f[0]["line"].as_u64(), f[0]["column"].as_u64()),
        (Some(1), Some(7))
    );
}

#[test]
fn a_utf16_file_bigger_than_a_buffer_is_streamed_and_its_last_key_found() {
    // 12 MiB of UTF-16: decoded while streaming through the 4 MiB buffer,
    // never skipped, its last key at its decoded line.
    let t = TempTree::new();
    let mut rng = Rng::new(1104);
    let key = miniback_key(&mut rng);
    let filler = "some text of a windows log file\r\n".repeat(190_000);
    t.write("big.log", utf16le(&format!("{filler}KEY={key}\r\n")));
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1, "{}", v["summary"]);
    let f = find(&v, "miniback-api-key", "big.log");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["line"], 190_001);
    assert_eq!(f[0]["column"], 5);
    assert!(incomplete(&v).is_empty());
    let skipped = v["summary"]["files_skipped"].as_object().unwrap();
    assert!(skipped.values().all(|n| n == 0), "{skipped:?}");
}

#[cfg(unix)]
#[test]
fn config_and_baseline_files_must_be_regular_files_of_sane_size() {
    let t = TempTree::new();
    t.write("a.txt", "nothing\n");
    let fifo = t.path().join("pipe");
    mkfifo(&fifo);
    std::os::unix::fs::symlink("/dev/zero", t.path().join("zero.jsonl")).unwrap();
    let huge = std::fs::File::create(t.path().join("huge.jsonl")).unwrap();
    huge.set_len(65 << 20).unwrap(); // sparse: 65 MiB of NULs
    for (args, file, what) in [
        (
            vec![".", "--baseline", "pipe"],
            "pipe",
            "not a regular file",
        ),
        (
            vec![".", "--baseline", "zero.jsonl"],
            "zero.jsonl",
            "not a regular file",
        ),
        (
            vec![".", "--baseline", "huge.jsonl"],
            "huge.jsonl",
            "larger than",
        ),
        (vec![".", "--config", "pipe"], "pipe", "not a regular file"),
    ] {
        let out = run(t.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(file) && err.contains(what), "{args:?}: {err}");
    }
    // A `.keyscan.toml` inside the scanned tree is never read through a link.
    let outside = TempTree::new();
    outside.write("secret.toml", "fail_on = \"info\"\n");
    std::os::unix::fs::symlink(
        outside.path().join("secret.toml"),
        t.path().join(".keyscan.toml"),
    )
    .unwrap();
    let out = run(t.path(), &["."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(".keyscan.toml") && err.contains("symbolic link"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn write_baseline_replaces_a_symlink_instead_of_writing_through_it() {
    let t = TempTree::new();
    let mut rng = Rng::new(1105);
    t.write("app.js", format!("k = \"{}\"\n", miniback_key(&mut rng)));
    let outside = TempTree::new();
    let precious = outside.write("precious.txt", "do not touch\n");
    std::os::unix::fs::symlink(&precious, t.path().join("baseline.jsonl")).unwrap();
    let out = run(t.path(), &["app.js", "--write-baseline", "baseline.jsonl"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "do not touch\n"
    );
    let written = t.path().join("baseline.jsonl");
    assert!(std::fs::symlink_metadata(&written).unwrap().is_file());
    let text = std::fs::read_to_string(&written).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("miniback-api-key"));
    // The baseline it wrote suppresses the finding.
    let (v, code) = json(t.path(), &["app.js", "--baseline", "baseline.jsonl"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["suppressed"]["baseline"], 1);
}
