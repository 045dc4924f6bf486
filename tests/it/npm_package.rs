//! The npm distribution, for real: `npm/build.js` assembles `@keyscan/cli`
//! and this machine's platform package around the freshly built binary,
//! `npm pack` makes the tarballs a registry would serve, and a sample
//! project installs them (offline, as files: nothing is fetched for keyscan)
//! next to husky and lint-staged from the npm registry. Then real
//! `git commit`s go through the hooks exactly as the README writes them: a
//! random key is refused with keyscan's finding, a clean commit passes.
//!
//! Needs node, npm and the npm registry (for husky and lint-staged):
//! `#[ignore]`d so a plain `cargo test` lists it as ignored; `.ci/run` runs
//! it with `--include-ignored`, and then a missing tool fails it.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    work: TempTree,
    cache: PathBuf,
}

impl Env {
    fn new() -> Self {
        let work = TempTree::new();
        std::fs::write(
            work.path().join("gitconfig"),
            "[user]\n\tname = Test User\n\temail = test@example.com\n[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        // npm's cache outlives the test, so husky and lint-staged are
        // downloaded once per target directory.
        let cache = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"))
            .join("npm-test-cache");
        Env { work, cache }
    }

    fn run(&self, dir: &Path, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .env("HOME", self.work.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.work.path().join("gitconfig"))
            .env("npm_config_cache", &self.cache)
            .env("npm_config_update_notifier", "false")
            .env("npm_config_fund", "false")
            .env("npm_config_audit", "false")
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("KEYSCAN_BINARY");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    fn ok(&self, dir: &Path, program: &str, args: &[&str]) -> String {
        let out = self.run(dir, program, args, &[]);
        let text = text(&out);
        assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
        text
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[ignore = "needs node, npm and the npm registry (husky, lint-staged); .ci/run runs it"]
fn npm_package_runs_keyscan_through_husky_and_lint_staged() {
    require("node", ".ci/run installs it with apt");
    require("npm", ".ci/run installs it with apt");
    let env = Env::new();
    let root = repo_root();
    let host = env.ok(
        &root,
        "node",
        &["-p", "process.platform + '-' + process.arch"],
    );
    let host = host.trim();

    // The packages, as a release would build them, from this build's binary.
    let out = env.work.path().join("npm-out");
    let binary = format!("{host}={}", env!("CARGO_BIN_EXE_keyscan"));
    let listed = env.ok(
        &root,
        "node",
        &[
            "npm/build.js",
            "--binary",
            &binary,
            "--platforms",
            host,
            "--out",
            out.to_str().unwrap(),
            "--pack",
        ],
    );
    let tarballs: Vec<&str> = listed.lines().filter(|l| l.ends_with(".tgz")).collect();
    assert_eq!(tarballs.len(), 2, "{listed}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(tarballs[0].ends_with(&format!("keyscan-cli-{host}-{version}.tgz")));
    assert!(tarballs[1].ends_with(&format!("keyscan-cli-{version}.tgz")));
    let pkg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("cli/package.json")).unwrap()).unwrap();
    assert_eq!(pkg["version"], version);
    assert_eq!(pkg["optionalDependencies"].as_object().unwrap().len(), 5);
    assert!(pkg.get("scripts").is_none(), "no install scripts");

    // A sample project.
    let app = env.work.path().join("app");
    std::fs::create_dir(&app).unwrap();
    env.ok(&app, "git", &["init", "-q"]);
    env.ok(&app, "npm", &["init", "-y"]);
    std::fs::write(app.join(".gitignore"), "node_modules/\n.env\n.env.*\n").unwrap();
    let mut install = vec!["install", "--save-dev", "--offline"];
    install.extend(tarballs.iter().copied());
    env.ok(&app, "npm", &install);
    env.ok(
        &app,
        "npm",
        &["install", "--save-dev", "husky@9", "lint-staged@15"],
    );
    let said = env.ok(&app, "npx", &["keyscan", "--version"]);
    assert_eq!(said.trim(), format!("keyscan {version}"));

    // husky, with the README's hook.
    env.ok(&app, "npx", &["husky", "init"]);
    std::fs::write(
        app.join(".husky/pre-commit"),
        readme_snippet("husky-pre-commit"),
    )
    .unwrap();
    env.ok(&app, "git", &["add", "-A"]);
    let clean = env.run(&app, "git", &["commit", "-m", "clean"], &[]);
    assert!(
        clean.status.success(),
        "a clean commit was refused:\n{}",
        text(&clean)
    );

    let mut rng = Rng::new(91);
    let key = miniback_key(&mut rng);
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(
        app.join("src/config.js"),
        format!("export const MINIBACK_KEY = \"{key}\";\n"),
    )
    .unwrap();
    env.ok(&app, "git", &["add", "src/config.js"]);
    let leak = env.run(&app, "git", &["commit", "-m", "leak"], &[]);
    let log = text(&leak);
    assert!(!leak.status.success(), "husky let a key through:\n{log}");
    assert!(log.contains("miniback-api-key"), "{log}");
    assert!(log.contains("src/config.js:1:"), "{log}");
    assert!(!log.contains(&key), "raw key printed:\n{log}");

    // lint-staged, with the README's config and hook: still refused.
    std::fs::write(
        app.join("lint-staged.config.mjs"),
        readme_snippet("lint-staged-config"),
    )
    .unwrap();
    std::fs::write(
        app.join(".husky/pre-commit"),
        readme_snippet("husky-lint-staged"),
    )
    .unwrap();
    env.ok(
        &app,
        "git",
        &["add", "lint-staged.config.mjs", ".husky/pre-commit"],
    );
    let leak = env.run(&app, "git", &["commit", "-m", "leak via lint-staged"], &[]);
    let log = text(&leak);
    assert!(
        !leak.status.success(),
        "lint-staged let a key through:\n{log}"
    );
    assert!(log.contains("keyscan --staged"), "{log}");
    assert!(log.contains("miniback-api-key"), "{log}");
    assert!(!log.contains(&key), "raw key printed:\n{log}");
    let history = env.ok(&app, "git", &["log", "--oneline"]);
    assert_eq!(history.lines().count(), 1, "{history}");

    // Without the key, lint-staged lets the commit through.
    env.ok(&app, "git", &["rm", "-q", "--cached", "src/config.js"]);
    std::fs::remove_file(app.join("src/config.js")).unwrap();
    let ok = env.run(&app, "git", &["commit", "-m", "lint-staged"], &[]);
    assert!(ok.status.success(), "{}", text(&ok));

    // The launcher's errors: a bad override, a missing platform package.
    let bad = env.run(
        &app,
        "npx",
        &["keyscan", "."],
        &[("KEYSCAN_BINARY", "/nonexistent/keyscan")],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("KEYSCAN_BINARY is set to /nonexistent/keyscan"));
    std::fs::remove_dir_all(
        app.join("node_modules/@keyscan")
            .join(format!("cli-{host}")),
    )
    .unwrap();
    let missing = env.run(&app, "npx", &["keyscan", "--version"], &[]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        text(&missing).contains(&format!(
            "@keyscan/cli-{host}, which holds the keyscan binary"
        )),
        "{}",
        text(&missing)
    );
}
