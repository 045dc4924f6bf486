//! insta snapshots of what people and machines read: `--help`, and the text,
//! JSON, SARIF and GitHub outputs for `fixtures/report-tree` (one finding
//! per severity, a placeholder, a client bundle, one key in two places). The tree is copied to a
//! temporary directory first; temp paths, durations and the version are
//! filtered out so the snapshots hold only what keyscan decides.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test --test it snapshots::`
//! (or `cargo insta review`), then read the diff of `tests/it/snapshots/`.

use crate::common::{copy_tree, keyscan, TempTree};
use std::path::Path;

fn fixture() -> TempTree {
    let t = TempTree::new();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/report-tree"),
        t.path(),
    );
    t
}

/// Runs keyscan in `dir`; returns stdout, with the exit code checked.
fn stdout(dir: &Path, args: &[&str], code: i32) -> String {
    stdout_at(dir, args, code, 100)
}

/// [`stdout`] with `COLUMNS` set to `columns`. The text report wraps to it,
/// so its snapshot is taken wide: a temporary path (filtered out, but of a
/// length that differs between machines) must not move line breaks.
fn stdout_at(dir: &Path, args: &[&str], code: i32, columns: u32) -> String {
    let out = keyscan()
        .current_dir(dir)
        .env("COLUMNS", columns.to_string())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(&regex_escape(&dir.display().to_string()), "[TEMP]");
    s.add_filter(r"scanned in \d+ ms", "scanned in [N] ms");
    s.add_filter(r#""duration_ms": \d+"#, r#""duration_ms": [N]"#);
    let v = regex_escape(env!("CARGO_PKG_VERSION"));
    s.add_filter(
        &format!(r#""(version|semanticVersion)": "{v}""#),
        r#""$1": "[VERSION]""#,
    );
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

#[test]
fn help() {
    let t = TempTree::new();
    let help = stdout(t.path(), &["--help"], 0);
    settings(t.path()).bind(|| insta::assert_snapshot!("help", help));
}

#[test]
fn text_report() {
    let t = fixture();
    let out = stdout_at(t.path(), &["--color", "never", "."], 1, 1000);
    settings(t.path()).bind(|| insta::assert_snapshot!("text", out));
}

#[test]
fn json_report() {
    let t = fixture();
    let out = stdout(t.path(), &["--format", "json", "."], 1);
    settings(t.path()).bind(|| insta::assert_snapshot!("json", out));
}

#[test]
fn sarif_report() {
    let t = fixture();
    let out = stdout(t.path(), &["--format", "sarif", "."], 1);
    settings(t.path()).bind(|| insta::assert_snapshot!("sarif", out));
}

#[test]
fn github_report() {
    let t = fixture();
    let out = stdout(t.path(), &["--format", "github", "."], 1);
    settings(t.path()).bind(|| insta::assert_snapshot!("github", out));
}

#[test]
fn list_rules() {
    let t = TempTree::new();
    let out = stdout(t.path(), &["--list-rules"], 0);
    settings(t.path()).bind(|| insta::assert_snapshot!("list_rules", out));
}
