//! Context: where a file's content ends up, decided from its path and a few
//! facts about its bytes.
//!
//! The same key is `critical` in a client bundle, `high` in server code and
//! expected in an ignored `.env`. [`classify`] decides a file's
//! [`Context`] in this order, first match wins:
//!
//! 1. `dotenv`: `.env` and `.env.*` files;
//! 2. `client`: build output of a web project, `public/`/`static/` assets,
//!    `*.min.js`, `*.bundle.js`, hashed chunks, source maps, HTML with scripts,
//!    `"use client"` modules;
//! 3. `test`: test and fixture folders and files;
//! 4. `docs`: Markdown and docs folders;
//! 5. `client`: front-end source (`src/`) of a package that builds a browser app;
//! 6. `server`: everything else.
//!
//! A match can then be promoted to `client` by the variable it is assigned to
//! ([`exposed_assignment`]): bundlers inline `NEXT_PUBLIC_*`, `VITE_*`, … into
//! public JavaScript.

use crate::dotenv;
use crate::facts::imports::Side;
use crate::facts::project::{ProjectIndex, TEST_DIRS};
use crate::facts::web::{FileRole, WebFacts};
use crate::facts::Facts;
use crate::finding::Context;
use crate::paths::file_name;

/// A context plus the human reason for it ("source map", "build output
/// folder `web/dist`").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The context.
    pub context: Context,
    /// Why, for messages.
    pub reason: String,
}

impl Classified {
    fn new(context: Context, reason: impl Into<String>) -> Self {
        Classified {
            context,
            reason: reason.into(),
        }
    }
}

/// File facts the classifier needs beyond the path.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentFacts {
    /// Starts with a `"use client"` directive.
    pub use_client: bool,
    /// Contains `<script`.
    pub has_script: bool,
}

const DOCS_DIRS: &[&str] = &["docs", "doc", "documentation"];
const DOCS_EXTS: &[&str] = &["md", "mdx", "markdown", "rst", "adoc", "asciidoc"];
const ASSET_DIRS: &[&str] = &["public", "static"];
const FRONTEND_EXTS: &[&str] = &[
    "js", "jsx", "ts", "tsx", "mjs", "cjs", "vue", "svelte", "astro", "html",
];
const JS_EXTS: &[&str] = &["js", "jsx", "ts", "tsx", "mjs", "cjs"];
/// Folders inside a front-end package whose code still runs on a server.
const SERVER_DIRS: &[&str] = &["server", "api", "functions", "scripts", "lambda"];

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map(|(_, e)| e).unwrap_or("")
}

/// `index-4f3a9b2c.js`, `main.3f2a1b9c.chunk.js`, `app-BQ3xT1aY.js`: a
/// bundler's content hash of 8+ characters including a digit.
fn is_hashed_chunk(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".js")
        .or_else(|| name.strip_suffix(".mjs"))
        .or_else(|| name.strip_suffix(".cjs"))
    else {
        return false;
    };
    if stem.ends_with(".chunk") {
        return true;
    }
    let Some(pos) = stem.rfind(['.', '-']) else {
        return false;
    };
    let hash = &stem[pos + 1..];
    hash.len() >= 8
        && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && hash.bytes().any(|b| b.is_ascii_digit())
}

/// Whether `path` is generated client output — build output of a web
/// project, a source map, a minified or hashed bundle, a public asset — as
/// opposed to hand-written front-end source. A key there was put in by a
/// build, typically from an environment variable.
pub fn is_bundle_path(path: &str, projects: &ProjectIndex) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    let in_asset_dir = {
        let mut dirs: Vec<&str> = path.split('/').collect();
        dirs.pop();
        dirs.iter().any(|d| ASSET_DIRS.contains(d)) && !dirs.contains(&"node_modules")
    };
    projects.build_dir_of(path).is_some()
        || name.ends_with(".map")
        || name.ends_with(".min.js")
        || name.ends_with(".min.mjs")
        || name.ends_with(".bundle.js")
        || is_hashed_chunk(&name)
        || in_asset_dir
}

/// Classifies a file by its path (relative, `/`-separated) and content facts.
pub fn classify(path: &str, facts: ContentFacts, projects: &ProjectIndex) -> Classified {
    let name = file_name(path);
    let lower_name = name.to_ascii_lowercase();
    let ext = extension(&lower_name);
    let dirs: Vec<&str> = {
        let mut parts: Vec<&str> = path.split('/').collect();
        parts.pop();
        parts
    };

    if dotenv::is_dotenv_name(name) {
        return Classified::new(Context::Dotenv, "dotenv file");
    }
    if let Some(dir) = projects.build_dir_of(path) {
        return Classified::new(
            Context::Client,
            format!("build output folder `{dir}/`, served to browsers"),
        );
    }
    if lower_name.ends_with(".map") {
        return Classified::new(
            Context::Client,
            "source map (it carries the original sources to anyone with the bundle)",
        );
    }
    if lower_name.ends_with(".min.js") || lower_name.ends_with(".min.mjs") {
        return Classified::new(Context::Client, "minified bundle");
    }
    if lower_name.ends_with(".bundle.js") {
        return Classified::new(Context::Client, "JavaScript bundle");
    }
    if dirs.iter().any(|d| ASSET_DIRS.contains(d)) && !dirs.contains(&"node_modules") {
        return Classified::new(Context::Client, "public asset folder, served as is");
    }
    if is_hashed_chunk(name) {
        return Classified::new(Context::Client, "hashed bundle chunk");
    }
    if (ext == "html" || ext == "htm") && facts.has_script {
        return Classified::new(Context::Client, "HTML page with scripts");
    }
    if JS_EXTS.contains(&ext) && facts.use_client {
        return Classified::new(
            Context::Client,
            "`\"use client\"` module, bundled for the browser",
        );
    }
    let is_test_file = lower_name.contains(".test.")
        || lower_name.contains(".spec.")
        || lower_name.ends_with("_test.go")
        || lower_name.ends_with("_test.py")
        || (lower_name.starts_with("test_") && ext == "py");
    if is_test_file || dirs.iter().any(|d| TEST_DIRS.contains(d)) {
        return Classified::new(Context::Test, "test or fixture");
    }
    if DOCS_EXTS.contains(&ext) || dirs.iter().any(|d| DOCS_DIRS.contains(d)) {
        return Classified::new(Context::Docs, "documentation");
    }
    if FRONTEND_EXTS.contains(&ext) && !lower_name.contains(".config.") {
        if let Some((root, facts)) = projects.nearest(path) {
            if let Some(tool) = &facts.browser_app {
                let inner = if root.is_empty() {
                    path
                } else {
                    &path[root.len() + 1..]
                };
                let mut parts = inner.split('/');
                let in_src = parts.next() == Some("src") && inner.contains('/');
                let server_side = inner.split('/').any(|d| SERVER_DIRS.contains(&d));
                if in_src && !server_side {
                    return Classified::new(
                        Context::Client,
                        format!("front-end source of a {tool} app, bundled for the browser"),
                    );
                }
            }
        }
    }
    if let Some(kind) = infrastructure(path) {
        return Classified::new(
            Context::Server,
            format!("{kind}, committed with the repository"),
        );
    }
    Classified::new(Context::Server, GENERIC_SERVER)
}

/// The reason of the last rule: no other rule says where the file runs.
pub const GENERIC_SERVER: &str = "server-side code or configuration";

/// Infrastructure files that define a deployment's environment: CI
/// workflows, Dockerfiles, compose files, `vercel.json`, `netlify.toml`,
/// Kubernetes manifests. A committed key there is exposed to everyone who
/// can read the repository, and a variable defined there feeds the build.
pub fn infrastructure(path: &str) -> Option<&'static str> {
    let name = file_name(path).to_ascii_lowercase();
    let lower = path.to_ascii_lowercase();
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    if yaml && (lower.contains(".github/workflows/") || lower.starts_with(".github/workflows/")) {
        return Some("CI workflow");
    }
    if name == ".gitlab-ci.yml"
        || name == ".travis.yml"
        || name == "azure-pipelines.yml"
        || name == "bitbucket-pipelines.yml"
        || name == "jenkinsfile"
        || lower.contains(".circleci/")
    {
        return Some("CI configuration");
    }
    if name == "dockerfile" || name.starts_with("dockerfile.") || name.ends_with(".dockerfile") {
        return Some("Dockerfile");
    }
    if (name.starts_with("docker-compose") || name.starts_with("compose.")) && yaml {
        return Some("compose file");
    }
    if matches!(
        name.as_str(),
        "vercel.json"
            | "netlify.toml"
            | "fly.toml"
            | "render.yaml"
            | "app.yaml"
            | "railway.json"
            | "railway.toml"
    ) {
        return Some("hosting configuration");
    }
    if yaml
        && (lower.contains("k8s/")
            || lower.contains("kubernetes/")
            || lower.contains("helm/")
            || lower.contains("charts/"))
    {
        return Some("Kubernetes manifest");
    }
    None
}

/// What the web model of the project says about one match, when it says
/// anything: a dotenv (or infrastructure) variable that a bundler config
/// inlines or that a configured public prefix exposes; a literal inside a
/// config's inlining option; a module's place in its framework and import
/// graph; the region of a component (Astro frontmatter vs `<script>`) or of
/// a pages-router module (`getServerSideProps`). `None` leaves the path
/// rules' answer (`file_ctx`) standing.
pub fn web_context(
    path: &str,
    offset: usize,
    var: Option<&str>,
    file_ctx: &Classified,
    facts: &Facts,
) -> Option<Classified> {
    let web: &WebFacts = &facts.web;
    let client = |reason: String| Some(Classified::new(Context::Client, reason));
    let server = |reason: String| Some(Classified::new(Context::Server, reason));
    let name = file_name(path);
    let is_dotenv = dotenv::is_dotenv_name(name);
    // Variables: inlined by a config, or public by a configured prefix.
    if let Some(var) = var {
        if is_dotenv {
            if let Some((_, project)) = web.project_of(path) {
                if let Some(how) = project.inlines(var) {
                    return client(format!("{how} inlines `{var}` into client JavaScript"));
                }
                if let Some((prefix, why)) = project.public_prefix(var) {
                    if dotenv::exposed_prefix(var).is_none() {
                        return client(format!(
                            "{why}: `{var}` starts with `{prefix}` and is inlined into client JavaScript"
                        ));
                    }
                }
            }
            if let Some((_, project)) = web.project_of(path) {
                if !project.notes.is_empty() && file_ctx.context == Context::Dotenv {
                    return Some(Classified::new(
                        Context::Dotenv,
                        format!("{} ({})", file_ctx.reason, project.notes.join("; ")),
                    ));
                }
            }
        } else if let Some(kind) = infrastructure(path) {
            for (_, project) in web.projects() {
                if let Some(how) = project.inlines(var) {
                    return client(format!(
                        "{kind} defines `{var}`, which {how} inlines into client JavaScript"
                    ));
                }
            }
        }
    }
    if is_dotenv || !matches!(file_ctx.context, Context::Client | Context::Server) {
        return None;
    }
    if is_bundle_path(path, &facts.projects) {
        return None;
    }
    if let Some(config) = web.config(path) {
        return config
            .region_at(offset)
            .and_then(|how| client(format!("{how} inlines this literal into client JavaScript")));
    }
    let module = web.module(path)?;
    let (root, project) = web.project_of(path)?;
    let rel = rel_to(root, path);
    let Some(role) = WebFacts::role(project, &rel, module) else {
        // The web model could not decide (no graph, a run-time config):
        // conventions stand, and the reason says why.
        if project.notes.is_empty() {
            return None;
        }
        return Some(Classified::new(
            file_ctx.context,
            format!(
                "{} (by convention: {})",
                file_ctx.reason,
                project.notes.join("; ")
            ),
        ));
    };
    let region = module.side_at(offset);
    if let Some(export) = module.server_export_at(offset) {
        let fw = project
            .framework
            .map_or("The framework", |f| f.name.as_str());
        return server(format!(
            "inside `{export}`, which runs on the server: {fw} strips it from the client bundle"
        ));
    }
    let html = !rel.to_ascii_lowercase().ends_with(".astro");
    match (role, region) {
        (FileRole::Regions, Some(Side::Server)) => {
            server("Astro component frontmatter, which runs on the server or at build time".into())
        }
        (FileRole::Regions, Some(Side::Client)) if html => {
            client("an HTML page's inline `<script>`, served to browsers".into())
        }
        (FileRole::Regions, Some(Side::Client)) => {
            client("an Astro component's `<script>`, bundled for the browser".into())
        }
        (FileRole::Regions, _) => None,
        (FileRole::Unreached(why), _) => Some(Classified::new(
            file_ctx.context,
            format!("{} (by convention: {why})", file_ctx.reason),
        )),
        (FileRole::Server(why), _) => server(why),
        (FileRole::Client(why), _) => client(why),
    }
}

fn rel_to(root: &str, path: &str) -> String {
    if root.is_empty() {
        path.to_string()
    } else {
        path.strip_prefix(root)
            .and_then(|p| p.strip_prefix('/'))
            .unwrap_or(path)
            .to_string()
    }
}

/// The variable a value is assigned to at the end of `line_before` (the bytes
/// of the line before the value): `NAME=`, `NAME: "`, `"NAME": '`,
/// `process.env.NAME = "`.
pub fn assigned_name(line_before: &[u8]) -> Option<String> {
    let s = line_before;
    let mut end = s.len();
    // Skip an opening quote and whitespace.
    while end > 0 && matches!(s[end - 1], b'"' | b'\'' | b'`' | b' ' | b'\t') {
        end -= 1;
    }
    if end == 0 || !matches!(s[end - 1], b'=' | b':') {
        return None;
    }
    end -= 1;
    if end > 0 && s[end - 1] == b':' {
        end -= 1; // `:=`
    }
    while end > 0 && matches!(s[end - 1], b' ' | b'\t' | b'"' | b'\'') {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && (s[start - 1].is_ascii_alphanumeric() || s[start - 1] == b'_') {
        start -= 1;
    }
    (start < end).then(|| String::from_utf8_lossy(&s[start..end]).into_owned())
}

/// If the key is assigned to a bundler-exposed variable, that variable's name.
pub fn exposed_assignment(var: Option<&str>) -> Option<String> {
    let var = var?;
    dotenv::exposed_prefix(var).map(|_| var.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx() -> ProjectIndex {
        let mut idx = ProjectIndex::new();
        idx.add_manifest(
            "web/package.json",
            Some(br#"{"dependencies":{"vite":"5"}}"#),
        );
        idx.add_manifest(
            "api/package.json",
            Some(br#"{"dependencies":{"express":"4"}}"#),
        );
        idx
    }

    fn ctx(path: &str) -> Context {
        classify(path, ContentFacts::default(), &idx()).context
    }

    #[test]
    fn paths_map_to_contexts() {
        assert_eq!(ctx("web/dist/assets/index-4f3a.js"), Context::Client);
        assert_eq!(ctx("web/src/api.ts"), Context::Client);
        assert_eq!(ctx("web/vite.config.ts"), Context::Server);
        assert_eq!(ctx("web/src/server/db.ts"), Context::Server);
        assert_eq!(ctx("api/src/index.js"), Context::Server);
        assert_eq!(ctx("api/build/index.js"), Context::Client);
        assert_eq!(ctx("app.js.map"), Context::Client);
        assert_eq!(ctx("vendor/jquery.min.js"), Context::Client);
        assert_eq!(ctx("static/chunks/main-8f3a9b2c.js"), Context::Client);
        assert_eq!(ctx("lib/use-debounce.js"), Context::Server);
        assert_eq!(ctx("lib/main.3f2a1b9c.chunk.js"), Context::Client);
        assert_eq!(ctx("api/.env.production"), Context::Dotenv);
        assert_eq!(ctx("api/tests/auth.test.js"), Context::Test);
        assert_eq!(ctx("web/src/App.test.tsx"), Context::Test);
        assert_eq!(ctx("docs/setup.txt"), Context::Docs);
        assert_eq!(ctx("README.md"), Context::Docs);
        assert_eq!(ctx("page.html"), Context::Server);
        let html = ContentFacts {
            has_script: true,
            ..Default::default()
        };
        assert_eq!(classify("page.html", html, &idx()).context, Context::Client);
        let uc = ContentFacts {
            use_client: true,
            ..Default::default()
        };
        assert_eq!(
            classify("app/page.tsx", uc, &idx()).context,
            Context::Client
        );
    }

    #[test]
    fn assignments_are_recognised() {
        assert_eq!(
            assigned_name(b"NEXT_PUBLIC_KEY=").as_deref(),
            Some("NEXT_PUBLIC_KEY")
        );
        assert_eq!(
            assigned_name(b"  VITE_KEY: \"").as_deref(),
            Some("VITE_KEY")
        );
        assert_eq!(
            assigned_name(b"{\"REACT_APP_K\": '").as_deref(),
            Some("REACT_APP_K")
        );
        assert_eq!(
            assigned_name(b"process.env.NEXT_PUBLIC_X = `").as_deref(),
            Some("NEXT_PUBLIC_X")
        );
        assert_eq!(assigned_name(b"k := \"").as_deref(), Some("k"));
        assert_eq!(assigned_name(b"fetch(\""), None);
        assert_eq!(
            exposed_assignment(Some("VITE_MINIBACK")).as_deref(),
            Some("VITE_MINIBACK")
        );
        assert_eq!(exposed_assignment(Some("MINIBACK")), None);
    }
}
