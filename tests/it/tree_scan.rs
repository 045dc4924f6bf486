//! End-to-end tests of `keyscan PATH`: the real binary on fixture trees copied
//! into temporary git repositories.

use crate::common::*;
use serde_json::Value;

/// Rule ids of the repository-shape audits (tested in tests/dotenv_audit.rs).
const AUDIT_RULES: &[&str] = &[
    "gitignore-env-coverage",
    "dotenv-tracked",
    "dotenv-not-ignored",
    "secret-file-tracked",
    "secret-file-not-ignored",
    "key-reused-across-environments",
];

/// (rule, path, line, column, severity, context) of every key finding.
fn rows(v: &Value) -> Vec<(String, String, u64, u64, String, String)> {
    key_findings(v)
        .into_iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["severity"].as_str().unwrap().to_string(),
                f["context"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(
    rule: &str,
    path: &str,
    line: u64,
    col: u64,
    sev: &str,
    ctx: &str,
) -> (String, String, u64, u64, String, String) {
    (rule.into(), path.into(), line, col, sev.into(), ctx.into())
}

fn webapp() -> TempTree {
    let t = copy_fixture("webapp");
    t.git_init();
    t
}

#[test]
fn webapp_findings_cover_every_context() {
    let t = webapp();
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(code, 1);
    let mut got = rows(&v);
    got.sort();
    let mut want = vec![
        row(
            "urbackend-secret-key",
            "apps/next/.next/static/chunks/app/page-3f9a2b7c8d1e.js",
            1,
            81,
            "critical",
            "client",
        ),
        row(
            "miniback-api-key",
            "apps/next/app/widget.tsx",
            4,
            14,
            "critical",
            "client",
        ),
        row(
            "miniback-api-key",
            "apps/web/.env.local",
            2,
            20,
            "critical",
            "client",
        ),
        row(
            "miniback-api-key",
            "apps/web/dist/assets/index-8f3c2a1b.js",
            1,
            150034,
            "critical",
            "client",
        ),
        row(
            "miniback-api-key",
            "apps/web/dist/assets/index-8f3c2a1b.js.map",
            1,
            90,
            "critical",
            "client",
        ),
        row(
            "miniback-api-key",
            "apps/web/src/api.ts",
            5,
            12,
            "critical",
            "client",
        ),
        row(
            "miniback-api-key",
            "apps/api/src/routes/items.js",
            2,
            86,
            "high",
            "server",
        ),
        row(
            "urbackend-secret-key",
            "apps/api/src/server.js",
            4,
            26,
            "high",
            "server",
        ),
        row(
            "stripe-secret-key",
            "apps/api/src/server.js",
            5,
            24,
            "high",
            "server",
        ),
        row(
            "miniback-api-key",
            "apps/next/app/api/route.ts",
            2,
            16,
            "high",
            "server",
        ),
        row(
            "miniback-api-key",
            "apps/api/tests/auth.test.js",
            2,
            16,
            "medium",
            "test",
        ),
        row("miniback-api-key", "docs/setup.md", 5, 31, "high", "docs"),
        row(
            "urbackend-publishable-key",
            "apps/web/public/embed.js",
            1,
            46,
            "info",
            "client",
        ),
    ];
    want.sort();
    assert_eq!(got, want);
    let audits: Vec<_> = findings(&v)
        .iter()
        .filter(|f| AUDIT_RULES.contains(&f["rule_id"].as_str().unwrap()))
        .map(|f| (f["rule_id"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        audits,
        [("gitignore-env-coverage", ".gitignore")],
        "the root .gitignore misses .env.production and .env.staging"
    );

    let s = &v["summary"];
    assert_eq!(
        s["build_dirs_scanned"],
        serde_json::json!(["apps/next/.next", "apps/web/dist"])
    );
    assert_eq!(
        s["keys_in_ignored_dotenv"], 1,
        "apps/api/.env holds a key in an ignored file"
    );
    assert!(s["placeholders_ignored"].as_u64().unwrap() >= 1);
    assert_eq!(s["findings_by_severity"]["critical"], 6);
    assert_eq!(s["findings_by_severity"]["info"], 1);
    assert_eq!(v["version"], 1);
}

#[test]
fn findings_carry_rotation_guidance_with_project_ids() {
    let t = webapp();
    let (v, _) = json_in(t.path(), &["."]);
    let src = &find(&v, "miniback-api-key", "apps/web/src/api.ts")[0];
    let rem = src["remediation"].as_str().unwrap();
    assert!(rem.contains("already public"), "{rem}");
    assert!(rem.contains("API Access"), "{rem}");
    assert!(
        rem.contains("`acme-web-prod`"),
        "project id from apps/web/.env.local: {rem}"
    );
    assert_eq!(src["rotation_url"], "https://www.miniback.io/docs");

    // `?api_key=mbk_…`: one finding for the key, under its own rule id,
    // with the URL advice (#14).
    assert!(find(&v, "miniback-key-in-url", "apps/api/src/routes/items.js").is_empty());
    let url = find(&v, "miniback-api-key", "apps/api/src/routes/items.js");
    assert_eq!(url.len(), 1, "{url:#?}");
    let url = url[0];
    assert!(url["remediation"].as_str().unwrap().contains("`acme-api`"));
    assert!(url["remediation"]
        .as_str()
        .unwrap()
        .contains("query string"));
    assert!(url["message"].as_str().unwrap().contains("x-api-key"));

    let ub = &find(&v, "urbackend-secret-key", "apps/api/src/server.js")[0];
    assert!(ub["remediation"].as_str().unwrap().contains("Roll"));
    let stripe = &find(&v, "stripe-secret-key", "apps/api/src/server.js")[0];
    assert_eq!(
        stripe["rotation_url"],
        "https://dashboard.stripe.com/apikeys"
    );

    let env = &find(&v, "miniback-api-key", "apps/web/.env.local")[0];
    assert!(env["message"]
        .as_str()
        .unwrap()
        .contains("VITE_MINIBACK_KEY"));
    assert!(env["remediation"]
        .as_str()
        .unwrap()
        .contains("drop the `VITE_` prefix"));
    for f in findings(&v) {
        assert_eq!(f["fingerprint"].as_str().unwrap().len(), 32);
        assert!(f["message"].as_str().unwrap().len() > 20);
    }
}

#[test]
fn no_raw_secret_in_any_output_without_show_secrets() {
    let t = webapp();
    let keys = [
        key_in(&t, "apps/web/src/api.ts", r"mbk_[a-z0-9]{20}"),
        key_in(&t, "apps/api/src/server.js", r"sk_live_[A-Za-z0-9_-]{43}"),
        key_in(
            &t,
            "apps/web/dist/assets/index-8f3c2a1b.js",
            r"mbk_[a-z0-9]{20}",
        ),
    ];
    for format in ["text", "json"] {
        let out = run_in(t.path(), &["--format", format, "--color", "always", "."]);
        let all = [out.stdout, out.stderr].concat();
        let text = String::from_utf8_lossy(&all);
        for k in &keys {
            assert!(
                !text.contains(k.as_str()),
                "{format} output leaks {}",
                redacted(k, &k[..4])
            );
            assert!(
                !text.contains(&k[..k.len() - 1]),
                "{format} output leaks most of a key"
            );
        }
    }
    let out = run_in(t.path(), &["--show-secrets", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        keys.iter().all(|k| text.contains(k.as_str())),
        "--show-secrets prints the keys"
    );
    let (v, _) = json_in(t.path(), &["--show-secrets", "."]);
    assert!(findings(&v).iter().any(|f| f["secret"] == keys[0].as_str()));
}

#[test]
fn redacted_form_is_prefix_four_and_two() {
    let t = webapp();
    let key = key_in(&t, "apps/web/src/api.ts", r"mbk_[a-z0-9]{20}");
    let (v, _) = json_in(t.path(), &["."]);
    let f = &find(&v, "miniback-api-key", "apps/web/src/api.ts")[0];
    assert_eq!(f["secret_redacted"], redacted(&key, "mbk_").as_str());
    assert_eq!(
        f["snippet"],
        format!("apiKey: \"{}\",", redacted(&key, "mbk_")).as_str()
    );
}

#[test]
fn fail_on_threshold_drives_the_exit_code() {
    let t = TempTree::new();
    let mut rng = Rng::new(1);
    // A key in a test fixture is medium (docs are high since issue #16).
    t.write(
        "tests/fixtures/guide.txt",
        format!("key: {}\n", miniback_key(&mut rng)),
    );
    t.write(
        "web/public/embed.js",
        format!("k='{}'\n", urbackend_key(&mut rng, "pk_live_")),
    );
    assert_eq!(
        run_in(t.path(), &["."]).status.code(),
        Some(0),
        "medium < high"
    );
    assert_eq!(
        run_in(t.path(), &["--fail-on", "medium", "."])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run_in(t.path(), &["--fail-on", "info", "."]).status.code(),
        Some(1)
    );
    assert_eq!(
        run_in(t.path(), &["--fail-on", "critical", "."])
            .status
            .code(),
        Some(0)
    );
    let bad = run_in(t.path(), &["--fail-on", "severe", "."]);
    assert_eq!(bad.status.code(), Some(2));
    t.write(".keyscan.toml", "fail_on = \"medium\"\n");
    assert_eq!(
        run_in(t.path(), &["."]).status.code(),
        Some(1),
        "fail_on from config"
    );
    assert_eq!(
        run_in(t.path(), &["--fail-on", "high", "."]).status.code(),
        Some(0),
        "flag wins"
    );
}

#[test]
fn build_dirs_can_be_turned_off_and_node_modules_is_never_scanned() {
    let t = webapp();
    let mut rng = Rng::new(2);
    t.write(
        "apps/web/dist/node_modules/lib/index.js",
        format!("k='{}'\n", miniback_key(&mut rng)),
    );
    t.write(
        "node_modules/pkg/dist/index.js",
        format!("k='{}'\n", miniback_key(&mut rng)),
    );
    t.write("apps/web/.gitignore", "dist/\nnode_modules/\n");
    let (v, _) = json_in(t.path(), &["."]);
    assert!(findings(&v)
        .iter()
        .all(|f| !f["path"].as_str().unwrap().contains("node_modules")));
    let (v, _) = json_in(t.path(), &["--no-build-dirs", "."]);
    assert!(findings(&v)
        .iter()
        .all(|f| !f["path"].as_str().unwrap().contains("/dist/")));
    assert!(findings(&v)
        .iter()
        .all(|f| !f["path"].as_str().unwrap().contains("/.next/")));
    assert_eq!(v["summary"]["build_dirs_scanned"], serde_json::json!([]));
    let text = String::from_utf8_lossy(&run_in(t.path(), &["."]).stdout).into_owned();
    assert!(
        text.contains("also scanned git-ignored build output"),
        "{text}"
    );
}

#[test]
fn explicit_paths_are_scanned_even_if_ignored() {
    let t = webapp();
    let (v, code) = json_in(t.path(), &["apps/api/.env"]);
    assert_eq!(
        code, 0,
        "a key in an ignored dotenv file without an exposed prefix is fine"
    );
    assert_eq!(key_findings(&v).len(), 0);
    assert_eq!(
        v["summary"]["keys_in_ignored_dotenv"], 1,
        "named explicitly, still ignored by git"
    );
    let (v, _) = json_in(t.path(), &["apps/web/dist/assets/index-8f3c2a1b.js"]);
    assert_eq!(key_findings(&v).len(), 1);
    assert_eq!(
        key_findings(&v)[0]["path"],
        "apps/web/dist/assets/index-8f3c2a1b.js"
    );
}

#[test]
fn no_ignore_still_asks_git_which_dotenv_files_are_ignored() {
    // --no-ignore walks ignored files too; a key in a dotenv file git ignores
    // (without an exposed prefix) is still correct usage, not a finding.
    let t = webapp();
    let (v, _) = json_in(t.path(), &["--no-ignore", "."]);
    assert!(find(&v, "miniback-api-key", "apps/api/.env").is_empty());
    assert_eq!(v["summary"]["keys_in_ignored_dotenv"], 1);
    assert_eq!(find(&v, "miniback-api-key", "apps/web/.env.local").len(), 1);
}

#[test]
fn edge_cases_have_exact_positions() {
    let t = copy_fixture("edge");
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(code, 1);
    let mut got = rows(&v);
    got.sort();
    let mut want = vec![
        row("miniback-api-key", "bounds.txt", 1, 1, "high", "server"),
        row("miniback-api-key", "bounds.txt", 2, 38, "high", "server"),
        row(
            "miniback-api-key",
            "legacy/latin1.txt",
            1,
            15,
            "high",
            "server",
        ),
        row(
            "urbackend-legacy-key",
            "legacy/settings.ini",
            3,
            7,
            "high",
            "server",
        ),
        row("miniback-api-key", "old-mac.txt", 3, 5, "high", "server"),
        row(
            "miniback-api-key",
            "windows.env.txt",
            2,
            18,
            "high",
            "server",
        ),
    ];
    want.sort();
    assert_eq!(got, want);
    // The last key ends at the very last byte of its file.
    let bounds = std::fs::read_to_string(t.path().join("bounds.txt")).unwrap();
    let last = key_in(&t, "bounds.txt", r"mbk_[a-z0-9]{20}$");
    assert!(bounds.ends_with(&last));
    assert_eq!(v["summary"]["files_skipped"]["binary"], 1, "logo.png");
    assert_eq!(v["summary"]["files_scanned"], 5);
}

#[test]
fn megabyte_lines_and_large_files_are_streamed_not_skipped() {
    let t = TempTree::new();
    let mut rng = Rng::new(3);
    let key = miniback_key(&mut rng);
    // A 3 MiB single-line bundle with the key in the middle.
    let half = "var a=function(b){return b*2};".repeat(50_000);
    t.write(
        "web/dist/app.min.js",
        format!("{half}const k=\"{key}\";{half}"),
    );
    // A 9 MiB file with the key straddling the 4 MiB streaming boundary.
    let mut big = "0123456789abcdef\n"
        .repeat(4 * 1024 * 1024 / 17 + 1)
        .into_bytes();
    big.truncate(4 * 1024 * 1024 - 1024 - 8);
    big.push(b' ');
    let line = big.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let col = big.len() - big.iter().rposition(|b| *b == b'\n').unwrap();
    big.extend_from_slice(key.as_bytes());
    big.extend_from_slice("\n".repeat(5 * 1024 * 1024).as_bytes());
    t.write("data/big.log", &big);
    let (v, _) = json_in(t.path(), &["."]);
    let bundle = find(&v, "miniback-api-key", "web/dist/app.min.js");
    assert_eq!(bundle.len(), 1);
    assert_eq!(bundle[0]["line"], 1);
    assert_eq!(bundle[0]["column"], half.len() as u64 + 10);
    assert!(
        bundle[0]["snippet"].as_str().unwrap().len() < 200,
        "snippets are trimmed"
    );
    let log = find(&v, "miniback-api-key", "data/big.log");
    assert_eq!(
        log.len(),
        1,
        "found exactly once across the buffer boundary"
    );
    assert_eq!(
        (
            log[0]["line"].as_u64().unwrap(),
            log[0]["column"].as_u64().unwrap()
        ),
        (line, col as u64)
    );
}

#[test]
fn placeholders_stay_quiet_and_random_keys_of_the_same_shape_do_not() {
    let t = TempTree::new();
    // Keep the dotenv coverage audit quiet: this test is about keys only.
    t.write(".gitignore", ".env\n.env.*\n");
    t.write(
        "src/config.js",
        concat!(
            "const a = 'mbk_your_key';\n",
            "const b = 'mbk_YOUR_KEY_HERE';\n",
            "const c = 'sk_live_...';\n",
            "const d = 'sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';\n",
            "const e = 'pk_live_<your key>';\n",
            "const f = '${MINIBACK_API_KEY}';\n",
            "const g = 'mbk_aaaaaaaaaaaaaaaaaaaaaaaa';\n",
            "const h = 'mbk_1a2b3c4d5e6f7g8h9i0j';\n",
            "const mbk_client_id = 'x';\n",
        ),
    );
    let (v, code) = json_in(t.path(), &["--fail-on", "info", "."]);
    assert_eq!(key_findings(&v).len(), 0, "{:#?}", key_findings(&v));
    assert_eq!(code, 0);
    let mut rng = Rng::new(4);
    let real = format!("mbk_{}", rng.string(LOWER_DIGITS, 24));
    t.write("src/real.js", format!("const k = '{real}';\n"));
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(find(&v, "miniback-api-key", "src/real.js").len(), 1);
    assert_eq!(code, 1);
}

#[test]
fn quiet_version_and_help() {
    let t = webapp();
    let quiet = String::from_utf8(run_in(t.path(), &["--quiet", "."]).stdout).unwrap();
    assert!(quiet.contains("CRITICAL"));
    assert!(!quiet.contains("scanned in"), "no summary with --quiet");
    let loud = String::from_utf8(run_in(t.path(), &["."]).stdout).unwrap();
    assert!(loud.contains("scanned in"));
    let version = String::from_utf8(run_in(t.path(), &["--version"]).stdout).unwrap();
    assert_eq!(
        version.trim(),
        format!("keyscan {}", env!("CARGO_PKG_VERSION"))
    );
    let help = String::from_utf8(run_in(t.path(), &["--help"]).stdout).unwrap();
    for needle in ["keyscan .", "--staged", "pre-commit", "CI", "Exit codes"] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn color_follows_flag_and_no_color() {
    let t = webapp();
    let always = run_in(t.path(), &["--color", "always", "."]).stdout;
    assert!(always.contains(&0x1b));
    let never = run_in(t.path(), &["--color", "never", "."]).stdout;
    assert!(!never.contains(&0x1b));
    let auto = keyscan()
        .current_dir(t.path())
        .env("NO_COLOR", "1")
        .arg(".")
        .output()
        .unwrap()
        .stdout;
    assert!(!auto.contains(&0x1b), "NO_COLOR and a pipe: no colour");
}

#[test]
fn usage_and_config_errors_exit_2_naming_the_file() {
    let t = TempTree::new();
    let out = run_in(t.path(), &["does/not/exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does/not/exist"));

    t.write(".keyscan.toml", "[allowlist]\npathz = [\"x\"]\n");
    let out = run_in(t.path(), &["."]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".keyscan.toml:2:1"), "{err}");
    assert!(err.contains("pathz"), "{err}");

    t.write(
        ".keyscan.toml",
        "[[rule]]\nid = \"acme\"\nprovider = \"Acme\"\nname = \"n\"\ndescription = \"d\"\nkeywords = [\"acme_\"]\npattern = '(acme_[a-z'\n[rule.rotation]\nurl = \"https://acme.test\"\nsteps = []\n",
    );
    let out = run_in(t.path(), &["."]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule `acme`") && err.contains("pattern"),
        "{err}"
    );

    let out = run_in(t.path(), &["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_rules_allowlists_and_inline_allow() {
    let t = TempTree::new();
    let mut rng = Rng::new(5);
    let token = format!("acme_{}", rng.string(ALNUM, 32));
    let k1 = miniback_key(&mut rng);
    let k2 = miniback_key(&mut rng);
    t.write(
        "src/a.js",
        format!("const t = '{token}';\nconst k = '{k1}'; // keyscan:allow\n"),
    );
    t.write(
        "src/b.py",
        format!("K = '{k2}'  # keyscan:allow reviewed\n"),
    );
    t.write("vendored/c.js", format!("k='{}'\n", miniback_key(&mut rng)));
    t.write(
        ".keyscan.toml",
        "[allowlist]\npaths = [\"vendored/**\"]\n\n[[rule]]\nid = \"acme-token\"\nprovider = \"Acme\"\nname = \"Acme token\"\ndescription = \"An Acme API token.\"\nkeywords = [\"acme_\"]\npattern = '\\b(acme_[A-Za-z0-9]{32})\\b'\n[rule.rotation]\nurl = \"https://acme.test/tokens\"\nsteps = [\"Revoke it.\"]\n",
    );
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(code, 1);
    let rules: Vec<&str> = key_findings(&v)
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["acme-token"]);
    assert_eq!(v["summary"]["suppressed"]["inline"], 2);
    assert_eq!(v["summary"]["suppressed"]["config"], 1);
    let text = String::from_utf8_lossy(&run_in(t.path(), &["."]).stdout).into_owned();
    assert!(
        text.contains("suppressed: 2 by inline allow, 1 by config allowlist"),
        "{text}"
    );
    let (v, _) = json_in(t.path(), &["--no-allowlist", "."]);
    assert_eq!(key_findings(&v).len(), 4);
}

#[test]
fn unreadable_files_are_errors_in_the_summary_and_the_scan_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let t = TempTree::new();
    let mut rng = Rng::new(6);
    t.write("ok.js", format!("k='{}'\n", miniback_key(&mut rng)));
    let locked = t.write("locked.js", "secret");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        t.path().join("ok.js"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    // Root reads mode-000 files, so as root run keyscan as `nobody`.
    let bin = assert_cmd::cargo::cargo_bin("keyscan");
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let mut cmd = if is_root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    let out = cmd
        .current_dir(t.path())
        .args(["--format", "json", "."])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("stderr: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "exit code follows the findings");
    assert_eq!(key_findings(&v).len(), 1);
    let errors = v["summary"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "locked.js");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("ermission denied"));
    assert_eq!(v["summary"]["files_skipped"]["unreadable"], 1);
}

#[test]
fn tracked_files_are_read_even_where_a_gitignore_names_their_folder() {
    // Git never ignores a tracked file: a `.gitignore` naming a folder whose
    // files were committed anyway leaves them in every clone.
    let t = TempTree::new();
    let mut rng = Rng::new(1501);
    let keys: Vec<String> = (0..7).map(|_| miniback_key(&mut rng)).collect();
    t.git_init();
    t.write(".gitignore", "playground/\n*.gen.js\n");
    t.write("playground/server.js", format!("k = \"{}\"\n", keys[0]));
    t.write(
        "playground/deep/x/tool.js",
        format!("k = \"{}\"\n", keys[1]),
    );
    t.write("lib/api.gen.js", format!("k = \"{}\"\n", keys[2]));
    t.git(&[
        "add",
        "-f",
        "playground/server.js",
        "playground/deep/x/tool.js",
        "lib/api.gen.js",
        ".gitignore",
    ]);
    t.commit_all("track files in ignored places");
    // Untracked files beside them stay ignored.
    t.write("playground/local.js", format!("k = \"{}\"\n", keys[3]));
    t.write("lib/other.gen.js", format!("k = \"{}\"\n", keys[4]));
    // `.keyscanignore` is the user's word to keyscan: it holds for tracked
    // files too.
    t.write(".keyscanignore", "playground/deep/\n");
    let (v, _) = json_in(t.path(), &["."]);
    let mut found: Vec<&str> = key_findings(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    found.sort();
    assert_eq!(found, ["lib/api.gen.js", "playground/server.js"], "{v}");
    // A folder named on the command line is scanned whole, ignored or not
    // (as any explicit path); below it the rules apply again, the
    // repository's `.gitignore` above it included.
    t.write("playground/sub/.gitignore", "*.tmp.js\n");
    t.write("playground/sub/a.tmp.js", format!("k = \"{}\"\n", keys[5]));
    t.git(&["add", "-f", "playground/sub/a.tmp.js"]);
    t.write("playground/sub/b.tmp.js", format!("k = \"{}\"\n", keys[6]));
    let (v, _) = json_in(&t.path().join("playground"), &["."]);
    let mut found: Vec<&str> = key_findings(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    found.sort();
    assert_eq!(found, ["local.js", "server.js", "sub/a.tmp.js"], "{v}");
}

#[test]
fn one_thread_and_every_core_give_the_same_report() {
    // `-j 1` runs the walk, the git facts and the web facts one after the
    // other on one thread; the default runs them on every core.
    let t = webapp();
    let (mut one, code_one) = json_in(t.path(), &["-j", "1", "."]);
    let (mut all, code_all) = json_in(t.path(), &["."]);
    assert_eq!(code_one, code_all);
    assert!(!findings(&all).is_empty());
    for v in [&mut one, &mut all] {
        v["summary"]["duration_ms"] = Value::Null;
    }
    assert_eq!(one, all);
}
