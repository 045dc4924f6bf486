//! Machine-facing outputs: SARIF (validated against the official OASIS
//! schema), GitHub workflow commands (escaping against hostile names and
//! content), `--output` and `--list-rules`.

use crate::common::*;
use keyscan::finding::{CommitInfo, Context, Finding, Location, Origin, Severity};
use keyscan::report::rules::RuleInfo;
use keyscan::report::{self, Format, RenderOptions, Report, Summary};
use keyscan::rules::RuleSet;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Compiles the OASIS SARIF 2.1.0 schema (tests/data, see its README) with
/// format assertions on, so `uri-reference` and friends are checked too.
fn sarif_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let url = "https://keyscan.test/sarif-schema-2.1.0.json";
    compiler.add_resource(url, schema).unwrap();
    let idx = compiler.compile(url, &mut schemas).unwrap();
    (schemas, idx)
}

/// Panics, with the schema's complaint, unless `doc` is valid SARIF 2.1.0.
pub(crate) fn assert_valid_sarif(doc: &Value) {
    let (schemas, idx) = sarif_validator();
    if let Err(e) = schemas.validate(doc, idx) {
        panic!(
            "SARIF does not validate against the OASIS schema:\n{e:#}\n{}",
            serde_json::to_string_pretty(doc).unwrap()
        );
    }
}

/// The schema must be strict enough to fail on a broken document, or the
/// validation test proves nothing.
#[test]
fn the_schema_rejects_broken_sarif() {
    let (schemas, idx) = sarif_validator();
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]});
    assert!(
        schemas.validate(&bad, idx).is_err(),
        "driver without name accepted"
    );
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "k"}},
        "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "a.js"}, "region": {"startLine": 0}}}]}]}]});
    assert!(schemas.validate(&bad, idx).is_err(), "startLine 0 accepted");
}

/// A tree with a critical, a high, a medium and an info finding, one of them
/// under a file name that needs percent-encoding.
fn mixed_tree(rng: &mut Rng) -> (TempTree, Vec<String>) {
    let t = TempTree::new();
    let client = miniback_key(rng);
    let server = urbackend_key(rng, "sk_live_");
    let docs = miniback_key(rng);
    let publishable = urbackend_key(rng, "pk_live_");
    t.write(
        "web/package.json",
        r#"{"name":"web","dependencies":{"vite":"5"}}"#,
    );
    t.write(
        "web/dist/assets/index-4f3a9b2c.js",
        format!("var a=1;var k=\"{client}\";fetch(u,{{headers:{{\"x-api-key\":k}}}})\n"),
    );
    t.write(
        "api/odd name, #1.js",
        format!("// urBackend\nconst URBACKEND_KEY = \"{server}\";\n"),
    );
    t.write(
        "docs/setup.md",
        format!("Set `MINIBACK_API_KEY={docs}` in your shell.\n"),
    );
    t.write(
        "api/public.js",
        format!("const URBACKEND_PK = \"{publishable}\";\n"),
    );
    (t, vec![client, server, docs, publishable])
}

#[test]
fn sarif_from_a_real_scan_validates_and_names_each_rule_once() {
    let mut rng = Rng::new(61);
    let (t, keys) = mixed_tree(&mut rng);
    let out = run_in(t.path(), &["--format", "sarif", "."]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for k in &keys {
        assert!(!text.contains(k.as_str()), "raw key {k} in SARIF");
    }
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid_sarif(&doc);

    let run = &doc["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "keyscan");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver["informationUri"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids.len(),
        ids.iter().collect::<HashSet<_>>().len(),
        "duplicate rules: {ids:?}"
    );
    for r in rules {
        for field in ["shortDescription", "fullDescription"] {
            assert!(
                !r[field]["text"].as_str().unwrap().is_empty(),
                "{field} of {}",
                r["id"]
            );
        }
        let help = r["help"]["markdown"].as_str().unwrap();
        // Key rules carry numbered rotation steps and a URL; audits (about
        // the repository's shape) carry the fix instead.
        let rotation = help.contains("1. ") && help.contains("https://");
        let audit_fix = help.contains("### How to fix") && help.contains(".gitignore");
        assert!(
            rotation || audit_fix,
            "help without steps/URL or fix: {help}"
        );
        let score: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&score));
    }

    let results = run["results"].as_array().unwrap();
    // Four keys plus the dotenv-coverage audit of this tree (no .gitignore):
    // a whole-file result, which SARIF must still place at line 1, column 1.
    assert_eq!(results.len(), 5);
    let audit = results
        .iter()
        .find(|r| r["ruleId"] == "gitignore-env-coverage")
        .expect("audit result");
    assert_eq!(
        audit["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let by_rule = |id: &str| results.iter().find(|r| r["ruleId"] == id).unwrap();
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["startColumn"].as_u64().unwrap() >= 1);
        let fp = r["partialFingerprints"]["keyscan/v1"].as_str().unwrap();
        assert_eq!(fp.len(), 32);
        // GitHub computes primaryLocationLineHash itself; ours would clash.
        assert_eq!(r["partialFingerprints"].as_object().unwrap().len(), 1);
    }
    let client = by_rule("miniback-api-key");
    let client = if client["properties"]["context"] == "client" {
        client
    } else {
        results
            .iter()
            .find(|r| r["properties"]["context"] == "client")
            .unwrap()
    };
    assert_eq!(client["level"], "error");
    assert_eq!(
        client["locations"][0]["physicalLocation"]["artifactLocation"],
        serde_json::json!({"uri": "web/dist/assets/index-4f3a9b2c.js", "uriBaseId": "%SRCROOT%"})
    );
    let mb_rule = rules
        .iter()
        .find(|r| r["id"] == "miniback-api-key")
        .unwrap();
    // The rule's score is its worst result in the run: critical in the bundle.
    assert_eq!(mb_rule["properties"]["security-severity"], "9.5");
    let server = by_rule("urbackend-secret-key");
    assert_eq!(
        server["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "api/odd%20name%2C%20%231.js"
    );
    assert_eq!(by_rule("urbackend-publishable-key")["level"], "note");
    let docs = results
        .iter()
        .find(|r| r["properties"]["context"] == "docs")
        .unwrap();
    // A secret key in docs is high (committed is committed): an error.
    assert_eq!(docs["level"], "error");

    // Opting in shows the key: proof that the check above can fail.
    let shown = run_in(t.path(), &["--format", "sarif", "--show-secrets", "."]);
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(keys.iter().all(|k| shown.contains(k.as_str())));
    assert_valid_sarif(&serde_json::from_str(&shown).unwrap());
}

fn synthetic(
    rule: &str,
    path: &str,
    line: u64,
    origin: Origin,
    commit: Option<CommitInfo>,
) -> Finding {
    Finding {
        rule_id: rule.into(),
        provider: "Miniback".into(),
        title: "Miniback API key".into(),
        severity: Severity::High,
        context: Context::Server,
        context_reason: Some("server-side code or configuration".into()),
        origin,
        location: Location {
            path: path.into(),
            line,
            column: if line == 0 { 0 } else { 5 },
            column_utf16: (line > 0).then_some(5),
        },
        secret: Some("mbk_RAWSECRETRAWSECRET42".into()),
        secret_redacted: Some("mbk_RAWS…42".into()),
        fingerprint: "00112233445566778899aabbccddeeff".into(),
        message: "A message with \"quotes\" and a\nline break.".into(),
        rotation_url: Some("https://www.miniback.io/docs".into()),
        remediation: "1. Rotate it.".into(),
        snippet: Some("k = \"mbk_RAWS…42\"".into()),
        snippet_raw: Some("k = \"mbk_RAWSECRETRAWSECRET42\"".into()),
        commit,
        source: None,
        encoding: None,
    }
}

/// History findings (with a commit, gone from HEAD) and audit findings (line
/// 0, a rule no rule file describes) must validate too.
#[test]
fn sarif_for_history_and_audit_findings_validates() {
    let rules = RuleInfo::catalogue(&RuleSet::builtin().unwrap(), &BTreeMap::new());
    let commit = CommitInfo {
        id: "0123456789abcdef0123456789abcdef01234567".into(),
        author: "Dev <dev@example.com>".into(),
        date: "2024-01-02T03:04:05Z".into(),
        in_head: false,
    };
    let mut audit = synthetic("dotenv-not-ignored", ".env", 0, Origin::Audit, None);
    audit.secret = None;
    audit.secret_redacted = None;
    audit.snippet = None;
    audit.snippet_raw = None;
    audit.severity = Severity::Medium;
    let findings = vec![
        audit,
        synthetic(
            "miniback-api-key",
            "old/config.js",
            3,
            Origin::Commit,
            Some(commit),
        ),
        synthetic("miniback-api-key", "old/config.js", 9, Origin::Commit, None),
    ];
    let mut summary = Summary::default();
    summary.count_findings(&findings);
    let report = Report {
        findings: &findings,
        summary: &summary,
        rules: &rules,
        repo_paths: &report::RepoPaths::identity(),
    };
    let mut out = Vec::new();
    report::reporter(Format::Sarif, RenderOptions::default())
        .write(&report, &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("RAWSECRET"), "raw secret in SARIF");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid_sarif(&doc);
    let run = &doc["runs"][0];
    let rule_ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rule_ids, ["dotenv-not-ignored", "miniback-api-key"]);
    // An audit rule is described by its rule data, not by its first result's
    // path-specific message, and its commands are fenced code blocks.
    let audit_rule = &run["tool"]["driver"]["rules"][0];
    let fixed = keyscan::rules::audits::audit_rule("dotenv-not-ignored").unwrap();
    assert_eq!(
        audit_rule["fullDescription"]["text"],
        fixed.description.as_str()
    );
    let markdown = audit_rule["help"]["markdown"].as_str().unwrap();
    assert!(
        markdown.contains("\n```sh\nkeyscan --fix\n```\n"),
        "{markdown}"
    );
    assert!(!markdown.contains(&findings[0].location.path), "{markdown}");
    let results = run["results"].as_array().unwrap();
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(results[1]["properties"]["commit"]["in_head"], false);
    assert!(results[1]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("0123456789ab"));
    // The same key twice in one file: the same fingerprint, and no line
    // hash of ours for GitHub to find inconsistent.
    for r in &results[1..3] {
        assert_eq!(
            r["partialFingerprints"],
            serde_json::json!({ "keyscan/v1": "00112233445566778899aabbccddeeff" })
        );
    }
}

/// Parses workflow-command lines the way the Actions runner does: a line
/// starting with `::` is `::NAME PROPS::DATA`, PROPS split on `,`, each at
/// its first `=`. Returns (name, properties unescaped, data unescaped).
fn parse_commands(stdout: &str) -> Vec<(String, BTreeMap<String, String>, String)> {
    fn unescape(s: &str) -> String {
        s.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    }
    stdout
        .split(['\n', '\r'])
        .filter(|l| l.starts_with("::"))
        .map(|l| {
            let rest = &l[2..];
            let end = rest.find("::").expect("command without `::`");
            let (info, data) = (&rest[..end], &rest[end + 2..]);
            let (name, props) = info.split_once(' ').unwrap_or((info, ""));
            let props = props
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').expect("property without =");
                    (k.to_string(), unescape(v))
                })
                .collect();
            (name.to_string(), props, unescape(data))
        })
        .collect()
}

#[test]
fn github_annotations_cannot_be_forged_by_names_or_content() {
    let mut rng = Rng::new(62);
    let t = TempTree::new();
    // Dotenv coverage is covered elsewhere; keep this tree about keys.
    t.write(".gitignore", ".env\n.env.*\n");
    let (k1, k2, k3) = (
        miniback_key(&mut rng),
        miniback_key(&mut rng),
        miniback_key(&mut rng),
    );
    let hostile = [
        "a,line=1::evil.js",
        "b%0A::error::forged.js",
        "c\n::error file=x::forged.js",
    ];
    for (name, k) in hostile.iter().zip([&k1, &k2, &k3]) {
        t.write(
            name,
            format!("const MINIBACK = \"{k}\"; // ::error::in content\n"),
        );
    }
    t.write(
        "docs/guide.md",
        format!("MINIBACK_API_KEY={}\n", miniback_key(&mut rng)),
    );
    let out = run_in(t.path(), &["--format", "github", "."]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for k in [&k1, &k2, &k3] {
        assert!(!stdout.contains(k.as_str()), "raw key in annotations");
    }
    let cmds = parse_commands(&stdout);
    assert_eq!(cmds.len(), 4, "forged or missing commands:\n{stdout}");
    let files: HashSet<&str> = cmds.iter().map(|(_, p, _)| p["file"].as_str()).collect();
    for name in hostile.iter().chain(&["docs/guide.md"]) {
        assert!(
            files.contains(name),
            "{name:?} not annotated exactly:\n{stdout}"
        );
    }
    for (name, props, data) in &cmds {
        let keys: Vec<&str> = props.keys().map(String::as_str).collect();
        assert_eq!(keys, ["col", "file", "line", "title"], "{stdout}");
        assert!(data.contains("miniback-api-key") && data.contains("Rotate: https://"));
        // Docs are high since issue #16 (committed is committed), so every
        // annotation here is an error.
        if props["file"] == "docs/guide.md" {
            assert_eq!(name, "error");
        } else {
            assert_eq!(name, "error");
            assert_eq!(props["line"], "1");
        }
    }
    // Every line is a command or a plain `keyscan:` log line.
    for line in stdout.lines() {
        assert!(
            line.starts_with("::") || line.starts_with("keyscan: "),
            "{line:?}"
        );
    }
}

/// Messages with CR, LF and `%` (from a rule or config) stay on one line.
#[test]
fn github_escapes_messages_and_properties_like_the_toolkit() {
    let mut f = synthetic("miniback-api-key", "x,y:z%.js", 0, Origin::Audit, None);
    f.message = "first\r\n::error::forged 100%".into();
    f.title = "t,i:tle".into();
    f.severity = Severity::Info;
    let findings = vec![f];
    let summary = Summary::default();
    let report = Report {
        findings: &findings,
        summary: &summary,
        rules: &[],
        repo_paths: &report::RepoPaths::identity(),
    };
    let mut out = Vec::new();
    let opts = RenderOptions {
        quiet: true,
        ..RenderOptions::default()
    };
    report::reporter(Format::Github, opts)
        .write(&report, &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("::notice file=x%2Cy%3Az%25.js,title=keyscan%3A t%2Ci%3Atle (info%2C server)::first%0D%0A::error::forged 100%25 [miniback-api-key]%0AKey: mbk_RAWS…42"),
        "{text}"
    );
    assert!(!text.contains("RAWSECRET"));
}

#[test]
fn output_writes_the_report_to_a_file_and_names_it_on_error() {
    let mut rng = Rng::new(63);
    let t = TempTree::new();
    // Dotenv coverage is covered elsewhere; keep this tree about keys.
    t.write(".gitignore", ".env\n.env.*\n");
    let key = miniback_key(&mut rng);
    t.write("server.js", format!("const k = \"{key}\";\n"));
    let out = run_in(
        t.path(),
        &["--format", "sarif", "--output", "out/keyscan.sarif", "."],
    );
    // The folder does not exist: an error naming the file, exit 2.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("out/keyscan.sarif"), "{err}");

    std::fs::create_dir(t.path().join("out")).unwrap();
    let out = run_in(
        t.path(),
        &["--format", "sarif", "-o", "out/keyscan.sarif", "."],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the exit code still follows the findings"
    );
    assert!(out.stdout.is_empty());
    let doc: Value =
        serde_json::from_slice(&std::fs::read(t.path().join("out/keyscan.sarif")).unwrap())
            .unwrap();
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 1);
}

#[test]
fn sarif_and_annotations_name_files_relative_to_the_repository_root() {
    let mut rng = Rng::new(65);
    let t = TempTree::new();
    t.git_init();
    t.write(".gitignore", ".env\n.env.*\n");
    let key = miniback_key(&mut rng);
    t.write("apps/web/src/api.js", format!("const k = \"{key}\";\n"));
    t.write("apps/web/package.json", "{}\n");
    t.write("apps/web/.gitignore", ".env\n.env.*\n");
    t.commit_all("app");
    // What the action's `path: apps/web` runs, from the repository root.
    let out = run_in(
        t.path(),
        &[
            "--format",
            "github",
            "-o",
            "sarif=k.sarif",
            "-o",
            "json=k.json",
            "apps/web",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("::error file=apps/web/src/api.js,line=1,col=12"),
        "{stdout}"
    );
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(t.path().join("k.sarif")).unwrap()).unwrap();
    assert_valid_sarif(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    let loc = &results[0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(loc["uri"], "apps/web/src/api.js");
    assert_eq!(loc["uriBaseId"], "%SRCROOT%");
    // Every URI names a file that exists under the repository root.
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(t.path().join(uri).is_file(), "{uri} does not exist");
        assert!(r["partialFingerprints"]
            .get("primaryLocationLineHash")
            .is_none());
    }
    // JSON keeps paths relative to the scanned folder (baselines, people).
    let json: Value =
        serde_json::from_slice(&std::fs::read(t.path().join("k.json")).unwrap()).unwrap();
    assert_eq!(json["findings"][0]["path"], "src/api.js");

    // The same from inside the folder, and from a subfolder of a scan root
    // given with an absolute path.
    let web = t.path().join("apps/web");
    let out = run_in(&web, &["--format", "github", "."]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("::error file=apps/web/src/api.js,"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let abs = web.join("src");
    let out = run_in(t.path(), &["--format", "sarif", abs.to_str().unwrap()]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "apps/web/src/api.js"
    );
}

#[test]
fn sarif_columns_count_utf16_code_units() {
    let mut rng = Rng::new(66);
    let t = TempTree::new();
    t.write(".gitignore", ".env\n.env.*\n");
    let key = miniback_key(&mut rng);
    // "// " 3 bytes, "ü" 2, "😀" 4, " " 1: the key is at byte column 11,
    // UTF-16 column 3 + 1 + 2 + 1 + 1 = 8.
    t.write("a.js", format!("// ü😀 {key}\n"));
    let (json, _) = json_in(t.path(), &["."]);
    let f = key_findings(&json)[0];
    assert_eq!(f["column"], 11, "JSON keeps byte columns");
    let out = run_in(t.path(), &["--format", "sarif", "."]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    assert_eq!(doc["runs"][0]["columnKind"], "utf16CodeUnits");
    let result = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "miniback-api-key")
        .unwrap();
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(1), Some(8))
    );
    // Two keys on one line: each counted, the second past the first.
    let other = miniback_key(&mut rng);
    t.write("a.js", format!("x = [\"é{key}\", \"😀{other}\"];\n"));
    let out = run_in(t.path(), &["--format", "sarif", "."]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut cols: Vec<u64> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "miniback-api-key")
        .map(|r| {
            r["locations"][0]["physicalLocation"]["region"]["startColumn"]
                .as_u64()
                .unwrap()
        })
        .collect();
    cols.sort();
    // `x = ["é` is 7 units; then the key (24), `", "` (4) and `😀` (2).
    assert_eq!(cols, [8, 8 + 24 + 4 + 2]);
}

#[test]
fn one_scan_writes_several_formats() {
    let mut rng = Rng::new(64);
    let t = TempTree::new();
    t.write(".gitignore", ".env\n.env.*\n");
    let key = miniback_key(&mut rng);
    t.write("server.js", format!("const k = \"{key}\";\n"));
    // Annotations on stdout, SARIF and JSON in files: what the action runs.
    let out = run_in(
        t.path(),
        &[
            "--format",
            "github",
            "-o",
            "sarif=keyscan.sarif",
            "--output",
            "json=keyscan.json",
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("::error file=server.js,line=1"),
        "{stdout}"
    );
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(t.path().join("keyscan.sarif")).unwrap()).unwrap();
    assert_valid_sarif(&sarif);
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
    let json: Value =
        serde_json::from_slice(&std::fs::read(t.path().join("keyscan.json")).unwrap()).unwrap();
    assert_eq!(json["findings"][0]["path"], "server.js");
    assert!(
        !String::from_utf8_lossy(&std::fs::read(t.path().join("keyscan.json")).unwrap())
            .contains(&key)
    );

    // A plain `-o FILE` takes --format, and then nothing goes to stdout.
    let out = run_in(
        t.path(),
        &[
            "--format",
            "json",
            "-o",
            "all.json",
            "-o",
            "sarif=k.sarif",
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(t.path().join("all.json").is_file() && t.path().join("k.sarif").is_file());

    // A format name with nothing after `=` is a usage error (exit 2).
    let out = run_in(t.path(), &["-o", "sarif=", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sarif="));
}

#[test]
fn list_rules_shows_builtin_and_config_rules() {
    let t = TempTree::new();
    t.write(
        ".keyscan.toml",
        r#"
[providers.miniback]
dashboard_url = "https://dash.example/{project_id}/keys"
project_id = "acme-prod"

[[rule]]
id = "acme-token"
provider = "Acme"
name = "Acme API token"
description = "An Acme API token."
keywords = ["acme_"]
pattern = '\b(acme_[A-Za-z0-9]{32})\b'
examples = ['token = "acme_0123456789abcdefghijABCDEFGHIJkl"']
negative_examples = ['acme_short']
[rule.severity]
client = "critical"
server = "medium"
[rule.rotation]
url = "https://acme.example/settings/tokens"
steps = ["Revoke the token and create a new one."]
"#,
    );
    let out = run_in(t.path(), &["--list-rules", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = v["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in [
        "miniback-api-key",
        "miniback-key-in-url",
        "urbackend-secret-key",
        "urbackend-publishable-key",
        "urbackend-legacy-key",
        "stripe-secret-key",
        "stripe-restricted-key",
        "stripe-publishable-key",
        "acme-token",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let acme = rules.iter().find(|r| r["id"] == "acme-token").unwrap();
    assert_eq!(acme["keywords"], serde_json::json!(["acme_"]));
    assert_eq!(acme["severity"]["server"], "medium");
    assert_eq!(acme["rotation_url"], "https://acme.example/settings/tokens");
    assert!(acme["source"].as_str().unwrap().ends_with(".keyscan.toml"));
    let mb = rules
        .iter()
        .find(|r| r["id"] == "miniback-api-key")
        .unwrap();
    assert_eq!(mb["rotation_url"], "https://dash.example/acme-prod/keys");
    assert_eq!(mb["severity"]["client"], "critical");

    // The seven repository checks are listed too, apart from key rules.
    let audits: Vec<&str> = v["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        audits,
        [
            "gitignore-env-coverage",
            "dotenv-tracked",
            "dotenv-not-ignored",
            "secret-file-tracked",
            "secret-file-not-ignored",
            "key-reused-across-environments",
            "key-rotation-overdue"
        ]
    );

    let out = run_in(t.path(), &["--list-rules"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("acme-token  (Acme, secret)"), "{text}");
    assert!(
        text.contains("dotenv-tracked  (repository check)"),
        "{text}"
    );
    assert!(text.contains("10 key rules, 7 repository checks"), "{text}");
    assert!(text
        .contains("severity: client critical, server high, dotenv high, docs high, test medium"));
    assert!(text.contains("rotate: https://acme.example/settings/tokens"));

    let out = run_in(t.path(), &["--list-rules", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Runs keyscan under a pseudo-terminal (util-linux `script`), as a person
/// at a terminal sees it.
pub(crate) fn on_a_terminal(dir: &Path, env: &[(&str, &str)]) -> String {
    require("script", "util-linux; it gives keyscan a terminal");
    let cmd = format!("{} .", env!("CARGO_BIN_EXE_keyscan"));
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

#[test]
fn text_wraps_to_the_terminal_and_term_dumb_means_no_colour() {
    let mut rng = Rng::new(67);
    let t = TempTree::new();
    t.write(".gitignore", ".env\n.env.*\n");
    let key = miniback_key(&mut rng);
    t.write("server.js", format!("const k = \"{key}\";\n"));

    let dumb = on_a_terminal(t.path(), &[("TERM", "dumb"), ("COLUMNS", "50")]);
    assert!(dumb.contains("miniback-api-key"), "{dumb}");
    assert!(!dumb.contains('\u{1b}'), "colour on TERM=dumb:\n{dumb}");
    // Prose is wrapped to 50 columns; only unbreakable words (the snippet,
    // the fingerprint line) may be longer.
    for line in dumb
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_alphabetic))
    {
        let n = line.chars().count();
        assert!(
            n <= 50
                || !line.trim().contains(' ')
                || line.contains("fingerprint")
                || line.contains("scanned"),
            "{n} columns: {line:?}\n{dumb}"
        );
    }
    assert!(
        dumb.lines()
            .any(|l| l.starts_with("       ") && l.chars().nth(7).is_some_and(char::is_alphabetic)),
        "a step's continuation lines up under its text:\n{dumb}"
    );

    let colour = on_a_terminal(t.path(), &[("TERM", "xterm"), ("COLUMNS", "200")]);
    assert!(
        colour.contains('\u{1b}'),
        "a terminal gets colour:\n{colour}"
    );
    // Redirected output is never wrapped.
    let out = run_in(t.path(), &["."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.chars().count() > 100),
        "a pipe gets whole lines:\n{text}"
    );
}
