//! The GitHub Action's scripts (`action/install.sh`, `action/scan.sh`,
//! `action/summary.jq`), run for real on temporary git repositories with the
//! environment a runner gives a composite step simulated: `GITHUB_OUTPUT`,
//! `GITHUB_STEP_SUMMARY` and `GITHUB_PATH` files, the event's fields,
//! `RUNNER_OS`/`RUNNER_ARCH`. What is left out is the runner itself (and
//! `actions/cache`); actionlint checks `action.yml` in CI.
//!
//! Needs bash, git, jq and curl (for the `file://` release download), which
//! `.ci/run` installs; a missing one fails the test with its name.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One simulated step run: its exit code, stdout+stderr, outputs and summary.
struct Step {
    code: i32,
    log: String,
    outputs: BTreeMap<String, String>,
    summary: String,
}

impl Step {
    fn output(&self, name: &str) -> Option<&str> {
        self.outputs.get(name).map(String::as_str)
    }
}

/// Runs `action/SCRIPT args` in `dir` with `envs` plus a runner's files.
fn step(dir: &Path, script: &str, args: &[&str], envs: &[(&str, &str)]) -> Step {
    for tool in ["bash", "jq", "curl"] {
        require(tool, ".ci/run installs it");
    }
    let runner = TempTree::new();
    let out_file = runner.path().join("output");
    let summary_file = runner.path().join("summary");
    let path_file = runner.path().join("path");
    for f in [&out_file, &summary_file, &path_file] {
        std::fs::write(f, "").unwrap();
    }
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("action").join(script))
        .args(args)
        .current_dir(dir)
        .env("GITHUB_OUTPUT", &out_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("GITHUB_PATH", &path_file)
        .env("RUNNER_TEMP", runner.path())
        .env("KEYSCAN", env!("CARGO_BIN_EXE_keyscan"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("NO_COLOR");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().expect("bash runs");
    let outputs = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Step {
        code: out.status.code().unwrap_or(-1),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        outputs,
        summary: std::fs::read_to_string(&summary_file).unwrap(),
    }
}

/// A repository with a clean first commit, then a commit adding a key in
/// `api/server.js` (twice) and in `web/src/app.js`: (tree, key, first, second).
fn repo_with_a_leak(seed: u64) -> (TempTree, String, String, String) {
    let t = TempTree::new();
    t.git_init();
    t.write(".gitignore", ".env\n.env.*\n");
    t.write("README.md", "# app\n");
    t.commit_all("first");
    let first = t.git(&["rev-parse", "HEAD"]).trim().to_string();
    let mut rng = Rng::new(seed);
    let key = miniback_key(&mut rng);
    t.write(
        "api/server.js",
        format!("const a = \"{key}\";\nconst b = \"{key}\";\n"),
    );
    t.write(
        "web/src/app.js",
        format!("fetch(u, {{ key: \"{key}\" }});\n"),
    );
    t.commit_all("second");
    let second = t.git(&["rev-parse", "HEAD"]).trim().to_string();
    (t, key, first, second)
}

#[test]
fn push_scans_the_pushed_range_once_with_annotations_sarif_summary_and_outputs() {
    let (t, key, first, second) = repo_with_a_leak(81);
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "history"),
            ("SARIF", "out/keyscan.sarif"),
            ("EVENT_NAME", "push"),
            ("EVENT_BEFORE", &first),
            ("EVENT_AFTER", &second),
            ("DEFAULT_BRANCH", "main"),
            ("REF", "refs/heads/main"),
        ],
    );
    assert_eq!(
        s.code, 1,
        "findings at or above high fail the step:\n{}",
        s.log
    );
    assert_eq!(s.output("exit-code"), Some("1"));
    assert_eq!(
        s.output("range"),
        Some(format!("{first}..{second}").as_str())
    );
    assert_eq!(s.output("findings"), Some("3"), "{:?}", s.outputs);
    assert_eq!(s.output("critical"), Some("0"));
    assert_eq!(s.output("sarif-file"), Some("out/keyscan.sarif"));
    // Annotations in the log, one per finding, never the raw key.
    assert_eq!(s.log.matches("::error file=").count(), 3, "{}", s.log);
    assert!(
        s.log.contains("::error file=api/server.js,line=2"),
        "{}",
        s.log
    );
    assert!(!s.log.contains(&key), "raw key in the log");
    // The SARIF file of the same scan.
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(t.path().join("out/keyscan.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
    // The summary: one row for the key, with its three places.
    assert!(
        s.summary.starts_with("### keyscan: 3 findings (3 high)"),
        "{}",
        s.summary
    );
    let rows: Vec<&str> = s
        .summary
        .lines()
        .filter(|l| l.starts_with("| high"))
        .collect();
    assert_eq!(rows.len(), 1, "grouped by key:\n{}", s.summary);
    assert_eq!(rows[0].matches("<br>").count(), 2, "{}", rows[0]);
    assert!(
        rows[0].contains("<code>api/server.js:1</code>"),
        "{}",
        rows[0]
    );
    assert!(rows[0].contains(&redacted(&key, "mbk_")), "{}", rows[0]);
    assert!(!s.summary.contains(&key));

    // Pushing only a later clean commit scans only that commit.
    t.write("README.md", "# app\n\nmore\n");
    t.commit_all("third");
    let third = t.git(&["rev-parse", "HEAD"]).trim().to_string();
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "history"),
            ("EVENT_NAME", "push"),
            ("EVENT_BEFORE", &second),
            ("EVENT_AFTER", &third),
        ],
    );
    assert_eq!(s.code, 0, "{}", s.log);
    assert_eq!(s.output("findings"), Some("0"));
    assert_eq!(
        s.output("sarif-file"),
        None,
        "no SARIF asked, none announced"
    );
    assert!(
        s.summary.starts_with("### keyscan: no findings"),
        "{}",
        s.summary
    );
}

#[test]
fn new_branches_pull_requests_and_deleted_branches_get_their_own_range() {
    let (t, _key, first, second) = repo_with_a_leak(82);
    // The default branch as the clone knows it: origin/main at the first commit.
    t.git(&["update-ref", "refs/remotes/origin/main", &first]);
    let zero = "0".repeat(40);
    let new_branch = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "history"),
            ("EVENT_NAME", "push"),
            ("EVENT_BEFORE", &zero),
            ("EVENT_AFTER", &second),
            ("DEFAULT_BRANCH", "main"),
            ("REF", "refs/heads/feature"),
        ],
    );
    assert_eq!(
        new_branch.output("range"),
        Some(format!("origin/main..{second}").as_str()),
        "{}",
        new_branch.log
    );
    assert_eq!(new_branch.output("findings"), Some("3"));

    // The first push of the default branch: every commit.
    let first_push = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "history"),
            ("EVENT_NAME", "push"),
            ("EVENT_BEFORE", &zero),
            ("EVENT_AFTER", &second),
            ("DEFAULT_BRANCH", "main"),
            ("REF", "refs/heads/main"),
        ],
    );
    assert_eq!(first_push.output("range"), Some(""), "{}", first_push.log);
    assert!(first_push.log.contains("scanning every commit"));

    let pr = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "history"),
            ("EVENT_NAME", "pull_request"),
            ("PR_BASE", &first),
            ("PR_HEAD", &second),
            ("ANNOTATIONS", "false"),
        ],
    );
    assert_eq!(
        pr.output("range"),
        Some(format!("{first}..{second}").as_str())
    );
    assert_eq!(pr.code, 1);
    assert!(!pr.log.contains("::error file="), "annotations: false");
    assert!(pr.log.contains("miniback-api-key"), "{}", pr.log);

    // Explicit base/head win over the event.
    let explicit = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "history"),
            ("BASE", &second),
            ("EVENT_NAME", "pull_request"),
            ("PR_BASE", &first),
            ("PR_HEAD", &second),
        ],
    );
    assert_eq!(
        explicit.output("range"),
        Some(format!("{second}..HEAD").as_str())
    );
    assert_eq!(explicit.code, 0);

    let deleted = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "history"),
            ("EVENT_NAME", "push"),
            ("EVENT_BEFORE", &second),
            ("EVENT_AFTER", &zero),
        ],
    );
    assert_eq!(deleted.code, 0, "{}", deleted.log);
    assert_eq!(deleted.output("findings"), Some("0"));
    assert!(deleted.log.contains("nothing to scan"));
}

#[test]
fn errors_are_annotations_exit_2_and_leave_no_sarif_output() {
    let (t, _key, _first, second) = repo_with_a_leak(83);
    // A base the clone does not have (a shallow checkout, a typo).
    let bad = "1234567890123456789012345678901234567890";
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "history"),
            ("SARIF", "keyscan.sarif"),
            ("EVENT_NAME", "push"),
            ("BASE", bad),
            ("HEAD", &second),
        ],
    );
    assert_eq!(s.code, 2);
    assert_eq!(s.output("exit-code"), Some("2"));
    assert_eq!(s.output("sarif-file"), None);
    assert!(
        s.log.contains(&format!(
            "::error title=keyscan::base '{bad}' is not a commit"
        )),
        "{}",
        s.log
    );
    assert!(!t.path().join("keyscan.sarif").exists());

    // keyscan's own error (a broken config) reaches the annotations.
    t.write(".keyscan.toml", "fail_on = \"sometimes\"\n");
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[("MODE", "tree"), ("SARIF", "keyscan.sarif")],
    );
    assert_eq!(s.code, 2, "{}", s.log);
    assert_eq!(s.output("exit-code"), Some("2"));
    assert_eq!(s.output("sarif-file"), None);
    assert!(
        s.log.lines().any(
            |l| l.starts_with("::error title=keyscan::keyscan:") && l.contains(".keyscan.toml")
        ),
        "{}",
        s.log
    );
    std::fs::remove_file(t.path().join(".keyscan.toml")).unwrap();

    let s = step(t.path(), "scan.sh", &[], &[("MODE", "staged")]);
    assert_eq!(s.code, 2);
    assert!(
        s.log.contains("::error title=keyscan::mode: staged"),
        "{}",
        s.log
    );
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[("MODE", "tree"), ("BASE", &second)],
    );
    assert_eq!(s.code, 2);
    assert!(
        s.log.contains("base and head are for mode: history"),
        "{}",
        s.log
    );
}

#[test]
fn tree_mode_runs_the_dotenv_checks_and_honours_fail_on_and_args() {
    let t = TempTree::new();
    t.git_init();
    t.write(".gitignore", "node_modules/\n");
    t.write("README.md", "# app\n");
    t.commit_all("first");
    // A dotenv file git neither tracks nor ignores: no key, still a finding
    // (low since #14, so fail on low here).
    t.write(".env", "DEBUG=1\n");
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[("MODE", "tree"), ("SARIF", "k.sarif"), ("FAIL_ON", "low")],
    );
    assert_eq!(s.code, 1, "{}", s.log);
    assert!(s.log.contains("::warning file=.env,title="), "{}", s.log);
    assert!(s.summary.contains("dotenv-not-ignored"), "{}", s.summary);
    assert_eq!(s.output("sarif-file"), Some("k.sarif"));

    // fail-on critical: reported, the step passes.
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[("MODE", "tree"), ("FAIL_ON", "critical")],
    );
    assert_eq!(s.code, 0, "{}", s.log);
    assert_eq!(s.output("exit-code"), Some("0"));
    assert_ne!(s.output("findings"), Some("0"));

    // Extra args reach keyscan, split on whitespace.
    t.write(
        ".keyscan.toml",
        "[allowlist]\nrules = [\"dotenv-not-ignored\", \"gitignore-env-coverage\"]\n",
    );
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[
            ("MODE", "tree"),
            ("FAIL_ON", "low"),
            ("EXTRA", "--no-allowlist  --quiet"),
        ],
    );
    assert_eq!(s.code, 1, "--no-allowlist reached keyscan:\n{}", s.log);
    let s = step(
        t.path(),
        "scan.sh",
        &[],
        &[("MODE", "tree"), ("FAIL_ON", "low")],
    );
    assert_eq!(s.code, 0, "the allowlist applies without it:\n{}", s.log);
    assert!(s.summary.contains("Suppressed:"), "{}", s.summary);
}

#[test]
fn summary_escapes_hostile_paths() {
    let t = TempTree::new();
    t.git_init();
    t.write(".gitignore", ".env\n.env.*\n");
    let mut rng = Rng::new(84);
    let key = miniback_key(&mut rng);
    let name = "a|b<script>`x`[y](z).js";
    t.write(name, format!("k = \"{key}\"\n"));
    let s = step(t.path(), "scan.sh", &[], &[("MODE", "tree")]);
    assert_eq!(s.code, 1, "{}", s.log);
    let row = s
        .summary
        .lines()
        .find(|l| l.starts_with("| high"))
        .unwrap_or_else(|| panic!("{}", s.summary));
    assert!(
        row.contains("<code>a&#124;b&lt;script&gt;&#96;x&#96;&#91;y&#93;(z).js:1</code>"),
        "{row}"
    );
    assert_eq!(
        row.matches(" | ").count(),
        5,
        "the path cannot add a column: {row}"
    );
}

/// A release folder as GitHub serves it: the archive and SHA256SUMS.
fn fake_release(version: &str, target: &str) -> (TempTree, PathBuf) {
    let rel = TempTree::new();
    let name = format!("keyscan-{version}-{target}");
    let dir = rel.path().join(version);
    std::fs::create_dir_all(dir.join(&name)).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_keyscan"),
        dir.join(&name).join("keyscan"),
    )
    .unwrap();
    let tar = Command::new("tar")
        .args(["-czf", &format!("{name}.tar.gz"), &name])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(tar.success());
    std::fs::remove_dir_all(dir.join(&name)).unwrap();
    let sums = Command::new("sha256sum")
        .arg(format!("{name}.tar.gz"))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(sums.status.success());
    std::fs::write(dir.join("SHA256SUMS"), &sums.stdout).unwrap();
    (rel, dir.join(format!("{name}.tar.gz")))
}

#[test]
fn install_downloads_the_tagged_release_and_verifies_its_checksum() {
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let target = "x86_64-unknown-linux-musl";
    let (release, archive) = fake_release(&version, target);
    let url = format!("file://{}", release.path().display());
    let cache = TempTree::new();
    let runner = [
        ("RUNNER_OS", "Linux"),
        ("RUNNER_ARCH", "X64"),
        ("RUNNER_TOOL_CACHE", cache.path().to_str().unwrap()),
        ("KEYSCAN_RELEASE_URL", url.as_str()),
        ("ACTION_REPOSITORY", "keyscan/keyscan"),
    ];
    let here = TempTree::new();

    // The action's own tag decides the version when the input is empty;
    // the runner's folder name is the fallback when action_ref is empty.
    let mut env = runner.to_vec();
    let action_path = format!("/home/runner/work/_actions/keyscan/keyscan/{version}");
    env.extend([("ACTION_REF", ""), ("ACTION_PATH", action_path.as_str())]);
    let r = step(here.path(), "install.sh", &["resolve"], &env);
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.output("version"), Some(version.as_str()));
    assert_eq!(r.output("target"), Some(target));
    assert_eq!(
        r.output("cache-key"),
        Some(format!("keyscan-{version}-{target}").as_str())
    );
    let dir = r.output("dir").unwrap().to_string();
    assert!(dir.starts_with(cache.path().to_str().unwrap()), "{dir}");

    let mut env = runner.to_vec();
    env.extend([
        ("KEYSCAN_VERSION", version.as_str()),
        ("KEYSCAN_TARGET", target),
        ("KEYSCAN_DIR", dir.as_str()),
    ]);
    let i = step(here.path(), "install.sh", &["install"], &env);
    assert_eq!(i.code, 0, "{}", i.log);
    assert!(i.log.contains("checksum verified"), "{}", i.log);
    let out = Command::new(Path::new(&dir).join("keyscan"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("keyscan {}", env!("CARGO_PKG_VERSION"))
    );

    // A tampered archive is refused: an error, no binary, no fallback.
    std::fs::remove_file(Path::new(&dir).join("keyscan")).unwrap();
    let mut bytes = std::fs::read(&archive).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let i = step(here.path(), "install.sh", &["install"], &env);
    assert_eq!(i.code, 2, "{}", i.log);
    assert!(
        i.log.contains("::error title=keyscan::checksum mismatch"),
        "{}",
        i.log
    );
    assert!(!Path::new(&dir).join("keyscan").exists());
    assert!(!i.log.contains("building from source"), "{}", i.log);
}

#[test]
fn install_resolves_branches_and_bad_versions() {
    let cache = TempTree::new();
    let here = TempTree::new();
    let base = [
        ("RUNNER_OS", "Linux"),
        ("RUNNER_ARCH", "X64"),
        ("RUNNER_TOOL_CACHE", cache.path().to_str().unwrap()),
    ];
    let root = repo_root();
    let mut env = base.to_vec();
    env.extend([
        ("ACTION_REF", "main"),
        ("ACTION_PATH", root.to_str().unwrap()),
    ]);
    let r = step(here.path(), "install.sh", &["resolve"], &env);
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(
        r.output("version"),
        Some("source"),
        "a branch builds from source"
    );
    let key = r.output("cache-key").unwrap();
    assert!(
        key.starts_with("keyscan-source-") && key.ends_with("-Linux-X64"),
        "{key}"
    );

    // An input without the v, and an unknown platform.
    let mut env = base.to_vec();
    env.extend([("KEYSCAN_VERSION", "1.2.3")]);
    let r = step(here.path(), "install.sh", &["resolve"], &env);
    assert_eq!(r.output("version"), Some("v1.2.3"), "{}", r.log);
    let mut env = base.to_vec();
    env.extend([
        ("KEYSCAN_VERSION", "v1.2.3"),
        ("RUNNER_ARCH", "ARM"),
        ("ACTION_PATH", root.to_str().unwrap()),
    ]);
    let r = step(here.path(), "install.sh", &["resolve"], &env);
    assert_eq!(r.output("version"), Some("source"), "{}", r.log);
    assert!(r
        .log
        .contains("::notice title=keyscan::no prebuilt keyscan"));

    let mut env = base.to_vec();
    env.extend([("KEYSCAN_VERSION", "latest; rm -rf /")]);
    let r = step(here.path(), "install.sh", &["resolve"], &env);
    assert_eq!(r.code, 2);
    assert!(
        r.log
            .contains("::error title=keyscan::version 'latest; rm -rf /' is not"),
        "{}",
        r.log
    );
}
