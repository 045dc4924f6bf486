//! Release metadata and the snippets users copy: `scripts/release-check.sh`
//! (which the release workflow runs before publishing) on this tree and on
//! doctored copies, and the README/docs workflow snippets against the inputs
//! and outputs `action.yml` really has.

use crate::common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn release_check(root: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(root.join("scripts/release-check.sh"))
        .args(args)
        .output()
        .expect("bash runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A copy of the files release-check.sh reads.
fn copy_release_files() -> TempTree {
    let t = TempTree::new();
    let root = repo_root();
    for f in [
        "scripts/release-check.sh",
        "Cargo.toml",
        "Cargo.lock",
        "CHANGELOG.md",
        "README.md",
        "npm/cli/package.json",
        "pre-commit-mirror/pyproject.toml",
        "pre-commit-mirror/README.md",
        "docs/github-actions-example.yml",
    ] {
        t.write(f, std::fs::read(root.join(f)).unwrap());
    }
    t
}

#[test]
fn versions_agree_across_cargo_npm_pre_commit_and_readme() {
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let (ok, out) = release_check(&repo_root(), &[&tag, "--allow-unreleased"]);
    assert!(ok, "{out}");

    let (ok, out) = release_check(&repo_root(), &["v99.0.0", "--allow-unreleased"]);
    assert!(!ok);
    assert!(
        out.contains("tag v99.0.0 does not match Cargo.toml's version"),
        "{out}"
    );
}

#[test]
fn a_release_needs_a_dated_changelog_section_and_matching_packages() {
    let version = env!("CARGO_PKG_VERSION");
    let tag = format!("v{version}");
    let t = copy_release_files();
    // Between releases: no dated section, so a tag would be refused.
    let (ok, out) = release_check(t.path(), &[&tag]);
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "CHANGELOG.md has no section '## [{version}] - YYYY-MM-DD'"
        )),
        "{out}"
    );

    let changelog = std::fs::read_to_string(t.path().join("CHANGELOG.md")).unwrap();
    t.write(
        "CHANGELOG.md",
        changelog.replace("## [Unreleased]", &format!("## [{version}] - 2026-01-31")),
    );
    let (ok, out) = release_check(t.path(), &[&tag]);
    assert!(ok, "{out}");

    // Every published version must move together.
    let npm = std::fs::read_to_string(t.path().join("npm/cli/package.json")).unwrap();
    t.write(
        "npm/cli/package.json",
        npm.replacen(
            &format!("\"@keyscan/cli-linux-x64\": \"{version}\""),
            "\"@keyscan/cli-linux-x64\": \"0.0.9\"",
            1,
        ),
    );
    let readme = std::fs::read_to_string(t.path().join("README.md")).unwrap();
    t.write(
        "README.md",
        readme.replacen(&format!("rev: {tag}"), "rev: v0.0.9", 1),
    );
    let (ok, out) = release_check(t.path(), &[&tag]);
    assert!(!ok);
    assert!(out.contains("pins a platform package at 0.0.9"), "{out}");
    assert!(out.contains("rev: v0.0.9: expected"), "{out}");
    assert!(out.contains("2 problem(s)"), "{out}");
}

/// Top-level keys of the block `section:` in action.yml (two-space indent).
fn action_keys(section: &str) -> BTreeSet<String> {
    let yml = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let mut keys = BTreeSet::new();
    let mut inside = false;
    for line in yml.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            inside = line == format!("{section}:");
        } else if inside {
            if let Some(k) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
                if !k.starts_with(' ') {
                    keys.insert(k.to_string());
                }
            }
        }
    }
    keys
}

/// For each `uses: keyscan/keyscan@…` step in `yaml`: its `with:` keys; and
/// every `steps.ID.outputs.NAME` name.
fn keyscan_usage(yaml: &str) -> (Vec<BTreeSet<String>>, BTreeSet<String>) {
    let lines: Vec<&str> = yaml.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut steps = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line
            .trim_start()
            .trim_start_matches("- ")
            .starts_with("uses: keyscan/keyscan@")
        {
            continue;
        }
        let mut with = BTreeSet::new();
        let mut j = i + 1;
        while j < lines.len()
            && indent(lines[j]) >= indent(line)
            && !lines[j].trim_start().starts_with("- ")
        {
            if lines[j].trim() == "with:" {
                let w = indent(lines[j]);
                j += 1;
                while j < lines.len() && indent(lines[j]) > w {
                    with.insert(lines[j].trim().split(':').next().unwrap().to_string());
                    j += 1;
                }
                continue;
            }
            j += 1;
        }
        steps.push(with);
    }
    let re = regex::Regex::new(r"steps\.[A-Za-z0-9_-]+\.outputs\.([A-Za-z0-9_-]+)").unwrap();
    let outputs = re.captures_iter(yaml).map(|c| c[1].to_string()).collect();
    (steps, outputs)
}

#[test]
fn workflow_snippets_use_inputs_and_outputs_the_action_has() {
    let inputs = action_keys("inputs");
    let outputs = action_keys("outputs");
    assert!(
        inputs.contains("version") && inputs.contains("base") && inputs.contains("head"),
        "{inputs:?}"
    );
    assert!(
        outputs.contains("sarif-file") && outputs.contains("exit-code"),
        "{outputs:?}"
    );
    let docs =
        std::fs::read_to_string(repo_root().join("docs/github-actions-example.yml")).unwrap();
    for (name, yaml) in [
        ("README action-workflow", readme_snippet("action-workflow")),
        ("docs/github-actions-example.yml", docs),
    ] {
        let (steps, used) = keyscan_usage(&yaml);
        assert_eq!(steps.len(), 2, "{name}: a tree and a history step");
        for with in &steps {
            assert!(with.contains("mode"), "{name}: {with:?}");
            for k in with {
                assert!(
                    inputs.contains(k),
                    "{name} uses input `{k}`, which action.yml lacks"
                );
            }
        }
        for o in &used {
            assert!(
                outputs.contains(o),
                "{name} reads output `{o}`, which action.yml lacks"
            );
        }
        assert!(used.contains("sarif-file"), "{name}");
    }
}
