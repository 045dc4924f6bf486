//! Framework conventions as data: which files of a framework run on the
//! server and which ship to the browser, which env prefixes are public.
//!
//! The tables live in `frameworks/*.toml` (documented in
//! `frameworks/README.md` and the README's framework table), are embedded
//! with `include_str!`, and are validated when a scan starts: an error names
//! the file, the framework and the field. Each framework carries example
//! paths both ways, which the unit tests run through `Framework::convention`.
//!
//! A project's framework is the first one, in `EMBEDDED` order (meta
//! frameworks before plain bundlers), whose package its `package.json`
//! depends on or whose config file sits in the project root.

use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The embedded framework files, in detection order.
pub(crate) const EMBEDDED: &[(&str, &str)] = &[
    (
        "frameworks/nextjs.toml",
        include_str!("../../frameworks/nextjs.toml"),
    ),
    (
        "frameworks/sveltekit.toml",
        include_str!("../../frameworks/sveltekit.toml"),
    ),
    (
        "frameworks/nuxt.toml",
        include_str!("../../frameworks/nuxt.toml"),
    ),
    (
        "frameworks/remix.toml",
        include_str!("../../frameworks/remix.toml"),
    ),
    (
        "frameworks/astro.toml",
        include_str!("../../frameworks/astro.toml"),
    ),
    (
        "frameworks/gatsby.toml",
        include_str!("../../frameworks/gatsby.toml"),
    ),
    (
        "frameworks/expo.toml",
        include_str!("../../frameworks/expo.toml"),
    ),
    (
        "frameworks/angular.toml",
        include_str!("../../frameworks/angular.toml"),
    ),
    (
        "frameworks/vue-cli.toml",
        include_str!("../../frameworks/vue-cli.toml"),
    ),
    (
        "frameworks/cra.toml",
        include_str!("../../frameworks/cra.toml"),
    ),
    (
        "frameworks/vite.toml",
        include_str!("../../frameworks/vite.toml"),
    ),
    (
        "frameworks/webpack.toml",
        include_str!("../../frameworks/webpack.toml"),
    ),
    (
        "frameworks/static.toml",
        include_str!("../../frameworks/static.toml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    framework: Vec<FrameworkSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkSpec {
    id: String,
    name: String,
    packages: Vec<String>,
    #[serde(default)]
    config_files: Vec<String>,
    public_env_prefixes: Vec<String>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    server: Vec<String>,
    client_entries: Vec<String>,
    #[serde(default)]
    html_entries: bool,
    #[serde(default)]
    client_directive: Option<String>,
    #[serde(default)]
    server_directive: Option<String>,
    #[serde(default)]
    server_imports: Vec<String>,
    #[serde(default)]
    server_exports: Vec<String>,
    examples: Examples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(not(test), allow(dead_code))]
struct Examples {
    server: Vec<String>,
    client: Vec<String>,
}

/// One framework's conventions, with its globs compiled.
#[derive(Debug)]
pub(crate) struct Framework {
    /// Stable id (`nextjs`).
    pub id: String,
    /// Display name (`Next.js`).
    pub name: String,
    /// Dependencies that select it.
    pub packages: Vec<String>,
    /// Config files that select it.
    pub config_files: Vec<String>,
    /// Env prefixes it inlines into client code.
    pub public_env_prefixes: Vec<String>,
    /// Literal import aliases: prefix → folder relative to the project root.
    pub aliases: Vec<(String, String)>,
    server: GlobSet,
    client_entries: GlobSet,
    /// `<script src>` of HTML pages are entries.
    pub html_entries: bool,
    /// `"use client"`.
    pub client_directive: Option<String>,
    /// `"use server"`.
    pub server_directive: Option<String>,
    /// Modules whose import makes a module server-only.
    pub server_imports: Vec<String>,
    /// Exports stripped from client entries.
    pub server_exports: Vec<String>,
    /// Example paths both ways, run through `Framework::convention` by the
    /// unit tests.
    #[cfg_attr(not(test), allow(dead_code))]
    examples: Examples,
}

/// What the conventions alone say about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Convention {
    /// Runs only on the server (or at build time).
    Server,
    /// Shipped on its own: a client entry.
    ClientEntry,
    /// Neither: decided by the import graph.
    Undecided,
}

impl Framework {
    /// The convention for `rel`, a path relative to the project root.
    pub fn convention(&self, rel: &str) -> Convention {
        if self.server.is_match(rel) {
            Convention::Server
        } else if self.client_entries.is_match(rel) {
            Convention::ClientEntry
        } else {
            Convention::Undecided
        }
    }
}

fn globs(file: &str, id: &str, field: &str, patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns.iter().flat_map(|p| optional_parts(p)) {
        let p = &p;
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("{file}: framework `{id}`: `{field}`: bad glob `{p}`: {e}"))?;
        b.add(glob);
    }
    b.build()
        .map_err(|e| format!("{file}: framework `{id}`: `{field}`: {e}"))
}

/// Expands each `{a/,}` group — an alternation with an empty member, which
/// globset does not accept — into one pattern per member:
/// `{src/,}app/**` → `src/app/**`, `app/**`.
fn optional_parts(pattern: &str) -> Vec<String> {
    let mut from = 0;
    while let Some(open) = pattern[from..].find('{').map(|i| i + from) {
        let Some(close) = pattern[open..].find('}').map(|i| i + open) else {
            break;
        };
        let inner = &pattern[open + 1..close];
        if inner.split(',').any(str::is_empty) {
            return inner
                .split(',')
                .flat_map(|member| {
                    optional_parts(&format!(
                        "{}{member}{}",
                        &pattern[..open],
                        &pattern[close + 1..]
                    ))
                })
                .collect();
        }
        from = close + 1;
    }
    vec![pattern.to_string()]
}

/// Parses and validates one framework file.
pub(crate) fn parse(file: &str, text: &str) -> Result<Vec<Framework>, String> {
    let spec: FileSpec = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let mut out = Vec::new();
    for f in spec.framework {
        let id = f.id.clone();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
            return Err(format!(
                "{file}: framework id `{id}`: use lowercase letters and `-`"
            ));
        }
        if f.name.trim().is_empty() {
            return Err(format!("{file}: framework `{id}`: `name` is empty"));
        }
        for p in &f.public_env_prefixes {
            if p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(format!(
                    "{file}: framework `{id}`: `public_env_prefixes`: `{p}` is not an env prefix (A-Z, 0-9, _)"
                ));
            }
        }
        for (alias, target) in &f.aliases {
            if alias.is_empty() || target.starts_with('/') || target.split('/').any(|c| c == "..") {
                return Err(format!(
                    "{file}: framework `{id}`: `aliases`: `{alias}` = `{target}` must name a folder inside the project"
                ));
            }
        }
        for d in [&f.client_directive, &f.server_directive]
            .into_iter()
            .flatten()
        {
            if !d.starts_with("use ") {
                return Err(format!(
                    "{file}: framework `{id}`: directive `{d}` must start with `use `"
                ));
            }
        }
        out.push(Framework {
            server: globs(file, &id, "server", &f.server)?,
            client_entries: globs(file, &id, "client_entries", &f.client_entries)?,
            id,
            name: f.name,
            packages: f.packages,
            config_files: f.config_files,
            public_env_prefixes: f.public_env_prefixes,
            aliases: f.aliases.into_iter().collect(),
            html_entries: f.html_entries,
            client_directive: f.client_directive,
            server_directive: f.server_directive,
            server_imports: f.server_imports,
            server_exports: f.server_exports,
            examples: f.examples,
        });
    }
    Ok(out)
}

/// Every embedded framework, parsed and validated once; the error names the
/// file, the framework and the field. The tables are compiled into the
/// binary and a unit test parses them, so this cannot fail in a release.
fn loaded() -> &'static Result<Vec<Framework>, String> {
    static ALL: OnceLock<Result<Vec<Framework>, String>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for (file, text) in EMBEDDED {
            all.extend(parse(file, text)?);
        }
        Ok(all)
    })
}

/// Every embedded framework, parsed on first use.
pub(crate) fn all() -> &'static [Framework] {
    match loaded() {
        Ok(all) => all,
        // Embedded tables are checked by `every_embedded_file_is_valid_*`.
        Err(message) => panic!("invalid embedded framework conventions: {message}"),
    }
}

/// The framework by id.
pub(crate) fn by_id(id: &str) -> Option<&'static Framework> {
    all().iter().find(|f| f.id == id)
}

/// The framework of a project: the first whose package is a dependency, or
/// whose config file is among `files_in_root`.
pub(crate) fn detect(
    dependencies: &[String],
    files_in_root: &[String],
) -> Option<&'static Framework> {
    all().iter().find(|f| {
        f.packages.iter().any(|p| dependencies.contains(p))
            || f.config_files.iter().any(|c| files_in_root.contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_is_valid_and_ids_are_unique() {
        let mut ids = std::collections::BTreeSet::new();
        for (file, text) in EMBEDDED {
            for f in parse(file, text).unwrap_or_else(|e| panic!("{e}")) {
                assert!(ids.insert(f.id.clone()), "{file}: duplicate id {}", f.id);
            }
        }
        assert_eq!(all().len(), ids.len());
    }

    /// Each framework row's examples, both ways.
    #[test]
    fn every_framework_row_judges_its_examples() {
        for f in all() {
            for p in &f.examples.server {
                assert_eq!(
                    f.convention(p),
                    Convention::Server,
                    "{}: {p} should be server",
                    f.id
                );
            }
            for p in &f.examples.client {
                assert_eq!(
                    f.convention(p),
                    Convention::ClientEntry,
                    "{}: {p} should be a client entry",
                    f.id
                );
            }
        }
    }

    #[test]
    fn errors_name_the_file_the_framework_and_the_field() {
        let bad = r#"
[[framework]]
id = "x"
name = "X"
packages = []
public_env_prefixes = ["lower_"]
server = []
client_entries = []
[framework.examples]
server = []
client = []
"#;
        let e = parse("frameworks/x.toml", bad).unwrap_err();
        assert!(
            e.contains("frameworks/x.toml")
                && e.contains("`x`")
                && e.contains("public_env_prefixes"),
            "{e}"
        );
        let e = parse(
            "f.toml",
            &bad.replace("[\"lower_\"]", "[]").replace(
                "server = []\nclient_entries",
                "server = [\"a/{b\"]\nclient_entries",
            ),
        )
        .unwrap_err();
        assert!(e.contains("`server`") && e.contains("bad glob"), "{e}");
        let e = parse("f.toml", "[[framework]]\nid = \"y\"\n").unwrap_err();
        assert!(e.starts_with("f.toml:"), "{e}");
        let e = parse(
            "f.toml",
            &bad.replace("[\"lower_\"]", "[]").replace(
                "packages = []",
                "packages = []\naliases = { \"@\" = \"../up\" }",
            ),
        )
        .unwrap_err();
        assert!(e.contains("aliases"), "{e}");
    }

    #[test]
    fn optional_groups_expand() {
        assert_eq!(
            optional_parts("{src/,}app/**/route.{js,ts}"),
            ["src/app/**/route.{js,ts}", "app/**/route.{js,ts}"]
        );
        assert_eq!(optional_parts("a/{b,c}"), ["a/{b,c}"]);
    }

    #[test]
    fn detection_prefers_meta_frameworks() {
        let deps = |d: &[&str]| d.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            detect(&deps(&["vite", "@sveltejs/kit"]), &[]).unwrap().id,
            "sveltekit"
        );
        assert_eq!(detect(&deps(&["react", "next"]), &[]).unwrap().id, "nextjs");
        assert_eq!(detect(&deps(&["vite", "react"]), &[]).unwrap().id, "vite");
        assert_eq!(
            detect(&deps(&["express"]), &[]).map(|f| f.id.as_str()),
            None
        );
        assert_eq!(
            detect(&[], &["angular.json".to_string()]).unwrap().id,
            "angular"
        );
        assert_eq!(by_id("static").unwrap().name, "Static site");
    }
}
