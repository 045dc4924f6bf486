//! The import graph of a JavaScript project, for client reachability.
//!
//! A module ships to the browser when a client entry (a `"use client"`
//! module, a page component, an `index.html` script, a `.svelte`/`.vue`
//! component, an Astro `<script>` …) imports it, directly or through other
//! modules. This module answers that question with the JavaScript ecosystem's
//! own Rust tools rather than regexes:
//!
//! - [`scan_module`] extracts import specifiers with `oxc_parser` (static
//!   `import`/`export … from`, dynamic `import("…")`, `require("…")`), the
//!   module's directives (`"use client"`, `"use server"`) and, for the
//!   Next.js pages router, the spans of exported server-only functions
//!   (`getServerSideProps` …). Single-file components (`.vue`, `.svelte`,
//!   `.astro`) and HTML pages are split into their script blocks first; an
//!   Astro file's frontmatter is server code, its `<script>` tags client code.
//!   oxc's parser recovers from syntax errors, so a broken file still yields
//!   the imports it could read, and never fails the scan.
//! - [`ProjectResolver`] resolves specifiers with `oxc_resolver`
//!   (enhanced-resolve's algorithm: relative paths, extensions, index files,
//!   `tsconfig`/`jsconfig` `paths`, `package.json` `imports`/`exports`, plus the
//!   project's literal aliases). Its file system refuses every path outside
//!   the project root and every symlink, so resolution never leaves the tree;
//!   packages under `node_modules` are not followed (they are not scanned).
//! - [`reach`] walks the graph breadth-first from the client entries, stops
//!   at server boundaries (`"use server"` modules become RPC stubs in the
//!   client; `server-only` modules and `$lib/server` cannot be bundled), and
//!   remembers one shortest path per module for the finding's reason. Cycles
//!   are visited once; a graph larger than [`MAX_MODULES`] is cut off and the
//!   result says so.
//!
//! The graph is built lazily by the project model, only for a project where a
//! finding's context depends on it.

use oxc_allocator::Allocator;
use oxc_ast::ast::{Argument, Declaration, Expression, Statement};
use oxc_ast_visit::Visit;
use oxc_parser::Parser;
use oxc_resolver::{
    FileMetadata, FileSystem, ResolveError, ResolveOptions, ResolverGeneric, TsconfigDiscovery,
};
use oxc_span::SourceType;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

/// Modules larger than this are not parsed (their imports are not followed).
pub(crate) const MAX_MODULE_BYTES: u64 = 2 * 1024 * 1024;

/// A reachability walk stops after this many modules.
pub(crate) const MAX_MODULES: usize = 20_000;

/// Where the code of a script block runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// A whole JS/TS module, or a component script: wherever it is imported.
    Module,
    /// A `<script>` of an Astro component or an HTML page: the browser.
    Client,
    /// An Astro component's frontmatter: the server (or the build).
    Server,
}

/// A byte range of a file holding script code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScriptBlock {
    /// Start offset in the file.
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
    /// Where the block runs.
    pub side: Side,
    /// TypeScript (`lang="ts"`, `.ts`, Astro frontmatter).
    pub typescript: bool,
    /// JSX allowed (`.jsx`, `.tsx`).
    pub jsx: bool,
}

/// One import of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Import {
    /// The specifier as written (`./stripe`, `@/lib/stripe`, `react`).
    pub specifier: String,
    /// The side of the block it was written in.
    pub side: Side,
}

/// What [`scan_module`] learns about one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModuleFacts {
    /// Imports, in source order, type-only imports left out.
    pub imports: Vec<Import>,
    /// Starts with a `"use client"` directive.
    pub use_client: bool,
    /// Starts with a `"use server"` directive.
    pub use_server: bool,
    /// Byte spans of exported functions named in `server_exports`
    /// (`getServerSideProps` …), which the framework strips from the client.
    pub server_export_spans: Vec<(String, usize, usize)>,
    /// `src` attributes of an HTML page's `<script>` tags.
    pub script_srcs: Vec<String>,
    /// The script blocks of a component or page (empty for plain modules).
    pub blocks: Vec<ScriptBlock>,
    /// The parser met syntax errors (the imports it read still count).
    pub had_errors: bool,
}

impl ModuleFacts {
    /// The side of the code at byte `offset`: the block holding it, or
    /// `None` outside every script block (markup, a plain module's body is
    /// one block).
    pub fn side_at(&self, offset: usize) -> Option<Side> {
        if self.blocks.is_empty() {
            return Some(Side::Module);
        }
        self.blocks
            .iter()
            .find(|b| b.start <= offset && offset < b.end)
            .map(|b| b.side)
    }

    /// The server-only export (`getServerSideProps`) whose body holds `offset`.
    pub fn server_export_at(&self, offset: usize) -> Option<&str> {
        self.server_export_spans
            .iter()
            .find(|(_, s, e)| *s <= offset && offset < *e)
            .map(|(n, _, _)| n.as_str())
    }
}

/// File extensions of JavaScript and TypeScript modules.
pub(crate) const MODULE_EXTS: &[&str] = &["js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts"];

/// File extensions whose scripts are extracted from markup.
pub(crate) const COMPONENT_EXTS: &[&str] = &["vue", "svelte", "astro", "html", "htm"];

fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether the file at `path` is a module or component whose imports count.
pub(crate) fn is_source_file(path: &str) -> bool {
    let ext = extension(path);
    (MODULE_EXTS.contains(&ext.as_str()) || COMPONENT_EXTS.contains(&ext.as_str()))
        && !path.ends_with(".d.ts")
}

/// The script blocks of a file, by its extension.
pub(crate) fn script_blocks(path: &str, text: &str) -> Vec<ScriptBlock> {
    let ext = extension(path);
    if MODULE_EXTS.contains(&ext.as_str()) {
        let typescript = ext.contains('t');
        return vec![ScriptBlock {
            start: 0,
            end: text.len(),
            side: Side::Module,
            typescript,
            jsx: ext.ends_with('x') || !typescript,
        }];
    }
    let mut blocks = Vec::new();
    let mut from = 0;
    if ext == "astro" {
        if let Some((start, end)) = astro_frontmatter(text) {
            blocks.push(ScriptBlock {
                start,
                end,
                side: Side::Server,
                typescript: true,
                jsx: false,
            });
            from = end;
        }
    }
    let side = match ext.as_str() {
        "vue" | "svelte" => Side::Module,
        _ => Side::Client,
    };
    let lower = text.to_ascii_lowercase();
    while let Some(open) = lower[from..].find("<script").map(|i| i + from) {
        let Some(tag_end) = lower[open..].find('>').map(|i| i + open + 1) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</script").map(|i| i + tag_end) else {
            break;
        };
        let tag = &lower[open..tag_end];
        let typescript = tag.contains("lang=\"ts\"")
            || tag.contains("lang='ts'")
            || tag.contains("lang=\"typescript\"")
            || ext == "astro";
        // JSON and template blocks are data, not code.
        let data = tag.contains("application/json")
            || tag.contains("application/ld+json")
            || tag.contains("text/template")
            || tag.contains("importmap");
        if !data {
            blocks.push(ScriptBlock {
                start: tag_end,
                end: close,
                side,
                typescript,
                jsx: tag.contains("lang=\"tsx\"") || tag.contains("lang=\"jsx\""),
            });
        }
        from = close;
    }
    blocks
}

/// The byte range inside an Astro file's leading `---` fences.
fn astro_frontmatter(text: &str) -> Option<(usize, usize)> {
    let trimmed = text.trim_start_matches('\u{feff}');
    let lead = text.len() - trimmed.len();
    let body = trimmed.trim_start();
    let ws = trimmed.len() - body.len();
    let rest = body.strip_prefix("---")?;
    let start = lead + ws + 3;
    let close = rest.find("\n---")?;
    Some((start, start + close + 1))
}

/// `src` attributes of `<script>` tags in an HTML page.
fn html_script_srcs(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = lower[from..].find("<script").map(|i| i + from) {
        let Some(end) = lower[open..].find('>').map(|i| i + open) else {
            break;
        };
        let tag = &text[open..end];
        let tag_lower = &lower[open..end];
        if let Some(i) = tag_lower.find("src=") {
            let v = &tag[i + 4..];
            let (quote, v) = match v.chars().next() {
                Some(q @ ('"' | '\'')) => (Some(q), &v[1..]),
                _ => (None, v),
            };
            let value: String = match quote {
                Some(q) => v.split(q).next().unwrap_or("").to_string(),
                None => v
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            if !value.is_empty() {
                out.push(value);
            }
        }
        from = end;
    }
    out
}

/// Reads a file's imports, directives and server-only export spans.
/// `server_exports` names the exports a framework strips from the client
/// bundle (empty when none applies). Never fails: unparsable code yields what
/// the parser recovered.
pub(crate) fn scan_module(path: &str, text: &str, server_exports: &[&str]) -> ModuleFacts {
    let ext = extension(path);
    let mut facts = ModuleFacts::default();
    if ext == "html" || ext == "htm" {
        facts.script_srcs = html_script_srcs(text);
    }
    let blocks = script_blocks(path, text);
    for block in &blocks {
        let code = &text[block.start..block.end];
        let source_type = SourceType::default()
            .with_module(true)
            .with_typescript(block.typescript)
            .with_jsx(block.jsx || !block.typescript);
        let allocator = Allocator::default();
        let ret = Parser::new(&allocator, code, source_type).parse();
        facts.had_errors |= !ret.diagnostics.is_empty() || ret.panicked;
        if block.start == 0 && block.side == Side::Module {
            for d in &ret.program.directives {
                match d.directive.as_str() {
                    "use client" => facts.use_client = true,
                    "use server" => facts.use_server = true,
                    _ => {}
                }
            }
        }
        let mut found: Vec<(u32, String)> = Vec::new();
        for (specifier, requests) in &ret.module_record.requested_modules {
            if let Some(r) = requests.iter().find(|r| !r.is_type) {
                found.push((r.span.start, specifier.as_str().to_string()));
            }
        }
        let mut calls = CallImports::default();
        calls.visit_program(&ret.program);
        found.extend(calls.found);
        found.sort();
        facts
            .imports
            .extend(found.into_iter().map(|(_, specifier)| Import {
                specifier,
                side: block.side,
            }));
        if !server_exports.is_empty() {
            let mut spans: Vec<(String, u32, u32)> = ret
                .program
                .body
                .iter()
                .filter_map(|stmt| server_export(stmt, server_exports))
                .collect();
            if !spans.is_empty() {
                spans.extend(server_only_declarations(&ret.program, &spans));
            }
            for (name, s, e) in spans {
                facts.server_export_spans.push((
                    name,
                    block.start + s as usize,
                    block.start + e as usize,
                ));
            }
        }
    }
    if ext != "js" && !MODULE_EXTS.contains(&ext.as_str()) {
        facts.blocks = blocks;
    }
    facts
}

/// `export function getServerSideProps…` / `export const getStaticProps = …`
/// / `export async function …`: its name and span, when listed.
fn server_export(stmt: &Statement, names: &[&str]) -> Option<(String, u32, u32)> {
    let Statement::ExportDeclaration(export) = stmt else {
        return None;
    };
    match &export.declaration {
        Declaration::FunctionDeclaration(f) => {
            let name = f.id.as_ref()?.name.as_str();
            names
                .contains(&name)
                .then(|| (name.to_string(), export.span.start, export.span.end))
        }
        Declaration::VariableDeclaration(v) => v.declarations.iter().find_map(|d| {
            let name = d.id.get_binding_identifier()?.name.as_str();
            names
                .contains(&name)
                .then(|| (name.to_string(), export.span.start, export.span.end))
        }),
        _ => None,
    }
}

/// Top-level declarations used only inside server-only exports: the
/// framework's transform removes them with the export (`const key = "…"`
/// read only by `getServerSideProps`). Each comes with the export's name.
fn server_only_declarations(
    program: &oxc_ast::ast::Program,
    exports: &[(String, u32, u32)],
) -> Vec<(String, u32, u32)> {
    let mut refs = References::default();
    refs.visit_program(program);
    let mut out = Vec::new();
    for stmt in &program.body {
        let Statement::VariableDeclaration(decl) = stmt else {
            continue;
        };
        for d in &decl.declarations {
            let Some(id) = d.id.get_binding_identifier() else {
                continue;
            };
            let name = id.name.as_str();
            let uses: Vec<u32> = refs
                .all
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, at)| *at)
                .collect();
            let owner = uses.first().and_then(|at| {
                exports
                    .iter()
                    .find(|(_, s, e)| s <= at && at < e)
                    .map(|(n, _, _)| n.clone())
            });
            let all_inside = uses
                .iter()
                .all(|at| exports.iter().any(|(_, s, e)| s <= at && at < e));
            if let (Some(owner), true) = (owner, all_inside) {
                out.push((owner, decl.span.start, decl.span.end));
            }
        }
    }
    out
}

/// Every identifier reference of a program: name and offset.
#[derive(Default)]
struct References {
    all: Vec<(String, u32)>,
}

impl<'a> Visit<'a> for References {
    fn visit_identifier_reference(&mut self, it: &oxc_ast::ast::IdentifierReference<'a>) {
        self.all.push((it.name.as_str().to_string(), it.span.start));
    }
}

/// Collects `import("x")` and `require("x")` with literal specifiers.
#[derive(Default)]
struct CallImports {
    found: Vec<(u32, String)>,
}

impl<'a> Visit<'a> for CallImports {
    fn visit_import_expression(&mut self, it: &oxc_ast::ast::ImportExpression<'a>) {
        if let Some(s) = literal(&it.source) {
            self.found.push((it.span.start, s));
        }
        oxc_ast_visit::walk::walk_import_expression(self, it);
    }

    fn visit_call_expression(&mut self, it: &oxc_ast::ast::CallExpression<'a>) {
        if it.callee.is_specific_id("require") && it.arguments.len() == 1 {
            if let Some(Argument::StringLiteral(s)) = it.arguments.first() {
                self.found
                    .push((it.span.start, s.value.as_str().to_string()));
            }
        }
        oxc_ast_visit::walk::walk_call_expression(self, it);
    }
}

/// A string literal or a template literal without expressions.
fn literal(e: &Expression) -> Option<String> {
    match e {
        Expression::StringLiteral(s) => Some(s.value.as_str().to_string()),
        Expression::TemplateLiteral(t) if t.expressions.is_empty() => t
            .quasis
            .first()
            .and_then(|q| q.value.cooked.as_ref())
            .map(|c| c.as_str().to_string()),
        _ => None,
    }
}

/// A file system for the resolver that sees only the project root: a path
/// outside it, or one that goes through a symlink, does not exist.
#[derive(Clone)]
pub(crate) struct TreeFs {
    root: PathBuf,
    /// Folders under `root` already found to be folders, not links: the
    /// resolver probes many names in the same folders.
    real_dirs: std::sync::Arc<std::sync::RwLock<std::collections::HashSet<PathBuf>>>,
}

impl TreeFs {
    fn at(root: PathBuf) -> TreeFs {
        TreeFs {
            root,
            real_dirs: Default::default(),
        }
    }

    /// `Ok` when `path` exists, lies under the (canonical) root, is no link
    /// and is reached through no link — what `canonicalize(path) == path`
    /// says, without the `readlink` of every component `canonicalize` pays
    /// per call — and is not inside a `node_modules`.
    fn inside(&self, path: &Path) -> io::Result<()> {
        let outside = || {
            io::Error::new(
                io::ErrorKind::NotFound,
                "outside the project or through a symlink",
            )
        };
        let rel = path.strip_prefix(&self.root).map_err(|_| outside())?;
        let mut dir = self.root.clone();
        let mut parts = rel.components().peekable();
        while let Some(part) = parts.next() {
            let std::path::Component::Normal(name) = part else {
                // `..` (canonicalize would resolve it), or `.` (dropped by
                // the comparison, so allowed).
                if part == std::path::Component::CurDir {
                    continue;
                }
                return Err(outside());
            };
            dir.push(name);
            let last = parts.peek().is_none();
            if !last && self.real_dirs.read().is_ok_and(|d| d.contains(&dir)) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&dir)?;
            if meta.file_type().is_symlink() {
                return Err(outside());
            }
            // `b.js/` names a folder (canonicalize fails on a file).
            let as_dir = !last || path.as_os_str().as_encoded_bytes().ends_with(b"/");
            if as_dir && !meta.is_dir() {
                return Err(io::Error::new(io::ErrorKind::NotFound, "not a folder"));
            }
            if !last {
                if let Ok(mut d) = self.real_dirs.write() {
                    d.insert(dir.clone());
                }
            }
        }
        if rel.components().any(|c| c.as_os_str() == "node_modules") {
            return Err(io::Error::new(io::ErrorKind::NotFound, "node_modules"));
        }
        Ok(())
    }
}

impl FileSystem for TreeFs {
    fn new() -> Self {
        // Sees nothing until given a root (`ProjectResolver::new`).
        TreeFs::at(PathBuf::from("/nonexistent/keyscan-tree-fs"))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.inside(path)?;
        let meta = std::fs::metadata(path)?;
        if meta.len() > MAX_MODULE_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "too large"));
        }
        std::fs::read(path)
    }

    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        String::from_utf8(self.read(path)?)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    fn metadata(&self, path: &Path) -> io::Result<FileMetadata> {
        self.inside(path)?;
        let m = std::fs::symlink_metadata(path)?;
        Ok(FileMetadata::new(m.is_file(), m.is_dir(), false))
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<FileMetadata> {
        self.metadata(path)
    }

    fn read_link(&self, path: &Path) -> Result<PathBuf, ResolveError> {
        Err(ResolveError::NotFound(path.display().to_string()))
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inside(path)?;
        Ok(path.to_path_buf())
    }
}

/// Resolves import specifiers of one project the way bundlers do, inside
/// the project root only.
pub(crate) struct ProjectResolver {
    root: PathBuf,
    resolver: ResolverGeneric<TreeFs>,
}

impl ProjectResolver {
    /// A resolver for the project at `root` (made canonical) with literal
    /// `aliases` (`("$lib", "src/lib")`, `("@", "src")`: prefix → folder
    /// relative to the root). `tsconfig.json`/`jsconfig.json` `paths` are
    /// found next to each file.
    pub fn new(root: &Path, aliases: &[(String, String)]) -> io::Result<ProjectResolver> {
        let root = std::fs::canonicalize(root)?;
        let alias = aliases
            .iter()
            .map(|(from, to)| {
                (
                    from.clone(),
                    vec![oxc_resolver::AliasValue::Path(
                        root.join(to).to_string_lossy().into_owned(),
                    )],
                )
            })
            .collect();
        let options = ResolveOptions {
            alias,
            tsconfig: Some(TsconfigDiscovery::Auto),
            extensions: [
                ".tsx", ".ts", ".jsx", ".js", ".mjs", ".cjs", ".mts", ".cts", ".vue", ".svelte",
                ".json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            extension_alias: vec![
                (
                    ".js".into(),
                    vec![".ts".into(), ".tsx".into(), ".js".into(), ".jsx".into()],
                ),
                (".mjs".into(), vec![".mts".into(), ".mjs".into()]),
            ],
            condition_names: vec!["browser".into(), "import".into(), "default".into()],
            main_fields: vec!["browser".into(), "module".into(), "main".into()],
            symlinks: false,
            builtin_modules: true,
            roots: vec![root.clone()],
            ..ResolveOptions::default()
        };
        let fs = TreeFs::at(root.clone());
        Ok(ProjectResolver {
            resolver: ResolverGeneric::new_with_file_system(fs, options),
            root,
        })
    }

    /// The canonical project root.
    #[cfg(test)]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file `specifier` names when imported from `from` (a file inside
    /// the root), if it is a file of the project.
    pub fn resolve(&self, from: &Path, specifier: &str) -> Option<PathBuf> {
        if specifier.starts_with("node:")
            || specifier.starts_with("http:")
            || specifier.starts_with("https:")
            || specifier.starts_with("data:")
            || specifier.starts_with("virtual:")
            || specifier.starts_with('$') && specifier.starts_with("$env/")
        {
            return None;
        }
        // `resolve_file` finds the nearest tsconfig/jsconfig for `paths`.
        let resolved = self.resolver.resolve_file(from, specifier).ok()?;
        let path = resolved.path().to_path_buf();
        path.starts_with(&self.root).then_some(path)
    }
}

/// A client entry: a module the framework ships on its own.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The entry file (inside the resolver's root).
    pub path: PathBuf,
    /// Why it ships (`"use client"`, "SvelteKit component", "`index.html` script").
    pub why: String,
}

/// The modules reachable from the client entries.
#[derive(Debug, Default)]
pub(crate) struct Reach {
    entries: Vec<Entry>,
    /// Module → (entry index, parent module).
    seen: HashMap<PathBuf, (usize, Option<PathBuf>)>,
    /// The walk was cut off at [`MAX_MODULES`].
    pub truncated: bool,
}

impl Reach {
    /// Whether `path` ships to the browser.
    #[cfg(test)]
    pub fn is_client(&self, path: &Path) -> bool {
        self.seen.contains_key(path)
    }

    /// "reachable from `app/checkout/page.tsx` (`"use client"`) via
    /// `src/lib/stripe.ts`", paths relative to `root`.
    pub fn reason(&self, path: &Path, root: &Path) -> Option<String> {
        let (entry, _) = self.seen.get(path)?;
        let rel = |p: &Path| {
            p.strip_prefix(root)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/")
        };
        let entry = &self.entries[*entry];
        if entry.path == path {
            return Some(format!("client entry ({})", entry.why));
        }
        // The chain between the entry and the module, entry side first.
        let mut via = Vec::new();
        let mut cur = self.seen.get(path).and_then(|(_, p)| p.clone());
        while let Some(p) = cur {
            if p == entry.path {
                break;
            }
            via.push(rel(&p));
            cur = self.seen.get(&p).and_then(|(_, parent)| parent.clone());
        }
        via.reverse();
        let mut s = format!("reachable from `{}` ({})", rel(&entry.path), entry.why);
        if !via.is_empty() {
            s.push_str(" via ");
            s.push_str(
                &via.iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(" → "),
            );
        }
        Some(s)
    }
}

/// Walks the import graph breadth-first from `entries`. `facts_of` scans a
/// module (`None` when it cannot be read); `boundary` tells modules whose
/// imports do not ship (`"use server"`, `server-only`): they are not marked
/// client and not followed. Only imports written on a client or module side
/// count (an Astro frontmatter import does not ship) — unless `skip_side`
/// says otherwise: a walk from server entries skips client-side imports.
pub(crate) fn reach(
    resolver: &ProjectResolver,
    entries: Vec<Entry>,
    mut facts_of: impl FnMut(&Path) -> Option<ModuleFacts>,
    boundary: impl Fn(&Path, &ModuleFacts) -> bool,
    skip_side: Side,
) -> Reach {
    let mut r = Reach {
        entries,
        ..Reach::default()
    };
    let mut queue = VecDeque::new();
    for (i, e) in r.entries.iter().enumerate() {
        if !r.seen.contains_key(&e.path) {
            r.seen.insert(e.path.clone(), (i, None));
            queue.push_back(e.path.clone());
        }
    }
    while let Some(module) = queue.pop_front() {
        let Some(facts) = facts_of(&module) else {
            continue;
        };
        let entry = r.seen[&module].0;
        for import in &facts.imports {
            if import.side == skip_side {
                continue;
            }
            let Some(target) = resolver.resolve(&module, &import.specifier) else {
                continue;
            };
            if r.seen.contains_key(&target) || !is_source_file(&target.to_string_lossy()) {
                continue;
            }
            let Some(target_facts) = facts_of(&target) else {
                continue;
            };
            if boundary(&target, &target_facts) {
                continue;
            }
            if r.seen.len() >= MAX_MODULES {
                r.truncated = true;
                return r;
            }
            r.seen.insert(target.clone(), (entry, Some(module.clone())));
            queue.push_back(target);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specifiers(path: &str, text: &str) -> Vec<String> {
        scan_module(path, text, &[])
            .imports
            .into_iter()
            .map(|i| i.specifier)
            .collect()
    }

    #[test]
    fn every_kind_of_import_is_read() {
        let src = r#"
            import a from "./a";
            import type { T } from "./types";
            export { b } from "./b";
            export * from "./c";
            const d = await import("./d");
            const e = require("./e");
            const f = import(`./f`);
            const g = import(name);
        "#;
        assert_eq!(
            specifiers("x.ts", src),
            ["./a", "./b", "./c", "./d", "./e", "./f"]
        );
    }

    #[test]
    fn directives_and_server_exports() {
        let f = scan_module("c.tsx", "\"use client\";\nimport x from './x';\n", &[]);
        assert!(f.use_client && !f.use_server);
        let f = scan_module(
            "a.ts",
            "'use server'\nexport async function save() {}\n",
            &[],
        );
        assert!(f.use_server);
        // Not a directive when it is not first.
        let f = scan_module("a.ts", "const a = 1;\n\"use client\";\n", &[]);
        assert!(!f.use_client);
        let src = "const k = 1;\nexport async function getServerSideProps() { return k; }\nexport default function P() { return null }\n";
        let f = scan_module("pages/p.tsx", src, &["getServerSideProps"]);
        let (name, s, e) = &f.server_export_spans[0];
        assert_eq!(name, "getServerSideProps");
        assert!(src[*s..*e].starts_with("export async function getServerSideProps"));
        let f = scan_module(
            "pages/q.js",
            "export const getStaticProps = async () => ({ props: {} });",
            &["getStaticProps"],
        );
        assert_eq!(f.server_export_spans.len(), 1);
    }

    #[test]
    fn broken_code_still_yields_its_imports() {
        let f = scan_module(
            "x.js",
            "import a from './a';\nconst = = ;\nimport b from './b';\n",
            &[],
        );
        assert!(f.had_errors);
        assert!(f.imports.iter().any(|i| i.specifier == "./a"));
        // Binary junk: no panic, no imports.
        let f = scan_module("y.ts", "\u{0}\u{1}<<<>>>{{{", &[]);
        assert!(f.imports.is_empty());
    }

    #[test]
    fn components_are_split_into_their_scripts() {
        let vue = "<template><p/></template>\n<script setup lang=\"ts\">\nimport W from './W.vue'\nconst k = 1 as number\n</script>\n";
        let f = scan_module("App.vue", vue, &[]);
        assert_eq!(f.imports[0].specifier, "./W.vue");
        assert_eq!(f.blocks.len(), 1);
        assert_eq!(f.side_at(vue.find("const k").unwrap()), Some(Side::Module));
        assert_eq!(f.side_at(2), None);

        let astro = "---\nimport Card from '../components/Card.astro';\nconst secret = 'x';\n---\n<Card />\n<script>\nimport { track } from '../lib/track';\nconst pub = 'y';\n</script>\n";
        let f = scan_module("src/pages/index.astro", astro, &[]);
        assert_eq!(
            f.imports,
            [
                Import {
                    specifier: "../components/Card.astro".into(),
                    side: Side::Server
                },
                Import {
                    specifier: "../lib/track".into(),
                    side: Side::Client
                },
            ]
        );
        assert_eq!(
            f.side_at(astro.find("const secret").unwrap()),
            Some(Side::Server)
        );
        assert_eq!(
            f.side_at(astro.find("const pub").unwrap()),
            Some(Side::Client)
        );

        let html = "<html><script>window.k = 'x'</script><script type=\"module\" src=\"/src/main.tsx\"></script><script type=\"application/json\">{\"a\":1}</script></html>";
        let f = scan_module("index.html", html, &[]);
        assert_eq!(f.script_srcs, ["/src/main.tsx"]);
        assert_eq!(
            f.side_at(html.find("window.k").unwrap()),
            Some(Side::Client)
        );
        assert_eq!(f.blocks.len(), 2);
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn walk(
        dir: &Path,
        aliases: &[(String, String)],
        entries: &[&str],
    ) -> (ProjectResolver, Reach) {
        let resolver = ProjectResolver::new(dir, aliases).unwrap();
        let root = resolver.root().to_path_buf();
        let entries = entries
            .iter()
            .map(|e| Entry {
                path: root.join(e),
                why: "`\"use client\"`".into(),
            })
            .collect();
        let r = reach(
            &resolver,
            entries,
            |p| {
                let text = std::fs::read_to_string(p).ok()?;
                Some(scan_module(&p.to_string_lossy(), &text, &[]))
            },
            |_, f| f.use_server,
            Side::Server,
        );
        (resolver, r)
    }

    #[test]
    fn reachability_follows_aliases_and_explains_itself() {
        let dir = tree(&[
            ("tsconfig.json", r#"{ "compilerOptions": { "baseUrl": ".", "paths": { "@/lib/*": ["./src/lib/*"] } } }"#),
            ("components/Buy.tsx", "\"use client\";\nimport { k } from '@/lib/stripe';\nimport { save } from '../app/actions';\n"),
            ("src/lib/stripe.ts", "import { fmt } from './fmt';\nexport const k = fmt('x');\n"),
            ("src/lib/fmt.ts", "export const fmt = (s: string) => s;\n"),
            ("app/actions.ts", "'use server';\nimport { db } from '../lib/db';\nexport async function save() {}\n"),
            ("lib/db.ts", "export const db = 1;\n"),
            ("app/api/route.ts", "import { k } from '@/lib/stripe';\n"),
        ]);
        let (resolver, r) = walk(dir.path(), &[], &["components/Buy.tsx"]);
        let root = resolver.root();
        assert!(r.is_client(&root.join("src/lib/stripe.ts")));
        assert!(r.is_client(&root.join("src/lib/fmt.ts")));
        assert!(
            !r.is_client(&root.join("app/actions.ts")),
            "\"use server\" is a boundary"
        );
        assert!(!r.is_client(&root.join("lib/db.ts")));
        assert!(!r.is_client(&root.join("app/api/route.ts")));
        assert_eq!(
            r.reason(&root.join("src/lib/stripe.ts"), root).unwrap(),
            "reachable from `components/Buy.tsx` (`\"use client\"`)"
        );
        assert_eq!(
            r.reason(&root.join("src/lib/fmt.ts"), root).unwrap(),
            "reachable from `components/Buy.tsx` (`\"use client\"`) via `src/lib/stripe.ts`"
        );
    }

    #[test]
    fn literal_aliases_cycles_and_outside_paths() {
        let dir = tree(&[
            ("src/routes/+page.svelte", "<script>\nimport { a } from '$lib/a.js';\nimport x from '../../../outside.js';\n</script>\n"),
            ("src/lib/a.js", "import { b } from './b.js';\nexport const a = 1;\n"),
            ("src/lib/b.js", "import { a } from './a.js';\nexport const b = 2;\n"),
        ]);
        let aliases = vec![("$lib".to_string(), "src/lib".to_string())];
        let (resolver, r) = walk(dir.path(), &aliases, &["src/routes/+page.svelte"]);
        let root = resolver.root();
        assert!(r.is_client(&root.join("src/lib/a.js")));
        assert!(r.is_client(&root.join("src/lib/b.js")));
        assert!(!r.truncated);
        assert!(resolver
            .resolve(&root.join("src/lib/a.js"), "../../../../etc/passwd")
            .is_none());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_never_followed() {
        let outside = tree(&[("secret.js", "export const s = 1;\n")]);
        let dir = tree(&[("src/main.js", "import { s } from './link/secret.js';\n")]);
        std::os::unix::fs::symlink(outside.path(), dir.path().join("src/link")).unwrap();
        let (resolver, r) = walk(dir.path(), &[], &["src/main.js"]);
        assert_eq!(r.seen.len(), 1);
        assert!(resolver
            .resolve(&resolver.root().join("src/main.js"), "./link/secret.js")
            .is_none());
    }

    /// What `TreeFs::inside` replaced: the canonical path must be the path.
    #[cfg(unix)]
    fn inside_by_canonicalize(root: &Path, path: &Path) -> bool {
        std::fs::canonicalize(path).is_ok_and(|c| {
            c == path
                && c.starts_with(root)
                && !c
                    .strip_prefix(root)
                    .is_ok_and(|r| r.components().any(|x| x.as_os_str() == "node_modules"))
        })
    }

    #[cfg(unix)]
    #[test]
    fn inside_agrees_with_comparing_the_canonical_path() {
        let outside = tree(&[("secret.js", "s\n")]);
        let dir = tree(&[
            ("src/a/b.js", "b\n"),
            ("src/c.js", "c\n"),
            ("node_modules/p/index.js", "p\n"),
        ]);
        let link =
            |to: &Path, at: &str| std::os::unix::fs::symlink(to, dir.path().join(at)).unwrap();
        link(outside.path(), "src/out");
        link(&dir.path().join("src/a"), "src/a2");
        link(&dir.path().join("src/c.js"), "src/c2.js");
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let fs = TreeFs::at(root.clone());
        for rel in [
            "",
            "src",
            "src/a",
            "src/a/b.js",
            "src/a/./b.js",
            "src/a/../c.js",
            "src/c.js",
            "src/c.js/x",
            "src/missing.js",
            "src/missing/x.js",
            "src/out",
            "src/out/secret.js",
            "src/a2/b.js",
            "src/a2",
            "src/c2.js",
            "node_modules/p/index.js",
            "src/a/b.js/",
        ] {
            let path = root.join(rel);
            // Twice: the second answer comes through the folder cache.
            for _ in 0..2 {
                assert_eq!(
                    fs.inside(&path).is_ok(),
                    inside_by_canonicalize(&root, &path),
                    "{rel}"
                );
            }
        }
        assert!(fs.inside(&outside.path().join("secret.js")).is_err());
        assert!(fs.inside(Path::new("src/c.js")).is_err());
    }

    #[test]
    fn a_ten_thousand_module_chain_is_walked() {
        let dir = tempfile::tempdir().unwrap();
        let n = 10_000;
        for i in 0..n {
            let next = if i + 1 < n {
                format!("import './m{}.js';\n", i + 1)
            } else {
                String::new()
            };
            std::fs::write(dir.path().join(format!("m{i}.js")), next).unwrap();
        }
        let (resolver, r) = walk(dir.path(), &[], &["m0.js"]);
        assert!(r.is_client(&resolver.root().join(format!("m{}.js", n - 1))));
        assert!(!r.truncated);
    }
}
