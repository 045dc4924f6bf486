//! One key, one thing to fix: findings grouped by key in every report that a
//! person reads or that describes keys — text (each key once, worst place
//! first, its other places, one rotation recipe; the summary counts keys and
//! places), JSON (`keys` beside the per-place `findings`) and SARIF (one
//! result per place with `relatedLocations` to the others) — while exit
//! codes, allowlists and baselines keep counting places. Also: groups
//! wrapped on a terminal, and no raw key in any format without
//! `--show-secrets`.

use crate::common::*;
use crate::integrations::{assert_valid_sarif, on_a_terminal};
use serde_json::Value;
use std::path::Path;

/// Runs keyscan with `args` in `dir` and returns (stdout, exit code).
fn text_in(dir: &Path, args: &[&str], columns: Option<&str>) -> (String, i32) {
    let mut cmd = keyscan();
    cmd.current_dir(dir).args(args);
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let out = cmd.output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn keys(v: &Value) -> &Vec<Value> {
    v["keys"].as_array().expect("keys array")
}

/// A tree with `k` in a server file, a second server file and a test
/// fixture, and `other` in one more file.
fn three_places(k: &str, other: &str) -> TempTree {
    let t = TempTree::new();
    t.write("api/a.js", format!("const key = \"{k}\";\n"));
    t.write(
        "api/b.js",
        format!("module.exports = {{ key: \"{k}\" }};\n"),
    );
    t.write(
        "tests/fixtures.js",
        format!("const fixtureKey = \"{k}\";\n"),
    );
    t.write("jobs/sync.js", format!("const other = \"{other}\";\n"));
    t
}

#[test]
fn a_key_in_three_files_is_one_group_with_three_places_in_every_format() {
    let mut rng = Rng::new(141);
    let (k, other) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let t = three_places(&k, &other);

    // Text: the key once, worst place first, the others listed, one recipe.
    let (text, code) = text_in(t.path(), &["--color", "never", "."], None);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("── 2 keys in 4 places ──"), "{text}");
    assert!(text.contains(": 2 keys in 4 places"), "summary:\n{text}");
    let red = redacted(&k, "mbk_");
    let key_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("key ") && l.contains(&red))
        .collect();
    assert_eq!(key_lines.len(), 1, "the key is shown once:\n{text}");
    assert!(
        text.contains("HIGH     miniback-api-key Miniback API key · 3 places"),
        "{text}"
    );
    assert!(text.contains("  at api/a.js:1:14  (server)"), "{text}");
    assert!(
        text.contains("  also at api/b.js:1:26  (server, high)"),
        "{text}"
    );
    assert!(
        text.contains("          tests/fixtures.js:1:21  (test, medium)"),
        "{text}"
    );
    assert_eq!(
        text.matches("rotate: https://www.miniback.io/docs").count(),
        2,
        "one rotation recipe per key:\n{text}"
    );
    // The other key is its own group.
    assert!(text.contains(&redacted(&other, "mbk_")), "{text}");

    // JSON: one finding per place (the contract), plus the keys section.
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(code, 1);
    assert_eq!(key_findings(&v).len(), 4);
    let ks = keys(&v);
    assert_eq!(ks.len(), 2, "{v:#}");
    let group = &ks[0];
    assert_eq!(group["count"], 3);
    assert_eq!(group["rule_id"], "miniback-api-key");
    assert_eq!(group["severity"], "high");
    assert_eq!(group["secret_redacted"], red.as_str());
    let places = group["places"].as_array().unwrap();
    let paths: Vec<&str> = places.iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["api/a.js", "api/b.js", "tests/fixtures.js"]);
    assert_eq!(places[2]["severity"], "medium");
    for p in places {
        let f = &findings(&v)[p["finding"].as_u64().unwrap() as usize];
        assert_eq!(f["path"], p["path"]);
        assert_eq!(f["line"], p["line"]);
        assert_eq!(f["fingerprint"], group["fingerprint"]);
    }
    assert_eq!(ks[1]["count"], 1);
    assert_ne!(ks[1]["fingerprint"], group["fingerprint"]);

    // SARIF: one result per place; each names the key's other places.
    let out = run_in(t.path(), &["--format", "sarif", "."]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    let results: Vec<&Value> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["properties"]["origin"] != "audit")
        .collect();
    assert_eq!(results.len(), 4);
    for r in results {
        let related = r["relatedLocations"].as_array();
        let path = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        if path == "jobs/sync.js" {
            assert!(related.is_none(), "{r:#}");
            assert_eq!(r["properties"]["keyPlaces"], 1);
            continue;
        }
        let related = related.expect("relatedLocations");
        let mut others: Vec<&str> = related
            .iter()
            .map(|l| {
                l["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        others.sort();
        let mut expected: Vec<&str> = ["api/a.js", "api/b.js", "tests/fixtures.js"]
            .into_iter()
            .filter(|p| *p != path)
            .collect();
        expected.sort();
        assert_eq!(others, expected, "{r:#}");
        let ids: Vec<u64> = related.iter().map(|l| l["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, [1, 2]);
        let msg = r["message"]["text"].as_str().unwrap();
        assert!(
            msg.contains("The same key is in 2 other places: ["),
            "{msg}"
        );
        assert!(msg.contains("](1), ["), "{msg}");
        assert_eq!(r["properties"]["keyPlaces"], 3);
    }
}

#[test]
fn the_worst_context_comes_first_and_long_lists_are_cut() {
    let mut rng = Rng::new(142);
    let k = miniback_key(&mut rng);
    let t = TempTree::new();
    // Nine places: one in a client bundle, eight in server code.
    t.write("web/package.json", r#"{"scripts":{"build":"vite build"}}"#);
    t.write(
        "web/dist/assets/index-0a1b2c3d.js",
        format!("var k=\"{k}\";"),
    );
    for i in 0..8 {
        t.write(&format!("api/s{i}.js"), format!("const k{i} = \"{k}\";\n"));
    }
    let (text, _) = text_in(t.path(), &["--color", "never", "."], None);
    assert!(
        text.contains("CRITICAL miniback-api-key Miniback API key · 9 places"),
        "{text}"
    );
    assert!(
        text.contains("  at web/dist/assets/index-0a1b2c3d.js:1:8  (client)"),
        "worst place first:\n{text}"
    );
    assert!(
        text.contains("  also at api/s0.js:1:13  (server, high)"),
        "{text}"
    );
    let listed = text
        .lines()
        .filter(|l| l.contains("(server, high)"))
        .count();
    assert_eq!(listed, 5, "{text}");
    assert!(text.contains("          … and 3 more"), "{text}");
    // The recipe is the worst place's: the key is public.
    assert!(text.contains("This key is already public"), "{text}");
    assert!(text.contains("1 key in 9 places"), "{text}");

    let (v, _) = json_in(t.path(), &["."]);
    assert_eq!(keys(&v)[0]["count"], 9);
    assert_eq!(keys(&v)[0]["severity"], "critical");
    assert_eq!(keys(&v)[0]["places"].as_array().unwrap().len(), 9);
}

#[test]
fn history_groups_one_key_across_commits_and_paths() {
    let mut rng = Rng::new(143);
    let k = miniback_key(&mut rng);
    let other = miniback_key(&mut rng);
    let t = TempTree::new();
    t.git_init();
    t.write("server/config.js", format!("const key = \"{k}\";\n"));
    t.commit_all("add key");
    // A second version of the file (another blob) still holds the key …
    t.write(
        "server/config.js",
        format!("// config\nconst key = \"{k}\";\n"),
    );
    t.commit_all("comment");
    // … a copy puts it at another path, and a different key comes and goes.
    t.write("scripts/seed.js", format!("seed(\"{k}\");\n"));
    t.write("scripts/old.js", format!("old(\"{other}\");\n"));
    t.commit_all("seed");
    std::fs::remove_file(t.path().join("scripts/old.js")).unwrap();
    t.commit_all("drop old");

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1);
    let ks = keys(&v);
    assert_eq!(ks.len(), 2, "{:#}", v["keys"]);
    let group = ks
        .iter()
        .find(|g| g["secret_redacted"] == redacted(&k, "mbk_").as_str())
        .unwrap();
    assert_eq!(group["count"], 3, "{group:#}");
    let places = group["places"].as_array().unwrap();
    assert!(places.iter().all(|p| p["commit"].is_string()), "{group:#}");
    // Two versions of the file hold the key on different lines: two places.
    let config_lines: Vec<&Value> = places
        .iter()
        .filter(|p| p["path"] == "server/config.js")
        .map(|p| &p["line"])
        .collect();
    assert_eq!(config_lines.len(), 2, "{group:#}");
    assert_ne!(config_lines[0], config_lines[1]);

    let (text, _) = text_in(t.path(), &["--color", "never", "--history"], None);
    assert!(text.contains("2 keys in 4 places"), "{text}");
    assert!(text.contains("Miniback API key · 3 places"), "{text}");
    assert!(text.contains(" in commit "), "{text}");
    // The key gone from HEAD says so where it is listed.
    assert!(text.contains("removed from HEAD"), "{text}");

    let out = run_in(t.path(), &["--history", "--format", "sarif"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    let with_related = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["relatedLocations"]
                .as_array()
                .is_some_and(|a| a.len() == 2)
        })
        .count();
    assert_eq!(with_related, 3);
}

#[test]
fn an_overdue_key_is_one_key_with_a_note() {
    let mut rng = Rng::new(144);
    let k = miniback_key(&mut rng);
    let t = TempTree::new();
    t.git_init();
    t.write("server/a.js", format!("const key = \"{k}\";\n"));
    t.write("server/b.js", format!("const key = \"{k}\";\n"));
    let old = format!("@{} +0000", 1_600_000_000);
    git_env_in(t.path(), &["add", "-A"], &[]);
    git_env_in(
        t.path(),
        &["commit", "-q", "-m", "old key"],
        &[("GIT_AUTHOR_DATE", &old), ("GIT_COMMITTER_DATE", &old)],
    );
    // HEAD today: the key has been in history for years.
    t.write("README.md", "# service\n");
    t.commit_all("readme");
    let (v, _) = json_in(t.path(), &["--history"]);
    assert_eq!(findings(&v).len(), 3, "two places and the overdue check");
    let ks = keys(&v);
    assert_eq!(ks.len(), 1, "{:#}", v["keys"]);
    assert_eq!(ks[0]["count"], 2);
    assert_eq!(ks[0]["rule_id"], "miniback-api-key");
    let other = ks[0]["other_findings"].as_array().unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0]["rule_id"], "key-rotation-overdue");
    let note = &findings(&v)[other[0]["finding"].as_u64().unwrap() as usize];
    assert_eq!(note["rule_id"], "key-rotation-overdue");

    let (text, _) = text_in(t.path(), &["--color", "never", "--history"], None);
    assert!(text.contains("1 key in 2 places"), "{text}");
    assert!(
        text.contains("  also: Miniback API key not rotated for over 90 days [key-rotation-overdue, medium]: This key first entered git history"),
        "{text}"
    );
}

#[test]
fn repository_findings_have_their_own_section() {
    let mut rng = Rng::new(145);
    let k = miniback_key(&mut rng);
    let t = TempTree::new();
    t.git_init();
    t.write(".env", format!("MINIBACK_API_KEY={k}\n"));
    t.write("api/a.js", format!("const key = \"{k}\";\n"));
    t.commit_all("init");
    let (text, _) = text_in(t.path(), &["--color", "never", "."], None);
    let keys_at = text.find("── 1 key in 2 places ──").expect(&text);
    let repo_at = text
        .find("about the repository, not a key ──")
        .expect(&text);
    assert!(keys_at < repo_at, "{text}");
    let repo_section = &text[repo_at..];
    assert!(repo_section.contains("dotenv-tracked"), "{text}");
    assert!(!text[..repo_at].contains("dotenv-tracked"), "{text}");
    assert!(text.contains("1 key in 2 places, "), "{text}");
}

#[test]
fn fail_on_allowlists_baselines_and_quiet_still_count_places() {
    let mut rng = Rng::new(146);
    let (k, other) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let t = three_places(&k, &other);

    // The exit code follows the worst place, not the group.
    let (_, code) = text_in(t.path(), &["--fail-on", "critical", "."], None);
    assert_eq!(code, 0);
    let (_, code) = text_in(t.path(), &["--fail-on", "high", "."], None);
    assert_eq!(code, 1);

    // --quiet: the groups, no summary.
    let (text, _) = text_in(t.path(), &["--quiet", "--color", "never", "."], None);
    assert!(text.contains("· 3 places"), "{text}");
    assert!(!text.contains("scanned in"), "{text}");

    // An allowlisted path takes one place away from the group.
    t.write(".keyscan.toml", "[allowlist]\npaths = [\"api/b.js\"]\n");
    let (v, _) = json_in(t.path(), &["."]);
    assert_eq!(keys(&v)[0]["count"], 2);
    assert_eq!(v["summary"]["suppressed"]["config"], 1);

    // A baseline records places: a key copied to a new file is reported there.
    std::fs::remove_file(t.path().join(".keyscan.toml")).unwrap();
    let out = run_in(t.path(), &["--write-baseline", "base.jsonl", "."]);
    assert_eq!(out.status.code(), Some(0));
    t.write("api/c.js", format!("const again = \"{k}\";\n"));
    let (v, code) = json_in(t.path(), &["--baseline", "base.jsonl", "."]);
    assert_eq!(code, 1);
    assert_eq!(keys(&v).len(), 1, "{:#}", v["keys"]);
    assert_eq!(keys(&v)[0]["count"], 1);
    assert_eq!(keys(&v)[0]["places"][0]["path"], "api/c.js");
}

#[test]
fn no_raw_key_in_any_format_without_show_secrets() {
    let mut rng = Rng::new(147);
    let (k, other) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let t = three_places(&k, &other);
    for format in ["text", "json", "sarif", "github"] {
        let out = run_in(t.path(), &["--format", format, "."]);
        let all = [out.stdout, out.stderr].concat();
        let all = String::from_utf8_lossy(&all);
        assert!(!all.contains(&k[4..]), "{format} printed the key");
        assert!(!all.contains(&other[4..]), "{format} printed the key");
        let shown = run_in(t.path(), &["--format", format, "--show-secrets", "."]);
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.contains(&k), "{format} --show-secrets shows the key");
    }
    let (v, _) = json_in(t.path(), &["--show-secrets", "."]);
    assert_eq!(keys(&v)[0]["secret"], k.as_str());
    let (v, _) = json_in(t.path(), &["."]);
    assert!(keys(&v)[0].get("secret").is_none());
}

#[test]
fn groups_wrap_to_the_terminal_and_stay_whole_in_a_pipe() {
    let mut rng = Rng::new(148);
    let (k, other) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let t = three_places(&k, &other);
    // Keys only: a repository finding's header line is not prose.
    t.write(".gitignore", ".env\n.env.*\n");
    let (whole, _) = text_in(t.path(), &["--color", "never", "."], Some("60"));
    assert!(
        whole.lines().any(|l| l.chars().count() > 100),
        "a pipe gets whole lines, COLUMNS or not:\n{whole}"
    );

    let wrapped = on_a_terminal(t.path(), &[("TERM", "dumb"), ("COLUMNS", "60")]);
    assert!(wrapped.contains("Miniback API key · 3 places"), "{wrapped}");
    assert!(
        wrapped.contains("  also at api/b.js:1:26  (server, high)"),
        "{wrapped}"
    );
    for line in wrapped.lines() {
        let n = line.chars().count();
        // Only unbreakable words and the key line may be longer; the
        // summary's headline ("2 keys in 4 places") wraps too.
        assert!(
            n <= 60 || !line.trim().contains(' ') || line.contains("fingerprint"),
            "{n} columns: {line:?}\n{wrapped}"
        );
    }
    // Nothing but line breaks and indentation changed (numbers aside: the
    // scan's duration differs between runs).
    let words = |text: &str| -> Vec<String> {
        text.split_whitespace()
            .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()))
            .map(String::from)
            .collect()
    };
    assert_eq!(words(&wrapped), words(&whole));

    // A file written with --output is never wrapped either.
    let out = keyscan()
        .current_dir(t.path())
        .env("COLUMNS", "60")
        .args(["--output", "report.txt", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let file = std::fs::read_to_string(t.path().join("report.txt")).unwrap();
    assert!(file.lines().any(|l| l.chars().count() > 100), "{file}");
}
