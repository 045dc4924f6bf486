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
//! The `language: python` hook (`id: keyscan` of the hook repository made
//! from `pre-commit-mirror/`) is tested the same way: maturin builds the
//! `keyscan-cli` wheel (with the same `CARGO_TARGET_DIR`, so the release
//! build is shared), a local copy of the hook repository is committed, and
//! pre-commit installs the wheel from a local folder (`PIP_FIND_LINKS`,
//! `PIP_NO_INDEX`: nothing named keyscan comes from PyPI).
//!
//! Both need the `pre-commit` tool (and maturin for the wheel): they are
//! `#[ignore]`d with that reason, so a plain `cargo test` lists them as
//! ignored and never as passed; `.ci/run` installs the tools and runs them
//! with `--include-ignored`, and then a missing tool fails them.

use crate::common::{copy_tree, miniback_key, readme_snippet, require, Rng, TempTree};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Runs `program args…` in `dir` with an isolated git config and the shared
/// pre-commit and cargo locations.
fn run(dir: &Path, program: &str, args: &[&str], work: &Path) -> Output {
    run_with(dir, program, args, work, &[])
}

/// [`run`] with extra environment variables.
fn run_with(
    dir: &Path,
    program: &str,
    args: &[&str],
    work: &Path,
    envs: &[(&str, &str)],
) -> Output {
    let global = work.join("gitconfig");
    if !global.exists() {
        std::fs::write(
            &global,
            "[user]\n\tname = Test User\n\temail = test@example.com\n[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
    }
    let home = target_dir().join("pre-commit-test");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", &global)
        .env("PRE_COMMIT_HOME", home.join("home"))
        .env("CARGO_TARGET_DIR", home.join("cargo-target"))
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output()
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
    let snap = fresh_dir(target_dir().join("pre-commit-test").join("keyscan-src"));
    for file in ["Cargo.toml", "Cargo.lock", ".pre-commit-hooks.yaml"] {
        std::fs::copy(root.join(file), snap.join(file))
            .unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    for dir in ["src", "rules", "frameworks"] {
        copy_tree(&root.join(dir), &snap.join(dir));
    }
    let rev = commit_all(&snap, work);
    (snap, rev)
}

fn fresh_dir(dir: PathBuf) -> PathBuf {
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `git init` + commit of everything in `dir` with a fixed author and date
/// (the same content gives the same commit id); returns the commit id.
fn commit_all(dir: &Path, work: &Path) -> String {
    ok(
        run(dir, "git", &["init", "-q"], work),
        "git init (snapshot)",
    );
    ok(run(dir, "git", &["add", "-A"], work), "git add (snapshot)");
    let out = Command::new("git")
        .args(["commit", "-q", "-m", "snapshot for the pre-commit test"])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", work.join("gitconfig"))
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .output()
        .unwrap();
    ok(out, "git commit (snapshot)");
    let rev = ok(run(dir, "git", &["rev-parse", "HEAD"], work), "rev-parse");
    rev.trim().to_string()
}

/// The README's `.pre-commit-config.yaml` snippet NAME, pointed at a local
/// hook repository and commit instead of GitHub and a tag.
fn config_from_readme(name: &str, github: &str, repo: &Path, rev: &str) -> String {
    let snippet = readme_snippet(name);
    let version = format!("rev: v{}", env!("CARGO_PKG_VERSION"));
    assert!(
        snippet.contains(&format!("repo: {github}\n")) && snippet.contains(&version),
        "README snippet {name} no longer names {github} and {version}:\n{snippet}"
    );
    snippet
        .replace(github, &repo.display().to_string())
        .replace(&version, &format!("rev: {rev}"))
}

/// The scenario both hooks must pass in a fresh repository using `config`:
/// a clean commit goes through, a random Miniback key is refused with
/// keyscan's message (never the raw key), a placeholder goes through.
fn exercise(config: &str, work: &Path, envs: &[(&str, &str)]) {
    let repo = work.join("app");
    std::fs::create_dir(&repo).unwrap();
    ok(run(&repo, "git", &["init", "-q"], work), "git init");
    std::fs::write(repo.join(".pre-commit-config.yaml"), config).unwrap();
    ok(
        run_with(&repo, "pre-commit", &["install"], work, envs),
        "pre-commit install",
    );

    // A clean commit goes through (the first one installs the hook).
    std::fs::write(repo.join("README.md"), "# app\n").unwrap();
    ok(run(&repo, "git", &["add", "-A"], work), "git add");
    let (passed, text) = commit(&repo, "clean", work, envs);
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
    ok(run(&repo, "git", &["add", "server.js"], work), "git add");
    let (passed, text) = commit(&repo, "leak", work, envs);
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
    let log = ok(run(&repo, "git", &["log", "--oneline"], work), "git log");
    assert_eq!(log.lines().count(), 1, "{log}");

    // Unstage and delete the leak; a placeholder does not block.
    ok(
        run(&repo, "git", &["rm", "-q", "--cached", "server.js"], work),
        "git rm",
    );
    std::fs::remove_file(repo.join("server.js")).unwrap();
    std::fs::write(
        repo.join(".env.example"),
        "MINIBACK_API_KEY=mbk_YOUR_KEY_HERE\n",
    )
    .unwrap();
    ok(run(&repo, "git", &["add", ".env.example"], work), "git add");
    let (passed, text) = commit(&repo, "placeholder", work, envs);
    assert!(passed, "a placeholder key blocked the commit:\n{text}");
    let log = ok(run(&repo, "git", &["log", "--oneline"], work), "git log");
    assert_eq!(log.lines().count(), 2, "{log}");
}

/// `git commit` in `repo`: (succeeded, everything it printed).
fn commit(repo: &Path, message: &str, work: &Path, envs: &[(&str, &str)]) -> (bool, String) {
    let out = run_with(repo, "git", &["commit", "-m", message], work, envs);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
#[ignore = "needs the pre-commit tool and builds keyscan in release mode (minutes cold); .ci/run runs it"]
fn source_hook_refuses_a_staged_key_and_lets_clean_commits_through() {
    require("pre-commit", "python3 -m pip install pre-commit");
    require("cargo", "the language: rust hook builds with it");
    let work = TempTree::new();
    let (snap, rev) = snapshot(work.path());
    let config = config_from_readme(
        "pre-commit-config-source",
        "https://github.com/keyscan/keyscan",
        &snap,
        &rev,
    );
    assert!(config.contains("id: keyscan-source"), "{config}");
    exercise(&config, work.path(), &[]);
}

#[test]
#[ignore = "needs the pre-commit tool and maturin, and builds the wheel (minutes cold); .ci/run runs it"]
fn python_hook_installs_the_wheel_and_refuses_a_staged_key() {
    require("pre-commit", "python3 -m pip install pre-commit");
    require("maturin", "python3 -m pip install maturin");
    let work = TempTree::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = target_dir().join("pre-commit-test");

    // The wheel, built by maturin in the shared release target directory.
    let wheels = fresh_dir(base.join("wheelhouse"));
    ok(
        run(
            root,
            "maturin",
            &[
                "build",
                "--release",
                "--locked",
                "--out",
                wheels.to_str().unwrap(),
            ],
            work.path(),
        ),
        "maturin build",
    );
    let version = env!("CARGO_PKG_VERSION");
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".whl"))
        .expect("maturin wrote a wheel");
    assert!(
        wheel.starts_with(&format!("keyscan_cli-{version}-py3-none-")),
        "{wheel}"
    );
    // The hook repository installs with setuptools: offer it from the same
    // folder, so pip needs no index at all.
    ok(
        run(
            root,
            "python3",
            &[
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary",
                ":all:",
                "--dest",
                wheels.to_str().unwrap(),
                "setuptools>=61",
            ],
            work.path(),
        ),
        "pip download setuptools",
    );

    // The hook repository, as the release workflow publishes it.
    let mirror = fresh_dir(base.join("keyscan-pre-commit"));
    copy_tree(&root.join("pre-commit-mirror"), &mirror);
    let rev = commit_all(&mirror, work.path());
    let config = config_from_readme(
        "pre-commit-config",
        "https://github.com/keyscan/keyscan-pre-commit",
        &mirror,
        &rev,
    );
    // A fresh pre-commit cache: the hook repository's commit does not change
    // when only the wheel does.
    let home = work.path().join("pre-commit-home");
    let wheels = wheels.to_str().unwrap().to_string();
    let envs = [
        ("PRE_COMMIT_HOME", home.to_str().unwrap()),
        ("PIP_FIND_LINKS", wheels.as_str()),
        ("PIP_NO_INDEX", "1"),
    ];
    exercise(&config, work.path(), &envs);
    // The hook ran the wheel's binary: it is in pre-commit's environment.
    let installed = walk_for(&home, "keyscan");
    assert!(installed, "no keyscan binary under {}", home.display());
}

/// Whether a file named `name` exists under `dir`, at any depth.
fn walk_for(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk_for(&p, name)
            } else {
                e.file_name() == name
            }
        })
    })
}
