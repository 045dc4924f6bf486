//! End-to-end tests of history mode on the repositories people have: keys
//! in commit and tag messages, renames, evil merges, orphan and GitHub Pages
//! branches, the ranges CI passes (force pushes, new branches, shallow
//! clones), corrupt commits, commit bombs and very deep trees — and the
//! messages that must fit each file's state, in history and staged modes.

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

fn keys_of(v: &Value) -> Vec<&Value> {
    findings(v)
        .iter()
        .filter(|f| f["rule_id"] == "miniback-api-key")
        .collect()
}

#[test]
fn keys_in_commit_and_tag_messages_are_reported_once_each_in_every_format() {
    let mut rng = Rng::new(201);
    let (k_commit, k_tag, k_both) = (
        miniback_key(&mut rng),
        miniback_key(&mut rng),
        miniback_key(&mut rng),
    );
    let t = repo();
    t.write("README.md", "# app\n");
    t.commit_all(&format!(
        "Fix login\n\nworks locally with MINIBACK_API_KEY={k_commit}\n"
    ));
    let c1 = rev(t.path(), "HEAD");
    // A key both in a file that HEAD has and in the message of its commit.
    t.write("server.js", format!("const k = \"{k_both}\";\n"));
    t.commit_all(&format!("add server ({k_both})"));
    let c2 = rev(t.path(), "HEAD");
    t.git(&[
        "tag",
        "-a",
        "v1.0",
        "-m",
        &format!("release\n\nkey: {k_tag}"),
    ]);
    t.git(&["tag", "light"]);

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1, "{v:#}");
    let keys = keys_of(&v);
    assert_eq!(keys.len(), 4, "{v:#}");
    let msg = one(&v, &format!("commit-message/{c1}"));
    assert_eq!(msg["origin"], "commit-message");
    assert_eq!(msg["line"], 3);
    assert_eq!(msg["column"], 37);
    assert_eq!(msg["commit"]["id"], c1.as_str());
    assert_eq!(msg["commit"]["author"], "Test User <test@example.com>");
    assert!(msg["commit"]["date"].as_str().unwrap().len() >= 20);
    assert_eq!(msg["commit"]["in_head"], false);
    assert!(msg["message"].as_str().unwrap().contains("commit message"));
    assert!(msg["remediation"]
        .as_str()
        .unwrap()
        .contains("cannot be edited"));
    // The same key in a file of HEAD and in a message: the file finding is
    // in HEAD, the message finding never is.
    let both_msg = one(&v, &format!("commit-message/{c2}"));
    assert_eq!(both_msg["commit"]["in_head"], false);
    assert_eq!(one(&v, "server.js")["commit"]["in_head"], true);
    // The annotated tag, attributed to the tag and its tagger.
    let tag = one(&v, "tag-message/v1.0");
    assert_eq!(tag["origin"], "tag-message");
    assert_eq!(tag["commit"]["id"], rev(t.path(), "v1.0").as_str());
    assert_eq!(tag["line"], 3);

    // Every format names the message and its commit, and never the key.
    let text = String::from_utf8(run_in(t.path(), &["--history"]).stdout).unwrap();
    assert!(
        text.contains(&format!("commit-message/{c1}:3:37")),
        "{text}"
    );
    assert!(text.contains("in a commit message"), "{text}");
    let sarif =
        String::from_utf8(run_in(t.path(), &["--history", "--format", "sarif"]).stdout).unwrap();
    assert!(sarif.contains(&format!("commit-message/{c1}")), "{sarif}");
    assert!(sarif.contains("in a commit message"));
    let gh =
        String::from_utf8(run_in(t.path(), &["--history", "--format", "github"]).stdout).unwrap();
    assert!(gh.contains(&format!("file=commit-message/{c1}")), "{gh}");
    for out in [&text, &sarif, &gh] {
        for k in [&k_commit, &k_tag, &k_both] {
            assert!(!out.contains(k.as_str()));
        }
    }

    // A range scans the messages of its own commits only.
    let (v, _) = json_in(t.path(), &["--history", "--range", &format!("{c1}..{c2}")]);
    let paths: Vec<&str> = keys_of(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&format!("commit-message/{c2}").as_str()),
        "{paths:?}"
    );
    assert!(
        !paths.contains(&format!("commit-message/{c1}").as_str()),
        "{paths:?}"
    );
}

fn one<'a>(v: &'a Value, path: &str) -> &'a Value {
    let f = find(v, "miniback-api-key", path);
    assert_eq!(f.len(), 1, "one finding at {path}: {v:#}");
    f[0]
}

#[test]
fn a_key_only_in_an_evil_merge_is_attributed_to_the_merge() {
    let mut rng = Rng::new(202);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write("cfg.js", "base\n");
    t.commit_all("base");
    t.git(&["checkout", "-q", "-b", "side"]);
    t.write("cfg.js", "side\n");
    t.commit_all("side");
    t.git(&["checkout", "-q", "main"]);
    t.write("cfg.js", "main\n");
    t.commit_all("main");
    let _ = git_output(t.path(), &["merge", "-q", "side"], &[]);
    // The resolution adds a key neither parent had.
    t.write("cfg.js", format!("const k = \"{k}\";\n"));
    t.commit_all("merge side");
    let merge = rev(t.path(), "HEAD");
    assert_eq!(
        git_in(t.path(), &["rev-list", "--parents", "-n", "1", "HEAD"])
            .split_whitespace()
            .count(),
        3,
        "a merge commit"
    );
    let (v, _) = json_in(t.path(), &["--history"]);
    assert_eq!(one(&v, "cfg.js")["commit"]["id"], merge.as_str());
}

#[test]
fn orphan_and_github_pages_branches_are_scanned_and_pages_stay_client() {
    let mut rng = Rng::new(203);
    let (k_orphan, k_pages) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let t = repo();
    t.write("src/app.js", "export {}\n");
    t.commit_all("main");
    // An orphan branch (no common history) with a key.
    t.git(&["checkout", "-q", "--orphan", "notes"]);
    t.git(&["rm", "-rq", "--cached", "."]);
    std::fs::remove_dir_all(t.path().join("src")).unwrap();
    t.write("notes.txt", format!("key {k_orphan}\n"));
    t.commit_all("orphan");
    let orphan = rev(t.path(), "HEAD");
    // A gh-pages branch: a built site, published as is.
    t.git(&["checkout", "-q", "--orphan", "gh-pages"]);
    t.git(&["rm", "-rq", "--cached", "."]);
    std::fs::remove_file(t.path().join("notes.txt")).unwrap();
    t.write("app.js", format!("var k=\"{k_pages}\";\n"));
    t.commit_all("deploy");
    t.git(&["checkout", "-q", "main"]);

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1);
    let f = one(&v, "notes.txt");
    assert_eq!(f["commit"]["id"], orphan.as_str());
    assert_eq!(f["commit"]["in_head"], false);
    let pages = one(&v, "app.js");
    assert_eq!(pages["context"], "client", "{pages:#}");
    assert_eq!(pages["severity"], "critical");
    assert!(pages["message"].as_str().unwrap().contains("GitHub Pages"));
}

#[test]
fn ci_ranges_force_push_and_new_branch_scan_what_is_new_and_say_how() {
    let mut rng = Rng::new(204);
    let (k_old, k_new, k_branch) = (
        miniback_key(&mut rng),
        miniback_key(&mut rng),
        miniback_key(&mut rng),
    );
    let t = repo();
    t.write("base.js", "base\n");
    t.commit_all("base");
    let base = rev(t.path(), "HEAD");
    t.write("old.js", format!("k = \"{k_old}\";\n"));
    t.commit_all("old tip");
    let old_tip = rev(t.path(), "HEAD");
    // Force push: the branch is rewritten from `base`.
    t.git(&["reset", "-q", "--hard", &base]);
    t.write("new.js", format!("k = \"{k_new}\";\n"));
    t.commit_all("rewritten");
    let new_tip = rev(t.path(), "HEAD");

    let (v, code) = json_in(
        t.path(),
        &["--history", "--range", &format!("{old_tip}..{new_tip}")],
    );
    assert_eq!(code, 1);
    let paths: Vec<&str> = keys_of(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["new.js"], "{v:#}");
    assert_eq!(v["summary"]["commits_scanned"], 1);
    let notes = v["summary"]["notes"].to_string();
    assert!(
        notes.contains("not an ancestor") && notes.contains("merge base"),
        "{notes}"
    );

    // A base that is not in the clone at all (the old tip was never
    // fetched): every commit of the tip is scanned, with a note.
    let missing = "1234567890abcdef1234567890abcdef12345678";
    let (v, code) = json_in(
        t.path(),
        &["--history", "--range", &format!("{missing}..{new_tip}")],
    );
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["commits_scanned"], 2);
    assert!(v["summary"]["notes"].to_string().contains("cannot be read"));

    // A new branch: GitHub sends an all-zero `before`.
    t.git(&["checkout", "-q", "-b", "feature"]);
    t.write("feature.js", format!("k = \"{k_branch}\";\n"));
    t.commit_all("feature");
    let zero = "0000000000000000000000000000000000000000";
    let (v, code) = json_in(
        t.path(),
        &["--history", "--range", &format!("{zero}..HEAD")],
    );
    assert_eq!(code, 1);
    let paths: Vec<&str> = keys_of(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec!["feature.js"],
        "only the branch's own commits: {v:#}"
    );
    assert_eq!(v["summary"]["commits_scanned"], 1);
    assert!(v["summary"]["notes"].to_string().contains("all-zero"));
    // A typo is still an error, never a fallback.
    assert_eq!(
        run_in(t.path(), &["--history", "--range", "nope..HEAD"])
            .status
            .code(),
        Some(2)
    );
}

/// Overwrites the loose object `id` with bytes that do not inflate.
fn corrupt_object(dir: &Path, id: &str) {
    let p = dir.join(".git/objects").join(&id[..2]).join(&id[2..]);
    let mut perms = std::fs::metadata(&p).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&p, perms).unwrap();
    std::fs::write(&p, b"this is not a zlib stream").unwrap();
}

#[test]
fn a_corrupt_root_commit_does_not_hide_the_rest_of_history() {
    let mut rng = Rng::new(205);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write("a.txt", "root\n");
    t.commit_all("root");
    let root = rev(t.path(), "HEAD");
    t.write("b.txt", "two\n");
    t.commit_all("two");
    t.write("server.js", format!("const k = \"{k}\";\n"));
    t.commit_all("three");
    corrupt_object(t.path(), &root);

    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1, "{v:#}");
    one(&v, "server.js");
    assert_eq!(v["summary"]["commits_scanned"], 2);
    let errors = v["summary"]["errors"].to_string();
    assert!(
        errors.contains(&root),
        "the unreadable commit is listed: {errors}"
    );

    // When no commit can be read, the scan fails instead of being clean.
    let t2 = repo();
    t2.write("a.txt", "x\n");
    t2.commit_all("only");
    let only = rev(t2.path(), "HEAD");
    corrupt_object(t2.path(), &only);
    let out = run_in(t2.path(), &["--history"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was scanned"));
}

/// Runs `git fast-import` with `stream` on stdin.
fn fast_import(dir: &Path, stream: &[u8]) {
    use std::io::Write;
    let mut child = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stream).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_commit_bomb_and_a_very_deep_tree_finish_with_one_finding_per_place() {
    let mut rng = Rng::new(206);
    let k = miniback_key(&mut rng);
    let t = repo();
    // One blob at 4,000 paths, moved to 4,000 new paths in each of 60
    // commits: 240,000 appearances of one blob. Each appearance used to be
    // checked against every earlier one.
    let (paths, commits) = (4_000, 60);
    let mut s = Vec::new();
    let content = format!("const k = \"{k}\";\n");
    s.extend(format!("blob\nmark :1\ndata {}\n{content}\n", content.len()).into_bytes());
    for c in 0..commits {
        s.extend(
            format!(
                "commit refs/heads/main\ncommitter T <t@e> {} +0000\ndata 2\nc\n",
                1_700_000_000 + c
            )
            .into_bytes(),
        );
        if c > 0 {
            s.extend(b"deleteall\n");
        }
        for p in 0..paths {
            s.extend(format!("M 100644 :1 r{c}/d{}/f{p}.js\n", p % 50).into_bytes());
        }
        s.push(b'\n');
    }
    fast_import(t.path(), &s);
    let (v, code) = json_in(t.path(), &["--history"]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["commits_scanned"], commits as u64);
    // The key lives at HEAD's 4,000 paths; its earlier paths were moves.
    let keys = keys_of(&v);
    assert_eq!(keys.len(), paths, "one finding per path in HEAD");
    let first = rev(t.path(), "main~59");
    assert!(keys.iter().all(|f| f["commit"]["id"] == first.as_str()));

    // A tree 25,000 levels deep: paths are kept as a trie, not as 25,000
    // ever longer strings.
    let deep = repo();
    let path = format!("{}k.js", "d/".repeat(25_000));
    let mut s = Vec::new();
    s.extend(format!("blob\nmark :1\ndata {}\n{content}\n", content.len()).into_bytes());
    s.extend(b"commit refs/heads/main\ncommitter T <t@e> 1700000000 +0000\ndata 2\nd\n");
    s.extend(format!("M 100644 :1 {path}\n\n").into_bytes());
    fast_import(deep.path(), &s);
    let (v, code) = json_in(deep.path(), &["--history"]);
    assert_eq!(code, 1);
    assert_eq!(keys_of(&v).len(), 1);
    assert_eq!(keys_of(&v)[0]["path"], path.as_str());
}

#[test]
fn messages_fit_the_file_state_in_history_and_staged_modes() {
    let mut rng = Rng::new(207);
    let t = repo();
    t.write(".gitignore", ".env.local\n");
    t.write("package.json", r#"{"dependencies":{"vite":"5"}}"#);
    // A `.env` committed, then removed and ignored.
    t.write(
        ".env",
        format!("MINIBACK_API_KEY={}\n", miniback_key(&mut rng)),
    );
    t.commit_all("oops");
    t.git(&["rm", "-q", "--cached", ".env"]);
    t.write(".gitignore", ".env.local\n.env\n");
    t.commit_all("untrack .env");
    let (v, _) = json_in(t.path(), &["--history"]);
    let f = one(&v, ".env");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("was committed"), "{msg}");
    assert!(!msg.contains("git add` away"), "{msg}");

    // Staged: a force-added, ignored `.env.local`.
    t.write(
        ".env.local",
        format!("MINIBACK_API_KEY={}\n", miniback_key(&mut rng)),
    );
    t.git(&["add", "-f", ".env.local"]);
    // A key staged in client code (a vite app's src/).
    t.write(
        "src/main.js",
        format!("const k = \"{}\";\n", miniback_key(&mut rng)),
    );
    t.git(&["add", "src/main.js"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(code, 1, "{v:#}");
    let env = one(&v, ".env.local");
    let msg = env["message"].as_str().unwrap();
    assert!(
        msg.contains("staged") && msg.contains("git add -f"),
        "{msg}"
    );
    assert!(!msg.contains("does not ignore"), "{msg}");
    let client = one(&v, "src/main.js");
    assert_eq!(client["context"], "client", "{client:#}");
    let rem = client["remediation"].as_str().unwrap();
    assert!(!rem.contains("already public"), "{rem}");
    assert!(rem.contains("Nothing has been committed yet"), "{rem}");

    // A staged edit of a file whose key HEAD already has: not "nothing
    // committed yet".
    t.git(&["reset", "-q"]);
    std::fs::remove_file(t.path().join(".env.local")).unwrap();
    let k = miniback_key(&mut rng);
    t.write("server/db.js", format!("const k = \"{k}\";\n"));
    t.commit_all("db");
    t.write("server/db.js", format!("// edited\nconst k = \"{k}\";\n"));
    t.git(&["add", "server/db.js"]);
    let (v, _) = json_in(t.path(), &["--staged"]);
    let rem = one(&v, "server/db.js")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(rem.contains("HEAD already has this key"), "{rem}");
    assert!(!rem.contains("Nothing has been committed yet"), "{rem}");
}

#[test]
fn a_key_in_a_commit_not_yet_pushed_says_it_can_still_be_rewritten() {
    let mut rng = Rng::new(208);
    let (k_pushed, k_local) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let remote = TempTree::new();
    git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let t = repo();
    t.write("a.js", format!("k = \"{k_pushed}\";\n"));
    t.commit_all("pushed");
    t.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    t.git(&["push", "-q", "-u", "origin", "main"]);
    t.write("b.js", format!("k = \"{k_local}\";\n"));
    t.commit_all("local only");
    let (v, _) = json_in(t.path(), &["--history"]);
    let local = one(&v, "b.js")["remediation"].as_str().unwrap().to_string();
    assert!(
        local.contains("Not pushed yet") && local.contains("origin/main"),
        "{local}"
    );
    let pushed = one(&v, "a.js")["remediation"].as_str().unwrap().to_string();
    assert!(!pushed.contains("Not pushed yet"), "{pushed}");
}
