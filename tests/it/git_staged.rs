//! End-to-end tests of `keyscan --staged` on real repositories built with the
//! `git` command: the index (or `GIT_INDEX_FILE`) is judged, never the
//! working tree, including from a real pre-commit hook during `git commit -a`
//! and `git commit PATH`.

use crate::common::*;
use std::path::Path;

fn repo() -> TempTree {
    let t = TempTree::new();
    t.git_init();
    t
}

/// A pre-commit hook that runs the keyscan binary under test.
fn install_hook(t: &TempTree) {
    let bin = assert_cmd::cargo::cargo_bin("keyscan");
    let script = format!(
        "#!/bin/sh\nexec '{}' --staged --color never\n",
        bin.display()
    );
    let hook = t.write(".git/hooks/pre-commit", script);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn head(dir: &Path) -> String {
    git_in(dir, &["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn staged_content_is_judged_not_the_working_tree() {
    let mut rng = Rng::new(1);
    let (k_staged, k_unstaged, k_disk_only) = (
        miniback_key(&mut rng),
        miniback_key(&mut rng),
        miniback_key(&mut rng),
    );
    let t = repo();
    t.write("README.md", "# app\n");
    t.write("server/db.js", "module.exports = {};\n");
    t.commit_all("init");

    // A key staged, then removed from disk: it is still what gets committed.
    t.write(
        "server/config.js",
        format!("// config\n\nconst key = \"{k_staged}\";\n"),
    );
    t.git(&["add", "server/config.js"]);
    t.write("server/config.js", "const key = process.env.KEY;\n");
    // A key only in an unstaged edit of a tracked file: not committed.
    t.write("server/db.js", format!("const k = \"{k_unstaged}\";\n"));
    // A clean version staged, a key added on disk afterwards.
    t.write("server/util.js", "export const x = 1;\n");
    t.git(&["add", "server/util.js"]);
    t.write(
        "server/util.js",
        format!("export const x = \"{k_disk_only}\";\n"),
    );

    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(code, 1, "{v:#}");
    let fs = findings(&v);
    assert_eq!(fs.len(), 1, "{v:#}");
    let f = &fs[0];
    assert_eq!(f["path"], "server/config.js");
    assert_eq!(f["origin"], "staged");
    assert_eq!(f["severity"], "high");
    // Line and column of the staged content, not of the file on disk.
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(3), Some(14))
    );
    assert!(f["commit"].is_null());
    assert_eq!(v["summary"]["mode"], "staged");
    // Only the two staged paths were read; README.md and db.js are unchanged in the index.
    assert_eq!(v["summary"]["files_scanned"], 2, "{v:#}");
    let text = String::from_utf8(run_in(t.path(), &["--staged"]).stdout).unwrap();
    assert!(!text.contains(&k_staged), "secrets are redacted");
    assert!(text.contains("keyscan:allow"), "{text}");
    assert!(text.contains("[allowlist] fingerprints"), "{text}");
    assert!(text.contains("rotate:"), "{text}");
    assert!(text.contains("Nothing has been committed yet"), "{text}");
}

#[test]
fn unchanged_blobs_and_deletions_are_not_read() {
    let mut rng = Rng::new(2);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write("old/secret.js", format!("const k = \"{k}\";\n"));
    t.write(
        "gone.js",
        format!("const k = \"{}\";\n", miniback_key(&mut rng)),
    );
    t.commit_all("history has a key");
    t.write("new.js", "console.log('hi');\n");
    t.git(&["add", "new.js"]);
    t.git(&["rm", "-q", "gone.js"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(findings(&v).is_empty());
    assert_eq!(v["summary"]["files_scanned"], 1);
    // Nothing staged at all: clean, zero files.
    t.git(&["commit", "-q", "-m", "x"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!((code, v["summary"]["files_scanned"].as_u64()), (0, Some(0)));
}

#[test]
fn unborn_branch_scans_every_staged_path() {
    let mut rng = Rng::new(3);
    let k = urbackend_key(&mut rng, "sk_live_");
    let t = repo();
    t.write("src/app.js", format!("const k = '{k}';\n"));
    t.write("src/other.js", "export default 1;\n");
    t.write("notes.txt", "nothing\n");
    t.git(&["add", "-A"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        find(&v, "urbackend-secret-key", "src/app.js").len(),
        1,
        "{v:#}"
    );
    assert_eq!(v["summary"]["files_scanned"], 3);
}

#[test]
fn project_facts_come_from_the_index_and_paths_from_the_repo_root() {
    let mut rng = Rng::new(4);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write("README.md", "x\n");
    t.commit_all("init");
    t.write(
        "web/package.json",
        r#"{"name":"web","devDependencies":{"vite":"^5"}}"#,
    );
    t.write(
        "web/src/main.js",
        format!("fetch(url, {{headers: {{'x-api-key': '{k}'}}}});\n"),
    );
    t.git(&["add", "-A"]);
    // The staged package.json is what counts, not the disk.
    std::fs::remove_file(t.path().join("web/package.json")).unwrap();
    // Run from a subdirectory: the repository is found upward, paths stay
    // relative to its root.
    let (v, code) = json_in(&t.path().join("web/src"), &["--staged"]);
    assert_eq!(code, 1, "{v:#}");
    let f = find(&v, "miniback-api-key", "web/src/main.js");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["context"], "client");
    assert_eq!(f[0]["severity"], "critical");
}

#[test]
fn a_force_added_dotenv_file_is_reported_even_though_ignored() {
    let mut rng = Rng::new(5);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write(".gitignore", ".env\n");
    t.commit_all("init");
    t.write(".env", format!("MINIBACK_API_KEY={k}\n"));
    t.git(&["add", "-f", ".env"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(code, 1, "{v:#}");
    let f = find(&v, "miniback-api-key", ".env");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["context"], "dotenv");
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(v["summary"]["keys_in_ignored_dotenv"], 0);
}

#[test]
fn pre_commit_hook_blocks_commit_dash_a() {
    let mut rng = Rng::new(6);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write("app.js", "const k = process.env.K;\n");
    t.commit_all("init");
    install_hook(&t);
    let before = head(t.path());
    // Nothing staged: only `-a` puts the edit into the (temporary) index.
    t.write("app.js", format!("const k = \"{k}\";\n"));
    let out = git_output(t.path(), &["commit", "-a", "-m", "leak"], &[]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the hook must block the commit:\n{all}"
    );
    assert!(all.contains("miniback-api-key"), "{all}");
    assert!(all.contains("app.js:1:12"), "{all}");
    assert!(!all.contains(&k), "redacted in hook output");
    assert_eq!(head(t.path()), before);

    // A clean edit goes through the same hook.
    t.write("app.js", "const k = process.env.KEY;\n");
    let out = git_output(t.path(), &["commit", "-a", "-m", "clean"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(head(t.path()), before);
}

#[test]
fn pre_commit_hook_judges_exactly_the_paths_of_commit_path() {
    let mut rng = Rng::new(7);
    let k1 = miniback_key(&mut rng);
    let k2 = miniback_key(&mut rng);
    let t = repo();
    t.write("a.js", "a\n");
    t.write("b.js", "b\n");
    t.commit_all("init");
    install_hook(&t);
    let before = head(t.path());

    // `git commit a.js` with a key in the unstaged edit of a.js: blocked.
    t.write("a.js", format!("const k = \"{k1}\";\n"));
    let out = git_output(t.path(), &["commit", "-m", "leak", "a.js"], &[]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("a.js:1:12"), "{all}");
    assert_eq!(head(t.path()), before);

    // A key staged in b.js is not part of `git commit a.js` (clean a.js): it passes.
    t.write("b.js", format!("const k = \"{k2}\";\n"));
    t.git(&["add", "b.js"]);
    t.write("a.js", "const a = 2;\n");
    let out = git_output(t.path(), &["commit", "-m", "only a", "a.js"], &[]);
    assert!(
        out.status.success(),
        "b.js is not being committed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And the plain index still holds b.js's key for the next commit.
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(find(&v, "miniback-api-key", "b.js").len(), 1, "{v:#}");
}

#[test]
fn git_index_file_relative_to_the_work_tree_and_missing_is_an_error() {
    let mut rng = Rng::new(8);
    let k = miniback_key(&mut rng);
    let t = repo();
    t.write("sub/x.js", "x\n");
    t.commit_all("init");
    t.write("sub/leak.js", format!("k = \"{k}\"\n"));
    // Stage into an alternative index only (a copy of the real one, as git
    // makes for `git commit PATH`); the default index stays clean.
    std::fs::copy(t.path().join(".git/index"), t.path().join(".git/alt-index")).unwrap();
    git_env_in(
        t.path(),
        &["add", "sub/leak.js"],
        &[("GIT_INDEX_FILE", ".git/alt-index")],
    );
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!((code, findings(&v).len()), (0, 0), "{v:#}");

    // Relative to the top of the work tree, as git resolves it — even when
    // keyscan runs in a subdirectory.
    let out = keyscan()
        .current_dir(t.path().join("sub"))
        .env("GIT_INDEX_FILE", ".git/alt-index")
        .args(["--format", "json", "--staged"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(
        find(&v, "miniback-api-key", "sub/leak.js").len(),
        1,
        "{v:#}"
    );
    assert_eq!(v["summary"]["files_scanned"], 1);

    let out = keyscan()
        .current_dir(t.path())
        .env("GIT_INDEX_FILE", ".git/no-such-index")
        .arg("--staged")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-index") && err.contains("GIT_INDEX_FILE"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let t = repo();
    t.write("a.txt", "a\n");
    t.commit_all("init");
    let bare = TempTree::new();
    git_in(
        bare.path(),
        &["clone", "-q", "--bare", t.path().to_str().unwrap(), "b.git"],
    );
    let out = run_in(bare.path(), &["--staged", "b.git"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bare repository"));

    let out = run_in(t.path(), &["--staged", "--history"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_in(t.path(), &["--since", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_in(t.path(), &["--staged", ".", "a.txt"]);
    assert_eq!(out.status.code(), Some(2));
    let not_git = TempTree::new();
    let out = run_in(not_git.path(), &["--staged"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not inside a git repository"));
}

#[test]
fn staged_paths_list_changes_with_head_and_staged_blobs_for_audits() {
    use keyscan::source::staged::{StagedRepo, StagedStatus};
    let t = repo();
    t.write(".gitignore", ".env\n");
    t.write("gone.txt", "bye\n");
    t.write("same.txt", "same\n");
    t.commit_all("init");
    t.write(".gitignore", "node_modules/\n");
    t.write("new.txt", "hi\n");
    t.git(&["add", "-A"]);
    t.git(&["rm", "-q", "gone.txt"]);
    let repo = StagedRepo::open_with_index(t.path(), None).unwrap();
    let paths = repo.staged_paths().unwrap();
    let got: Vec<(&str, StagedStatus, bool)> = paths
        .iter()
        .map(|p| (p.path.as_str(), p.status, p.head_id.is_some()))
        .collect();
    assert_eq!(
        got,
        vec![
            (".gitignore", StagedStatus::Modified, true),
            ("gone.txt", StagedStatus::Deleted, true),
            ("new.txt", StagedStatus::Added, false),
        ]
    );
    let gi = &paths[0];
    assert_eq!(repo.blob(gi.head_id.unwrap()).unwrap(), b".env\n");
    assert_eq!(repo.blob(gi.id).unwrap(), b"node_modules/\n");
    assert_eq!(repo.blob(paths[1].head_id.unwrap()).unwrap(), b"bye\n");
}

#[test]
fn staging_a_dotenv_file_or_dropping_its_ignore_line_is_a_finding() {
    let t = repo();
    t.write(".gitignore", "node_modules/\n.env\n.env.*\n!.env.example\n");
    t.write("README.md", "hello\n");
    t.commit_all("init");

    // A template is meant to be committed: not a finding.
    t.write(".env.example", "MINIBACK_API_KEY=mbk_your_key\n");
    t.git(&["add", ".env.example"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(findings(&v).len(), 0, "{:#?}", findings(&v));
    assert_eq!(code, 0);
    t.git(&["commit", "-q", "-m", "template"]);

    // A force-added dotenv file without a key: low (Vite and CRA document
    // committing public settings), so it does not block the commit.
    t.write(".env.production", "API_URL=https://api.example.com\n");
    t.git(&["add", "-f", ".env.production"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    let tracked = find(&v, "dotenv-tracked", ".env.production");
    assert_eq!(tracked.len(), 1, "{:#?}", findings(&v));
    assert_eq!(tracked[0]["severity"], "low");
    assert_eq!(tracked[0]["origin"], "staged");
    assert!(tracked[0]["remediation"]
        .as_str()
        .unwrap()
        .contains("git restore --staged .env.production"));
    assert_eq!(code, 0);

    // With a key in it: critical.
    let mut rng = Rng::new(77);
    t.write(
        ".env.production",
        format!("MINIBACK_API_KEY={}\n", miniback_key(&mut rng)),
    );
    t.git(&["add", "-f", ".env.production"]);
    let (v, _) = json_in(t.path(), &["--staged"]);
    assert_eq!(
        find(&v, "dotenv-tracked", ".env.production")[0]["severity"],
        "critical"
    );
    t.git(&["rm", "-q", "--cached", ".env.production"]);

    // A .gitignore change that stops ignoring .env files HEAD ignored.
    t.write(".gitignore", "node_modules/\n");
    t.git(&["add", ".gitignore"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    let dropped = find(&v, "gitignore-env-coverage", ".gitignore");
    assert_eq!(dropped.len(), 1, "{:#?}", findings(&v));
    assert!(dropped[0]["message"].as_str().unwrap().contains("`.env`"));
    assert_eq!(code, 1, "high severity blocks the commit");

    // Deleting the .gitignore drops coverage too; restoring it is clean.
    t.git(&["rm", "-q", "--cached", ".gitignore"]);
    let (v, _) = json_in(t.path(), &["--staged"]);
    assert_eq!(find(&v, "gitignore-env-coverage", ".gitignore").len(), 1);
    t.git(&["reset", "-q", "HEAD", "--", ".gitignore"]);
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(findings(&v).len(), 0, "{:#?}", findings(&v));
    assert_eq!(code, 0);
}

#[test]
fn staged_paths_match_git_diff_cached_with_and_without_cache_tree_and_in_index_v4() {
    let t = repo();
    for d in ["a", "a/b", "a/b/c", "d", "e", "f-g", "f"] {
        for n in 0..3 {
            t.write(&format!("{d}/file{n}.txt"), format!("{d} {n}\n"));
        }
    }
    t.write("top.txt", "top\n");
    t.write("link-target.txt", "x\n");
    t.write("will-be-dir", "a file that becomes a directory\n");
    t.commit_all("init");
    // The commit wrote a cache-tree; a change invalidates only its path.
    assert_eq!(staged_listing(t.path()), Vec::<String>::new());
    t.write("a/b/c/file1.txt", "changed\n");
    t.write("a/b/new.txt", "new\n");
    t.write("f-g/file0.txt", "changed too\n");
    std::fs::remove_dir_all(t.path().join("d")).unwrap();
    std::fs::remove_file(t.path().join("will-be-dir")).unwrap();
    t.write("will-be-dir/inside.txt", "now a directory\n");
    std::fs::remove_dir_all(t.path().join("e")).unwrap();
    t.write("e", "a directory that became a file\n");
    #[cfg(unix)]
    {
        std::fs::remove_file(t.path().join("top.txt")).unwrap();
        std::os::unix::fs::symlink("link-target.txt", t.path().join("top.txt")).unwrap();
    }
    t.git(&["add", "-A"]);
    let want = git_staged_listing(t.path());
    assert!(want.len() >= 10, "{want:?}");
    assert_eq!(staged_listing(t.path()), want);
    // Without a cache-tree every directory is compared.
    t.git(&["read-tree", "HEAD"]);
    t.git(&["add", "-A"]);
    assert_eq!(staged_listing(t.path()), want);
    // Version 4 compresses paths against the previous entry.
    t.git(&["update-index", "--index-version", "4"]);
    assert_eq!(staged_listing(t.path()), want);
    // Committing makes everything clean again, through the cache-tree.
    t.git(&["commit", "-q", "-m", "second"]);
    assert_eq!(staged_listing(t.path()), Vec::<String>::new());
}

#[test]
fn unmerged_and_intent_to_add_entries_are_not_scanned() {
    let mut rng = Rng::new(5);
    let t = repo();
    t.write("c.txt", "base\n");
    t.commit_all("init");
    t.git(&["checkout", "-q", "-b", "other"]);
    t.write("c.txt", format!("KEY = \"{}\"\n", miniback_key(&mut rng)));
    t.commit_all("other");
    t.git(&["checkout", "-q", "-"]);
    t.write("c.txt", "ours\n");
    t.commit_all("ours");
    let _ = git_output(t.path(), &["merge", "-q", "other"], &[]);
    t.write(
        "later.txt",
        format!("KEY = \"{}\"\n", miniback_key(&mut rng)),
    );
    t.git(&["add", "-N", "later.txt"]);
    assert_eq!(staged_listing(t.path()), Vec::<String>::new());
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(code, 0, "{v}");
    assert!(findings(&v).is_empty(), "{v}");
}
