//! `keyscan --history` on packed repositories: a full history is read
//! through keyscan's own pack reader (`source::pack`), every blob inflated
//! once in pack order, with `libgit2` reading whatever that reader does not
//! produce. These tests hold the reader to one promise: the report of a
//! packed repository is the report of the same history unpacked — with
//! delta chains, loose objects on top of packs, an index format the reader
//! refuses, objects borrowed through alternates and a damaged pack.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

/// A history of several files edited commit after commit (so `git gc`
/// makes delta chains), with keys added in the middle of a long file,
/// moved, removed, and one only on a side branch. Returns the tree and the
/// keys planted.
fn edited_history() -> (TempTree, Vec<String>) {
    let mut rng = Rng::new(0x5eed_9ac4);
    let t = TempTree::new();
    t.git_init();
    let keys = vec![
        miniback_key(&mut rng),
        urbackend_key(&mut rng, "sk_live_"),
        stripe_key(&mut rng, "sk_live_"),
        miniback_key(&mut rng),
    ];
    let mut lines: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "export const value{i} = \"{}\";",
                rng.string(b"abcdefghij", 12)
            )
        })
        .collect();
    for round in 0..24 {
        for j in 0..5 {
            let at = (round * 37 + j * 11) % lines.len();
            lines[at] = format!(
                "export const value{at} = \"{}\";",
                rng.string(b"klmnopqrst", 12)
            );
        }
        match round {
            6 => lines[150] = format!("export const MINIBACK = \"{}\";", keys[0]),
            12 => lines[150] = "export const MINIBACK = process.env.MINIBACK_KEY;".into(),
            9 => {
                t.write(
                    "server/billing.ts",
                    format!("const stripe = \"{}\";\n", keys[2]),
                );
            }
            _ => {}
        }
        t.write("server/values.ts", lines.join("\n"));
        t.write(
            "server/notes.md",
            format!("# notes\n\nround {round}\n{}\n", lines[..40].join("\n")),
        );
        if round == 15 {
            t.write("server/.env", format!("URBACKEND_SECRET={}\n", keys[1]));
        }
        if round == 18 {
            std::fs::remove_file(t.path().join("server/.env")).unwrap();
        }
        t.commit_all(&format!("round {round}"));
    }
    t.git(&["checkout", "-q", "-b", "side"]);
    t.write(
        "tools/seed.js",
        format!("module.exports = \"{}\";\n", keys[3]),
    );
    t.commit_all("side branch key");
    t.git(&["checkout", "-q", "main"]);
    (t, keys)
}

/// How the report shows `key` (redacted).
fn shown(key: &str) -> String {
    let prefix = if key.starts_with("mbk_") {
        "mbk_"
    } else {
        "sk_live_"
    };
    redacted(key, prefix)
}

/// The report without its timing.
fn report(dir: &Path) -> Value {
    let (mut v, code) = json_in(dir, &["--history"]);
    assert_eq!(code, 1, "high findings expected:\n{v:#}");
    v["summary"].as_object_mut().unwrap().remove("duration_ms");
    v
}

fn text_of(v: &Value) -> String {
    v.to_string()
}

fn pack_files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join(".git/objects/pack"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_packed_history_reports_exactly_what_the_loose_one_does() {
    let (t, keys) = edited_history();
    assert!(pack_files(t.path(), "pack").is_empty());
    let loose = report(t.path());
    let text = loose.to_string();
    for k in &keys {
        assert!(text.contains(&shown(k)), "{k} missing:\n{loose:#}");
    }
    t.git(&["gc", "-q", "--aggressive"]);
    assert_eq!(pack_files(t.path(), "pack").len(), 1);
    let verify = t.git(&[
        "verify-pack",
        "-v",
        pack_files(t.path(), "idx")[0].to_str().unwrap(),
    ]);
    assert!(
        verify.contains("chain length = 3") || verify.contains("chain length = 4"),
        "gc made delta chains: {verify}"
    );
    assert_eq!(report(t.path()), loose, "packed differs from loose");

    // New commits on top of the pack stay loose: both kinds together.
    let mut rng = Rng::new(77);
    let late = miniback_key(&mut rng);
    t.write("server/late.ts", format!("export const k = \"{late}\";\n"));
    t.commit_all("late key");
    let mixed = report(t.path());
    assert!(text_of(&mixed).contains(&shown(&late)), "{mixed:#}");
    t.git(&["repack", "-q", "-a", "-d"]);
    assert_eq!(
        report(t.path()),
        mixed,
        "repacked differs from packed + loose"
    );
}

#[test]
fn a_pack_index_the_reader_refuses_is_read_through_libgit2() {
    let (t, _) = edited_history();
    t.git(&["gc", "-q"]);
    let packed = report(t.path());
    // Rewrite the index as version 1, which keyscan's reader refuses.
    let pack = pack_files(t.path(), "pack").remove(0);
    let idx = pack.with_extension("idx");
    std::fs::remove_file(&idx).unwrap();
    t.git(&["index-pack", "--index-version=1", pack.to_str().unwrap()]);
    let bytes = std::fs::read(&idx).unwrap();
    assert_ne!(&bytes[..4], b"\xfftOc", "version 1 index");
    assert_eq!(report(t.path()), packed);
}

#[test]
fn objects_borrowed_through_alternates_are_scanned() {
    let (t, keys) = edited_history();
    t.git(&["gc", "-q"]);
    let clone = TempTree::new();
    let dest = clone.path().join("c");
    git_in(
        clone.path(),
        &[
            "clone",
            "-q",
            "--shared",
            "--no-checkout",
            t.path().to_str().unwrap(),
            "c",
        ],
    );
    assert!(dest.join(".git/objects/info/alternates").is_file());
    assert!(
        pack_files(&dest, "pack").is_empty(),
        "the clone owns no pack"
    );
    git_in(&dest, &["fetch", "-q", "origin", "side:side"]);
    let v = report(&dest);
    let text = v.to_string();
    for k in &keys {
        assert!(text.contains(&shown(k)), "{k} missing:\n{v:#}");
    }
}

#[test]
fn a_damaged_pack_is_reported_and_the_rest_still_scanned() {
    let (t, keys) = edited_history();
    t.git(&["gc", "-q"]);
    let pack = pack_files(t.path(), "pack").remove(0);
    // Damage the largest blob of the pack (server/values.ts, 300 lines) in
    // the middle of its compressed data.
    let idx = pack.with_extension("idx");
    let listing = t.git(&["verify-pack", "-v", idx.to_str().unwrap()]);
    let (offset, size) = listing
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 5 && f[1] == "blob").then(|| {
                (
                    f[4].parse::<usize>().unwrap(),
                    f[3].parse::<usize>().unwrap(),
                )
            })
        })
        .max_by_key(|&(_, size)| size)
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    for b in &mut bytes[offset + size / 2..offset + size / 2 + 8] {
        *b ^= 0xa5;
    }
    let mut perms = std::fs::metadata(&pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pack, perms).unwrap();
    std::fs::write(&pack, &bytes).unwrap();

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1, "{v:#}");
    let errors = v["summary"]["errors"].as_array().unwrap();
    assert!(
        !errors.is_empty() && errors.iter().any(|e| e["path"] == "server/values.ts"),
        "the damaged blob is named: {v:#}"
    );
    // Keys in other blobs are still found.
    let text = v.to_string();
    for k in &keys[1..] {
        assert!(text.contains(&shown(k)), "{k} missing:\n{v:#}");
    }
}
