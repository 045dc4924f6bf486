//! End-to-end tests: keyscan never opens, reads or writes through a symlink
//! inside the scanned tree, and every printed string is redacted and escaped.
//!
//! Symlinked build folders (`dist -> ../outside`, `dist -> /`), ignore files
//! that are links or FIFOs (`.gitignore -> /dev/zero`,
//! `.ignore -> /proc/self/environ`), `--fix` on a linked or dangling
//! `.gitignore`, and a tracked `.env` that links out of the repository: what
//! is skipped is counted and named. Keys in file names and commit authors,
//! and control characters in file names under `--format github`, never reach
//! the output raw.

#![cfg(unix)]

use crate::common::*;
use serde_json::Value;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// A walk of `/` would take far longer: a hang or an escape fails here.
const TIMEOUT: Duration = Duration::from_secs(60);

fn run(dir: &Path, args: &[&str]) -> Output {
    run_within(dir, args, TIMEOUT)
}

fn json(dir: &Path, args: &[&str]) -> (Value, i32) {
    json_within(dir, args, TIMEOUT)
}

fn notes(v: &Value) -> Vec<String> {
    v["summary"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn build_folders_that_are_links_are_not_followed() {
    let outside = TempTree::new();
    let mut rng = Rng::new(1201);
    let leaked = miniback_key(&mut rng);
    outside.write("bundle.js", format!("var k=\"{leaked}\";"));
    let t = TempTree::new();
    t.git_init();
    t.write(
        "package.json",
        r#"{"name":"web","devDependencies":{"vite":"5"}}"#,
    );
    t.write(".gitignore", "dist/\nbuild/\n");
    symlink(outside.path(), t.path().join("dist")).unwrap();
    symlink("/", t.path().join("build")).unwrap();
    let (v, code) = json(t.path(), &["."]);
    let text = v.to_string();
    assert!(
        !text.contains(&leaked[4..14]),
        "a file outside the tree was read"
    );
    assert!(key_findings(&v).is_empty(), "{v}");
    assert!(code <= 1);
    let n = notes(&v);
    for name in ["dist", "build"] {
        assert!(
            n.iter()
                .any(|l| l.contains(&format!("build folder `{name}` is a symbolic link"))),
            "{n:?}"
        );
    }
    assert!(v["summary"]["files_skipped"]["symlink"].as_u64().unwrap() >= 2);
    assert_eq!(v["summary"]["build_dirs_scanned"], serde_json::json!([]));
}

#[test]
fn ignore_files_that_are_links_fifos_or_devices_are_never_opened() {
    let t = TempTree::new();
    let mut rng = Rng::new(1202);
    let keys: Vec<String> = (0..4).map(|_| miniback_key(&mut rng)).collect();
    symlink("/dev/zero", t.path().join(".gitignore")).unwrap();
    t.write("a/app.js", format!("k = \"{}\"\n", keys[0]));
    mkfifo(&t.path().join("a/.gitignore"));
    t.write("b/app.js", format!("k = \"{}\"\n", keys[1]));
    symlink("/proc/self/environ", t.path().join("b/.ignore")).unwrap();
    // Below a folder whose ignore file is not read, a regular `.ignore`
    // still applies (`.gitignore` rules are off there: more is scanned).
    t.write("b/sub/.ignore", "skipped.js\n");
    t.write("b/sub/skipped.js", format!("k = \"{}\"\n", keys[2]));
    t.write("b/sub/kept.js", format!("k = \"{}\"\n", keys[3]));
    let marker = format!("KEYSCAN_ENV_MARKER_{}", rng.string(LOWER_DIGITS, 12));
    let out = keyscan()
        .current_dir(t.path())
        .env(&marker, "secret-value-of-the-ci-job")
        .args(["--format", "json", "."])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains(&marker),
        "the environment reached the output"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let found: Vec<&str> = key_findings(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["a/app.js", "b/app.js", "b/sub/kept.js"], "{v}");
    let n = notes(&v);
    for (file, why) in [
        (".gitignore", "is a symbolic link"),
        ("a/.gitignore", "is not a regular file"),
        ("b/.ignore", "is a symbolic link"),
    ] {
        assert!(
            n.iter()
                .any(|l| l.starts_with(&format!("`{file}` {why}: not read"))),
            "{file}: {n:?}"
        );
    }
}

#[test]
fn fix_never_writes_through_a_gitignore_link_and_replaces_files_whole() {
    let outside = TempTree::new();
    let target = outside.write("precious.txt", "do not touch\n");
    let mut rng = Rng::new(1203);
    // A `.gitignore` that links out of the repository.
    let t = TempTree::new();
    t.git_init();
    t.write(
        ".env",
        format!("MINIBACK_API_KEY={}\n", miniback_key(&mut rng)),
    );
    symlink(&target, t.path().join(".gitignore")).unwrap();
    let out = run(t.path(), &["--fix", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "do not touch\n");
    assert!(
        text.contains("skipped: `.gitignore` is a symbolic link: not changed"),
        "{text}"
    );
    assert!(text.contains(".env"), "the lines to add are named: {text}");
    // A dangling link: nothing is created where it points.
    std::fs::remove_file(t.path().join(".gitignore")).unwrap();
    let nowhere = outside.path().join("created-by-keyscan");
    symlink(&nowhere, t.path().join(".gitignore")).unwrap();
    let out = run(t.path(), &["--fix", "."]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !nowhere.exists(),
        "a file was created outside the repository"
    );
    // A regular `.gitignore` is replaced whole: old lines kept, new lines
    // added, no temporary file left behind.
    std::fs::remove_file(t.path().join(".gitignore")).unwrap();
    t.write(".gitignore", "node_modules/\r\n");
    let out = run(t.path(), &["--fix", "."]);
    assert_eq!(out.status.code(), Some(0));
    let gi = std::fs::read_to_string(t.path().join(".gitignore")).unwrap();
    assert!(
        gi.starts_with("node_modules/\r\n") && gi.contains(".env\r\n"),
        "{gi:?}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("keyscan-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_tracked_dotenv_file_that_links_outside_is_not_read() {
    let outside = TempTree::new();
    let mut rng = Rng::new(1204);
    let key = miniback_key(&mut rng);
    let secrets = outside.write("secrets.env", format!("MINIBACK_API_KEY={key}\n"));
    let t = TempTree::new();
    t.git_init();
    t.write("README.md", "app\n");
    symlink(&secrets, t.path().join(".env")).unwrap();
    symlink(&secrets, t.path().join("secrets.json")).unwrap();
    t.commit_all("track links");
    let (v, _) = json(t.path(), &["--show-secrets", "."]);
    assert!(
        !v.to_string().contains(&key),
        "the outside file was read: {v}"
    );
    let n = notes(&v);
    for file in [".env", "secrets.json"] {
        assert!(
            n.iter()
                .any(|l| l.contains(&format!("`{file}` is a symbolic link: not read"))),
            "{file}: {n:?}"
        );
    }
}

#[test]
fn keys_in_file_names_and_commit_authors_are_redacted_in_every_format() {
    let t = TempTree::new();
    t.git_init();
    let mut rng = Rng::new(1205);
    let in_name = miniback_key(&mut rng);
    let in_file = miniback_key(&mut rng);
    let author = miniback_key(&mut rng);
    t.write(
        &format!("keys/{in_name}.js"),
        format!("k = \"{in_file}\"\n"),
    );
    t.git(&["add", "-A"]);
    t.git(&[
        "-c",
        &format!("user.name={author}"),
        "-c",
        &format!("user.email={author}@example.com"),
        "commit",
        "-qm",
        "add",
    ]);
    for mode in [&["."][..], &["--history", "."][..]] {
        for format in ["text", "json", "sarif", "github"] {
            let mut args = vec!["--format", format];
            args.extend_from_slice(mode);
            let out = run(t.path(), &args);
            assert_eq!(out.status.code(), Some(1), "{format} {mode:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            for key in [&in_name, &in_file, &author] {
                assert!(!text.contains(&key[4..14]), "{format} {mode:?}: {text}");
            }
            assert!(
                text.contains("keys/mbk_"),
                "{format}: the path is still named"
            );
        }
    }
    // With --show-secrets the names are printed as they are.
    let (v, _) = json(t.path(), &["--show-secrets", "--history", "."]);
    let text = v.to_string();
    assert!(text.contains(&in_name) && text.contains(&author), "{text}");
}

#[test]
fn github_annotations_never_carry_control_or_bidi_characters_from_names() {
    let t = TempTree::new();
    let mut rng = Rng::new(1206);
    let key = miniback_key(&mut rng);
    let evil = "a\x1b[31mb\x07c\x08d\u{202E}e\u{2066}f.js";
    t.write(evil, format!("k = \"{key}\"\n"));
    let out = run(t.path(), &["--format", "github", "."]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "raw U+{:04X} in\n{text}", c as u32);
    }
    assert!(
        text.contains(r"file=a\x1b[31mb\x07c\x08d<U+202E>e<U+2066>f.js"),
        "{text}"
    );
}

/// A file named on the command line is taken as given, a link included
/// (README, "What is scanned"); the same link met inside a scanned folder
/// is skipped, and its target is not read through it.
#[test]
fn a_link_named_on_the_command_line_is_followed_one_found_in_the_tree_is_not() {
    let t = TempTree::new();
    let mut rng = Rng::new(0x11_4c);
    let key = miniback_key(&mut rng);
    let outside = TempTree::new();
    outside.write("secret.js", format!("const k = \"{key}\";\n"));
    symlink(outside.path().join("secret.js"), t.path().join("link.js")).unwrap();
    let (v, code) = json(t.path(), &["link.js"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(key_findings(&v).len(), 1, "{v:#}");
    let (v, code) = json(t.path(), &["."]);
    assert_eq!(code, 0, "{v:#}");
    assert!(key_findings(&v).is_empty(), "{v:#}");
    assert_eq!(v["summary"]["files_skipped"]["symlink"], 1, "{v:#}");
}
