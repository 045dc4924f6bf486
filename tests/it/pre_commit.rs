//! The pre-commit framework, for real: a throwaway repository whose
//! `.pre-commit-config.yaml` points at this repository's `.pre-commit-hooks.yaml`
//! (by local path and commit), where `git commit` of a Miniback key is refused
//! with keyscan's message, while a clean commit and a placeholder key go
//! through.
//!
//! pre-commit needs a git repository with the hook manifest *at a commit*, and
//! the code under test is the working tree, which may have uncommitted edits.
//! So the test copies what `cargo install --path .` needs (`Cargo.toml`,
//! `Cargo.lock`, `src/`, `rules/`, `frameworks/`, the manifest) into a snapshot
//! repository at a fixed place under `target/` and commits it with a fixed
//! author and date: the same sources give the same commit id, so pre-commit's
//! cache (`PRE_COMMIT_HOME`, also under `target/`) skips the rebuild when
//! nothing changed. The hook's `cargo install` (release build, minutes on two
//! cores) uses its own `CARGO_TARGET_DIR` under `target/`, so later runs only
//! recompile keyscan itself, and it never contends for the lock of the
//! directory `cargo test` itself builds in.
//!
//! Without `pre-commit` on PATH the test fails when `CI` is set (`.ci/run`
//! installs it with pip) and is skipped with a printed reason otherwise.

use crate::common::{copy_tree, miniback_key, Rng, TempTree};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn have_pre_commit() -> bool {
    Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `program args…` in `dir` with an isolated git config and the shared
/// pre-commit and cargo locations.
fn run(dir: &Path, program: &str, args: &[&str], work: &Path) -> Output {
    let global = work.join("gitconfig");
    if !global.exists() {
        std::fs::write(
            &global,
            "[user]\n\tname = Test User\n\temail = test@example.com\n[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
    }
    let home = target_dir().join("pre-commit-test");
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", &global)
        .env("PRE_COMMIT_HOME", home.join("home"))
        .env("CARGO_TARGET_DIR", home.join("cargo-target"))
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn ok(out: Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// Commits a snapshot of the buildable sources; returns (path, commit id).
fn snapshot(work: &Path) -> (PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let snap = target_dir().join("pre-commit-test").join("keyscan-src");
    if snap.exists() {
        std::fs::remove_dir_all(&snap).unwrap();
    }
    std::fs::create_dir_all(&snap).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", ".pre-commit-hooks.yaml"] {
        std::fs::copy(root.join(file), snap.join(file))
            .unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    for dir in ["src", "rules", "frameworks"] {
        copy_tree(&root.join(dir), &snap.join(dir));
    }
    ok(
        run(&snap, "git", &["init", "-q"], work),
        "git init (snapshot)",
    );
    ok(
        run(&snap, "git", &["add", "-A"], work),
        "git add (snapshot)",
    );
    let out = Command::new("git")
        .args([
            "commit",
            "-q",
            "-m",
            "keyscan snapshot for the pre-commit test",
        ])
        .current_dir(&snap)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", work.join("gitconfig"))
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .output()
        .unwrap();
    ok(out, "git commit (snapshot)");
    let rev = ok(run(&snap, "git", &["rev-parse", "HEAD"], work), "rev-parse");
    (snap, rev.trim().to_string())
}

/// `git commit` in `repo`: (succeeded, everything it printed).
fn commit(repo: &Path, message: &str, work: &Path) -> (bool, String) {
    let out = run(repo, "git", &["commit", "-m", message], work);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn pre_commit_refuses_a_staged_key_and_lets_clean_commits_through() {
    if !have_pre_commit() {
        if std::env::var_os("CI").is_some() {
            panic!("pre-commit is not installed, but CI is set: `.ci/run` should have installed it (python3 -m pip install pre-commit)");
        }
        println!("SKIPPED: pre-commit is not on PATH (install it with `python3 -m pip install pre-commit`)");
        return;
    }
    let work = TempTree::new();
    let (snap, rev) = snapshot(work.path());

    let repo = work.path().join("app");
    std::fs::create_dir(&repo).unwrap();
    ok(run(&repo, "git", &["init", "-q"], work.path()), "git init");
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: keyscan\n",
            snap.display()
        ),
    )
    .unwrap();
    ok(
        run(&repo, "pre-commit", &["install"], work.path()),
        "pre-commit install",
    );

    // A clean commit goes through (the first one builds the hook: minutes).
    std::fs::write(repo.join("README.md"), "# app\n").unwrap();
    ok(run(&repo, "git", &["add", "-A"], work.path()), "git add");
    let (passed, text) = commit(&repo, "clean", work.path());
    assert!(passed, "a clean commit was refused:\n{text}");
    assert!(text.contains("keyscan"), "the hook did not run:\n{text}");

    // A real-looking Miniback key is refused, with keyscan's message and
    // without printing the key.
    let mut rng = Rng::new(71);
    let key = miniback_key(&mut rng);
    std::fs::write(
        repo.join("server.js"),
        format!("const client = new Miniback({{ apiKey: \"{key}\" }});\n"),
    )
    .unwrap();
    ok(
        run(&repo, "git", &["add", "server.js"], work.path()),
        "git add",
    );
    let (passed, text) = commit(&repo, "leak", work.path());
    assert!(
        !passed,
        "a commit with a Miniback key went through:\n{text}"
    );
    assert!(
        text.contains("miniback-api-key"),
        "no keyscan finding in:\n{text}"
    );
    assert!(text.contains("server.js:1:"), "no location in:\n{text}");
    assert!(text.contains(&key[..8]), "no redacted key in:\n{text}");
    assert!(!text.contains(&key), "the raw key was printed:\n{text}");
    let log = ok(
        run(&repo, "git", &["log", "--oneline"], work.path()),
        "git log",
    );
    assert_eq!(log.lines().count(), 1, "{log}");

    // Unstage and delete the leak; a placeholder does not block.
    ok(
        run(
            &repo,
            "git",
            &["rm", "-q", "--cached", "server.js"],
            work.path(),
        ),
        "git rm",
    );
    std::fs::remove_file(repo.join("server.js")).unwrap();
    std::fs::write(
        repo.join(".env.example"),
        "MINIBACK_API_KEY=mbk_YOUR_KEY_HERE\n",
    )
    .unwrap();
    ok(
        run(&repo, "git", &["add", ".env.example"], work.path()),
        "git add",
    );
    let (passed, text) = commit(&repo, "placeholder", work.path());
    assert!(passed, "a placeholder key blocked the commit:\n{text}");
    let log = ok(
        run(&repo, "git", &["log", "--oneline"], work.path()),
        "git log",
    );
    assert_eq!(log.lines().count(), 2, "{log}");
}
