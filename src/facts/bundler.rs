//! Bundler configuration that inlines values into client code.
//!
//! A bundler config can make any variable public, not only the prefixed
//! ones: Vite's `define` (often fed by `loadEnv(mode, cwd, '')`, which reads
//! every variable of `.env`), Next's `env` and `publicRuntimeConfig`, Nuxt's
//! `runtimeConfig.public`, webpack's `DefinePlugin` and `EnvironmentPlugin`,
//! Expo's `extra`. It can also change which prefix is public (Vite
//! `envPrefix`, SvelteKit `kit.env.publicPrefix`). [`read_config`] parses a
//! config file with `oxc_parser` and reports:
//!
//! - the env variables it inlines (`process.env.NAME`, `env.NAME`,
//!   `import.meta.env.NAME` inside an inlining option), with how;
//! - the byte ranges of inlining options, where a literal key ships as is;
//! - public prefixes it sets, literal `resolve.alias` entries;
//! - notes where the config is computed at run time (an option that is not an
//!   object literal, a file that does not parse): the judge then falls back to
//!   conventions and says so.

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, ArrayExpressionElement, Expression, NewExpression, ObjectProperty,
    ObjectPropertyKind, PropertyKey,
};
use oxc_ast_visit::Visit;
use oxc_parser::Parser;
use oxc_span::SourceType;

/// What one config file tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BundlerConfig {
    /// The config file, relative to the project root.
    pub file: String,
    /// Env variables the config inlines into client code, with how
    /// ("`define` in `vite.config.js`").
    pub inlined: Vec<(String, String)>,
    /// Byte ranges of inlining options: a literal key there ships.
    pub client_regions: Vec<(usize, usize, String)>,
    /// Public env prefixes the config sets (replacing the framework's).
    pub public_prefixes: Option<Vec<String>>,
    /// Literal import aliases: prefix → folder relative to the project root.
    pub aliases: Vec<(String, String)>,
    /// What could not be read statically.
    pub notes: Vec<String>,
}

impl BundlerConfig {
    /// How the config inlines `var`, if it does.
    pub fn inlines(&self, var: &str) -> Option<&str> {
        self.inlined
            .iter()
            .find(|(v, _)| v == var)
            .map(|(_, how)| how.as_str())
    }

    /// The inlining option holding byte `offset` of the config file.
    pub fn region_at(&self, offset: usize) -> Option<&str> {
        self.client_regions
            .iter()
            .find(|(s, e, _)| *s <= offset && offset < *e)
            .map(|(_, _, how)| how.as_str())
    }
}

/// Config files that can inline values, by file name.
pub(crate) fn is_config_file(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("");
    let ext_ok = name.ends_with(".js")
        || name.ends_with(".mjs")
        || name.ends_with(".cjs")
        || name.ends_with(".ts")
        || name.ends_with(".mts");
    (ext_ok
        && name.contains(".config.")
        && matches!(
            stem,
            "vite" | "next" | "nuxt" | "svelte" | "webpack" | "astro" | "rsbuild" | "app"
        ))
        || name == "app.json"
}

/// Parses the config file `file` (relative to the project root).
pub(crate) fn read_config(file: &str, text: &str) -> BundlerConfig {
    let name = file.rsplit('/').next().unwrap_or(file);
    let mut out = BundlerConfig {
        file: file.to_string(),
        ..BundlerConfig::default()
    };
    // JSON is an expression: parse `(…)` and shift offsets back by one.
    let (code, shift) = if name.ends_with(".json") {
        (format!("({text})"), 1usize)
    } else {
        (text.to_string(), 0)
    };
    let typescript = name.ends_with(".ts") || name.ends_with(".mts");
    let source_type = SourceType::default()
        .with_module(true)
        .with_typescript(typescript);
    let allocator = Allocator::default();
    let ret = Parser::new(&allocator, &code, source_type).parse();
    if ret.panicked {
        out.notes.push(format!(
            "`{file}` could not be parsed: keyscan falls back to conventions"
        ));
        return out;
    }
    let tool = name.split('.').next().unwrap_or("");
    let mut v = ConfigVisitor {
        file,
        tool,
        shift,
        keys: Vec::new(),
        out: &mut out,
    };
    v.visit_program(&ret.program);
    out.inlined.sort();
    out.inlined.dedup_by(|a, b| a.0 == b.0);
    out
}

struct ConfigVisitor<'o> {
    file: &'o str,
    tool: &'o str,
    shift: usize,
    keys: Vec<String>,
    out: &'o mut BundlerConfig,
}

impl ConfigVisitor<'_> {
    /// Records an inlining option's value: its env references and range.
    fn inlining(&mut self, option: &str, value: &Expression) {
        let how = format!("`{option}` in `{}`", self.file);
        let value = value.without_parentheses();
        match value {
            Expression::ObjectExpression(_) | Expression::ArrayExpression(_) => {
                let span = oxc_span::GetSpan::span(value);
                self.out.client_regions.push((
                    (span.start as usize).saturating_sub(self.shift),
                    (span.end as usize).saturating_sub(self.shift),
                    how.clone(),
                ));
                let mut refs = EnvRefs::default();
                refs.visit_expression(value);
                for var in refs.names {
                    self.out.inlined.push((var, how.clone()));
                }
            }
            _ => self.out.notes.push(format!(
                "{how} is computed at run time: keyscan cannot read which variables it inlines and falls back to conventions"
            )),
        }
    }

    fn property(&mut self, p: &ObjectProperty) {
        let Some(key) = key_name(&p.key) else {
            return;
        };
        let parent = self.keys.last().map(String::as_str);
        match (self.tool, parent, key.as_str()) {
            (_, _, "define") => self.inlining("define", &p.value),
            ("next", None, "env") => self.inlining("env", &p.value),
            ("next", None, "publicRuntimeConfig") => self.inlining("publicRuntimeConfig", &p.value),
            ("nuxt", Some("runtimeConfig"), "public") => {
                self.inlining("runtimeConfig.public", &p.value)
            }
            ("app", _, "extra") => self.inlining("expo.extra", &p.value),
            (_, _, "envPrefix") => match strings(&p.value) {
                Some(prefixes) => self.out.public_prefixes = Some(prefixes),
                None => self.out.notes.push(format!(
                    "`envPrefix` in `{}` is computed at run time",
                    self.file
                )),
            },
            ("svelte", Some("env"), "publicPrefix") => {
                if let Some(prefixes) = strings(&p.value) {
                    self.out.public_prefixes = Some(prefixes);
                }
            }
            (_, Some("resolve"), "alias") => self.aliases(&p.value),
            _ => {}
        }
    }

    fn aliases(&mut self, value: &Expression) {
        let Expression::ObjectExpression(obj) = value.without_parentheses() else {
            return;
        };
        for prop in &obj.properties {
            let ObjectPropertyKind::ObjectProperty(p) = prop else {
                continue;
            };
            let (Some(from), Some(to)) = (key_name(&p.key), path_literal(&p.value)) else {
                continue;
            };
            if let Some(to) = relative_folder(&to) {
                self.out.aliases.push((from, to));
            }
        }
    }

    fn plugin(&mut self, it: &NewExpression) {
        let callee = match it.callee.without_parentheses() {
            Expression::Identifier(id) => id.name.as_str().to_string(),
            Expression::StaticMemberExpression(m) => m.property.name.as_str().to_string(),
            _ => return,
        };
        let Some(arg) = it.arguments.first().and_then(Argument::as_expression) else {
            return;
        };
        match callee.as_str() {
            "DefinePlugin" => self.inlining("DefinePlugin", arg),
            "EnvironmentPlugin" => {
                let how = format!("`EnvironmentPlugin` in `{}`", self.file);
                let names = match arg.without_parentheses() {
                    Expression::ObjectExpression(obj) => obj
                        .properties
                        .iter()
                        .filter_map(|p| match p {
                            ObjectPropertyKind::ObjectProperty(p) => key_name(&p.key),
                            _ => None,
                        })
                        .collect(),
                    other => strings(other).unwrap_or_default(),
                };
                for n in names {
                    self.out.inlined.push((n, how.clone()));
                }
            }
            _ => {}
        }
    }
}

impl<'a> Visit<'a> for ConfigVisitor<'_> {
    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        self.property(it);
        let key = key_name(&it.key).unwrap_or_default();
        self.keys.push(key);
        oxc_ast_visit::walk::walk_object_property(self, it);
        self.keys.pop();
    }

    fn visit_new_expression(&mut self, it: &NewExpression<'a>) {
        self.plugin(it);
        oxc_ast_visit::walk::walk_new_expression(self, it);
    }
}

fn key_name(key: &PropertyKey) -> Option<String> {
    key.static_name().map(|c| c.into_owned())
}

/// A string literal, or an array of them.
fn strings(e: &Expression) -> Option<Vec<String>> {
    match e.without_parentheses() {
        Expression::StringLiteral(s) => Some(vec![s.value.as_str().to_string()]),
        Expression::ArrayExpression(a) => a
            .elements
            .iter()
            .map(|el| match el {
                ArrayExpressionElement::StringLiteral(s) => Some(s.value.as_str().to_string()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// `'./src'`, `path.resolve(__dirname, 'src')`,
/// `fileURLToPath(new URL('./src', import.meta.url))`: the path literal.
fn path_literal(e: &Expression) -> Option<String> {
    match e.without_parentheses() {
        Expression::StringLiteral(s) => Some(s.value.as_str().to_string()),
        Expression::CallExpression(c) => c.arguments.iter().rev().find_map(|a| {
            a.as_expression().and_then(|e| match e {
                Expression::StringLiteral(s) => Some(s.value.as_str().to_string()),
                other => path_literal(other),
            })
        }),
        Expression::NewExpression(n) => n
            .arguments
            .first()
            .and_then(Argument::as_expression)
            .and_then(path_literal),
        _ => None,
    }
}

/// `./src`, `/src`, `src/` → `src`; a path leaving the project → `None`.
fn relative_folder(p: &str) -> Option<String> {
    let trimmed = p.trim_start_matches("./").trim_start_matches('/');
    let trimmed = trimmed.trim_end_matches('/');
    (!trimmed.split('/').any(|c| c == "..")).then(|| trimmed.to_string())
}

/// Env variable names read inside an expression.
#[derive(Default)]
struct EnvRefs {
    names: Vec<String>,
}

fn is_env_object(e: &Expression) -> bool {
    match e.without_parentheses() {
        Expression::Identifier(id) => id.name.as_str().to_ascii_lowercase().ends_with("env"),
        Expression::StaticMemberExpression(m) => m.property.name.as_str() == "env",
        _ => false,
    }
}

impl<'a> Visit<'a> for EnvRefs {
    fn visit_static_member_expression(&mut self, it: &oxc_ast::ast::StaticMemberExpression<'a>) {
        if is_env_object(&it.object) {
            self.names.push(it.property.name.as_str().to_string());
        }
        oxc_ast_visit::walk::walk_static_member_expression(self, it);
    }

    fn visit_computed_member_expression(
        &mut self,
        it: &oxc_ast::ast::ComputedMemberExpression<'a>,
    ) {
        if let Expression::StringLiteral(s) = &it.expression {
            if is_env_object(&it.object) {
                self.names.push(s.value.as_str().to_string());
            }
        }
        oxc_ast_visit::walk::walk_computed_member_expression(self, it);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vite_define_with_load_env_and_env_prefix() {
        let src = r#"import { defineConfig, loadEnv } from "vite";
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), "");
  return {
    envPrefix: ["VITE_", "APP_"],
    resolve: { alias: { "@": path.resolve(__dirname, "./src"), "~x": "/lib/x", "up": "../outside" } },
    define: { __KEY__: JSON.stringify(env.MINIBACK_API_KEY), __B__: JSON.stringify(process.env["OTHER_KEY"]), __LIT__: '"x"' },
  };
});"#;
        let c = read_config("vite.config.js", src);
        assert_eq!(
            c.inlines("MINIBACK_API_KEY"),
            Some("`define` in `vite.config.js`")
        );
        assert!(c.inlines("OTHER_KEY").is_some());
        assert_eq!(c.inlines("VITE_X"), None);
        assert_eq!(
            c.public_prefixes,
            Some(vec!["VITE_".to_string(), "APP_".to_string()])
        );
        assert_eq!(
            c.aliases,
            [
                ("@".to_string(), "src".to_string()),
                ("~x".to_string(), "lib/x".to_string())
            ]
        );
        let lit = src.find("'\"x\"'").unwrap();
        assert_eq!(c.region_at(lit), Some("`define` in `vite.config.js`"));
        assert_eq!(c.region_at(src.find("envPrefix").unwrap()), None);
        assert!(c.notes.is_empty());
    }

    #[test]
    fn next_env_and_public_runtime_config() {
        let src = "module.exports = { env: { PAYMENTS_KEY: process.env.MINIBACK_API_KEY }, publicRuntimeConfig: { k: process.env.URB }, serverRuntimeConfig: { s: process.env.SECRET } };";
        let c = read_config("next.config.js", src);
        assert_eq!(
            c.inlines("MINIBACK_API_KEY"),
            Some("`env` in `next.config.js`")
        );
        assert_eq!(
            c.inlines("URB"),
            Some("`publicRuntimeConfig` in `next.config.js`")
        );
        assert_eq!(c.inlines("SECRET"), None);
    }

    #[test]
    fn nuxt_svelte_webpack_expo() {
        let c = read_config(
            "nuxt.config.ts",
            "export default defineNuxtConfig({ runtimeConfig: { secret: process.env.S, public: { apiKey: process.env.MINIBACK_KEY } } })",
        );
        assert_eq!(
            c.inlines("MINIBACK_KEY"),
            Some("`runtimeConfig.public` in `nuxt.config.ts`")
        );
        assert_eq!(c.inlines("S"), None);

        let c = read_config(
            "svelte.config.js",
            "export default { kit: { env: { publicPrefix: 'APP_PUBLIC_' } } };",
        );
        assert_eq!(c.public_prefixes, Some(vec!["APP_PUBLIC_".to_string()]));

        let c = read_config(
            "webpack.config.js",
            "module.exports = { plugins: [new webpack.DefinePlugin({ K: JSON.stringify(process.env.STRIPE_KEY) }), new EnvironmentPlugin(['MINIBACK_KEY'])] };",
        );
        assert!(c.inlines("STRIPE_KEY").unwrap().contains("DefinePlugin"));
        assert!(c
            .inlines("MINIBACK_KEY")
            .unwrap()
            .contains("EnvironmentPlugin"));

        let json = "{\n  \"expo\": { \"name\": \"a\", \"extra\": { \"apiKey\": \"LITERAL\" } }\n}";
        let c = read_config("app.json", json);
        assert_eq!(
            c.region_at(json.find("LITERAL").unwrap()),
            Some("`expo.extra` in `app.json`")
        );
        assert_eq!(c.region_at(json.find("name").unwrap()), None);
        let c = read_config(
            "app.config.js",
            "export default { expo: { extra: { k: process.env.MB_KEY } } };",
        );
        assert!(c.inlines("MB_KEY").is_some());
    }

    #[test]
    fn configs_computed_at_run_time_are_noted() {
        let c = read_config(
            "vite.config.ts",
            "export default defineConfig({ define: makeDefine(process.env) })",
        );
        assert!(c.inlined.is_empty());
        assert!(c.notes[0].contains("computed at run time"), "{:?}", c.notes);
        let c = read_config("vite.config.ts", "export default {{{{ ;;; ");
        assert!(c.inlined.is_empty());
    }

    #[test]
    fn config_file_names() {
        assert!(is_config_file("vite.config.ts"));
        assert!(is_config_file("next.config.mjs"));
        assert!(is_config_file("app.json"));
        assert!(is_config_file("app.config.ts"));
        assert!(!is_config_file("tailwind.config.js"));
        assert!(!is_config_file("package.json"));
    }
}
