//! Where the code really runs (issue #16), end to end without Node: small
//! framework projects written at test time, scanned by the real binary in a
//! git repository, checked for each key's `context`, severity and
//! `context_reason`. The bundler oracle (`bundler.rs`) proves the same
//! judgements against real builds; these tests pin the reasons and the
//! frameworks the oracle does not build, and bad input.

use crate::common::{json_in, miniback_key, run_in, stripe_key, Rng, TempTree};

/// A git repository holding `files`; `@@KEY@@` in a file is replaced by a fresh
/// key, returned in file order.
fn project(files: &[(&str, &str)]) -> (TempTree, Vec<(String, String)>) {
    let t = TempTree::new();
    t.git_init();
    let mut rng = Rng::new(16);
    let mut keys = Vec::new();
    for (path, text) in files {
        let mut out = String::new();
        let mut rest = *text;
        while let Some(i) = rest.find("@@KEY@@") {
            out.push_str(&rest[..i]);
            let key = if path.contains("stripe") {
                stripe_key(&mut rng, "sk_live_")
            } else {
                miniback_key(&mut rng)
            };
            keys.push((path.to_string(), key.clone()));
            out.push_str(&key);
            rest = &rest[i + 7..];
        }
        out.push_str(rest);
        t.write(path, out);
    }
    t.commit_all("app");
    (t, keys)
}

/// (context, severity, context_reason) of the finding for `key`.
fn verdict(v: &serde_json::Value, key: &str) -> (String, String, String) {
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["secret"] == key)
        .unwrap_or_else(|| panic!("no finding for a key; report:\n{v:#}"));
    (
        f["context"].as_str().unwrap().to_string(),
        f["severity"].as_str().unwrap().to_string(),
        f["context_reason"].as_str().unwrap_or("").to_string(),
    )
}

fn scan(t: &TempTree) -> serde_json::Value {
    let (v, code) = json_in(t.path(), &["--show-secrets", "."]);
    assert!(code == 0 || code == 1, "exit {code}: {v:#}");
    v
}

fn key_of<'a>(keys: &'a [(String, String)], path: &str) -> &'a str {
    &keys.iter().find(|(p, _)| p == path).unwrap().1
}

#[test]
fn nextjs_shared_module_is_client_when_a_client_component_imports_it() {
    let (t, keys) = project(&[
        ("package.json", r#"{"dependencies":{"next":"15.5.0","react":"19.0.0"}}"#),
        (
            "tsconfig.json",
            r#"{"compilerOptions":{"baseUrl":".","paths":{"@/lib/*":["./src/lib/*"]}}}"#,
        ),
        (
            "app/checkout/page.tsx",
            "import Buy from '../../components/Buy';\nexport default function P() { return <Buy/>; }\n",
        ),
        (
            "components/Buy.tsx",
            "\"use client\";\nimport { stripeKey } from '@/lib/stripe';\nexport default function Buy() { return <button onClick={() => fetch('/x', { headers: { a: stripeKey } })}/>; }\n",
        ),
        ("src/lib/stripe.ts", "export const stripeKey = \"@@KEY@@\";\n"),
        (
            "app/api/pay/route.ts",
            "import { stripeKey } from '@/lib/stripe';\nimport { charge } from '../../../lib/charge';\nconst admin = \"@@KEY@@\";\nexport async function POST() { return Response.json({ stripeKey, admin, c: charge() }); }\n",
        ),
        ("lib/charge.ts", "export const charge = () => \"@@KEY@@\";\n"),
        ("lib/db.ts", "import 'server-only';\nexport const k = \"@@KEY@@\";\n"),
        ("app/page.tsx", "const k = \"@@KEY@@\";\nexport default async function H() { await fetch('/s', { headers: { k } }); return null; }\n"),
        (
            "pages/legacy.tsx",
            "const props = \"@@KEY@@\";\nexport async function getServerSideProps() { return { props: { ok: props.length } }; }\nexport default function L() { return <a href=\"@@KEY@@\"/>; }\n",
        ),
    ]);
    let v = scan(&t);
    let (ctx, sev, why) = verdict(&v, key_of(&keys, "src/lib/stripe.ts"));
    assert_eq!((ctx.as_str(), sev.as_str()), ("client", "critical"));
    assert_eq!(
        why,
        "reachable from `components/Buy.tsx` (`\"use client\"`)"
    );
    let (ctx, _, why) = verdict(&v, key_of(&keys, "app/api/pay/route.ts"));
    assert_eq!(ctx, "server");
    assert!(why.contains("Next.js server file"), "{why}");
    let (ctx, _, why) = verdict(&v, key_of(&keys, "lib/charge.ts"));
    assert_eq!(ctx, "server", "{why}");
    assert!(
        why.starts_with("imported only by server code: reachable from `app/api/pay/route.ts`"),
        "{why}"
    );
    let (ctx, _, why) = verdict(&v, key_of(&keys, "lib/db.ts"));
    assert_eq!(ctx, "server");
    assert!(why.contains("`server-only`"), "{why}");
    let (ctx, _, _) = verdict(&v, key_of(&keys, "app/page.tsx"));
    assert_eq!(ctx, "server");
    let legacy: Vec<&str> = keys
        .iter()
        .filter(|(p, _)| p == "pages/legacy.tsx")
        .map(|(_, k)| k.as_str())
        .collect();
    let (ctx, _, why) = verdict(&v, legacy[0]);
    assert_eq!(ctx, "server", "{why}");
    assert!(why.contains("getServerSideProps"), "{why}");
    let (ctx, sev, why) = verdict(&v, legacy[1]);
    assert_eq!((ctx.as_str(), sev.as_str()), ("client", "critical"));
    assert!(why.contains("Next.js ships `pages/legacy.tsx`"), "{why}");

    // The text report carries the reason too.
    let out = run_in(t.path(), &["--color", "never", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(client)\n  why reachable from `components/Buy.tsx`"),
        "{text}"
    );
}

#[test]
fn sveltekit_server_files_and_a_custom_public_prefix() {
    let (t, keys) = project(&[
        ("package.json", r#"{"devDependencies":{"@sveltejs/kit":"2.43.0","vite":"7.0.0"}}"#),
        (
            "svelte.config.js",
            "export default { kit: { env: { publicPrefix: 'APP_PUBLIC_' } } };\n",
        ),
        (".gitignore", ".env\n"),
        (".env", "APP_PUBLIC_MINIBACK=@@KEY@@\nMINIBACK_API_KEY=@@KEY@@\n"),
        ("src/routes/+page.server.ts", "const k = \"@@KEY@@\";\nexport const load = () => ({ n: k.length });\n"),
        ("src/hooks.server.ts", "const k = \"@@KEY@@\";\nexport const handle = ({ event, resolve }) => resolve(event);\n"),
        ("src/routes/+page.svelte", "<script>\nimport { shared } from '$lib/shared';\nconst k = \"@@KEY@@\";\n</script>\n<p>{k}{shared}</p>\n"),
        ("src/lib/shared.ts", "export const shared = \"@@KEY@@\";\n"),
    ]);
    let v = scan(&t);
    let (ctx, _, why) = verdict(&v, key_of(&keys, "src/routes/+page.server.ts"));
    assert_eq!(ctx, "server", "{why}");
    assert!(why.contains("SvelteKit server file"), "{why}");
    assert_eq!(
        verdict(&v, key_of(&keys, "src/hooks.server.ts")).0,
        "server"
    );
    assert_eq!(
        verdict(&v, key_of(&keys, "src/routes/+page.svelte")).0,
        "client"
    );
    let (ctx, _, why) = verdict(&v, key_of(&keys, "src/lib/shared.ts"));
    assert_eq!(ctx, "client");
    assert!(
        why.contains("reachable from `src/routes/+page.svelte`"),
        "{why}"
    );
    let env: Vec<&str> = keys
        .iter()
        .filter(|(p, _)| p == ".env")
        .map(|(_, k)| k.as_str())
        .collect();
    let (ctx, sev, why) = verdict(&v, env[0]);
    assert_eq!((ctx.as_str(), sev.as_str()), ("client", "critical"));
    assert!(
        why.contains("svelte.config.js") && why.contains("APP_PUBLIC_"),
        "{why}"
    );
    // The private variable in an ignored .env stays correct usage.
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["secret"] != env[1]));
}

#[test]
fn vite_define_inlines_a_dotenv_variable_and_ci_definitions_of_it() {
    let (t, keys) = project(&[
        ("package.json", r#"{"devDependencies":{"vite":"7.0.0"}}"#),
        (
            "vite.config.js",
            "import { defineConfig, loadEnv } from 'vite';\nexport default defineConfig(({ mode }) => {\n  const env = loadEnv(mode, process.cwd(), '');\n  return { define: { __KEY__: JSON.stringify(env.MINIBACK_API_KEY) } };\n});\n",
        ),
        ("index.html", "<script type=\"module\" src=\"/src/main.js\"></script>\n"),
        ("src/main.js", "console.log(__KEY__);\n"),
        (".gitignore", ".env\n"),
        (".env", "MINIBACK_API_KEY=@@KEY@@\n"),
        (
            ".github/workflows/deploy.yml",
            "jobs:\n  build:\n    env:\n      MINIBACK_API_KEY: @@KEY@@\n",
        ),
        ("Dockerfile", "FROM node:20\nENV OTHER_KEY=@@KEY@@\n"),
        ("notes/DEPLOYMENT_STATUS.md", "live key: @@KEY@@\n"),
    ]);
    let v = scan(&t);
    let (ctx, sev, why) = verdict(&v, key_of(&keys, ".env"));
    assert_eq!((ctx.as_str(), sev.as_str()), ("client", "critical"));
    assert_eq!(
        why,
        "`define` in `vite.config.js` inlines `MINIBACK_API_KEY` into client JavaScript"
    );
    let (ctx, _, why) = verdict(&v, key_of(&keys, ".github/workflows/deploy.yml"));
    assert_eq!(ctx, "client", "{why}");
    assert!(
        why.starts_with("CI workflow defines `MINIBACK_API_KEY`"),
        "{why}"
    );
    let (ctx, sev, why) = verdict(&v, key_of(&keys, "Dockerfile"));
    assert_eq!((ctx.as_str(), sev.as_str()), ("server", "high"));
    assert!(why.starts_with("Dockerfile"), "{why}");
    let (ctx, sev, _) = verdict(&v, key_of(&keys, "notes/DEPLOYMENT_STATUS.md"));
    assert_eq!((ctx.as_str(), sev.as_str()), ("docs", "high"));
}

/// A module that only a test app imports is not shipped: the test suite
/// builds the app in `tests/`, the project's users never load it. The
/// project's own entry still makes what it imports client code.
#[test]
fn a_module_only_a_test_app_imports_is_not_client_code() {
    let (t, keys) = project(&[
        ("package.json", r#"{"devDependencies":{"vite":"7.0.0"}}"#),
        (
            "index.html",
            "<script type=\"module\" src=\"/src/main.js\"></script>\n",
        ),
        (
            "src/main.js",
            "import { shown } from './ui.js';\nconsole.log(shown);\n",
        ),
        ("src/ui.js", "export const shown = \"@@KEY@@\";\n"),
        ("lib/seed.js", "export const seedKey = \"@@KEY@@\";\n"),
        (
            "tests/app/index.html",
            "<script type=\"module\" src=\"./main.js\"></script>\n",
        ),
        (
            "tests/app/main.js",
            "import { seedKey } from '../../lib/seed.js';\nconsole.log(seedKey);\n",
        ),
    ]);
    let v = scan(&t);
    let (ctx, sev, why) = verdict(&v, key_of(&keys, "src/ui.js"));
    assert_eq!(
        (ctx.as_str(), sev.as_str()),
        ("client", "critical"),
        "{why}"
    );
    assert!(why.contains("index.html"), "{why}");
    let (ctx, sev, why) = verdict(&v, key_of(&keys, "lib/seed.js"));
    assert_eq!((ctx.as_str(), sev.as_str()), ("server", "high"), "{why}");
    assert!(!why.contains("tests/app"), "{why}");
}

/// In a JavaScript project without a framework, an HTML page's inline
/// `<script>` is still client code and its markup is not; a plain module
/// stays with the path rules.
#[test]
fn a_page_without_a_framework_is_split_by_its_script_blocks() {
    let (t, keys) = project(&[
        (
            "package.json",
            r#"{"name":"site","dependencies":{"lodash":"4"}}"#,
        ),
        (
            "site/page.html",
            "<p data-k=\"@@KEY@@\">hi</p>\n<script>\nconst k = \"@@KEY@@\";\n</script>\n",
        ),
        ("lib/util.js", "export const k = \"@@KEY@@\";\n"),
    ]);
    let v = scan(&t);
    let (ctx, _, why) = verdict(&v, &keys[1].1);
    assert_eq!(ctx, "client", "{why}");
    assert!(why.contains("inline `<script>`"), "{why}");
    let (ctx, sev, why) = verdict(&v, key_of(&keys, "lib/util.js"));
    assert_eq!((ctx.as_str(), sev.as_str()), ("server", "high"), "{why}");
    assert_eq!(why, "server-side code or configuration", "{why}");
}

#[test]
fn astro_frontmatter_is_server_and_its_script_is_client() {
    let (t, keys) = project(&[
        ("package.json", r#"{"dependencies":{"astro":"5.9.0"}}"#),
        (
            "src/pages/index.astro",
            "---\nconst k = \"@@KEY@@\";\n---\n<p>hi</p>\n<script>\nconst c = \"@@KEY@@\";\nconsole.log(c);\n</script>\n",
        ),
    ]);
    let v = scan(&t);
    let both: Vec<&str> = keys.iter().map(|(_, k)| k.as_str()).collect();
    let (ctx, sev, why) = verdict(&v, both[0]);
    assert_eq!((ctx.as_str(), sev.as_str()), ("server", "high"));
    assert!(why.contains("frontmatter"), "{why}");
    let (ctx, sev, why) = verdict(&v, both[1]);
    assert_eq!((ctx.as_str(), sev.as_str()), ("client", "critical"));
    assert!(why.contains("`<script>`"), "{why}");
}

#[test]
fn bad_input_stays_calm() {
    let (t, keys) = project(&[
        ("package.json", r#"{"devDependencies":{"vite":"7.0.0"}}"#),
        (
            "vite.config.js",
            "export default defineConfig({ define: makeDefine(process.env), resolve: { alias: { '@': '../../outside' } } });\n",
        ),
        ("index.html", "<script type=\"module\" src=\"/src/a.js\"></script>\n"),
        ("src/a.js", "import './b.js';\nimport x from '@/secret.js';\nimport '../../../../etc/passwd';\nconst = = ;\nexport const k = \"@@KEY@@\";\n"),
        ("src/b.js", "import './a.js';\n"),
        ("src/broken.ts", "export const k: = \"@@KEY@@\" ;;; }}}\n"),
    ]);
    let v = scan(&t);
    let (ctx, _, _) = verdict(&v, key_of(&keys, "src/a.js"));
    assert_eq!(ctx, "client");
    // Imported by nothing: the path rules stand (`src/` of a Vite app), and
    // the reason says so.
    let (ctx, _, why) = verdict(&v, key_of(&keys, "src/broken.ts"));
    assert_eq!(ctx, "client", "{why}");
    assert!(
        why.contains("by convention: no client or server entry of the Vite app imports it"),
        "{why}"
    );
}

#[test]
fn a_runtime_config_falls_back_to_conventions_and_says_so() {
    let (t, keys) = project(&[
        ("package.json", r#"{"devDependencies":{"vite":"7.0.0"}}"#),
        (
            "vite.config.ts",
            "export default defineConfig({ define: buildDefines() });\n",
        ),
        ("src/api.ts", "export const k = \"@@KEY@@\";\n"),
    ]);
    let v = scan(&t);
    let (ctx, _, why) = verdict(&v, key_of(&keys, "src/api.ts"));
    assert_eq!(ctx, "client", "{why}");
    assert!(why.contains("by convention"), "{why}");
    assert!(why.contains("computed at run time"), "{why}");
}

#[test]
fn staged_mode_reads_the_project_from_the_work_tree() {
    let (t, _) = project(&[
        ("package.json", r#"{"dependencies":{"next":"15.5.0"}}"#),
        (
            "components/Buy.tsx",
            "\"use client\";\nimport { k } from '../src/lib/stripe';\nexport default function B() { return <a href={k}/>; }\n",
        ),
        ("src/lib/stripe.ts", "export const k = 'none';\n"),
    ]);
    let mut rng = Rng::new(7);
    let key = stripe_key(&mut rng, "sk_live_");
    t.write(
        "src/lib/stripe.ts",
        format!("export const k = \"{key}\";\n"),
    );
    t.git(&["add", "src/lib/stripe.ts"]);
    let (v, code) = json_in(t.path(), &["--show-secrets", "--staged", "."]);
    assert_eq!(code, 1, "{v:#}");
    let (ctx, sev, why) = verdict(&v, &key);
    assert_eq!(
        (ctx.as_str(), sev.as_str()),
        ("client", "critical"),
        "{why}"
    );
    assert!(
        why.starts_with("reachable from `components/Buy.tsx`"),
        "{why}"
    );
}
