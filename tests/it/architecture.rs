//! The pipeline's shape, checked on the source itself: dependencies between
//! the crate's top-level modules run one way (no cycles), sources never see
//! a judge, a report or an audit, and no code outside the judge assigns a
//! finding's words or severity.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its `#[cfg(test)]` module (tests may use
/// anything) and without comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level module of a file under `src/` (`source` for
/// `src/source/history/mod.rs`), `None` for `lib.rs` and `main.rs`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    let name = first.trim_end_matches(".rs").to_string();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// `module → modules it uses` for the library's top-level modules.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(m) = module_of(&src, f) else {
            continue;
        };
        let text = code(&std::fs::read_to_string(f).unwrap());
        assert!(
            !text.contains("crate::{"),
            "{}: name each module path (`use crate::a::…`), so this test sees it",
            f.display()
        );
        let deps = graph.entry(m.clone()).or_default();
        for other in &modules {
            if *other != m && text.contains(&format!("crate::{other}")) {
                deps.insert(other.clone());
            }
        }
    }
    graph
}

#[test]
fn sources_never_import_judge_report_or_audit() {
    let g = graph();
    let deps = &g["source"];
    for forbidden in ["judge", "report", "audit", "pipeline"] {
        assert!(!deps.contains(forbidden), "source/ uses crate::{forbidden}");
    }
}

#[test]
fn top_level_modules_form_no_cycle() {
    let g = graph();
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(cycle) = visit(m, &g, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn only_the_judge_and_audits_write_a_findings_words() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offenders = Vec::new();
    for f in &files {
        let m = module_of(&src, f).unwrap_or_default();
        if matches!(m.as_str(), "judge" | "audit" | "finding") {
            continue;
        }
        let text = code(&std::fs::read_to_string(f).unwrap());
        for field in ["message", "remediation", "context", "severity"] {
            for op in [" = ", " += ", ".push_str("] {
                let needle = format!(".{field}{op}");
                if text.contains(&needle) {
                    offenders.push(format!("{}: `{needle}`", f.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
