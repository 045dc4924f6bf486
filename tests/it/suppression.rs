//! `.keyscan.toml` (errors, allowlists, extra rules, client globs, provider
//! settings, `fail_on`), inline `keyscan:allow` in many comment syntaxes,
//! baselines, and the suppressed counts in text and JSON.

use crate::common::*;
use std::path::Path;

fn stderr_of(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = run_in(dir, args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_errors_exit_2_with_file_line_and_column() {
    let t = TempTree::new();
    t.write("a.js", "nothing here\n");
    let cases: &[(&str, &str)] = &[
        (
            "fail_on = \"high\"\n[allowlist]\npathz = []\n",
            ".keyscan.toml:3:1: unknown field `pathz`",
        ),
        (
            "fail_on = \"severe\"\n",
            ".keyscan.toml:1:11: unknown severity `severe`",
        ),
        ("[scan]\nbuild_dirs = \"yes\"\n", ".keyscan.toml:2:14:"),
        ("[allowlist\npaths = []\n", ".keyscan.toml:1:"),
        (
            "[providers.miniback]\ndashbord_url = \"x\"\n",
            ".keyscan.toml:2:1: unknown field `dashbord_url`",
        ),
    ];
    for (text, expected) in cases {
        t.write(".keyscan.toml", text);
        let (code, err) = stderr_of(t.path(), &["."]);
        assert_eq!(code, 2, "{text:?}: {err}");
        assert!(
            err.starts_with("keyscan: ") && err.contains(expected),
            "{text:?}: expected {expected:?} in {err}"
        );
    }
    // Errors found after parsing still name the file (and rule and field).
    t.write(".keyscan.toml", "[allowlist]\npaths = [\"a/{b\"]\n");
    let (code, err) = stderr_of(t.path(), &["."]);
    assert_eq!(code, 2);
    assert!(
        err.contains(".keyscan.toml") && err.contains("allowlist.paths"),
        "{err}"
    );
    t.write(
        ".keyscan.toml",
        "[[rule]]\nid = \"acme\"\nprovider = \"Acme\"\nname = \"Acme\"\ndescription = \"d\"\nkeywords = [\"acme_\"]\npattern = '(acme_[a-z]+'\n[rule.rotation]\nurl = \"https://a.example\"\nsteps = [\"s\"]\n",
    );
    let (code, err) = stderr_of(t.path(), &["."]);
    assert_eq!(code, 2);
    assert!(
        err.contains(".keyscan.toml: rule `acme`: field `pattern`"),
        "{err}"
    );
    // --config names a file that must exist.
    std::fs::remove_file(t.path().join(".keyscan.toml")).unwrap();
    let (code, err) = stderr_of(t.path(), &["--config", "missing.toml", "."]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.toml"), "{err}");
}

#[test]
fn inline_allow_works_in_any_comment_syntax() {
    let mut rng = Rng::new(81);
    let t = TempTree::new();
    // Dotenv coverage has its own tests; keep this tree about key suppressions.
    t.write(".gitignore", ".env\n.env.*\n");
    let files = [
        ("a.js", "const k = \"{k}\"; // keyscan:allow"),
        ("b.py", "KEY = \"{k}\"  # keyscan:allow test account"),
        ("c.css", "/* keyscan:allow */ .x { --k: \"{k}\"; }"),
        (
            "d.html",
            "<meta name=\"k\" content=\"{k}\"> <!-- keyscan:allow -->",
        ),
        ("e.sql", "INSERT INTO keys VALUES ('{k}'); -- keyscan:allow"),
        ("f.ini", "key = {k} ; keyscan:allow"),
        ("g.rs", "let k = \"{k}\"; /* keyscan:allow: revoked */"),
    ];
    for (name, template) in files {
        t.write(
            name,
            template.replace("{k}", &miniback_key(&mut rng)) + "\n",
        );
    }
    // The marker on another line does not help.
    t.write(
        "h.js",
        format!(
            "// keyscan:allow\nconst k = \"{}\";\n",
            miniback_key(&mut rng)
        ),
    );
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(code, 1);
    let paths: Vec<&str> = findings(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["h.js"]);
    assert_eq!(v["summary"]["suppressed"]["inline"], files.len());

    let (v, _) = json_in(t.path(), &["--no-allowlist", "."]);
    assert_eq!(findings(&v).len(), files.len() + 1);
    assert_eq!(v["summary"]["suppressed"]["inline"], 0);
}

/// A tree with one finding for each suppression mechanism and one left over.
fn suppression_tree(rng: &mut Rng) -> (TempTree, String) {
    let t = TempTree::new();
    // Dotenv coverage has its own tests; keep this tree about key suppressions.
    t.write(".gitignore", ".env\n.env.*\n");
    let fp_key = miniback_key(rng);
    let keep = miniback_key(rng);
    t.write("vendor/sdk.js", format!("k=\"{}\"\n", miniback_key(rng)));
    t.write("api/known.js", format!("const k = \"{fp_key}\";\n"));
    t.write(
        "api/inline.js",
        format!("const k = \"{}\"; // keyscan:allow\n", miniback_key(rng)),
    );
    t.write(
        "api/public.js",
        format!("const pk = \"{}\";\n", urbackend_key(rng, "pk_live_")),
    );
    t.write("api/server.js", format!("const k = \"{keep}\";\n"));
    (t, fp_key)
}

fn fingerprint_of(dir: &Path, path: &str) -> String {
    let (v, _) = json_in(dir, &["--no-allowlist", "."]);
    find(&v, "miniback-api-key", path)[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn suppressed_counts_show_in_text_and_json() {
    let mut rng = Rng::new(82);
    let (t, _) = suppression_tree(&mut rng);
    let fp = fingerprint_of(t.path(), "api/known.js");
    t.write(
        ".keyscan.toml",
        format!(
            "[allowlist]\npaths = [\"vendor/**\"]\nfingerprints = [\"{fp}\"]\nrules = [\"urbackend-publishable-key\"]\n"
        ),
    );
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(code, 1);
    let paths: Vec<&str> = findings(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["api/server.js"]);
    assert_eq!(
        v["summary"]["suppressed"],
        serde_json::json!({"inline": 1, "config": 3, "baseline": 0})
    );

    // Baseline the remaining finding: it is counted as such.
    let out = run_in(t.path(), &["--write-baseline", "keyscan.baseline", "."]);
    assert_eq!(out.status.code(), Some(0));
    let (v, code) = json_in(t.path(), &["--baseline", "keyscan.baseline", "."]);
    assert_eq!(code, 0);
    assert!(findings(&v).is_empty());
    assert_eq!(
        v["summary"]["suppressed"],
        serde_json::json!({"inline": 1, "config": 3, "baseline": 1})
    );
    assert_eq!(v["summary"]["findings_by_severity"]["high"], 0);

    let out = run_in(t.path(), &["--baseline", "keyscan.baseline", "."]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("suppressed: 1 by inline allow, 3 by config allowlist, 1 by baseline"),
        "{text}"
    );

    // --no-allowlist turns every mechanism off.
    let (v, _) = json_in(
        t.path(),
        &["--baseline", "keyscan.baseline", "--no-allowlist", "."],
    );
    assert_eq!(findings(&v).len(), 5);
    assert_eq!(
        v["summary"]["suppressed"],
        serde_json::json!({"inline": 0, "config": 0, "baseline": 0})
    );
}

#[test]
fn baselines_record_identity_not_secrets_and_report_only_new_leaks() {
    let mut rng = Rng::new(83);
    let t = TempTree::new();
    // Dotenv coverage has its own tests; keep this tree about key suppressions.
    t.write(".gitignore", ".env\n.env.*\n");
    let (k1, k2) = (miniback_key(&mut rng), urbackend_key(&mut rng, "sk_live_"));
    t.write("web/api/a.js", format!("const k = \"{k1}\";\n"));
    t.write(
        "web/api/b.js",
        format!("// urbackend\nconst k = \"{k2}\";\nconst again = \"{k2}\";\n"),
    );
    let out = run_in(t.path(), &["--write-baseline", "known.jsonl", "."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--write-baseline exits 0 with findings"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrote 2 baseline entries to known.jsonl")
    );
    let text = std::fs::read_to_string(t.path().join("known.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one line per (fingerprint, rule, path):\n{text}"
    );
    let mut sorted = lines.clone();
    sorted.sort_by_key(|l| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["path"]
            .as_str()
            .unwrap()
            .to_string()
    });
    assert_eq!(lines, sorted);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 3, "{line}");
        assert!(
            ["fingerprint", "rule_id", "path"]
                .iter()
                .all(|k| keys.contains(k)),
            "{line}"
        );
    }
    for k in [&k1, &k2] {
        assert!(
            !text.contains(k.as_str()) && !text.contains(&k[..10]),
            "secret in baseline"
        );
    }
    // Writing it again gives the same bytes (no timestamps).
    run_in(t.path(), &["--write-baseline", "again.jsonl", "."]);
    assert_eq!(
        text,
        std::fs::read_to_string(t.path().join("again.jsonl")).unwrap()
    );

    // Moved lines stay suppressed; a new key is reported; a known key copied
    // into a new file is reported too (a new exposure).
    let k3 = miniback_key(&mut rng);
    t.write(
        "web/api/a.js",
        format!("\n\n// moved down\nconst k = \"{k1}\";\nconst n = \"{k3}\";\n"),
    );
    t.write("web/api/c.js", format!("const copy = \"{k1}\";\n"));
    let (v, code) = json_in(t.path(), &["--baseline", "known.jsonl", "."]);
    assert_eq!(code, 1);
    let got: Vec<(&str, u64)> = findings(&v)
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, [("web/api/a.js", 5), ("web/api/c.js", 1)]);
    assert_eq!(v["summary"]["suppressed"]["baseline"], 3);

    // The same file serves a scan rooted in a subfolder, whose paths are
    // relative to that folder.
    let (v, _) = json_in(
        &t.path().join("web"),
        &["--baseline", "../known.jsonl", "."],
    );
    let got: Vec<&str> = findings(&v)
        .iter()
        .filter(|f| f["origin"] != "audit") // web/ alone has no .gitignore
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["api/a.js", "api/c.js"]);
}

#[test]
fn a_malformed_baseline_is_an_error_naming_file_and_line() {
    let t = TempTree::new();
    t.write("a.js", "nothing\n");
    t.write(
        "bad.jsonl",
        "{\"fingerprint\":\"00\",\"rule_id\":\"miniback-api-key\",\"path\":\"a.js\"}\n\nnot json\n",
    );
    let (code, err) = stderr_of(t.path(), &["--baseline", "bad.jsonl", "."]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("keyscan: bad.jsonl:3:2: invalid baseline entry: expected ident\n"),
        "{err}"
    );
    let (code, err) = stderr_of(t.path(), &["--baseline", "nope.jsonl", "."]);
    assert_eq!(code, 2);
    assert!(
        err.contains("nope.jsonl") && err.contains("cannot read baseline"),
        "{err}"
    );
}

#[test]
fn config_rules_client_globs_providers_and_fail_on() {
    let mut rng = Rng::new(84);
    let t = TempTree::new();
    let acme = format!("acme_{}", rng.string(ALNUM, 32));
    t.write(
        ".keyscan.toml",
        r#"
fail_on = "critical"

[scan]
client_globs = ["legacy/public-js/**"]

[providers.miniback]
dashboard_url = "https://dash.example/projects/{project_id}/api-access"
project_id = "acme-prod"

[[rule]]
id = "acme-token"
provider = "Acme"
name = "Acme API token"
description = "An Acme API token."
keywords = ["acme_"]
pattern = '\b(acme_[A-Za-z0-9]{32})\b'
[rule.rotation]
url = "https://acme.example/settings/tokens"
steps = ["Revoke the token and create a new one."]
"#,
    );
    t.write("server/acme.js", format!("const token = \"{acme}\";\n"));
    t.write(
        "server/mb.js",
        format!("const k = \"{}\";\n", miniback_key(&mut rng)),
    );
    // fail_on = critical: high findings alone exit 0.
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(code, 0, "fail_on from the config");
    let a = &find(&v, "acme-token", "server/acme.js")[0];
    assert_eq!(a["severity"], "high");
    assert_eq!(a["rotation_url"], "https://acme.example/settings/tokens");
    let m = &find(&v, "miniback-api-key", "server/mb.js")[0];
    assert_eq!(
        m["rotation_url"],
        "https://dash.example/projects/acme-prod/api-access"
    );
    // --fail-on overrides the config.
    let (_, code) = json_in(t.path(), &["--fail-on", "high", "."]);
    assert_eq!(code, 1);
    // A client glob makes the same key critical.
    t.write(
        "legacy/public-js/app.js",
        format!("var k=\"{}\";\n", miniback_key(&mut rng)),
    );
    let (v, code) = json_in(t.path(), &["."]);
    assert_eq!(code, 1);
    let c = &find(&v, "miniback-api-key", "legacy/public-js/app.js")[0];
    assert_eq!(
        (c["severity"].as_str(), c["context"].as_str()),
        (Some("critical"), Some("client"))
    );
}

#[test]
fn a_key_in_allowlist_fingerprints_is_an_error_that_does_not_echo_it() {
    let mut rng = Rng::new(83);
    let (t, _) = suppression_tree(&mut rng);
    let key = miniback_key(&mut rng);
    let fp = fingerprint_of(t.path(), "api/known.js");
    // The key pasted where its fingerprint belongs (a common mistake).
    t.write(
        ".keyscan.toml",
        format!("[allowlist]\nfingerprints = [\"{fp}\", \"{key}\"]\n"),
    );
    let out = run_in(t.path(), &["."]);
    assert_eq!(out.status.code(), Some(2), "a config error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".keyscan.toml"), "{err}");
    assert!(
        err.contains(
            "allowlist.fingerprints entry 2 (`mbk_…`) looks like an API key, not a fingerprint"
        ),
        "{err}"
    );
    assert!(!err.contains(&key[4..]), "the key was echoed: {err}");
    assert!(out.stdout.is_empty());

    // Anything else that is not 32 hex digits is named too; upper case is fine.
    t.write(
        ".keyscan.toml",
        "[allowlist]\nfingerprints = [\"4d764dfd\"]\n",
    );
    let out = run_in(t.path(), &["."]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("entry 1 is not a fingerprint"), "{err}");
    assert!(err.contains("found 8 characters"), "{err}");
    t.write(
        ".keyscan.toml",
        format!(
            "[allowlist]\nfingerprints = [\"{}\"]\n",
            fp.to_ascii_uppercase()
        ),
    );
    let (v, _) = json_in(t.path(), &["."]);
    assert_eq!(v["summary"]["suppressed"]["config"], 1);
}
