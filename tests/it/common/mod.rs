//! Shared helpers for end-to-end tests: temporary trees and git repositories,
//! fake keys generated at test time, and running the real `keyscan` binary.
//!
//! Keys are generated here rather than committed, so the repository never
//! holds a live-looking key outside `fixtures/` (which `.keyscan.toml`
//! allowlists) and keyscan scanning itself stays clean.
#![allow(dead_code)]

pub mod index;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};

/// A deterministic xorshift generator: random-looking keys, reproducible runs.
pub struct Rng(u64);

impl Rng {
    /// A generator; every call site gets a different stream.
    pub fn new(seed: u64) -> Self {
        static SALT: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let salt = SALT.fetch_add(0x6A09_E667_F3BC_C909, Ordering::Relaxed);
        Rng(seed ^ salt | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// `n` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

pub const LOWER_DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A Miniback key: `mbk_` + 20 lowercase alphanumerics (with a digit and a letter).
pub fn miniback_key(rng: &mut Rng) -> String {
    loop {
        let body = rng.string(LOWER_DIGITS, 20);
        if body.bytes().any(|b| b.is_ascii_digit()) && body.bytes().any(|b| b.is_ascii_lowercase())
        {
            return format!("mbk_{body}");
        }
    }
}

/// A urBackend key: `prefix` + 43 base64url characters containing `-` or `_`.
pub fn urbackend_key(rng: &mut Rng, prefix: &str) -> String {
    loop {
        let body = rng.string(B64URL, 43);
        if body.contains(['-', '_']) {
            return format!("{prefix}{body}");
        }
    }
}

/// A Stripe key: `prefix` + `51` + 97 alphanumerics (the new ~99 char shape).
pub fn stripe_key(rng: &mut Rng, prefix: &str) -> String {
    format!("{prefix}51{}", rng.string(ALNUM, 97))
}

/// The redacted form keyscan prints: prefix + first 4 + `…` + last 2.
pub fn redacted(key: &str, prefix: &str) -> String {
    let body = &key[prefix.len()..];
    format!("{prefix}{}…{}", &body[..4], &body[body.len() - 2..])
}

/// A temporary directory that is removed on drop.
pub struct TempTree {
    pub dir: tempfile::TempDir,
}

impl TempTree {
    pub fn new() -> Self {
        TempTree {
            dir: tempfile::Builder::new()
                .prefix("keyscan-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `rel`, creating parent folders.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Runs `git args…` in the tree, panicking with git's stderr on failure.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args)
    }

    /// `git init` with a fixed identity and default branch `main`.
    pub fn git_init(&self) {
        self.git(&["init", "-q", "-b", "main"]);
        self.git(&["config", "user.name", "Test User"]);
        self.git(&["config", "user.email", "test@example.com"]);
        self.git(&["config", "commit.gpgsign", "false"]);
    }

    /// Stages everything and commits.
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }
}

/// Runs git in `dir` with a clean environment for config.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs git in `dir` with extra environment variables (e.g. backdated
/// `GIT_AUTHOR_DATE`), returning the whole output, success or not.
pub fn git_output(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("git is installed")
}

/// Like [`git_in`] with extra environment variables; panics on failure.
pub fn git_env_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = git_output(dir, args, envs);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Number of distinct blobs in the repository's object store (`git cat-file`).
pub fn blob_count(dir: &Path) -> u64 {
    git_in(
        dir,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objecttype)",
        ],
    )
    .lines()
    .filter(|l| *l == "blob")
    .count() as u64
}

/// The keyscan binary, with colour off and a neutral environment (no git
/// variables leaking in from a hook that runs the test suite).
pub fn keyscan() -> Command {
    let mut cmd = Command::cargo_bin("keyscan").unwrap();
    cmd.env_remove("NO_COLOR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}

/// Runs keyscan in `dir` with `args` and returns the output.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    keyscan().current_dir(dir).args(args).output().unwrap()
}

/// [`run_in`], killed after `timeout`: a hang fails the test instead of
/// stalling CI.
pub fn run_within(dir: &Path, args: &[&str], timeout: std::time::Duration) -> Output {
    keyscan()
        .current_dir(dir)
        .args(args)
        .timeout(timeout)
        .output()
        .unwrap()
}

/// Runs keyscan with `--format json` in `dir` and parses stdout.
pub fn json_in(dir: &Path, args: &[&str]) -> (serde_json::Value, i32) {
    parse_json(run_in(dir, &json_args(args)))
}

/// [`json_in`], killed after `timeout`.
pub fn json_within(
    dir: &Path,
    args: &[&str],
    timeout: std::time::Duration,
) -> (serde_json::Value, i32) {
    parse_json(run_within(dir, &json_args(args), timeout))
}

fn json_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    all
}

/// A JSON report from keyscan's stdout, with its exit code; panics with
/// both streams when stdout is not JSON.
fn parse_json(out: Output) -> (serde_json::Value, i32) {
    let code = out.status.code().unwrap_or(-1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); exit {code}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, code)
}

/// The findings array of a JSON report.
pub fn findings(v: &serde_json::Value) -> &Vec<serde_json::Value> {
    v["findings"].as_array().expect("findings array")
}

/// Findings of `rule_id` at `path`.
pub fn find<'a>(v: &'a serde_json::Value, rule_id: &str, path: &str) -> Vec<&'a serde_json::Value> {
    findings(v)
        .iter()
        .filter(|f| f["rule_id"] == rule_id && f["path"] == path)
        .collect()
}

/// Copies `fixtures/NAME` into a fresh temporary tree, renaming every path
/// component that starts with `dot.` to start with `.` (see fixtures/README.md).
pub fn copy_fixture(name: &str) -> TempTree {
    let tree = TempTree::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    copy_recursive(&src, tree.path(), true);
    tree
}

/// Copies `from` into `to` (files and folders only); with `undot`, a name
/// starting with `dot.` is copied as `.`-something.
fn copy_recursive(from: &Path, to: &Path, undot: bool) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let dest = match name.to_str().and_then(|n| n.strip_prefix("dot.")) {
            Some(rest) if undot => to.join(format!(".{rest}")),
            _ => to.join(&name),
        };
        if entry.file_type().unwrap().is_dir() {
            copy_recursive(&entry.path(), &dest, undot);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// The first match of `regex` in the fixture file (for reading a planted key
/// at test time instead of writing it into the test source).
pub fn key_in(tree: &TempTree, rel: &str, regex: &str) -> String {
    let bytes = std::fs::read(tree.path().join(rel)).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let re = regex::Regex::new(regex).unwrap();
    re.find(&text)
        .unwrap_or_else(|| panic!("no {regex} in {rel}"))
        .as_str()
        .to_string()
}

/// Copies the directory tree `from` into `to` (files and folders only).
pub fn copy_tree(from: &Path, to: &Path) {
    copy_recursive(from, to, false);
}

/// Key findings only: the repository-shape audits (origin `audit`, e.g.
/// `gitignore-env-coverage` in a temporary folder without a `.gitignore`)
/// are tested in tests/dotenv_audit.rs, not by tests about keys.
pub fn key_findings(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    findings(v)
        .iter()
        .filter(|f| f["origin"] != "audit")
        .collect()
}

/// The code block that follows `<!-- snippet: NAME -->` in README.md, so
/// tests run what the README tells users to write.
pub fn readme_snippet(name: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let marker = format!("<!-- snippet: {name} -->");
    let at = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"));
    let rest = &readme[at + marker.len()..];
    let open = rest.find("```").expect("a code block after the marker");
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let close = body.find("\n```").expect("the code block ends");
    format!("{}\n", &body[..close])
}

/// The repository's root (the crate's manifest folder).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `program --version` runs.
pub fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Panics unless `program` runs: for tests that exist to exercise it. Such
/// tests are `#[ignore]`d with the reason (so `cargo test` lists them as
/// ignored, never as passed) and run by `.ci/run`, which installs the tools.
pub fn require(program: &str, how: &str) {
    assert!(
        have(program),
        "`{program}` is not installed or not on PATH; this test needs it ({how})"
    );
}

/// keyscan's `staged_paths` as `git diff --cached --name-status --no-renames`
/// prints it (A/M/T/D, a tab and the path), for comparing with git itself.
pub fn staged_listing(dir: &Path) -> Vec<String> {
    use keyscan::source::staged::{StagedRepo, StagedStatus};
    let repo = StagedRepo::open_with_index(dir, None).unwrap();
    repo.staged_paths()
        .unwrap()
        .iter()
        .map(|p| {
            let s = match p.status {
                StagedStatus::Added => "A",
                StagedStatus::Modified => "M",
                StagedStatus::TypeChange => "T",
                StagedStatus::Deleted => "D",
            };
            format!("{s}\t{}", p.path)
        })
        .collect()
}

/// What git itself lists as staged (`git diff --cached --name-status
/// --no-renames --ignore-submodules`), sorted by path like [`staged_listing`].
pub fn git_staged_listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = git_in(
        dir,
        &[
            "diff",
            "--cached",
            "--name-status",
            "--no-renames",
            "--ignore-submodules",
        ],
    )
    .lines()
    .map(str::to_string)
    .collect();
    v.sort_by(|a, b| a[2..].cmp(&b[2..]));
    v
}

/// Makes a FIFO at `p` (`mkfifo`): opening it for reading blocks until a
/// writer comes, which is what the hardening tests need to guard against.
pub fn mkfifo(p: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .expect("mkfifo is installed");
    assert!(st.success(), "mkfifo {}", p.display());
}
