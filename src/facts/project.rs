//! Facts about the projects inside a scanned tree, gathered once per project
//! root rather than once per file.
//!
//! A *project root* is a folder holding a manifest (`package.json`,
//! `Cargo.toml`, `go.mod`, …). For JavaScript projects the `package.json`
//! tells whether the package builds a browser app (Vite, Create React App,
//! Angular, Parcel, …), which makes its `src/` front-end code; and
//! build-output folders (`dist/`, `build/`, …) next to a `package.json` are
//! client bundles. Dotenv files in a root may reveal a provider's project id
//! (`MINIBACK_PROJECT_ID=…`), which rotation guidance names.

use crate::dotenv;
use crate::paths::{file_name, parent_dir};
use crate::rules::RuleSet;
use std::collections::{BTreeMap, HashSet};

/// File names that make a folder a project root.
pub const MANIFESTS: &[&str] = &[
    "package.json",
    "Cargo.toml",
    "go.mod",
    "pyproject.toml",
    "requirements.txt",
    "setup.py",
    "Gemfile",
    "composer.json",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "deno.json",
    "mix.exs",
];

/// Build-output folders of web projects: client bundles, usually git-ignored.
pub const BUILD_DIRS: &[&str] = &[
    "dist",
    "build",
    "out",
    ".next",
    ".nuxt",
    ".output",
    ".svelte-kit",
];

/// Test and fixture folders: what is in them runs in the test suite, not
/// for the project's users (the judge's `test` context; web projects look
/// for no client entry there).
pub const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "__tests__",
    "spec",
    "specs",
    "fixtures",
    "__fixtures__",
    "__mocks__",
    "testdata",
    "test-data",
    "e2e",
    "cypress",
];

/// Build-output folders that only JavaScript frameworks create, so they are
/// client output wherever they appear.
const JS_ONLY_BUILD_DIRS: &[&str] = &[".next", ".nuxt", ".svelte-kit"];

/// Dependencies whose presence means the package's `src/` is bundled for the
/// browser.
const BROWSER_APP_DEPS: &[&str] = &[
    "vite",
    "react-scripts",
    "@angular/cli",
    "@angular-devkit/build-angular",
    "parcel",
    "parcel-bundler",
    "@vue/cli-service",
    "gatsby",
    "expo",
    "react-native",
    "webpack-dev-server",
    "@rsbuild/core",
];

/// What we know about one project root.
#[derive(Debug, Clone, Default)]
pub struct ProjectFacts {
    /// Manifest file names found in the folder.
    pub manifests: Vec<String>,
    /// The folder has a `package.json`.
    pub javascript: bool,
    /// The browser-app tool its `package.json` depends on, if any.
    pub browser_app: Option<String>,
    /// Project ids found in the folder's dotenv files: (rule id, project id).
    pub project_ids: Vec<(String, String)>,
}

/// Project roots of a scan, keyed by folder path relative to the scan root
/// (`""` for the root itself, `/`-separated, no trailing slash).
#[derive(Debug, Clone, Default)]
pub struct ProjectIndex {
    roots: BTreeMap<String, ProjectFacts>,
}

/// Whether a file name is a project manifest.
pub fn is_manifest(file_name: &str) -> bool {
    MANIFESTS.contains(&file_name)
}

impl ProjectIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a manifest at `path` (relative, `/`-separated). `content` is the
    /// manifest's bytes when available (only `package.json` is read).
    pub fn add_manifest(&mut self, path: &str, content: Option<&[u8]>) {
        let browser_app = content.and_then(browser_app_dependency);
        self.add_manifest_facts(path, browser_app);
    }

    /// [`ProjectIndex::add_manifest`] with the browser-app dependency of a
    /// `package.json` already found ([`browser_app_of`]): the tree walk
    /// parses manifests on its worker threads.
    pub fn add_manifest_facts(&mut self, path: &str, browser_app: Option<String>) {
        let dir = parent_dir(path).to_string();
        let name = file_name(path).to_string();
        let facts = self.roots.entry(dir).or_default();
        if name == "package.json" {
            facts.javascript = true;
            if browser_app.is_some() {
                facts.browser_app = browser_app;
            }
        }
        if !facts.manifests.contains(&name) {
            facts.manifests.push(name);
        }
    }

    /// Makes sure `dir` is known as a root (the scan root always is, for the
    /// dotenv checks).
    pub fn ensure_root(&mut self, dir: &str) -> &mut ProjectFacts {
        self.roots.entry(dir.to_string()).or_default()
    }

    /// Records a project id for rule `rule_id` found in a dotenv file of
    /// root `dir`.
    pub fn add_project_id(&mut self, dir: &str, rule_id: &str, id: &str) {
        let facts = self.roots.entry(dir.to_string()).or_default();
        if !facts.project_ids.iter().any(|(r, _)| r == rule_id) {
            facts
                .project_ids
                .push((rule_id.to_string(), id.to_string()));
        }
    }

    /// All roots, in path order.
    pub fn roots(&self) -> impl Iterator<Item = (&str, &ProjectFacts)> {
        self.roots.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Facts of the root at exactly `dir`.
    pub fn get(&self, dir: &str) -> Option<&ProjectFacts> {
        self.roots.get(dir)
    }

    /// The nearest project root containing `path` (a file path), with its dir.
    pub fn nearest(&self, path: &str) -> Option<(&str, &ProjectFacts)> {
        let mut dir = parent_dir(path);
        loop {
            if let Some((k, v)) = self.roots.get_key_value(dir) {
                return Some((k.as_str(), v));
            }
            if dir.is_empty() {
                return None;
            }
            dir = parent_dir(dir);
        }
    }

    /// The build-output folder (`web/dist`) that `path` lies in, if any: a
    /// `BUILD_DIRS` component next to a `package.json`, or a JS-only one
    /// anywhere. `node_modules` never counts.
    pub fn build_dir_of(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.split('/').collect();
        let dirs = &parts[..parts.len().saturating_sub(1)];
        for (i, part) in dirs.iter().enumerate() {
            if *part == "node_modules" {
                return None;
            }
            if !BUILD_DIRS.contains(part) {
                continue;
            }
            let parent = dirs[..i].join("/");
            let js_parent = self.roots.get(&parent).is_some_and(|f| f.javascript);
            if js_parent || JS_ONLY_BUILD_DIRS.contains(part) {
                return Some(dirs[..=i].join("/"));
            }
        }
        None
    }
}

impl ProjectIndex {
    /// Records the project ids that the rules' `[rule.project]` patterns find
    /// in `dotenv_bytes`, a dotenv file of root `dir` (UTF-16 is decoded).
    pub fn add_project_ids_from(&mut self, dir: &str, dotenv_bytes: &[u8], rules: &RuleSet) {
        let decoded = crate::scan::decode_utf16(dotenv_bytes);
        let bytes = decoded.as_deref().map_or(dotenv_bytes, str::as_bytes);
        for rule in &rules.rules {
            if let Some(id) = rule.find_project_id(bytes) {
                self.add_project_id(dir, rule.id(), &id);
            }
        }
    }

    /// The project index of a git tree, from its manifest and dotenv paths
    /// (`files`: path and a way to read its blob). Every manifest path
    /// becomes a project root. Blobs are read only where a finding needs
    /// them: a `package.json` (browser-app dependencies) or dotenv file
    /// (project ids) in a folder that contains one of `matched_paths`.
    pub fn from_git_paths<Id: Copy>(
        files: &[(String, Id)],
        matched_paths: &[&str],
        read: impl Fn(Id) -> Option<Vec<u8>>,
        rules: &RuleSet,
    ) -> ProjectIndex {
        let mut needed: HashSet<&str> = HashSet::new();
        for p in matched_paths {
            let mut dir = parent_dir(p);
            loop {
                if !needed.insert(dir) || dir.is_empty() {
                    break;
                }
                dir = parent_dir(dir);
            }
        }
        let mut projects = ProjectIndex::new();
        projects.ensure_root("");
        for (path, id) in files {
            let name = file_name(path);
            if !is_manifest(name) {
                continue;
            }
            let dir = parent_dir(path);
            let content = if name == "package.json" && needed.contains(dir) {
                read(*id)
            } else {
                None
            };
            projects.add_manifest(path, content.as_deref());
        }
        for (path, id) in files {
            let dir = parent_dir(path);
            if !dotenv::is_dotenv_name(file_name(path))
                || !needed.contains(dir)
                || projects.get(dir).is_none()
            {
                continue;
            }
            if let Some(bytes) = read(*id) {
                projects.add_project_ids_from(dir, &bytes, rules);
            }
        }
        projects
    }
}

/// Manifests and dotenv files larger than this are not read for project facts.
const FACTS_LIMIT: usize = 4 * 1024 * 1024;

/// [`ProjectIndex::from_git_paths`] for the repository at `git_dir`, reading
/// blobs of at most 4 MiB. A repository that cannot be opened gives the
/// roots without their manifests' content.
pub fn from_repo(
    git_dir: &std::path::Path,
    files: &[(String, git2::Oid)],
    matched_paths: &[&str],
    rules: &RuleSet,
) -> ProjectIndex {
    let repo = git2::Repository::open(git_dir).ok();
    let read = |id: git2::Oid| -> Option<Vec<u8>> {
        let blob = repo.as_ref()?.find_blob(id).ok()?;
        (blob.size() <= FACTS_LIMIT).then(|| blob.content().to_vec())
    };
    ProjectIndex::from_git_paths(files, matched_paths, read, rules)
}

/// Whether a path is interesting for project facts (a manifest or a dotenv
/// file), so git sources keep its blob id while enumerating.
pub fn is_fact_path(path: &str) -> bool {
    let name = file_name(path);
    is_manifest(name) || dotenv::is_dotenv_name(name)
}

/// [`is_fact_path`] for a file name given as bytes (a git index path's last
/// part), without converting it: a staged scan asks it of every entry of a
/// 100,000-file index.
pub fn is_fact_name(name: &[u8]) -> bool {
    name == b".env" || name.starts_with(b".env.") || MANIFESTS.iter().any(|m| m.as_bytes() == name)
}

/// The browser-app framework a `package.json` depends on, if any: the
/// first browser-app tool among its dependencies, then its dev
/// dependencies.
pub fn browser_app_of(bytes: &[u8]) -> Option<String> {
    browser_app_dependency(bytes)
}

/// The two sections of a `package.json` that name a browser-app tool; the
/// rest of the file is skipped without being built into values (this runs
/// for every `package.json` of a `node_modules`, thousands per scan).
#[derive(serde::Deserialize)]
struct DependencySections {
    dependencies: Option<serde_json::Value>,
    #[serde(rename = "devDependencies")]
    dev_dependencies: Option<serde_json::Value>,
}

fn browser_app_dependency(bytes: &[u8]) -> Option<String> {
    let sections = match serde_json::from_slice::<DependencySections>(bytes) {
        Ok(s) => [s.dependencies, s.dev_dependencies],
        // A duplicate section (the last one counts) or a file that is not
        // an object: read as a whole, as JSON says.
        Err(_) => {
            let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
            ["dependencies", "devDependencies"].map(|k| value.get_mut(k).map(std::mem::take))
        }
    };
    sections.iter().find_map(|deps| {
        let deps = deps.as_ref()?.as_object()?;
        BROWSER_APP_DEPS
            .iter()
            .find(|d| deps.contains_key(**d))
            .map(|d| d.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections read alone say what the whole file says: malformed
    /// sections, duplicates (the last counts), files that are not objects.
    #[test]
    fn browser_app_dependency_reads_only_the_dependency_sections() {
        let cases: &[(&str, Option<&str>)] = &[
            (r#"{"name":"x","dependencies":{"vite":"5"}}"#, Some("vite")),
            (
                r#"{"dependencies":"vite","devDependencies":{"gatsby":"5"}}"#,
                Some("gatsby"),
            ),
            (
                r#"{"dependencies":{"lodash":"4"},"devDependencies":{"vite":"5"}}"#,
                Some("vite"),
            ),
            (
                r#"{"dependencies":{"vite":"5"},"dependencies":{"lodash":"4"}}"#,
                None,
            ),
            (
                r#"{"dependencies":{"lodash":"4"},"dependencies":{"vite":"5"}}"#,
                Some("vite"),
            ),
            (
                r#"{"scripts":{"dev":"vite"},"files":["a"],"x":[1,{"y":null}]}"#,
                None,
            ),
            (r#"["dependencies"]"#, None),
            (r#"{"dependencies":{"vite":"5"}"#, None),
            ("", None),
        ];
        for (text, want) in cases {
            let reference = || -> Option<String> {
                let value: serde_json::Value = serde_json::from_slice(text.as_bytes()).ok()?;
                ["dependencies", "devDependencies"].iter().find_map(|s| {
                    let deps = value.get(*s)?.as_object()?;
                    BROWSER_APP_DEPS
                        .iter()
                        .find(|d| deps.contains_key(**d))
                        .map(|d| d.to_string())
                })
            };
            assert_eq!(
                browser_app_dependency(text.as_bytes()).as_deref(),
                *want,
                "{text}"
            );
            assert_eq!(
                browser_app_dependency(text.as_bytes()),
                reference(),
                "{text}"
            );
        }
    }

    #[test]
    fn fact_names_as_bytes_agree_with_fact_paths() {
        let mut names: Vec<Vec<u8>> = MANIFESTS.iter().map(|m| m.as_bytes().to_vec()).collect();
        for n in [
            ".env",
            ".env.local",
            ".env.production.local",
            ".envrc",
            "env",
            ".env.",
            "package.json.bak",
            "xpackage.json",
            "main.rs",
            "",
            ".ENV",
        ] {
            names.push(n.as_bytes().to_vec());
        }
        names.push(b".env.\xff".to_vec());
        names.push(b"package\xff.json".to_vec());
        for n in names {
            let path = format!("some/dir/{}", String::from_utf8_lossy(&n));
            assert_eq!(
                is_fact_name(&n),
                is_fact_path(&path),
                "{:?}",
                String::from_utf8_lossy(&n)
            );
        }
    }

    #[test]
    fn nearest_root_and_build_dirs() {
        let mut idx = ProjectIndex::new();
        idx.add_manifest("package.json", Some(br#"{"name":"mono"}"#));
        idx.add_manifest(
            "apps/web/package.json",
            Some(br#"{"devDependencies":{"vite":"^5"}}"#),
        );
        idx.add_manifest("services/api/Cargo.toml", None);
        assert_eq!(idx.nearest("apps/web/src/main.ts").unwrap().0, "apps/web");
        assert_eq!(
            idx.nearest("apps/web/src/main.ts")
                .unwrap()
                .1
                .browser_app
                .as_deref(),
            Some("vite")
        );
        assert_eq!(
            idx.nearest("services/api/src/main.rs").unwrap().0,
            "services/api"
        );
        assert_eq!(idx.nearest("README.md").unwrap().0, "");
        assert_eq!(
            idx.build_dir_of("apps/web/dist/assets/index-4f3a.js")
                .as_deref(),
            Some("apps/web/dist")
        );
        assert_eq!(idx.build_dir_of("services/api/build/x.js"), None);
        assert_eq!(
            idx.build_dir_of("x/.next/static/chunks/a.js").as_deref(),
            Some("x/.next")
        );
        assert_eq!(
            idx.build_dir_of("apps/web/node_modules/pkg/dist/a.js"),
            None
        );
    }
}
