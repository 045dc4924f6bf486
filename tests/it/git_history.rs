//! End-to-end tests of `keyscan --history` on real repositories built with
//! the `git` command: every blob reachable from any ref, each scanned once,
//! attributed to the commit that introduced it at each path, with `in_head`,
//! key-rotation-overdue, shallow and bare clones, ranges and broken objects.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

fn repo() -> TempTree {
    let t = TempTree::new();
    t.git_init();
    t
}

fn rev(dir: &Path, spec: &str) -> String {
    git_in(dir, &["rev-parse", spec]).trim().to_string()
}

/// `git commit` with both dates set to `secs` since the epoch.
fn commit_dated(t: &TempTree, message: &str, secs: i64) {
    let date = format!("@{secs} +0000");
    git_env_in(t.path(), &["add", "-A"], &[]);
    git_env_in(
        t.path(),
        &["commit", "-q", "-m", message],
        &[("GIT_AUTHOR_DATE", &date), ("GIT_COMMITTER_DATE", &date)],
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn one<'a>(v: &'a Value, rule: &str, path: &str) -> &'a Value {
    let f = find(v, rule, path);
    assert_eq!(f.len(), 1, "expected one {rule} at {path}:\n{v:#}");
    f[0]
}

#[test]
fn a_key_removed_from_head_is_found_in_history_with_its_commit() {
    let mut rng = Rng::new(11);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write("README.md", "# x\n");
    t.commit_all("init");
    t.write("server/config.js", format!("const key = \"{k}\";\n"));
    t.commit_all("add config");
    let introduced = rev(t.path(), "HEAD");
    t.write(
        "server/config.js",
        "const key = process.env.MINIBACK_KEY;\n",
    );
    t.commit_all("move the key to the environment");

    // The tree is clean now …
    let (v, code) = json_in(t.path(), &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(findings(&v).iter().all(|f| f["origin"] == "audit"), "{v:#}");
    // … history is not.
    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(findings(&v).len(), 1, "{v:#}");
    let f = one(&v, "miniback-api-key", "server/config.js");
    assert_eq!(f["origin"], "commit");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(1), Some(14))
    );
    let c = &f["commit"];
    assert_eq!(c["id"], introduced.as_str());
    assert_eq!(c["author"], "Test User <test@example.com>");
    assert_eq!(c["in_head"], false);
    let date = c["date"].as_str().unwrap();
    let expected = git_in(t.path(), &["log", "-1", "--format=%aI", &introduced]);
    let expected = expected.trim().replace("+00:00", "Z");
    assert_eq!(date, expected, "RFC 3339 author date");
    assert!(f["remediation"]
        .as_str()
        .unwrap()
        .contains("removed from HEAD"));
    let s = &v["summary"];
    assert_eq!(s["mode"], "history");
    assert_eq!(s["commits_scanned"], 3);
    assert_eq!(s["history_complete"], true);

    let text = String::from_utf8(run_in(t.path(), &["--history"]).stdout).unwrap();
    assert!(
        text.contains("removed from HEAD but still in history — rotate"),
        "{text}"
    );
    assert!(text.contains(&introduced[..12]), "{text}");
    assert!(!text.contains(&k));
}

#[test]
fn each_blob_is_scanned_once_and_reported_at_every_path_from_its_introduction() {
    let mut rng = Rng::new(12);
    let k = miniback_key(&mut rng);
    let content = format!("export const key = \"{k}\";\n");
    let t = repo();
    t.write("a.js", &content);
    t.commit_all("a");
    let c_a = rev(t.path(), "HEAD");
    t.write("copy/b.js", &content);
    t.write("other.txt", "other\n");
    t.commit_all("b");
    let c_b = rev(t.path(), "HEAD");
    t.git(&["checkout", "-q", "-b", "feature", &c_a]);
    t.write("lib/c.js", &content);
    t.commit_all("c on a branch");
    let c_c = rev(t.path(), "HEAD");
    t.git(&["checkout", "-q", "main"]);

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1, "{v:#}");
    // One blob holds the key, at three paths on two branches: three findings
    // (none is a rename: `a.js` is still in HEAD), each attributed to the
    // key's introduction, the first commit whose tree held it at any path.
    assert_eq!(findings(&v).len(), 3, "{v:#}");
    for path in ["a.js", "copy/b.js", "lib/c.js"] {
        assert_eq!(
            one(&v, "miniback-api-key", path)["commit"]["id"],
            c_a.as_str(),
            "{path}"
        );
    }
    let _ = (c_b, c_c);
    // files_scanned counts distinct blobs: the key's blob was read once.
    assert_eq!(
        v["summary"]["files_scanned"].as_u64(),
        Some(blob_count(t.path()))
    );
    assert_eq!(blob_count(t.path()), 2);
    let bytes = (content.len() + "other\n".len()) as u64;
    assert_eq!(v["summary"]["bytes_scanned"].as_u64(), Some(bytes));
}

#[test]
fn tags_merges_stash_and_detached_commits_are_all_reachable() {
    let mut rng = Rng::new(13);
    let keys: Vec<String> = (0..4).map(|_| miniback_key(&mut rng)).collect();
    let t = repo();
    t.write("README.md", "x\n");
    t.commit_all("init");

    // A commit only a tag points to.
    t.git(&["checkout", "-q", "--detach"]);
    t.write("tagged.js", format!("k = \"{}\";\n", keys[0]));
    t.commit_all("tag-only");
    let tagged = rev(t.path(), "HEAD");
    t.git(&["tag", "-a", "-m", "release", "v1"]);
    t.git(&["checkout", "-q", "main"]);

    // A branch merged into main: attributed to the branch commit, not the merge.
    t.git(&["checkout", "-q", "-b", "feature"]);
    t.write("feature.js", format!("k = \"{}\";\n", keys[1]));
    t.commit_all("feature");
    let feature = rev(t.path(), "HEAD");
    t.git(&["checkout", "-q", "main"]);
    t.write("main.txt", "main\n");
    t.commit_all("main moves on");
    t.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    t.git(&["branch", "-q", "-D", "feature"]);

    // A stash entry.
    t.write("README.md", format!("k = \"{}\"\n", keys[2]));
    t.git(&["stash", "-q"]);

    // A detached HEAD commit on no branch.
    t.git(&["checkout", "-q", "--detach"]);
    t.write("detached.js", format!("k = \"{}\";\n", keys[3]));
    t.commit_all("detached");
    let detached = rev(t.path(), "HEAD");

    // A tag pointing straight at a blob (no commit at all).
    let key_file = t.write("loose.txt", format!("k = \"{}\"\n", miniback_key(&mut rng)));
    let blob = git_in(t.path(), &["hash-object", "-w", key_file.to_str().unwrap()]);
    std::fs::remove_file(&key_file).unwrap();
    t.git(&["tag", "keyblob", blob.trim()]);

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(one(&v, "miniback-api-key", "refs/tags/keyblob")["commit"].is_null());
    let f = one(&v, "miniback-api-key", "tagged.js");
    assert_eq!(f["commit"]["id"], tagged.as_str());
    assert_eq!(f["commit"]["in_head"], false);
    let f = one(&v, "miniback-api-key", "feature.js");
    assert_eq!(f["commit"]["id"], feature.as_str());
    assert_eq!(f["commit"]["in_head"], true, "merged into HEAD");
    let f = one(&v, "miniback-api-key", "README.md");
    assert_eq!(f["commit"]["in_head"], false);
    let f = one(&v, "miniback-api-key", "detached.js");
    assert_eq!(f["commit"]["id"], detached.as_str());
    assert_eq!(f["commit"]["in_head"], true);
    assert_eq!(
        v["summary"]["files_scanned"].as_u64(),
        Some(blob_count(t.path()))
    );
}

#[test]
fn a_rename_is_reported_where_the_key_lives_from_the_commit_that_introduced_it() {
    let mut rng = Rng::new(14);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write("old/name.js", format!("k = \"{k}\";\n"));
    commit_dated(&t, "add", 1_700_000_000);
    let c1 = rev(t.path(), "HEAD");
    t.git(&["mv", "old/name.js", "new.js"]);
    commit_dated(&t, "rename", 1_700_100_000);
    let (v, _) = json_in(t.path(), &["--history"]);
    // One finding, at the path HEAD has, attributed to the commit that added
    // the key (not the rename), still in HEAD.
    assert_eq!(findings(&v).len(), 1, "{v:#}");
    let new = one(&v, "miniback-api-key", "new.js");
    assert_eq!(new["commit"]["id"], c1.as_str());
    assert_eq!(new["commit"]["in_head"], true);
    assert_eq!(v["summary"]["files_scanned"], 1);

    // Renamed again with an edit (another blob, the same key), then the old
    // rename undone on a side branch: still one introduction.
    t.write("new.js", format!("// moved\nk = \"{k}\";\n"));
    std::fs::create_dir_all(t.path().join("src")).unwrap();
    t.git(&["mv", "new.js", "src/final.js"]);
    commit_dated(&t, "move and edit", 1_700_200_000);
    let (v, _) = json_in(t.path(), &["--history"]);
    let keys: Vec<_> = findings(&v)
        .iter()
        .filter(|f| f["rule_id"] == "miniback-api-key")
        .collect();
    assert_eq!(keys.len(), 1, "{v:#}");
    let f = one(&v, "miniback-api-key", "src/final.js");
    assert_eq!(f["commit"]["id"], c1.as_str());
    assert_eq!(f["line"], 2);
    // The rotation age counts from the introduction too.
    let (v, _) = json_in(t.path(), &["--history", "--fail-on", "info"]);
    for f in findings(&v) {
        if f["rule_id"] == "key-rotation-overdue" {
            assert_eq!(f["commit"]["id"], c1.as_str(), "{f:#}");
        }
    }
}

#[test]
fn in_head_is_per_key_not_per_blob() {
    let mut rng = Rng::new(15);
    let (gone, kept) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let t = repo();
    t.write("cfg.js", format!("a = \"{gone}\";\nb = \"{kept}\";\n"));
    t.commit_all("two keys");
    t.write("cfg.js", format!("a = process.env.A;\nb = \"{kept}\";\n"));
    t.commit_all("one removed");
    let (v, _) = json_in(t.path(), &["--history"]);
    let fs = find(&v, "miniback-api-key", "cfg.js");
    assert_eq!(fs.len(), 3, "{v:#}");
    let gone_f: Vec<_> = fs.iter().filter(|f| f["line"] == 1).collect();
    assert_eq!(gone_f.len(), 1);
    assert_eq!(gone_f[0]["commit"]["in_head"], false);
    assert!(gone_f[0]["remediation"]
        .as_str()
        .unwrap()
        .contains("removed from HEAD"));
    for f in fs.iter().filter(|f| f["line"] == 2) {
        assert_eq!(f["commit"]["in_head"], true, "{f:#}");
        assert!(!f["remediation"]
            .as_str()
            .unwrap()
            .contains("removed from HEAD"));
    }
}

#[test]
fn key_rotation_overdue_uses_commit_dates() {
    let mut rng = Rng::new(16);
    let (old_key, new_key, old_gone) = (
        miniback_key(&mut rng),
        miniback_key(&mut rng),
        miniback_key(&mut rng),
    );
    let t = repo();
    let long_ago = now() - 200 * 86_400 - 3_600;
    t.write("server/old.js", format!("k = \"{old_key}\";\n"));
    t.write("server/gone.js", format!("k = \"{old_gone}\";\n"));
    commit_dated(&t, "old keys", long_ago);
    let old_commit = rev(t.path(), "HEAD");

    // Only the backdated commit: HEAD is as old as the key, so by commit dates
    // the key has not been around for 90 days yet.
    let (v, _) = json_in(t.path(), &["--history"]);
    assert!(
        find(&v, "key-rotation-overdue", "server/old.js").is_empty(),
        "{v:#}"
    );

    std::fs::remove_file(t.path().join("server/gone.js")).unwrap();
    t.write("server/new.js", format!("k = \"{new_key}\";\n"));
    t.commit_all("new key, old one gone");

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1);
    let f = one(&v, "key-rotation-overdue", "server/old.js");
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["commit"]["id"], old_commit.as_str());
    assert_eq!(f["commit"]["in_head"], true);
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("200 days ago"), "{msg}");
    assert_ne!(
        f["fingerprint"],
        one(&v, "miniback-api-key", "server/old.js")["fingerprint"]
    );
    // Recent keys and keys gone from HEAD are not overdue.
    assert!(find(&v, "key-rotation-overdue", "server/new.js").is_empty());
    assert!(find(&v, "key-rotation-overdue", "server/gone.js").is_empty());
    let overdue: Vec<_> = findings(&v)
        .iter()
        .filter(|f| f["rule_id"] == "key-rotation-overdue")
        .collect();
    assert_eq!(overdue.len(), 1, "{v:#}");
    assert_eq!(v["summary"]["findings_by_severity"]["medium"], 1);

    // Allowlisted by its rule id like any rule.
    t.write(
        ".keyscan.toml",
        "[allowlist]\nrules = [\"key-rotation-overdue\"]\n",
    );
    let (v, _) = json_in(t.path(), &["--history"]);
    assert!(find(&v, "key-rotation-overdue", "server/old.js").is_empty());
    assert_eq!(v["summary"]["suppressed"]["config"], 1);
}

#[test]
fn shallow_clones_say_history_is_incomplete_and_a_missing_range_base_falls_back_to_all_commits() {
    let mut rng = Rng::new(17);
    let (k_old, k_new) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let src = repo();
    src.write("a.js", format!("k = \"{k_old}\";\n"));
    src.commit_all("old key");
    let first = rev(src.path(), "HEAD");
    src.write("a.js", "k = process.env.K;\n");
    src.commit_all("removed");
    src.write("b.js", format!("k = \"{k_new}\";\n"));
    src.commit_all("new key");

    let dst = TempTree::new();
    let url = format!("file://{}", src.path().display());
    git_in(dst.path(), &["clone", "-q", "--depth", "1", &url, "clone"]);
    let clone = dst.path().join("clone");

    let (v, code) = json_in(&clone, &["--history"]);
    assert_eq!(code, 1);
    // What is there is scanned; the old key's commit is not there.
    one(&v, "miniback-api-key", "b.js");
    assert!(find(&v, "miniback-api-key", "a.js").is_empty());
    let s = &v["summary"];
    assert_eq!(s["history_complete"], false);
    assert_eq!(s["commits_scanned"], 1);
    let notes = s["notes"].to_string();
    assert!(
        notes.contains("shallow") && notes.contains("fetch-depth: 0"),
        "{notes}"
    );
    let text = String::from_utf8(run_in(&clone, &["--history"]).stdout).unwrap();
    assert!(text.contains("fetch-depth: 0"), "{text}");
    assert!(text.contains("incomplete"), "{text}");

    // A range whose base was not fetched (a shallow clone) falls back to
    // every commit the clone has, and says so: never a clean result from a
    // range that could not be read.
    for range in [format!("{first}..HEAD"), "HEAD~1..HEAD".to_string()] {
        let (v, code) = json_in(&clone, &["--history", "--range", &range]);
        assert_eq!(code, 1, "{range}: {v:#}");
        one(&v, "miniback-api-key", "b.js");
        let notes = v["summary"]["notes"].to_string();
        assert!(
            notes.contains("cannot be read") && notes.contains("fetch-depth: 0"),
            "{notes}"
        );
    }
    let out = run_in(&clone, &["--history", "--since", &first]);
    assert_eq!(out.status.code(), Some(2));

    // The full clone is complete and has both keys.
    let (v, _) = json_in(src.path(), &["--history"]);
    assert_eq!(v["summary"]["history_complete"], true);
    one(&v, "miniback-api-key", "a.js");
    // Tree scans do not carry history fields at all.
    let (v, _) = json_in(src.path(), &[]);
    assert!(v["summary"].get("history_complete").is_none());
    assert!(v["summary"].get("commits_scanned").is_none());
}

#[test]
fn ranges_and_since_scan_only_their_commits() {
    let mut rng = Rng::new(18);
    let (k1, k2, k3) = (
        miniback_key(&mut rng),
        miniback_key(&mut rng),
        miniback_key(&mut rng),
    );
    let t = repo();
    t.write("one.js", format!("k = \"{k1}\";\n"));
    t.commit_all("1");
    let c1 = rev(t.path(), "HEAD");
    t.write("two.js", format!("k = \"{k2}\";\n"));
    t.commit_all("2");
    let c2 = rev(t.path(), "HEAD");
    t.write("three.js", format!("k = \"{k3}\";\n"));
    t.write("one.js", "gone\n");
    t.commit_all("3");

    let (v, _) = json_in(t.path(), &["--history", "--range", &format!("{c1}..{c2}")]);
    assert_eq!(findings(&v).len(), 1, "{v:#}");
    assert_eq!(
        one(&v, "miniback-api-key", "two.js")["commit"]["id"],
        c2.as_str()
    );
    assert_eq!(v["summary"]["commits_scanned"], 1);

    let (v, _) = json_in(t.path(), &["--history", "--since", &c2]);
    assert_eq!(findings(&v).len(), 1, "{v:#}");
    one(&v, "miniback-api-key", "three.js");
    // two.js is outside the range but still in HEAD; one.js's key is gone.
    let (v, _) = json_in(t.path(), &["--history", "--since", &c1]);
    assert_eq!(
        one(&v, "miniback-api-key", "two.js")["commit"]["in_head"],
        true
    );

    let out = run_in(t.path(), &["--history", "--range", "nope..HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`nope`"));
    let out = run_in(t.path(), &["--history", "--range", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_in(t.path(), &["--history", "--range", "a...b"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bare_clones_work() {
    let mut rng = Rng::new(19);
    let k = urbackend_key(&mut rng, "sk_live_");
    let src = repo();
    src.write("api/server.js", format!("const k = '{k}';\n"));
    src.commit_all("key");
    let dst = TempTree::new();
    git_in(
        dst.path(),
        &[
            "clone",
            "-q",
            "--bare",
            src.path().to_str().unwrap(),
            "r.git",
        ],
    );
    let (v, code) = json_in(dst.path(), &["--history", "r.git"]);
    assert_eq!(code, 1, "{v:#}");
    let f = one(&v, "urbackend-secret-key", "api/server.js");
    assert_eq!(f["commit"]["in_head"], true);
    assert_eq!(f["commit"]["id"], rev(src.path(), "HEAD").as_str());
}

#[test]
fn a_missing_object_is_an_error_and_the_scan_goes_on() {
    let mut rng = Rng::new(20);
    let (k1, k2) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let t = repo();
    t.write("lost.js", format!("k = \"{k1}\";\n"));
    t.write("kept.js", format!("k = \"{k2}\";\n"));
    t.commit_all("two keys");
    let lost = rev(t.path(), "HEAD:lost.js");
    let obj = t
        .path()
        .join(".git/objects")
        .join(&lost[..2])
        .join(&lost[2..]);
    std::fs::remove_file(&obj).expect("fresh commits are loose objects");

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1, "{v:#}");
    one(&v, "miniback-api-key", "kept.js");
    let errors = v["summary"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{v:#}");
    assert_eq!(errors[0]["path"], "lost.js");
    assert!(
        errors[0]["message"].as_str().unwrap().contains(&lost),
        "{v:#}"
    );
    assert_eq!(v["summary"]["files_skipped"]["unreadable"], 1);

    // A corrupt (not missing) object: same treatment.
    let kept = rev(t.path(), "HEAD:kept.js");
    let obj = t
        .path()
        .join(".git/objects")
        .join(&kept[..2])
        .join(&kept[2..]);
    let mut perms = std::fs::metadata(&obj).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&obj, perms).unwrap();
    std::fs::write(&obj, b"this is not zlib").unwrap();
    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 0, "{v:#}");
    let errors = v["summary"]["errors"].to_string();
    assert!(errors.contains(&kept) && errors.contains(&lost), "{errors}");
}

#[test]
fn many_blobs_are_scanned_in_parallel_each_once() {
    let mut rng = Rng::new(21);
    let t = repo();
    let mut keys = Vec::new();
    for i in 0..60 {
        if i % 20 == 7 {
            let k = miniback_key(&mut rng);
            t.write(&format!("src/m{i}.js"), format!("// {i}\nk = \"{k}\";\n"));
            keys.push(k);
        } else {
            t.write(&format!("src/m{i}.js"), format!("export const n = {i};\n"));
        }
    }
    t.write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0binary");
    t.commit_all("many");
    for i in 0..10 {
        t.write(
            &format!("src/m{i}.js"),
            format!("export const n = {};\n", i * 100 + 1),
        );
        t.commit_all(&format!("edit {i}"));
    }
    let (v, code) = json_in(t.path(), &["--history", "-j", "4"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&v).len(), 3, "{v:#}");
    let blobs = blob_count(t.path());
    assert_eq!(v["summary"]["files_scanned"].as_u64(), Some(blobs - 1));
    assert_eq!(v["summary"]["files_skipped"]["binary"], 1);
    assert_eq!(v["summary"]["commits_scanned"], 11);
    let text = String::from_utf8(run_in(t.path(), &["--history", "-j", "4"]).stdout).unwrap();
    assert!(text.contains(&format!("{} blobs", blobs - 1)), "{text}");
    // No progress bar when stderr is not a terminal.
    let out = run_in(t.path(), &["--history"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
