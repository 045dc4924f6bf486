//! End-to-end hardening tests: the real binary on hostile temporary trees.
//!
//! keyscan runs on untrusted pull requests and prints into CI logs. Each test
//! here feeds it one kind of bad input — unreadable or vanished files,
//! symlink loops, FIFOs, non-UTF-8 names, UTF-16, huge and pathological
//! files, malformed ignore and config files, hostile names and content — and
//! checks that it neither crashes, hangs, loses a finding nor leaks a key.

use crate::common::*;
use serde_json::Value;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// Nothing here should take long; a hang fails instead of stalling CI.
const TIMEOUT: Duration = Duration::from_secs(120);

fn run(dir: &Path, args: &[&str]) -> Output {
    run_within(dir, args, TIMEOUT)
}

fn json(dir: &Path, args: &[&str]) -> (Value, i32) {
    json_within(dir, args, TIMEOUT)
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n"
}

/// keyscan as an unprivileged user: root reads mode-000 files, so as root
/// (CI containers) run it as `nobody`.
fn run_unprivileged(dir: &Path, args: &[&str]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("keyscan");
    let mut cmd = if is_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    cmd.current_dir(dir).args(args).output().unwrap()
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn skipped(v: &Value, reason: &str) -> u64 {
    v["summary"]["files_skipped"][reason].as_u64().unwrap_or(0)
}

fn errors(v: &Value) -> Vec<(String, String)> {
    v["summary"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn positions(v: &Value, rule: &str, path: &str) -> Vec<(u64, u64)> {
    find(v, rule, path)
        .iter()
        .map(|f| (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap()))
        .collect()
}

/// (line, column) of byte `offset` by a plain count (`\n`, `\r\n`, lone `\r`).
fn line_col(bytes: &[u8], offset: usize) -> (u64, u64) {
    let mut line = 1;
    let mut start = 0;
    for i in 0..offset {
        if bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line += 1;
            start = i + 1;
        }
    }
    (line, (offset - start + 1) as u64)
}

// ─── Bad input keeps working ───────────────────────────────────────────────

#[test]
fn unreadable_files_and_folders_are_errors_and_strict_makes_them_fail() {
    let t = TempTree::new();
    t.write("clean.js", "export const x = 1;\n");
    let locked = t.write("locked.js", "whatever");
    let private = t.write("private/inner.js", "whatever");
    chmod(&locked, 0o000);
    chmod(private.parent().unwrap(), 0o000);
    chmod(t.path(), 0o755);
    chmod(&t.path().join("clean.js"), 0o644);

    let out = run_unprivileged(t.path(), &["--format", "json", "."]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("stderr: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        out.status.code(),
        Some(0),
        "without --strict the findings (none) decide"
    );
    let errs = errors(&v);
    let paths: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["locked.js", "private"], "{errs:?}");
    assert!(errs.iter().all(|(_, m)| m.contains("ermission denied")));
    assert_eq!(
        v["summary"]["files_scanned"], 1,
        "clean.js was still scanned"
    );

    let out = run_unprivileged(t.path(), &["--strict", "."]);
    assert_eq!(out.status.code(), Some(1), "--strict: errors fail the run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 error(s):"), "{text}");
    assert!(text.contains("  locked.js: Permission denied"), "{text}");
    assert!(text.contains("  private: Permission denied"), "{text}");

    chmod(private.parent().unwrap(), 0o755);
}

#[test]
fn a_file_gone_between_listing_and_reading_is_an_error_and_the_rest_is_scanned() {
    // Deterministic stand-in for a file deleted mid-scan: a path named on
    // the command line that points at nothing by the time it is opened.
    // (src/source/tree.rs tests the walker's own read of a vanished file.)
    let t = TempTree::new();
    let mut rng = Rng::new(41);
    let key = miniback_key(&mut rng);
    t.write("src/app.js", format!("const k = '{key}';\n"));
    t.write("src/ok.js", "ok\n");
    std::os::unix::fs::symlink("deleted-meanwhile.js", t.path().join("src/gone.js")).unwrap();

    let (v, code) = json(t.path(), &["src/app.js", "src/gone.js"]);
    assert_eq!(code, 1, "the finding decides");
    assert_eq!(key_findings(&v).len(), 1);
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "src/gone.js");
    assert!(errs[0].1.contains("No such file"), "{errs:?}");

    let (_, code) = json(t.path(), &["src/ok.js", "src/gone.js"]);
    assert_eq!(code, 0);
    let (_, code) = json(t.path(), &["--strict", "src/ok.js", "src/gone.js"]);
    assert_eq!(code, 1);
}

#[test]
fn symlink_loops_and_links_out_of_the_root_are_not_followed() {
    let outside = TempTree::new();
    let mut rng = Rng::new(42);
    let secret_outside = miniback_key(&mut rng);
    outside.write("secret.txt", format!("k={secret_outside}\n"));

    let t = TempTree::new();
    let key = miniback_key(&mut rng);
    t.write("src/app.js", format!("k='{key}'\n"));
    fn sym(target: impl AsRef<Path>, link: impl AsRef<Path>) {
        std::os::unix::fs::symlink(target, link).unwrap();
    }
    sym("..", t.path().join("src/up")); // a loop
    sym("loop-b", t.path().join("loop-a"));
    sym("loop-a", t.path().join("loop-b"));
    sym(outside.path(), t.path().join("outside-dir"));
    sym(
        outside.path().join("secret.txt"),
        t.path().join("outside.txt"),
    );

    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1);
    let paths: Vec<&str> = key_findings(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["src/app.js"], "nothing through a symlink");
    assert_eq!(skipped(&v, "symlink"), 5);
    assert!(errors(&v).is_empty(), "{:?}", errors(&v));
}

#[test]
fn non_utf8_file_names_are_shown_lossily_in_valid_json() {
    use std::os::unix::ffi::OsStrExt;
    let t = TempTree::new();
    let mut rng = Rng::new(43);
    let key = miniback_key(&mut rng);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.js");
    std::fs::write(t.path().join(name), format!("k='{key}'\n")).unwrap();
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1);
    assert_eq!(key_findings(&v).len(), 1);
    assert_eq!(key_findings(&v)[0]["path"], "caf\u{FFFD}-\u{FFFD}.js");
    let text = run(t.path(), &["."]).stdout;
    assert!(String::from_utf8(text)
        .expect("text output is UTF-8")
        .contains("at caf\u{FFFD}-\u{FFFD}.js:1:4"));
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for u in text.encode_utf16() {
        out.extend_from_slice(&if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

#[test]
fn utf16_dotenv_files_are_decoded_and_their_variable_names_read() {
    let t = TempTree::new();
    t.git_init();
    let mut rng = Rng::new(44);
    let (exposed_le, private_le, exposed_be, server_be) = (
        miniback_key(&mut rng),
        miniback_key(&mut rng),
        urbackend_key(&mut rng, "sk_live_"),
        miniback_key(&mut rng),
    );
    t.write(".gitignore", ".env\n.env.local\n");
    t.write(
        "package.json",
        r#"{"name":"web","dependencies":{"vite":"5"}}"#,
    );
    // Written by Windows tools: UTF-16 LE with a BOM and CRLF line ends.
    t.write(
        ".env",
        utf16(
            &format!("# local\r\nVITE_MINIBACK_KEY={exposed_le}\r\nMINIBACK_KEY={private_le}\r\nMINIBACK_PROJECT_ID=acme-prod\r\n"),
            false,
        ),
    );
    t.write(
        ".env.local",
        utf16(
            &format!("NEXT_PUBLIC_URBACKEND_KEY=\"{exposed_be}\"\n"),
            true,
        ),
    );
    t.write(
        "config.txt",
        utf16(&format!("a\rb\r\nkey: {server_be}\n"), true),
    );
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1);
    let le = find(&v, "miniback-api-key", ".env");
    assert_eq!(le.len(), 1, "{v:#}");
    assert_eq!(
        le[0]["context"], "client",
        "VITE_ is inlined by the bundler"
    );
    assert_eq!(le[0]["severity"], "critical");
    assert!(le[0]["message"]
        .as_str()
        .unwrap()
        .contains("VITE_MINIBACK_KEY"));
    assert_eq!(
        (le[0]["line"].as_u64(), le[0]["column"].as_u64()),
        (Some(2), Some(19))
    );
    assert_eq!(
        v["summary"]["keys_in_ignored_dotenv"], 1,
        "MINIBACK_KEY in an ignored .env is correct usage"
    );
    let be = find(&v, "urbackend-secret-key", ".env.local");
    assert_eq!(be.len(), 1, "{v:#}");
    assert_eq!(be[0]["context"], "client");
    assert!(be[0]["message"]
        .as_str()
        .unwrap()
        .contains("NEXT_PUBLIC_URBACKEND_KEY"));
    assert_eq!(positions(&v, "miniback-api-key", "config.txt"), [(3, 6)]);
    // The project id in the UTF-16 .env names the project to rotate in.
    let cfg = find(&v, "miniback-api-key", "config.txt");
    assert!(
        cfg[0]["remediation"]
            .as_str()
            .unwrap()
            .contains("`acme-prod`"),
        "{:#}",
        cfg[0]
    );
}

#[test]
fn crlf_and_cr_only_line_ends_give_exact_positions() {
    let t = TempTree::new();
    let mut rng = Rng::new(45);
    let keys: Vec<String> = (0..3).map(|_| miniback_key(&mut rng)).collect();
    let text = format!(
        "one\r\ntwo\r\n  k={}\r\nthree\rfour\r\t{}\rfive\n\r\nsix\r\n\r\rk = {}",
        keys[0], keys[1], keys[2]
    );
    t.write("mixed.txt", &text);
    let (v, _) = json(t.path(), &["."]);
    let want: Vec<(u64, u64)> = keys
        .iter()
        .map(|k| line_col(text.as_bytes(), text.find(k.as_str()).unwrap()))
        .collect();
    assert_eq!(
        want,
        [(3, 5), (6, 2), (12, 5)],
        "the reference count itself"
    );
    assert_eq!(positions(&v, "miniback-api-key", "mixed.txt"), want);
}

#[test]
fn a_two_gib_sparse_file_is_streamed_and_its_last_key_located() {
    let t = TempTree::new();
    let mut rng = Rng::new(46);
    let key = miniback_key(&mut rng);
    let header = "2024-01-01 service started, nothing to see here\n".repeat(200);
    let size: u64 = 2 << 30;
    let path = t.path().join("huge.log");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    // Zeros in between, as a hole: no disk, page-cache speed.
    f.set_len(size).unwrap();
    let tail = format!("\nlast words k={key}\n");
    f.seek(SeekFrom::Start(size - tail.len() as u64)).unwrap();
    f.write_all(tail.as_bytes()).unwrap();
    drop(f);
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1);
    let want_line = header.matches('\n').count() as u64 + 2;
    assert_eq!(
        positions(&v, "miniback-api-key", "huge.log"),
        [(want_line, 14)]
    );
    assert_eq!(v["summary"]["bytes_scanned"], size);
}

#[test]
fn a_fifty_mib_one_line_bundle_is_scanned_to_its_last_byte() {
    let t = TempTree::new();
    let mut rng = Rng::new(47);
    let (k1, k2) = (miniback_key(&mut rng), miniback_key(&mut rng));
    let half = "function(a,b){return a.map(function(c){return c*b})};".repeat(500_000);
    let text = format!("{half}var k=\"{k1}\";{half}var z=\"{k2}\"");
    assert!(text.len() > 50 << 20);
    t.write("dist/app.min.js", &text);
    let (v, _) = json(t.path(), &["."]);
    let got = positions(&v, "miniback-api-key", "dist/app.min.js");
    let want = [
        (1, text.find(&k1).unwrap() as u64 + 1),
        (1, text.find(&k2).unwrap() as u64 + 1),
    ];
    assert_eq!(got, want);
    assert!(text.ends_with(&format!("{k2}\"")));
}

#[test]
fn a_flood_of_keyword_prefixes_finishes_and_finds_nothing() {
    let t = TempTree::new();
    t.write("flood.txt", "mbk_".repeat(6 << 20)); // 24 MiB
    t.write("flood2.txt", "-mbk_sk_live_".repeat(512 << 10)); // 6.5 MiB
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 0);
    assert!(key_findings(&v).is_empty());
    assert_eq!(v["summary"]["files_scanned"], 2);
}

#[test]
fn empty_files_fifos_sockets_and_devices_never_block() {
    let t = TempTree::new();
    let mut rng = Rng::new(48);
    let key = miniback_key(&mut rng);
    t.write("empty.txt", "");
    t.write("src/app.js", format!("k='{key}'\n"));
    let fifo = t.path().join("pipe.env");
    mkfifo(&fifo);
    let _socket = std::os::unix::net::UnixListener::bind(t.path().join("daemon.sock")).unwrap();

    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1);
    assert_eq!(key_findings(&v).len(), 1);
    assert_eq!(skipped(&v, "special"), 2);
    assert_eq!(
        v["summary"]["files_scanned"], 2,
        "app.js and the empty file"
    );
    assert!(errors(&v).is_empty());

    // Named explicitly, a FIFO without a writer and an endless device are
    // still only looked at, never opened.
    let (v, code) = json(
        t.path(),
        &["pipe.env", "/dev/zero", "/dev/null", "src/app.js"],
    );
    assert_eq!(code, 1);
    assert_eq!(key_findings(&v).len(), 1);
    assert_eq!(skipped(&v, "special"), 3);
}

#[test]
fn keys_at_the_end_of_a_file_and_on_streaming_boundaries_are_found_once() {
    // The streaming reader's first 4 MiB buffer accepts hits before
    // 4 MiB - 1 KiB and keeps the last 256 bytes before that point.
    const CHUNK: usize = 4 << 20;
    let accept_end = CHUNK - 1024;
    let t = TempTree::new();
    let mut rng = Rng::new(49);
    let mut expected = Vec::new();
    let starts = [
        accept_end - 25,
        accept_end - 1,
        accept_end,
        accept_end + 1,
        accept_end - 256,
        CHUNK - 24,
        CHUNK - 3,
        CHUNK,
    ];
    for (i, start) in starts.iter().enumerate() {
        let key = miniback_key(&mut rng);
        let mut bytes = "log line\r\n".repeat(start / 10 + 1).into_bytes();
        bytes.truncate(start - 1);
        bytes.push(b' ');
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(b"\n tail\n".repeat(i * 50).as_slice());
        let name = format!("b{i}.log");
        expected.push((name.clone(), line_col(&bytes, *start)));
        t.write(&name, &bytes);
    }
    let key = miniback_key(&mut rng);
    t.write("end.txt", format!("first line\nk={key}"));
    expected.push(("end.txt".into(), (2, 3)));
    let (v, _) = json(t.path(), &["."]);
    for (name, pos) in expected {
        assert_eq!(
            positions(&v, "miniback-api-key", &name),
            [pos],
            "{name}: found once, in the right place"
        );
    }
}

#[test]
fn a_malformed_gitignore_is_a_note_and_the_scan_goes_on() {
    let t = TempTree::new();
    t.git_init();
    let mut rng = Rng::new(50);
    let (ignored, kept, in_glob) = (
        miniback_key(&mut rng),
        miniback_key(&mut rng),
        miniback_key(&mut rng),
    );
    t.write(
        ".gitignore",
        format!("{{unclosed\n*.log\n[z-a]\n{{{in_glob}\n"),
    );
    t.write("debug.log", format!("k={ignored}\n"));
    t.write("src/app.js", format!("k='{kept}'\n"));
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 1);
    let paths: Vec<&str> = key_findings(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    // The key quoted in .gitignore is a finding like any other.
    assert_eq!(
        paths,
        [".gitignore", "src/app.js"],
        "the valid line `*.log` still applies"
    );
    let notes: Vec<&str> = v["summary"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes[0].starts_with(".gitignore:1: ignore rule skipped:"),
        "{notes:?}"
    );
    assert!(notes[1].starts_with(".gitignore:3:") && notes[1].contains("[z-a]"));
    assert!(notes[2].starts_with(".gitignore:4:"));
    assert!(
        !notes[2].contains(&in_glob[4..]),
        "a key quoted from the file is redacted: {notes:?}"
    );
    assert!(errors(&v).is_empty());
    let (_, code) = json(t.path(), &["--strict", "--fail-on", "critical", "."]);
    assert_eq!(code, 0, "notes are not errors, even with --strict");
}

#[test]
fn malformed_configs_exit_2_with_file_line_and_column() {
    let t = TempTree::new();
    let mut rng = Rng::new(51);
    let key = miniback_key(&mut rng);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"fail_on = \"high\n".to_vec(), ".keyscan.toml:1:"),
        (
            b"[allowlist]\npaths = \"x\"\n".to_vec(),
            ".keyscan.toml:2:9:",
        ),
        (b"[scan]\nbuild_dirs = yes\n".to_vec(), ".keyscan.toml:2:"),
        (b"[allowlist]\n[allowlist]\n".to_vec(), ".keyscan.toml:2:"),
        (
            b"# caf\xe9\n".to_vec(),
            ".keyscan.toml:1:6: config is not valid UTF-8",
        ),
        (
            format!("fail_on = \"{key}\"\n").into_bytes(),
            ".keyscan.toml:1:11: unknown severity `mbk_…`",
        ),
    ];
    for (config, want) in cases {
        t.write(".keyscan.toml", &config);
        let out = run(t.path(), &["."]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "want {want:?} in {err}");
        assert!(
            !err.contains(&key[4..]),
            "the config's key is not echoed: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

fn rule_config(id: &str, pattern: &str) -> String {
    format!(
        "[[rule]]\nid = \"{id}\"\nprovider = \"Acme\"\nname = \"Acme token\"\ndescription = \"d\"\nkeywords = [\"acme_\"]\npattern = '{pattern}'\n[rule.rotation]\nurl = \"https://acme.test\"\nsteps = []\n"
    )
}

#[test]
fn invalid_and_huge_custom_rule_regexes_exit_2_naming_file_rule_and_field() {
    let t = TempTree::new();
    for (pattern, want) in [
        (r"\b(acme_[A-Za-z0-9]{32)\b", "unclosed"),
        (r"\b(acme_(?:[a-z]{500}){500})\b", "too large"),
        (r"(acme_\p{Greek}{3})", "Unicode"),
    ] {
        t.write(".keyscan.toml", rule_config("acme-token", pattern));
        let out = run(t.path(), &["."]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{pattern}: {err}");
        assert!(
            err.contains(".keyscan.toml: rule `acme-token`: field `pattern`"),
            "{err}"
        );
        assert!(
            err.to_lowercase().contains(&want.to_lowercase()),
            "{pattern}: {err}"
        );
    }
    // A huge pattern *text* (a 200,000-way alternation) is refused too, not
    // compiled into gigabytes.
    let alternation: Vec<String> = (0..200_000).map(|i| format!("acme_{i:06}x")).collect();
    t.write(
        ".keyscan.toml",
        rule_config("acme-token", &format!("({})", alternation.join("|"))),
    );
    let out = run(t.path(), &["."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", &err[..err.len().min(500)]);
    assert!(
        err.contains("field `pattern`"),
        "{}",
        &err[..err.len().min(500)]
    );
}

// ─── Output never becomes an attack or a leak ───────────────────────────────

/// Every `--format` value, read from `keyscan -h` so that a new format is
/// covered as soon as it exists.
fn formats() -> Vec<String> {
    let out = keyscan().arg("-h").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let start = help.find("--format").expect("--format in -h");
    let rest = &help[start..];
    // The option's text runs until the next line that starts an option.
    let end = rest[1..]
        .find("\n  -")
        .or_else(|| rest[1..].find("\n\n"))
        .map_or(rest.len(), |i| i + 1);
    let section = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    let values = section
        .split("[possible values: ")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .expect("possible values listed");
    let v: Vec<String> = values.split(", ").map(str::to_string).collect();
    assert!(v.contains(&"text".to_string()) && v.contains(&"json".to_string()));
    v
}

/// Fails if `output` holds `key` or any 10-character piece of its random part.
fn assert_no_key(output: &[u8], key: &str, prefix_len: usize, what: &str) {
    let text = String::from_utf8_lossy(output);
    assert!(!text.contains(key), "{what}: raw key");
    let body = &key[prefix_len..];
    for i in 0..=body.len() - 10 {
        assert!(
            !text.contains(&body[i..i + 10]),
            "{what}: 10 characters of the key at {i}"
        );
    }
}

#[test]
fn no_output_format_or_stderr_carries_a_key_without_show_secrets() {
    let t = TempTree::new();
    t.git_init();
    let mut rng = Rng::new(52);
    let mini = miniback_key(&mut rng);
    let urb = urbackend_key(&mut rng, "sk_live_");
    let stripe = stripe_key(&mut rng, "sk_live_");
    let next = miniback_key(&mut rng);
    t.write(
        "package.json",
        r#"{"name":"web","dependencies":{"vite":"5"}}"#,
    );
    // Two keys on one line: neither may appear in the other's snippet.
    t.write(
        "dist/assets/index-4f3a9b2c.js",
        format!("var a=\"{mini}\",b=\"{urb}\";"),
    );
    t.write(
        "server/pay.py",
        format!("import stripe\nstripe.api_key = '{stripe}'\n"),
    );
    t.write(".env.local", format!("VITE_MINIBACK_KEY={next}\n"));
    t.write("docs/setup.md", format!("Use `{mini}` and {urb}\n"));
    // A .gitignore line quoting a key, and a path that cannot be read.
    t.write(".gitignore", format!("{{{next}\n"));
    std::os::unix::fs::symlink("nowhere", t.path().join("gone.js")).unwrap();
    let keys = [(&mini, 4), (&urb, 8), (&stripe, 8), (&next, 4)];

    let formats = formats();
    for format in &formats {
        for extra in [&["--color", "always"][..], &["--strict", "-j", "1"][..]] {
            let mut args = vec!["--format", format.as_str()];
            args.extend_from_slice(extra);
            args.extend_from_slice(&[".", "gone.js"]);
            let out = run(t.path(), &args);
            assert_eq!(out.status.code(), Some(1), "{format}");
            assert!(!out.stdout.is_empty(), "{format} printed something");
            for (k, p) in keys {
                assert_no_key(&out.stdout, k, p, &format!("{format} stdout"));
                assert_no_key(&out.stderr, k, p, &format!("{format} stderr"));
            }
        }
    }
    // The check can fail: with --show-secrets the keys are there.
    let out = run(t.path(), &["--show-secrets", "--format", "json", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(keys.iter().all(|(k, _)| text.contains(k.as_str())));
}

/// Bytes a terminal must never receive raw from keyscan.
fn assert_terminal_safe(output: &[u8], what: &str) {
    let text = String::from_utf8_lossy(output);
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{E0041}');
        assert!(!bad, "{what}: raw U+{:04X} in\n{text}", c as u32);
    }
}

#[test]
fn hostile_names_content_rules_and_errors_are_escaped_on_a_terminal() {
    let t = TempTree::new();
    t.git_init();
    let mut rng = Rng::new(53);
    let key = miniback_key(&mut rng);
    let token = format!("acme_{}", rng.string(ALNUM, 32));
    let evil_name = "x\x1b]0;pwned\x07\u{202E}sj.\n::error::forged\r.js";
    t.write(
        evil_name,
        format!("\x1b[2J\x08\x08k = '{key}'; // \u{2067}\u{200B}\u{E0041}\r\x1b[1A\n"),
    );
    t.write("src/t.js", format!("t = '{token}'\n"));
    t.write(
        ".keyscan.toml",
        "[[rule]]\nid = \"acme-token\"\nprovider = \"Acme\\u001b[31m\"\nname = \"Acme\\u001b]0;title\\u0007 token\\r\"\ndescription = \"d\\u202e\"\nkeywords = [\"acme_\"]\npattern = '\\b(acme_[A-Za-z0-9]{32})\\b'\n[rule.rotation]\nurl = \"https://acme.test/\\u001b[5m\"\nsteps = [\"Revoke\\u0008\\u0008 it.\\r\\nSecond\\u2066 line\"]\n",
    );
    t.write(".gitignore", "{\x1b[31m\n");
    std::os::unix::fs::symlink("nowhere", t.path().join("gone\x1b[8m.js")).unwrap();
    // Printed at the start of an error line, this name would be a GitHub
    // Actions workflow command in a CI log.
    let command_name = "::error file=app.js,line=1::forged";
    std::os::unix::fs::symlink("nowhere", t.path().join(command_name)).unwrap();

    let out = run(t.path(), &["--strict", ".", "gone\x1b[8m.js", command_name]);
    assert_eq!(out.status.code(), Some(1));
    assert_terminal_safe(&out.stdout, "stdout");
    assert_terminal_safe(&out.stderr, "stderr");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("::")),
        "no line reads as a runner command:\n{text}"
    );
    assert!(
        text.contains(r"  \x3a:error file=app.js,line=1::forged: No such file"),
        "{text}"
    );
    assert!(
        text.contains(r"at x\x1b]0;pwned\x07<U+202E>sj.\x0a::error::forged\x0d.js:1:"),
        "{text}"
    );
    assert!(text.contains(r"Acme\x1b]0;title\x07 token\x0d"), "{text}");
    assert!(text.contains(r"gone\x1b[8m.js: No such file"), "{text}");
    assert!(
        text.contains(r".gitignore:1: ignore rule skipped"),
        "{text}"
    );

    // JSON keeps the exact path (escaped the JSON way, still valid).
    let (v, _) = json(t.path(), &["."]);
    assert!(key_findings(&v).iter().any(|f| f["path"] == evil_name));

    // A regex error quotes the pattern on its own line: no runner command.
    t.write(
        ".keyscan.toml",
        rule_config("acme-token", "::error file=a::forged(acme_"),
    );
    let out = run(t.path(), &["."]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("field `pattern`"), "{err}");
    assert!(
        !err.lines().any(|l| l.trim_start().starts_with("::")),
        "{err}"
    );

    // A hostile config that stops keyscan is escaped on stderr as well.
    t.write(
        ".keyscan.toml",
        "[allowlist]\n\"\\u001b[2Jwho\\u202e\" = 1\n",
    );
    let out = run(t.path(), &["."]);
    assert_eq!(out.status.code(), Some(2));
    assert_terminal_safe(&out.stderr, "fatal error");
    assert!(String::from_utf8_lossy(&out.stderr).contains(r"\x1b[2Jwho<U+202E>"));
}

/// The web model lists each web project's files to find its client entries.
/// That listing once let the `ignore` crate open the project's ignore files
/// itself, so a FIFO named `.gitignore` in a Vite app with a key hung the
/// scan forever (the main walk guarded it; the second walk did not).
#[test]
fn a_fifo_ignore_file_in_a_web_project_never_hangs_the_context_step() {
    let t = TempTree::new();
    t.git_init();
    let mut rng = Rng::new(50);
    let key = miniback_key(&mut rng);
    t.write(
        "app/package.json",
        r#"{"name":"app","dependencies":{"vite":"5.0.0","react":"18.0.0"}}"#,
    );
    t.write("app/vite.config.js", "export default {}\n");
    t.write(
        "app/index.html",
        "<script type=\"module\" src=\"/src/main.js\"></script>\n",
    );
    t.write(
        "app/src/main.js",
        "import { k } from './lib/keys.js'\nconsole.log(k)\n",
    );
    t.write(
        "app/src/lib/keys.js",
        format!("export const k = \"{key}\"\n"),
    );
    for dir in ["app/src/lib", "app/src"] {
        let fifo = t.path().join(dir).join(".gitignore");
        let _ = std::fs::remove_file(&fifo);
        mkfifo(&fifo);
        let (v, code) = json_within(t.path(), &["."], std::time::Duration::from_secs(20));
        assert_eq!(code, 1, "{v:#}");
        let keys = key_findings(&v);
        assert_eq!(keys.len(), 1, "{v:#}");
        // Still judged by where the code runs: the HTML entry imports it.
        assert_eq!(keys[0]["context"], "client", "{v:#}");
        std::fs::remove_file(&fifo).unwrap();
    }
}
