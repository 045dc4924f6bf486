//! End-to-end tests of keyscan's index reader against real git: split
//! indexes (`core.splitIndex`), sparse indexes (`index.sparse` with a cone
//! sparse checkout), index versions 2, 3 and 4, `git add -N`, conflicts,
//! the `skip-worktree` and assume-unchanged bits, linked worktrees and
//! submodules — every entry compared with `git ls-files --stage` and every
//! staged path with `git diff --cached` — and crafted indexes no git writes
//! (a FIFO, a 20,000-component path, chained v4 path compression).

use crate::common::index::{write_index, RawEntry};
use crate::common::*;
use keyscan::source::staged::StagedRepo;
use std::path::Path;
use std::time::Duration;

fn repo() -> TempTree {
    let t = TempTree::new();
    t.git_init();
    t
}

/// keyscan's reading of the index, as `git ls-files --stage --sparse`
/// prints it.
fn our_entries(dir: &Path) -> Vec<String> {
    let repo = StagedRepo::open_with_index(dir, None).unwrap();
    let idx = repo.index();
    idx.entries
        .iter()
        .map(|e| {
            format!(
                "{:06o} {} {}\t{}",
                e.mode,
                e.id,
                e.stage,
                String::from_utf8_lossy(idx.path(e))
            )
        })
        .collect()
}

/// Checks keyscan's entries and staged paths against git's own, and
/// returns (split, sparse) as keyscan saw the index.
fn assert_matches_git(dir: &Path) -> (bool, bool) {
    let want: Vec<String> = git_in(dir, &["ls-files", "--stage", "--sparse"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(our_entries(dir), want, "index entries");
    // git lists unmerged paths as `U`; keyscan leaves them out (their
    // content is not staged yet).
    let staged: Vec<String> = git_staged_listing(dir)
        .into_iter()
        .filter(|l| !l.starts_with('U'))
        .collect();
    assert_eq!(staged_listing(dir), staged, "staged paths");
    let repo = StagedRepo::open_with_index(dir, None).unwrap();
    (repo.index().split, repo.index().sparse)
}

fn key_line(rng: &mut Rng) -> (String, String) {
    let k = miniback_key(rng);
    (k.clone(), format!("const key = \"{k}\";\n"))
}

/// Key findings of a `--staged` JSON report, as (path, line).
fn staged_keys(dir: &Path) -> (Vec<(String, u64)>, i32) {
    let (v, code) = json_in(dir, &["--staged"]);
    let mut got: Vec<(String, u64)> = key_findings(&v)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    (got, code)
}

fn tree_of_files(t: &TempTree) {
    for d in ["a", "a/deep", "b", "b/deep", "c"] {
        for n in 0..4 {
            t.write(&format!("{d}/f{n}.txt"), format!("{d} {n}\n"));
        }
    }
    t.write("top.txt", "top\n");
}

#[test]
fn a_split_index_is_read_with_its_shared_index() {
    let mut rng = Rng::new(101);
    let t = repo();
    t.git(&["config", "core.splitIndex", "true"]);
    t.git(&["config", "splitIndex.maxPercentChange", "100"]);
    tree_of_files(&t);
    t.commit_all("init");
    assert_eq!(assert_matches_git(t.path()), (true, false));

    // Replacements (changed entries of the shared index), deletions and
    // additions, one of them holding a key.
    let (_, line) = key_line(&mut rng);
    t.write("a/f1.txt", "changed\n");
    t.write("b/deep/f2.txt", format!("// b\n{line}"));
    std::fs::remove_file(t.path().join("c/f0.txt")).unwrap();
    t.write("a/new.txt", "new\n");
    t.write("zz/new.js", "export {}\n");
    t.git(&["add", "-A"]);
    assert!(
        std::fs::read_dir(t.path().join(".git")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("sharedindex.")),
        "git wrote a shared index"
    );
    let (split, _) = assert_matches_git(t.path());
    assert!(split, "the index is split");
    let (keys, code) = staged_keys(t.path());
    assert_eq!(keys, vec![("b/deep/f2.txt".to_string(), 2)]);
    assert_eq!(code, 1);

    // Version 4 and version 3 split indexes.
    for v in ["4", "3", "2"] {
        // A new version is written whole; split it again, and change an
        // entry of the new shared index.
        t.git(&["update-index", "--index-version", v]);
        t.git(&["update-index", "--split-index"]);
        t.write("c/f3.txt", format!("version {v}\n"));
        t.git(&["add", "c/f3.txt"]);
        assert_eq!(assert_matches_git(t.path()), (true, false), "version {v}");
        assert_eq!(staged_keys(t.path()).0.len(), 1, "version {v}");
    }

    // Committed: nothing staged, read through the split index's cache-tree.
    t.git(&["commit", "-q", "-m", "second"]);
    assert_matches_git(t.path());
    assert_eq!(staged_keys(t.path()), (vec![], 0));

    // A conflict recorded in a split index: stages 1–3 are not scanned, the
    // other staged paths are.
    t.git(&["checkout", "-q", "-b", "other"]);
    t.write("top.txt", format!("theirs\n{}", key_line(&mut rng).1));
    t.commit_all("theirs");
    t.git(&["checkout", "-q", "main"]);
    t.write("top.txt", "ours\n");
    t.commit_all("ours");
    let _ = git_output(t.path(), &["merge", "-q", "other"], &[]);
    t.write("a/after.js", key_line(&mut rng).1);
    t.git(&["add", "a/after.js"]);
    let entries = our_entries(t.path());
    assert_eq!(
        entries.iter().filter(|e| e.ends_with("\ttop.txt")).count(),
        3,
        "{entries:?}"
    );
    assert!(assert_matches_git(t.path()).0);
    assert_eq!(staged_keys(t.path()).0, vec![("a/after.js".to_string(), 1)]);
}

#[test]
fn a_pre_commit_hook_reads_the_split_temporary_index_of_commit_dash_a() {
    let mut rng = Rng::new(102);
    let t = repo();
    t.git(&["config", "core.splitIndex", "true"]);
    tree_of_files(&t);
    t.commit_all("init");
    let bin = assert_cmd::cargo::cargo_bin("keyscan");
    let hook = t.write(
        ".git/hooks/pre-commit",
        format!(
            "#!/bin/sh\nexec '{}' --staged --color never\n",
            bin.display()
        ),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    t.write("b/f1.txt", key_line(&mut rng).1);
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
    assert!(all.contains("b/f1.txt:1:14"), "{all}");
    t.write("b/f1.txt", "clean\n");
    let out = git_output(t.path(), &["commit", "-a", "-m", "clean"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_sparse_index_compares_sparse_directories_by_tree() {
    let mut rng = Rng::new(103);
    let t = repo();
    tree_of_files(&t);
    t.commit_all("one");
    // A key committed in b/, which the sparse checkout will leave out.
    let (_, line) = key_line(&mut rng);
    t.write("b/deep/f3.txt", format!("x\n{line}"));
    t.commit_all("two");
    t.git(&["config", "index.sparse", "true"]);
    t.git(&["sparse-checkout", "set", "--cone", "a"]);
    assert!(!t.path().join("b").exists(), "b/ is outside the cone");
    let entries = our_entries(t.path());
    assert!(entries.iter().any(|e| e.ends_with("\tb/")), "{entries:?}");
    assert_eq!(assert_matches_git(t.path()), (false, true));
    // Nothing staged: the committed key in the sparse b/ is not reported.
    assert_eq!(staged_keys(t.path()), (vec![], 0));

    // A key staged inside the cone.
    t.write("a/deep/new.js", key_line(&mut rng).1);
    t.git(&["add", "a/deep/new.js"]);
    assert_eq!(assert_matches_git(t.path()), (false, true));
    assert_eq!(
        staged_keys(t.path()).0,
        vec![("a/deep/new.js".to_string(), 1)]
    );
    t.git(&["commit", "-q", "-m", "three"]);

    // `git reset --soft` moves HEAD and leaves the index alone: b/ is still
    // a sparse directory naming the tree with the key, and HEAD's b/ is
    // older, so the key in b/ is staged again. It is found inside the tree.
    t.git(&["reset", "--soft", "HEAD~2"]);
    let entries = our_entries(t.path());
    assert!(entries.iter().any(|e| e.ends_with("\tb/")), "{entries:?}");
    assert_eq!(assert_matches_git(t.path()), (false, true));
    assert_eq!(
        staged_keys(t.path()).0,
        vec![
            ("a/deep/new.js".to_string(), 1),
            ("b/deep/f3.txt".to_string(), 2)
        ]
    );
    // Version 4 sparse index.
    t.git(&["update-index", "--index-version", "4"]);
    assert_eq!(assert_matches_git(t.path()), (false, true));
    assert_eq!(staged_keys(t.path()).0.len(), 2);
}

#[test]
fn index_versions_intent_to_add_and_worktree_bits() {
    let mut rng = Rng::new(104);
    let t = repo();
    tree_of_files(&t);
    t.write("app.js", "const k = process.env.K;\n");
    t.write("server.js", "const k = process.env.K;\n");
    t.write("other.js", "const k = process.env.K;\n");
    t.commit_all("init");

    // A staged key, then `skip-worktree` and a clean file on disk: the
    // staged key is still what gets committed.
    t.write("app.js", key_line(&mut rng).1);
    t.git(&["add", "app.js"]);
    t.git(&["update-index", "--skip-worktree", "app.js"]);
    t.write("app.js", "clean on disk\n");
    // Assume-unchanged and skip-worktree files with a key on disk only:
    // nothing is staged.
    t.git(&["update-index", "--assume-unchanged", "server.js"]);
    t.write("server.js", key_line(&mut rng).1);
    t.git(&["update-index", "--skip-worktree", "other.js"]);
    t.write("other.js", key_line(&mut rng).1);
    // Intent to add: the path is known, no content is staged.
    t.write("later.js", key_line(&mut rng).1);
    t.git(&["add", "-N", "later.js"]);

    for v in ["3", "4", "2"] {
        // Version 2 cannot hold extended flags: git keeps 3 then.
        t.git(&["update-index", "--index-version", v]);
        assert_matches_git(t.path());
        let repo = StagedRepo::open_with_index(t.path(), None).unwrap();
        let idx = repo.index();
        let flags = |name: &str| {
            let e = idx
                .entries
                .iter()
                .find(|e| idx.path(e) == name.as_bytes())
                .unwrap();
            (e.skip_worktree, e.assume_unchanged, e.intent_to_add)
        };
        assert_eq!(flags("app.js"), (true, false, false), "version {v}");
        assert_eq!(flags("server.js"), (false, true, false), "version {v}");
        assert_eq!(flags("other.js"), (true, false, false), "version {v}");
        assert_eq!(flags("later.js"), (false, false, true), "version {v}");
        assert_eq!(
            staged_keys(t.path()),
            (vec![("app.js".to_string(), 1)], 1),
            "version {v}"
        );
    }
}

#[test]
fn a_linked_worktree_reads_its_own_index_split_or_not() {
    let mut rng = Rng::new(105);
    let t = repo();
    tree_of_files(&t);
    t.commit_all("init");
    let place = TempTree::new();
    let wt = place.path().join("wt");
    t.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "feature",
        wt.to_str().unwrap(),
    ]);
    t.write("a/main-only.js", key_line(&mut rng).1);
    t.git(&["add", "a/main-only.js"]);
    std::fs::write(wt.join("b/wt-only.js"), key_line(&mut rng).1).unwrap();
    git_in(&wt, &["add", "b/wt-only.js"]);
    assert_matches_git(&wt);
    assert_eq!(staged_keys(&wt).0, vec![("b/wt-only.js".to_string(), 1)]);
    assert_eq!(
        staged_keys(t.path()).0,
        vec![("a/main-only.js".to_string(), 1)]
    );

    // Split: the worktree's shared index lives in its own git directory.
    git_in(&wt, &["update-index", "--split-index"]);
    std::fs::write(wt.join("c/f1.txt"), "changed\n").unwrap();
    git_in(&wt, &["add", "c/f1.txt"]);
    let gitdir = t.path().join(".git/worktrees/wt");
    assert!(std::fs::read_dir(&gitdir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("sharedindex.")));
    assert!(assert_matches_git(&wt).0);
    assert_eq!(staged_keys(&wt).0, vec![("b/wt-only.js".to_string(), 1)]);
}

#[test]
fn a_submodule_is_its_own_repository_and_a_gitlink_is_not_scanned() {
    let mut rng = Rng::new(106);
    let sub = repo();
    sub.write("lib.js", "export {}\n");
    sub.commit_all("sub init");
    let t = repo();
    t.write("app.js", "x\n");
    t.commit_all("init");
    t.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.path().to_str().unwrap(),
        "vendor/sub",
    ]);
    t.git(&["commit", "-q", "-m", "add submodule"]);
    let inner = t.path().join("vendor/sub");
    git_in(&inner, &["config", "user.name", "Test User"]);
    git_in(&inner, &["config", "user.email", "test@example.com"]);

    // A key staged inside the submodule: found from inside it, with paths
    // relative to the submodule, and not from the superproject.
    std::fs::write(inner.join("key.js"), key_line(&mut rng).1).unwrap();
    git_in(&inner, &["add", "key.js"]);
    assert_matches_git(&inner);
    assert_eq!(staged_keys(&inner).0, vec![("key.js".to_string(), 1)]);
    assert_eq!(staged_keys(t.path()), (vec![], 0));

    // The submodule commits it; the superproject stages the new gitlink:
    // a commit id of another repository, never read as a blob.
    git_in(&inner, &["commit", "-q", "-m", "key"]);
    t.git(&["add", "vendor/sub"]);
    let listing = staged_listing(t.path());
    assert!(listing.is_empty(), "{listing:?}");
    let (v, code) = json_in(t.path(), &["--staged"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(key_findings(&v).is_empty(), "{v:#}");
}

/// Runs keyscan, killed after a minute (a hang guard, not a timing
/// assertion): then its exit code is missing and the test fails.
fn run_bounded(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = run_within(dir, args, Duration::from_secs(60));
    assert!(out.status.code().is_some(), "keyscan {args:?} hung");
    out
}

#[cfg(unix)]
#[test]
fn an_index_that_is_a_fifo_is_refused_without_hanging() {
    let t = repo();
    t.write("a.txt", "a\n");
    t.commit_all("init");
    let index = t.path().join(".git/index");
    std::fs::remove_file(&index).unwrap();
    mkfifo(&index);
    let out = run_bounded(t.path(), &["--staged"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("index") && err.contains("not a regular file"),
        "{err}"
    );
    // The same through GIT_INDEX_FILE.
    let out = keyscan()
        .current_dir(t.path())
        .env("GIT_INDEX_FILE", ".git/index")
        .arg("--staged")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Writes `content` as a blob and returns its id.
fn hash_object(dir: &Path, content: &str) -> [u8; 20] {
    let path = dir.join(".git/blob-input");
    std::fs::write(&path, content).unwrap();
    let hex = git_in(dir, &["hash-object", "-w", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    let hex = hex.trim();
    let mut id = [0u8; 20];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    id
}

#[test]
fn a_path_of_20000_components_is_scanned_without_overflowing_the_stack() {
    let mut rng = Rng::new(107);
    let t = repo();
    t.write("top.txt", "x\n");
    t.commit_all("init");
    let blob = hash_object(t.path(), &key_line(&mut rng).1);
    let deep = format!("{}k.js", "d/".repeat(20_000));
    let entries = vec![
        RawEntry::file(deep.clone(), blob),
        RawEntry::file("top.txt", hash_object(t.path(), "x\n")),
    ];
    for version in [2, 4] {
        std::fs::write(
            t.path().join(".git/index"),
            write_index(version, &entries, b"", [0; 20]),
        )
        .unwrap();
        let out = run_bounded(t.path(), &["--staged", "--format", "json"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = key_findings(&v);
        assert_eq!(f.len(), 1, "version {version}");
        assert_eq!(f[0]["path"], deep.as_str());
    }
}

#[test]
fn chained_version_4_path_compression_is_refused_not_expanded() {
    let t = repo();
    t.write("a.txt", "a\n");
    t.commit_all("init");
    // 200,000 entries, each path one byte longer than the last: a 13 MB
    // file whose paths would take 20 GB.
    let n = 200_000usize;
    let mut out = b"DIRC".to_vec();
    out.extend(4u32.to_be_bytes());
    out.extend((n as u32).to_be_bytes());
    for _ in 0..n {
        out.extend([0u8; 24]);
        out.extend(0o100644u32.to_be_bytes());
        out.extend([0u8; 32]);
        out.extend(0xfffu16.to_be_bytes());
        out.extend([0u8, b'a', 0]);
    }
    out.extend([0u8; 20]);
    std::fs::write(t.path().join(".git/index"), out).unwrap();
    let out = run_bounded(t.path(), &["--staged"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".git/index") && err.contains("path compression"),
        "{err}"
    );
}
