//! The web model of JavaScript projects: framework, bundler config and
//! client reachability, per project root.
//!
//! Gathered in tree mode (and staged mode, from the work tree), only for
//! project roots that hold a matched file, so a scan of a repository without
//! keys in JavaScript code never parses any. For such a project:
//!
//! 1. its framework from `package.json` and the config files in its root
//!    (`frameworks.rs`);
//! 2. its bundler configs (`bundler.rs`): inlined variables, public
//!    prefixes, literal aliases;
//! 3. the `ModuleFacts` of every matched source file (script
//!    blocks, directives, server-only export spans);
//! 4. when a matched source file is neither a server file nor a client entry
//!    by convention, the import graph from every client entry of the project
//!    (`imports::reach`).
//!
//! The judge reads these facts; it decides ([`crate::judge::context`]).

use super::bundler::{self, BundlerConfig};
use super::frameworks::{self, Convention, Framework};
use super::imports::{self, Entry, ModuleFacts, ProjectResolver, Reach};
use super::project::{ProjectIndex, BUILD_DIRS, TEST_DIRS};
use crate::fs::{Folder, Links};
use crate::paths::{file_name, parent_dir, root_displays};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Files a project walk lists at most, for client entries.
const MAX_PROJECT_FILES: usize = 50_000;

/// One JavaScript project's web facts.
#[derive(Debug)]
pub struct WebProject {
    /// The framework (or bundler) the project uses.
    pub(crate) framework: Option<&'static Framework>,
    /// Its bundler configs.
    pub(crate) configs: Vec<BundlerConfig>,
    /// The env prefixes its bundler inlines (config overrides included).
    pub(crate) public_prefixes: Vec<(String, String)>,
    /// Canonical root on disk.
    root_abs: PathBuf,
    /// Client reachability, when a matched file needed it.
    reach: Option<Reach>,
    /// Reachability from server entries (server files by convention).
    server_reach: Option<Reach>,
    /// Why a graph was not built or is partial.
    pub(crate) notes: Vec<String>,
    /// Server files and boundaries of the graph, by project-relative path.
    boundaries: HashMap<String, String>,
}

/// What the web model says about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileRole {
    /// Server code, with why.
    Server(String),
    /// Client code, with why.
    Client(String),
    /// A component or page split by region: the judge asks per offset.
    Regions,
    /// No entry imports it: the path conventions decide, for this reason.
    Unreached(String),
}

/// The web facts of a scan.
#[derive(Debug, Default)]
pub struct WebFacts {
    /// By project root display path.
    projects: BTreeMap<String, WebProject>,
    /// Module facts of matched source files, by display path.
    modules: HashMap<String, ModuleFacts>,
    /// Matched config files, by display path.
    configs: HashMap<String, BundlerConfig>,
}

/// One web project's facts: root, model, matched configs, matched modules.
type ProjectOut = (
    String,
    WebProject,
    Vec<(String, BundlerConfig)>,
    Vec<(String, ModuleFacts)>,
);

impl WebFacts {
    /// Gathers the web facts of the JavaScript projects among `projects`
    /// that hold one of `matched` (display paths), reading files under
    /// `roots` (the scan's roots on disk).
    ///
    /// `threads`: at most this many threads (`-j`; 0 = one per core).
    pub fn gather(
        roots: &[PathBuf],
        projects: &ProjectIndex,
        matched: &[&str],
        threads: usize,
    ) -> WebFacts {
        let displays = root_displays(roots);
        let to_disk = |display: &str| -> Option<PathBuf> {
            displays.iter().find_map(|(given, prefix)| {
                if prefix.is_empty() {
                    Some(if display.is_empty() {
                        given.clone()
                    } else {
                        given.join(display)
                    })
                } else if display == prefix {
                    Some(given.clone())
                } else {
                    display
                        .strip_prefix(prefix.as_str())
                        .and_then(|r| r.strip_prefix('/'))
                        .map(|r| given.join(r))
                }
            })
        };
        let mut web = WebFacts::default();
        let mut by_root: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for path in matched {
            if let Some((root, facts)) = projects.nearest(path) {
                if facts.javascript && projects.build_dir_of(path).is_none() {
                    by_root.entry(root.to_string()).or_default().push(path);
                }
            }
        }
        // Projects are independent: their import graphs (reading, parsing and
        // resolving modules) are built on every core. `-j` bounds the whole
        // step: a project's graph gets the threads the others leave it.
        let jobs: Vec<(String, Vec<&str>)> = by_root.into_iter().collect();
        let outer = super::workers(threads, jobs.len());
        let inner = (super::workers(threads, usize::MAX) / outer).max(1);
        let done: Vec<ProjectOut> = super::parallel_map(&jobs, outer, |(root, paths)| {
            Self::gather_project(root, paths, &to_disk, inner)
        })
        .into_iter()
        .flatten()
        .collect();
        for (root, project, configs, modules) in done {
            web.configs.extend(configs);
            web.modules.extend(modules);
            web.projects.insert(root, project);
        }
        web
    }

    /// The facts of the web project at display path `root`, from its
    /// matched files `paths`: its project model (with the import graph when
    /// conventions cannot decide), and the facts of its matched configs and
    /// modules.
    fn gather_project(
        root: &str,
        paths: &[&str],
        to_disk: &dyn Fn(&str) -> Option<PathBuf>,
        threads: usize,
    ) -> Option<ProjectOut> {
        let root_disk = to_disk(root)?;
        let project = WebProject::gather(&root_disk)?;
        let rel = |p: &str| -> String {
            if root.is_empty() {
                p.to_string()
            } else {
                p[root.len() + 1..].to_string()
            }
        };
        let server_exports: Vec<&str> = project
            .framework
            .map(|f| f.server_exports.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mut configs = Vec::new();
        let mut modules = Vec::new();
        let mut needs_graph = false;
        for path in paths {
            let Some(disk) = to_disk(path) else {
                continue;
            };
            let name = file_name(path);
            if bundler::is_config_file(name) {
                if let Ok(Some(text)) = read_text(&disk) {
                    configs.push((path.to_string(), bundler::read_config(&rel(path), &text)));
                }
                continue;
            }
            if !imports::is_source_file(path) {
                continue;
            }
            if project.framework.is_none() && !has_regions(name) {
                // Without a framework nothing decides by a plain module's
                // imports or directives (no convention, no graph): the
                // judge needs only to know it is a readable module of the
                // project. A dependency's 400 KB bundle is not parsed.
                if readable_module(&disk).is_ok_and(|ok| ok) {
                    modules.push((path.to_string(), ModuleFacts::default()));
                }
                continue;
            }
            let Ok(Some(text)) = read_text(&disk) else {
                continue;
            };
            let facts = imports::scan_module(path, &text, &server_exports);
            if project.framework.is_some() && project.convention(&rel(path), &facts).is_none() {
                needs_graph = true;
            }
            modules.push((path.to_string(), facts));
        }
        let mut project = project;
        if needs_graph {
            project.build_graph(threads);
        }
        Some((root.to_string(), project, configs, modules))
    }

    /// The web project `path` belongs to, with its root display path.
    pub(crate) fn project_of(&self, path: &str) -> Option<(&str, &WebProject)> {
        let mut dir = parent_dir(path);
        loop {
            if let Some((k, v)) = self.projects.get_key_value(dir) {
                return Some((k.as_str(), v));
            }
            if dir.is_empty() {
                return None;
            }
            dir = parent_dir(dir);
        }
    }

    /// Every web project, for variables inlined wherever they are defined.
    pub(crate) fn projects(&self) -> impl Iterator<Item = (&str, &WebProject)> {
        self.projects.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The module facts of a matched source file.
    pub(crate) fn module(&self, path: &str) -> Option<&ModuleFacts> {
        self.modules.get(path)
    }

    /// The bundler config facts of a matched config file.
    pub(crate) fn config(&self, path: &str) -> Option<&BundlerConfig> {
        self.configs.get(path)
    }

    /// The role of a file of `project` (its path relative to the root).
    pub(crate) fn role(project: &WebProject, rel: &str, facts: &ModuleFacts) -> Option<FileRole> {
        if !facts.blocks.is_empty() && has_regions(rel) {
            return Some(FileRole::Regions);
        }
        if let Some(role) = project.convention(rel, facts) {
            return Some(role);
        }
        let reach = project.reach.as_ref()?;
        let abs = project.root_abs.join(rel);
        if let Some(why) = reach.reason(&abs, &project.root_abs) {
            return Some(FileRole::Client(why));
        }
        if reach.truncated {
            return None;
        }
        let name = project.framework.map_or("JavaScript", |f| f.name.as_str());
        if let Some(why) = project
            .server_reach
            .as_ref()
            .and_then(|r| r.reason(&abs, &project.root_abs))
        {
            return Some(FileRole::Server(format!(
                "imported only by server code: {why}; no client entry of the {name} app reaches it"
            )));
        }
        Some(FileRole::Unreached(format!(
            "no client or server entry of the {name} app imports it"
        )))
    }
}

/// What a module imports and declares; `None` when it cannot be read.
fn module_facts(path: &Path, server_exports: &[&str]) -> Option<ModuleFacts> {
    let text = read_text(path).ok().flatten()?;
    Some(imports::scan_module(
        &path.to_string_lossy(),
        &text,
        server_exports,
    ))
}

/// [`module_facts`] of `path`, read once per graph (`cache`).
fn cached_module_facts(
    cache: &mut HashMap<PathBuf, Option<ModuleFacts>>,
    path: &Path,
    server_exports: &[&str],
) -> Option<ModuleFacts> {
    cache
        .entry(path.to_path_buf())
        .or_insert_with(|| module_facts(path, server_exports))
        .clone()
}

/// [`module_facts`] of each of `paths`, on up to `threads` threads (0 = one
/// per core) when there are enough of them to share.
fn read_modules(
    paths: &[&Path],
    server_exports: &[&str],
    threads: usize,
) -> Vec<(PathBuf, Option<ModuleFacts>)> {
    const PER_THREAD: usize = 32;
    let threads = super::workers(threads, paths.len() / PER_THREAD);
    super::parallel_map(paths, threads, |p| {
        (p.to_path_buf(), module_facts(p, server_exports))
    })
}

/// Whether a file is split by its script blocks (an Astro component or an
/// HTML page: regions run in different places), not one module.
fn has_regions(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".astro") || lower.ends_with(".html") || lower.ends_with(".htm")
}

/// Whether `path` is a regular file small enough to be read as a module
/// (at most [`imports::MAX_MODULE_BYTES`]; a link is not).
fn readable_module(path: &Path) -> std::io::Result<bool> {
    let meta = std::fs::symlink_metadata(path)?;
    Ok(meta.is_file() && meta.len() <= imports::MAX_MODULE_BYTES)
}

/// Reads a small text file (at most [`imports::MAX_MODULE_BYTES`]).
fn read_text(path: &Path) -> std::io::Result<Option<String>> {
    if !readable_module(path)? {
        return Ok(None);
    }
    let bytes = std::fs::read(path)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The files of the project at `root` where its client entries are looked
/// for, at most `max` of them (`true`: there were more), in an order that
/// does not depend on the file system: depth first, a folder's files before
/// its sub-folders, each in name order.
///
/// Test and fixture folders ([`TEST_DIRS`]) are left out: the test suite
/// builds what is in them (a framework's own package holds a thousand test
/// apps), the project's users never load it, so a module only they import
/// is not shipped. Dependencies, build output and hidden folders are left
/// out by name too. Links are never followed and no ignore file is read (a
/// hostile `.gitignore` can be a link or a FIFO; the scan reads ignore files
/// only in its own walk).
fn entry_files(root: &Path, max: usize) -> (Vec<PathBuf>, bool) {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        // The root is canonical; a folder below it is never entered through
        // a link (`O_NOFOLLOW`), even one swapped in since it was listed.
        let links = if dir == root {
            Links::Follow
        } else {
            Links::Refuse
        };
        let Ok(folder) = Folder::open(&dir, links) else {
            continue;
        };
        let mut entries = folder.entries().entries;
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut sub = Vec::new();
        for (name, ft) in entries {
            let text = name.to_string_lossy();
            if text.starts_with('.') {
                continue;
            }
            if ft.is_dir() {
                let skipped = text == "node_modules"
                    || BUILD_DIRS.contains(&text.as_ref())
                    || TEST_DIRS.contains(&text.as_ref());
                if !skipped {
                    sub.push(dir.join(&name));
                }
            } else if ft.is_file() {
                if files.len() == max {
                    return (files, true);
                }
                files.push(dir.join(&name));
            }
        }
        // Depth first, in name order: the stack pops the first folder next.
        stack.extend(sub.into_iter().rev());
    }
    (files, false)
}

impl WebProject {
    /// The framework, configs and prefixes of the project at `root`.
    fn gather(root: &Path) -> Option<WebProject> {
        let root_abs = std::fs::canonicalize(root).ok()?;
        let manifest = read_text(&root_abs.join("package.json")).ok().flatten();
        let deps: Vec<String> = manifest
            .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
            .map(|v| {
                ["dependencies", "devDependencies", "peerDependencies"]
                    .iter()
                    .filter_map(|s| v.get(*s).and_then(|d| d.as_object()))
                    .flat_map(|d| d.keys().cloned())
                    .collect()
            })
            .unwrap_or_default();
        let files: Vec<String> = std::fs::read_dir(&root_abs)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let mut framework = frameworks::detect(&deps, &files);
        if framework.is_none() && files.iter().any(|f| f.ends_with(".html")) {
            framework = frameworks::by_id("static");
        }
        let mut configs = Vec::new();
        let mut notes = Vec::new();
        for f in files.iter().filter(|f| bundler::is_config_file(f)) {
            if let Ok(Some(text)) = read_text(&root_abs.join(f)) {
                let c = bundler::read_config(f, &text);
                notes.extend(c.notes.iter().cloned());
                configs.push(c);
            }
        }
        let mut public_prefixes: Vec<(String, String)> = framework
            .map(|f| {
                f.public_env_prefixes
                    .iter()
                    .map(|p| (p.clone(), format!("{} inlines `{p}` variables", f.name)))
                    .collect()
            })
            .unwrap_or_default();
        for c in &configs {
            if let Some(prefixes) = &c.public_prefixes {
                public_prefixes = prefixes
                    .iter()
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        (
                            p.clone(),
                            format!("`{}` makes `{p}` variables public", c.file),
                        )
                    })
                    .collect();
            }
        }
        Some(WebProject {
            framework,
            configs,
            public_prefixes,
            root_abs,
            reach: None,
            server_reach: None,
            notes,
            boundaries: HashMap::new(),
        })
    }

    /// The config that inlines `var`, with how.
    pub(crate) fn inlines(&self, var: &str) -> Option<&str> {
        self.configs.iter().find_map(|c| c.inlines(var))
    }

    /// The public prefix `var` starts with, with why.
    pub(crate) fn public_prefix(&self, var: &str) -> Option<(&str, &str)> {
        self.public_prefixes
            .iter()
            .find(|(p, _)| var.starts_with(p.as_str()))
            .map(|(p, why)| (p.as_str(), why.as_str()))
    }

    /// The role conventions alone give a file: server files, directives,
    /// server-only imports and client entries. `None`: the graph decides.
    fn convention(&self, rel: &str, facts: &ModuleFacts) -> Option<FileRole> {
        let f = self.framework?;
        if let Some(d) = &f.client_directive {
            if facts.use_client && d == "use client" {
                return Some(FileRole::Client(format!(
                    "`\"{d}\"` module, bundled for the browser ({})",
                    f.name
                )));
            }
        }
        if let Some(d) = &f.server_directive {
            if facts.use_server && d == "use server" {
                return Some(FileRole::Server(format!(
                    "`\"{d}\"` module: {} keeps its code on the server",
                    f.name
                )));
            }
        }
        if let Some(m) = facts
            .imports
            .iter()
            .find(|i| f.server_imports.contains(&i.specifier))
        {
            return Some(FileRole::Server(format!(
                "imports `{}`: {} refuses to bundle it for the browser",
                m.specifier, f.name
            )));
        }
        match f.convention(rel) {
            Convention::Server => Some(FileRole::Server(format!(
                "{} server file by convention (`{rel}`)",
                f.name
            ))),
            Convention::ClientEntry => Some(FileRole::Client(format!(
                "{} ships `{rel}` to the browser",
                f.name
            ))),
            Convention::Undecided => None,
        }
    }

    /// Builds the import graph from every client entry of the project;
    /// `threads` (at most) read and parse the entries (a project's test
    /// fixtures can hold a thousand Astro components).
    fn build_graph(&mut self, threads: usize) {
        let Some(f) = self.framework else {
            return;
        };
        let mut aliases = f.aliases.clone();
        for c in &self.configs {
            aliases.extend(c.aliases.iter().cloned());
        }
        let Ok(resolver) = ProjectResolver::new(&self.root_abs, &aliases) else {
            return;
        };
        let server_exports: Vec<&str> = f.server_exports.iter().map(String::as_str).collect();
        let mut cache: HashMap<PathBuf, Option<ModuleFacts>> = HashMap::new();
        let mut facts_of = |p: &Path| cached_module_facts(&mut cache, p, &server_exports);
        // Client entries: by convention, by directive, Astro components
        // (their <script> imports), HTML pages' scripts.
        let mut entries = Vec::new();
        let (files, truncated) = entry_files(&self.root_abs, MAX_PROJECT_FILES);
        if truncated {
            self.notes.push(format!(
                "more than {MAX_PROJECT_FILES} files: client entries past that were not looked for"
            ));
        }
        for abs in files {
            let Ok(rel) = abs.strip_prefix(&self.root_abs) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            let lower = rel.to_ascii_lowercase();
            if f.html_entries && (lower.ends_with(".html") || lower.ends_with(".htm")) {
                if let Some(facts) = facts_of(&abs) {
                    for src in &facts.script_srcs {
                        if src.contains("://") || src.starts_with("//") {
                            continue;
                        }
                        let target = match src.strip_prefix('/') {
                            Some(from_root) => self.root_abs.join(from_root),
                            None => abs.parent().unwrap_or(&self.root_abs).join(src),
                        };
                        if let Ok(target) = std::fs::canonicalize(&target) {
                            if target.starts_with(&self.root_abs) {
                                entries.push(Entry {
                                    path: target,
                                    why: format!("`<script src>` of `{rel}`"),
                                });
                            }
                        }
                    }
                }
                continue;
            }
            if !imports::is_source_file(&rel) {
                continue;
            }
            if lower.ends_with(".astro") {
                entries.push(Entry {
                    path: abs,
                    why: "an Astro component's `<script>`".into(),
                });
                continue;
            }
            match f.convention(&rel) {
                Convention::ClientEntry => entries.push(Entry {
                    path: abs,
                    why: format!("{} ships it", f.name),
                }),
                Convention::Server => {
                    self.boundaries.insert(rel, "server".into());
                }
                Convention::Undecided => {
                    if f.client_directive.is_some() {
                        if let Some(facts) = facts_of(&abs) {
                            if facts.use_client {
                                entries.push(Entry {
                                    path: abs,
                                    why: "`\"use client\"`".into(),
                                });
                            }
                        }
                    }
                }
            }
        }
        let mut server_entries: Vec<Entry> = self
            .boundaries
            .keys()
            .map(|rel| Entry {
                path: self.root_abs.join(rel),
                why: format!("{} server file", f.name),
            })
            .collect();
        server_entries.sort_by(|a, b| a.path.cmp(&b.path));
        if entries.is_empty() {
            // Nothing ships by the framework's rules (a Vite app without
            // index.html, say): the graph cannot tell, conventions decide.
            self.notes
                .push(format!("no client entry of the {} app was found", f.name));
            return;
        }
        let entries_astro: Vec<Entry> = entries
            .iter()
            .filter(|e| e.path.extension().is_some_and(|x| x == "astro"))
            .cloned()
            .collect();
        // Every entry is read: all at once, on every core.
        let unread: Vec<&Path> = entries
            .iter()
            .map(|e| e.path.as_path())
            .filter(|p| !cache.contains_key(*p))
            .collect();
        cache.extend(read_modules(&unread, &server_exports, threads));
        let mut facts_of = |p: &Path| cached_module_facts(&mut cache, p, &server_exports);
        let root = self.root_abs.clone();
        let boundaries = &self.boundaries;
        let reach = imports::reach(
            &resolver,
            entries,
            &mut facts_of,
            |p, facts| {
                let rel = p
                    .strip_prefix(&root)
                    .map(|r| r.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                boundaries.contains_key(&rel)
                    || (f.server_directive.is_some() && facts.use_server)
                    || facts
                        .imports
                        .iter()
                        .any(|i| f.server_imports.contains(&i.specifier))
            },
            imports::Side::Server,
        );
        if reach.truncated {
            self.notes.push(format!(
                "the import graph has more than {} modules: files past that fall back to conventions",
                imports::MAX_MODULES
            ));
        }
        self.reach = Some(reach);
        // Astro components are client entries for their <script>; their
        // frontmatter imports run on the server.
        for e in &entries_astro {
            server_entries.push(e.clone());
        }
        let server_reach = imports::reach(
            &resolver,
            server_entries,
            &mut facts_of,
            |_, _| false,
            imports::Side::Client,
        );
        self.server_reach = Some(server_reach);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where entries are looked for: in a fixed order, without test and
    /// fixture folders, hidden folders, dependencies, build output and
    /// links, and capped.
    #[test]
    fn entry_files_leave_out_tests_and_never_follow_links() {
        let t = tempfile::tempdir().unwrap();
        // The project itself may sit in a test folder: only folders below
        // its root are left out.
        let root = t.path().join("test/app");
        let files = [
            "package.json",
            "index.html",
            "src/main.js",
            "src/b/z.js",
            "src/a.astro",
            "src/.cache/x.js",
            "src/__tests__/page.test.js",
            "node_modules/dep/index.js",
            "dist/bundle.js",
            "test/fixtures/demo/package.json",
            "test/fixtures/demo/src/page.astro",
            "e2e/fixtures/app/index.html",
            "lib/fixtures.js",
            "lib/tests.js/x.js",
        ];
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let outside = t.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.js"), "x").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, root.join("src/linked")).unwrap();
            std::os::unix::fs::symlink(outside.join("secret.js"), root.join("src/s.js")).unwrap();
        }
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| {
                    let r = p.strip_prefix(&root).unwrap();
                    r.to_string_lossy().replace('\\', "/")
                })
                .collect()
        };
        let (all, truncated) = entry_files(&root, 100);
        assert!(!truncated);
        assert_eq!(
            rel(all),
            [
                "index.html",
                "package.json",
                "lib/fixtures.js",
                "lib/tests.js/x.js",
                "src/a.astro",
                "src/main.js",
                "src/b/z.js",
            ]
        );
        let (some, truncated) = entry_files(&root, 3);
        assert!(truncated);
        assert_eq!(rel(some), ["index.html", "package.json", "lib/fixtures.js"]);
        let (exact, truncated) = entry_files(&root, 7);
        assert!(!truncated && exact.len() == 7);
    }

    /// Modules read on several threads are the modules read on one, each
    /// under its own path, unreadable ones included.
    #[test]
    fn modules_read_in_parallel_equal_modules_read_in_turn() {
        let t = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for i in 0..150 {
            let p = t.path().join(format!("m{i}.js"));
            if i % 7 != 0 {
                let text = format!(
                    "import a from './m{}.js';\n\"use client\";\nexport const x{i} = 1;\n",
                    i + 1
                );
                std::fs::write(&p, text).unwrap();
            }
            paths.push(p);
        }
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let one = read_modules(&refs, &[], 1);
        let many = read_modules(&refs, &[], 3);
        assert_eq!(one.len(), 150);
        assert_eq!(one, many);
        assert!(one.iter().filter(|(_, f)| f.is_none()).count() == 22);
        assert!(one
            .iter()
            .all(|(p, f)| f.is_none() || f.as_ref().unwrap().imports.len() == 1 && p.exists()));
    }
}
