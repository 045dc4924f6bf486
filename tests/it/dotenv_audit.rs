//! End-to-end tests of the dotenv hygiene audits on real temporary git
//! repositories created with the `git` CLI: `.gitignore` coverage as git
//! decides it, tracked and unignored dotenv and secret files, bundler-exposed
//! variables, keys reused across environments, bundle provenance, the
//! fallback outside git, and `--fix`.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

/// Runs keyscan with `--format json` in `dir`, with HOME pointing into the
/// test tree so no global git config of the machine leaks in.
fn scan(dir: &Path, args: &[&str]) -> (Value, i32) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = keyscan()
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .args(&all)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}), exit {code}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, code)
}

/// Runs `keyscan --fix` in `dir`; returns stdout and the exit code.
fn fix(dir: &Path) -> (String, i32) {
    let out = keyscan()
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .args(["--fix"])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn repo() -> TempTree {
    let t = TempTree::new();
    t.git_init();
    t
}

fn rules<'a>(v: &'a Value, rule: &str) -> Vec<&'a Value> {
    findings(v)
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

/// The probe names a `gitignore-env-coverage` finding at `path` lists.
fn missing(v: &Value, gitignore: &str) -> Vec<String> {
    let f = find(v, "gitignore-env-coverage", gitignore);
    assert_eq!(f.len(), 1, "one coverage finding at {gitignore}: {v:#}");
    f[0]["remediation"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("    "))
        .map(|l| l.trim().to_string())
        .collect()
}

const ALL_PROBES: [&str; 6] = [
    ".env",
    ".env.local",
    ".env.development.local",
    ".env.production",
    ".env.production.local",
    ".env.staging",
];

#[test]
fn a_pattern_for_env_only_leaves_the_other_names_uncovered() {
    let t = repo();
    t.write(".gitignore", "node_modules/\n.env\n");
    t.write("package.json", "{}");
    let (v, _) = scan(t.path(), &["."]);
    assert_eq!(missing(&v, ".gitignore"), ALL_PROBES[1..].to_vec());
    let f = &find(&v, "gitignore-env-coverage", ".gitignore")[0];
    assert_eq!(f["severity"], "medium", "no dotenv file exists yet");
    assert_eq!(f["origin"], "audit");
    assert_eq!(f["line"], 0);
    assert_eq!(f["secret_redacted"], Value::Null);

    // A dotenv file without a secret key there: still medium, and named.
    t.write(".env.local", "PORT=3000\n");
    let (v, _) = scan(t.path(), &["."]);
    let f = &find(&v, "gitignore-env-coverage", ".gitignore")[0];
    assert_eq!(f["severity"], "medium");
    assert!(f["message"].as_str().unwrap().contains(
        "`.env.local` is already there and git does not ignore it (it holds no secret key today)"
    ));
    // An ignored `.env` with a key does not make it high either.
    let mut rng = Rng::new(14);
    t.write(
        ".env",
        format!("MINIBACK_API_KEY={}\n", miniback_key(&mut rng)),
    );
    let (v, _) = scan(t.path(), &["."]);
    assert_eq!(
        find(&v, "gitignore-env-coverage", ".gitignore")[0]["severity"],
        "medium"
    );
    // With only the ignored `.env` there (where keys belong), the message
    // names no file and says nothing of a file without keys.
    std::fs::remove_file(t.path().join(".env.local")).unwrap();
    let (v, _) = scan(t.path(), &["."]);
    let f = &find(&v, "gitignore-env-coverage", ".gitignore")[0];
    let message = f["message"].as_str().unwrap();
    assert_eq!(f["severity"], "medium");
    assert!(
        !message.contains("already") && !message.contains("no secret key"),
        "{message}"
    );
    // An unignored dotenv file there holding a secret key makes it high.
    t.write(
        ".env.local",
        format!("MINIBACK_API_KEY={}\n", miniback_key(&mut rng)),
    );
    let (v, _) = scan(t.path(), &["."]);
    let f = &find(&v, "gitignore-env-coverage", ".gitignore")[0];
    assert_eq!(f["severity"], "high");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("`.env.local` is already there"));
}

#[test]
fn no_gitignore_at_all_lists_every_probe_and_a_covered_repo_is_clean() {
    let t = repo();
    t.write("README.md", "hello\n");
    let (v, code) = scan(t.path(), &["."]);
    assert_eq!(missing(&v, ".gitignore"), ALL_PROBES.to_vec());
    assert_eq!(code, 0, "medium does not fail the default threshold");

    t.write(".gitignore", ".env*\n!.env.example\n");
    let (v, code) = scan(t.path(), &["."]);
    assert!(findings(&v).is_empty(), "{v:#}");
    assert_eq!(code, 0);
}

#[test]
fn negation_keeps_templates_committable_and_they_are_still_scanned() {
    let t = repo();
    let mut rng = Rng::new(11);
    let key = miniback_key(&mut rng);
    t.write(".gitignore", ".env*\n!.env.example\n");
    t.write(
        ".env.example",
        format!("MINIBACK_API_KEY=mbk_your_key\nREAL={key}\n"),
    );
    t.commit_all("template");
    let (v, _) = scan(t.path(), &["."]);
    assert!(rules(&v, "gitignore-env-coverage").is_empty(), "{v:#}");
    assert!(
        rules(&v, "dotenv-tracked").is_empty(),
        "templates may be tracked"
    );
    assert!(rules(&v, "dotenv-not-ignored").is_empty());
    let keys = find(&v, "miniback-api-key", ".env.example");
    assert_eq!(
        keys.len(),
        1,
        "the real key in the template is reported, the placeholder is not"
    );
    assert_eq!(keys[0]["severity"], "high");
    assert!(keys[0]["message"].as_str().unwrap().contains("template"));
}

#[test]
fn nested_gitignore_can_reinclude_and_only_that_folder_is_reported() {
    let t = repo();
    t.write(".gitignore", ".env*\n");
    t.write("apps/web/package.json", "{}");
    t.write("apps/web/.gitignore", "!.env.local\n");
    t.write("apps/api/package.json", "{}");
    let (v, _) = scan(t.path(), &["."]);
    let cov = rules(&v, "gitignore-env-coverage");
    assert_eq!(cov.len(), 1, "{v:#}");
    assert_eq!(missing(&v, "apps/web/.gitignore"), vec![".env.local"]);
}

/// A deeper `.gitignore` that re-includes a folder the root's rules name
/// (`!/node_modules/`, as vite's test fixtures do) re-includes it for git:
/// its packages are project roots whose `.env` git would take, and the root's
/// lines cover them. keyscan answers as `git check-ignore` does (libgit2 alone
/// called those files ignored).
#[test]
fn a_deeper_gitignore_can_reinclude_a_folder_the_root_ignores() {
    let t = repo();
    t.write("package.json", "{}");
    t.write(".gitignore", "node_modules\n");
    t.write("fixtures/sass/package.json", "{}");
    t.write("fixtures/sass/.gitignore", "!/node_modules/\n");
    t.write("fixtures/sass/node_modules/pkg/package.json", "{}");
    t.write("node_modules/dep/package.json", "{}");
    let git_says = |path: &str| {
        std::process::Command::new("git")
            .args(["check-ignore", "-q", "--no-index", path])
            .current_dir(t.path())
            .status()
            .unwrap()
            .success()
    };
    assert!(!git_says("fixtures/sass/node_modules/pkg/.env"));
    assert!(git_says("node_modules/dep/.env"));
    let (v, _) = scan(t.path(), &["."]);
    let cov = rules(&v, "gitignore-env-coverage");
    assert_eq!(cov.len(), 1, "{v:#}");
    assert_eq!(missing(&v, ".gitignore"), ALL_PROBES);
    let message = cov[0]["message"].as_str().unwrap();
    assert!(
        message.contains("`fixtures/sass/node_modules/pkg/`"),
        "{message}"
    );
    assert!(!message.contains("node_modules/dep"), "{message}");
}

#[test]
fn info_exclude_and_core_excludesfile_count() {
    let t = repo();
    t.write("package.json", "{}");
    t.write(".git/info/exclude", "# local\n.env*\n");
    let (v, _) = scan(t.path(), &["."]);
    assert!(rules(&v, "gitignore-env-coverage").is_empty(), "{v:#}");

    let u = repo();
    u.write("package.json", "{}");
    u.write("global-ignore", ".env\n.env.*\n");
    u.git(&[
        "config",
        "core.excludesFile",
        &u.path().join("global-ignore").to_string_lossy(),
    ]);
    let (v, _) = scan(u.path(), &["."]);
    assert!(rules(&v, "gitignore-env-coverage").is_empty(), "{v:#}");
}

#[test]
fn monorepo_with_two_apps_gets_one_root_finding_that_covers_both() {
    let t = repo();
    t.write(
        "package.json",
        r#"{"private":true,"workspaces":["apps/*"]}"#,
    );
    t.write(
        "apps/web/package.json",
        r#"{"devDependencies":{"vite":"5"}}"#,
    );
    t.write(
        "apps/api/package.json",
        r#"{"dependencies":{"express":"4"}}"#,
    );
    t.write("apps/api/.gitignore", "/.env\n");
    t.write(".gitignore", "node_modules/\n");
    let (v, _) = scan(t.path(), &["."]);
    let cov = rules(&v, "gitignore-env-coverage");
    assert_eq!(cov.len(), 1, "{v:#}");
    let msg = cov[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("`apps/api/`") && msg.contains("`apps/web/`"),
        "{msg}"
    );

    // With the root covered except `.env.staging`, and apps/api re-including
    // its own `.env.local`, each gap is reported where it is.
    t.write(".gitignore", "node_modules/\n.env\n.env.*\n!.env.staging\n");
    t.write("apps/api/.gitignore", "!.env.local\n");
    let (v, _) = scan(t.path(), &["."]);
    assert_eq!(missing(&v, ".gitignore"), vec![".env.staging"]);
    assert_eq!(missing(&v, "apps/api/.gitignore"), vec![".env.local"]);
    assert!(find(&v, "gitignore-env-coverage", "apps/web/.gitignore").is_empty());
}

#[test]
fn tracked_env_is_critical_with_a_key_even_when_now_ignored() {
    let t = repo();
    let mut rng = Rng::new(12);
    let key = urbackend_key(&mut rng, "sk_live_");
    t.write(".env", format!("URBACKEND_KEY={key}\n"));
    t.commit_all("oops");
    // Ignoring it afterwards does not untrack it.
    t.write(".gitignore", ".env*\n");
    t.commit_all("ignore");
    let (v, code) = scan(t.path(), &["."]);
    let tracked = find(&v, "dotenv-tracked", ".env");
    assert_eq!(tracked.len(), 1, "{v:#}");
    assert_eq!(tracked[0]["severity"], "critical");
    assert_eq!(tracked[0]["origin"], "file");
    let rem = tracked[0]["remediation"].as_str().unwrap();
    assert!(rem.contains("git rm --cached -- .env"), "{rem}");
    assert!(tracked[0]["message"].as_str().unwrap().contains("rotate"));
    // The key itself is reported (a tracked file is never "ignored").
    let k = find(&v, "urbackend-secret-key", ".env");
    assert_eq!(k.len(), 1, "{v:#}");
    assert!(k[0]["message"].as_str().unwrap().contains("git tracks"));
    assert_eq!(code, 1);
    assert!(!serde_json::to_string(&v).unwrap().contains(&key));

    // Without a key: low, saying why it is still worth untracking.
    let u = repo();
    u.write(".gitignore", ".env*\n");
    u.write("api/.env.production", "PORT=1\n");
    u.git(&["add", "-f", "api/.env.production", ".gitignore"]);
    u.git(&["commit", "-q", "-m", "x"]);
    let (v, _) = scan(u.path(), &["."]);
    let tracked = find(&v, "dotenv-tracked", "api/.env.production");
    assert_eq!(tracked.len(), 1, "{v:#}");
    assert_eq!(tracked[0]["severity"], "low");
    assert!(tracked[0]["message"]
        .as_str()
        .unwrap()
        .contains("holds no secret key today"));
}

#[test]
fn untracked_unignored_env_production_is_one_git_add_away() {
    let t = repo();
    t.write(".gitignore", ".env\n.env.local\n");
    t.write(".env.production", "PORT=1\n");
    t.write(".env.local", "PORT=2\n");
    let (v, _) = scan(t.path(), &["."]);
    let f = find(&v, "dotenv-not-ignored", ".env.production");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["severity"], "low", "no secret key in it");
    assert!(f[0]["remediation"]
        .as_str()
        .unwrap()
        .contains(".env.production"));
    assert!(find(&v, "dotenv-not-ignored", ".env.local").is_empty());
    // With a secret key in it: high.
    let mut rng = Rng::new(41);
    t.write(
        ".env.production",
        format!("MINIBACK_API_KEY={}\n", miniback_key(&mut rng)),
    );
    let (v, _) = scan(t.path(), &["."]);
    assert_eq!(
        find(&v, "dotenv-not-ignored", ".env.production")[0]["severity"],
        "high"
    );
}

#[test]
fn secret_files_tracked_or_not_ignored() {
    let t = repo();
    let mut rng = Rng::new(13);
    let key = stripe_key(&mut rng, "sk_live_");
    t.write(".gitignore", ".env*\n");
    t.write("secrets.json", format!("{{\"stripe\":\"{key}\"}}\n"));
    t.commit_all("secrets");
    t.write("config/keys.js", "module.exports = { port: 1 };\n");
    let (v, _) = scan(t.path(), &["."]);
    let tracked = find(&v, "secret-file-tracked", "secrets.json");
    assert_eq!(tracked.len(), 1, "{v:#}");
    assert_eq!(tracked[0]["severity"], "critical");
    let loose = find(&v, "secret-file-not-ignored", "config/keys.js");
    assert_eq!(loose.len(), 1, "{v:#}");
    assert_eq!(loose[0]["severity"], "high");
    assert!(loose[0]["remediation"]
        .as_str()
        .unwrap()
        .contains("    config/keys.js"));
}

#[test]
fn exposed_prefix_in_ignored_env_local_is_critical_and_plain_keys_stay_silent() {
    let t = repo();
    let mut rng = Rng::new(14);
    let public = miniback_key(&mut rng);
    let private = miniback_key(&mut rng);
    t.write(".gitignore", ".env*\n!.env.example\n");
    t.write("apps/web/package.json", r#"{"dependencies":{"next":"14"}}"#);
    t.write(
        "apps/web/.env.local",
        format!(
            "# local\r\nexport MINIBACK_SERVER_KEY='{private}'\r\nNEXT_PUBLIC_MINIBACK_KEY=\"{public}\" # inlined\r\nMULTI=\"a\r\nb\"\r\nREF=${{NEXT_PUBLIC_MINIBACK_KEY}}\r\n"
        ),
    );
    let (v, code) = scan(t.path(), &["."]);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "only the exposed key: {v:#}");
    assert_eq!(f[0]["rule_id"], "miniback-api-key");
    assert_eq!(f[0]["path"], "apps/web/.env.local");
    assert_eq!(f[0]["line"], 3);
    assert_eq!(f[0]["context"], "client");
    assert_eq!(f[0]["severity"], "critical");
    assert_eq!(f[0]["secret_redacted"], redacted(&public, "mbk_"));
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("NEXT_PUBLIC_MINIBACK_KEY") && msg.contains("public JavaScript"),
        "{msg}"
    );
    assert!(
        msg.contains("Git ignoring this file does not help"),
        "{msg}"
    );
    assert_eq!(v["summary"]["keys_in_ignored_dotenv"], 1);
    assert_eq!(code, 1);
}

#[test]
fn one_key_in_development_and_production_is_reused() {
    let t = repo();
    let mut rng = Rng::new(15);
    let shared = miniback_key(&mut rng);
    let prod_only = miniback_key(&mut rng);
    t.write(".gitignore", ".env*\n");
    t.write("api/package.json", "{}");
    t.write("api/.env.development", format!("MINIBACK_KEY={shared}\n"));
    t.write(
        "api/.env.production",
        format!("# prod\nMINIBACK_KEY={shared}\nOTHER={prod_only}\n"),
    );
    t.write("api/.env.production.local", format!("OTHER={prod_only}\n"));
    let (v, code) = scan(t.path(), &["."]);
    let reuse = rules(&v, "key-reused-across-environments");
    assert_eq!(reuse.len(), 1, "same environment twice is not reuse: {v:#}");
    let r = reuse[0];
    assert_eq!(r["severity"], "medium");
    assert_eq!(r["path"], "api/.env.development");
    assert_eq!(r["line"], 1);
    let msg = r["message"].as_str().unwrap();
    assert!(msg.contains("`api/.env.production:2`"), "{msg}");
    let text = serde_json::to_string(&v).unwrap();
    assert!(
        !text.contains(&shared) && !text.contains(&prod_only),
        "keys never printed"
    );
    assert_eq!(
        code, 0,
        "ignored dotenv keys and a medium finding do not fail"
    );
}

#[test]
fn bundle_finding_names_the_variable_it_was_inlined_from() {
    let t = repo();
    let mut rng = Rng::new(16);
    let key = miniback_key(&mut rng);
    t.write(".gitignore", ".env*\nnode_modules/\ndist/\n");
    t.write(
        "apps/web/package.json",
        r#"{"devDependencies":{"vite":"5"}}"#,
    );
    t.write(
        "apps/web/.env.local",
        format!("# web\nVITE_API=https://api.example.com\nNEXT_PUBLIC_MINIBACK_KEY={key}\n"),
    );
    t.write(
        "apps/web/dist/assets/index-4f3a9b2c.js",
        format!("(()=>{{const k=\"{key}\";fetch(u,{{headers:{{\"x-api-key\":k}}}})}})();\n"),
    );
    let (v, _) = scan(t.path(), &["."]);
    let bundle = find(
        &v,
        "miniback-api-key",
        "apps/web/dist/assets/index-4f3a9b2c.js",
    );
    assert_eq!(bundle.len(), 1, "{v:#}");
    let expected = "inlined from `NEXT_PUBLIC_MINIBACK_KEY` in `apps/web/.env.local:3`";
    assert_eq!(bundle[0]["source"], expected);
    assert!(bundle[0]["message"].as_str().unwrap().contains(expected));
    // The dotenv finding itself has no source.
    assert_eq!(
        find(&v, "miniback-api-key", "apps/web/.env.local")[0]["source"],
        Value::Null
    );

    // Linked when the variable has no exposed prefix too; and since the
    // built bundle proves the build inlined it, the dotenv line is no longer
    // "correct usage" but client/critical (issue #16).
    t.write("apps/web/.env.local", format!("MINIBACK_KEY={key}\n"));
    let (v, _) = scan(t.path(), &["."]);
    let line = find(&v, "miniback-api-key", "apps/web/.env.local");
    assert_eq!(line.len(), 1, "{v:#}");
    assert_eq!(line[0]["context"], "client");
    assert_eq!(line[0]["severity"], "critical");
    assert!(
        line[0]["context_reason"].as_str().unwrap().contains(
            "the built bundle `apps/web/dist/assets/index-4f3a9b2c.js` already holds this key"
        ),
        "{v:#}"
    );
    let bundle = find(
        &v,
        "miniback-api-key",
        "apps/web/dist/assets/index-4f3a9b2c.js",
    );
    assert_eq!(
        bundle[0]["source"],
        "inlined from `MINIBACK_KEY` in `apps/web/.env.local:1`"
    );
}

#[test]
fn outside_git_the_gitignore_files_decide_and_the_summary_says_so() {
    let t = TempTree::new();
    let mut rng = Rng::new(17);
    let key = miniback_key(&mut rng);
    t.write(".gitignore", ".env\n");
    t.write("package.json", "{}");
    t.write(".env", format!("MINIBACK_KEY={key}\n"));
    t.write(".env.local", "PORT=1\n");
    let (v, _) = scan(t.path(), &["."]);
    let notes = v["summary"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("git was not available")),
        "{notes:?}"
    );
    // Ignored by the .gitignore, but outside git nobody can tell whether a
    // repository tracks it: reported, with a note (#14).
    let k = find(&v, "miniback-api-key", ".env");
    assert_eq!(k.len(), 1, "{v:#}");
    assert!(k[0]["message"]
        .as_str()
        .unwrap()
        .contains("cannot tell whether the file is tracked"));
    assert_eq!(
        find(&v, "dotenv-not-ignored", ".env.local").len(),
        1,
        "{v:#}"
    );
    assert!(missing(&v, ".gitignore").contains(&".env.local".to_string()));
    assert!(rules(&v, "dotenv-tracked").is_empty());
}

#[test]
fn fix_appends_once_keeps_crlf_and_never_touches_the_index() {
    let t = repo();
    t.write("package.json", "{}");
    t.write(".gitignore", "node_modules/\r\n.env");
    t.write(".env", "PORT=1\r\n");
    t.git(&["add", "-f", ".env", ".gitignore", "package.json"]);
    t.git(&["commit", "-q", "-m", "init"]);
    t.write("apps/web/package.json", "{}");
    t.write("apps/web/.gitignore", "!.env.local\n");
    t.write("config/keys.js", "module.exports = {};\n");

    let (out, code) = fix(t.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("appended to .gitignore"), "{out}");
    assert!(out.contains("git rm --cached -- .env"), "{out}");
    let root = std::fs::read_to_string(t.path().join(".gitignore")).unwrap();
    assert!(root.starts_with("node_modules/\r\n.env\r\n"), "{root:?}");
    assert!(
        !root.replace("\r\n", "").contains('\n'),
        "CRLF kept: {root:?}"
    );
    for line in [".env.local", ".env.staging", "config/keys.js"] {
        assert!(
            root.contains(&format!("\r\n{line}\r\n")),
            "{line} in {root:?}"
        );
    }
    let web = std::fs::read_to_string(t.path().join("apps/web/.gitignore")).unwrap();
    assert!(
        web.starts_with("!.env.local\n") && web.ends_with("\n.env.local\n"),
        "{web:?}"
    );
    // The index is untouched: .env is still tracked, nothing staged.
    assert_eq!(t.git(&["ls-files", ".env"]).trim(), ".env");
    assert_eq!(t.git(&["diff", "--cached", "--name-only"]).trim(), "");

    let (v, _) = scan(t.path(), &["."]);
    assert!(rules(&v, "gitignore-env-coverage").is_empty(), "{v:#}");
    assert!(rules(&v, "secret-file-not-ignored").is_empty(), "{v:#}");
    assert_eq!(rules(&v, "dotenv-tracked").len(), 1);

    // Twice: nothing changes.
    let (out2, code2) = fix(t.path());
    assert_eq!(code2, 0);
    assert!(out2.contains("nothing to append"), "{out2}");
    assert_eq!(
        std::fs::read_to_string(t.path().join(".gitignore")).unwrap(),
        root
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("apps/web/.gitignore")).unwrap(),
        web
    );
}

#[test]
fn fix_creates_a_missing_gitignore() {
    let t = repo();
    t.write("README.md", "x\n");
    let (out, code) = fix(t.path());
    assert_eq!(code, 0);
    assert!(out.contains("created .gitignore"), "{out}");
    let text = std::fs::read_to_string(t.path().join(".gitignore")).unwrap();
    assert!(text.starts_with("# Added by keyscan --fix"));
    for p in ALL_PROBES {
        assert!(text.lines().any(|l| l == p), "{p}");
    }
    let (v, _) = scan(t.path(), &["."]);
    assert!(findings(&v).is_empty(), "{v:#}");
}
