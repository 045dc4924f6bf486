//! The bundler as the oracle for keyscan's context judgement.
//!
//! keyscan promises to judge a key by where it ends up. Whether a file ships to
//! the browser is not a matter of opinion: the bundler decides it. These tests
//! build the tiny apps in `tests/apps/` (Vite + React, Next.js app and pages
//! routers, SvelteKit, Astro, Vue on Vite) with the real tools, pinned by `tests/apps/package-lock.json`,
//! and compare, key by key:
//!
//! - **the oracle**: does the key appear in the client output after the build
//!   (`dist/`, `.next/static/`, `.svelte-kit/output/client/`)?
//! - **keyscan**: which `context` (and severity) does it give the key when it
//!   scans the *source* tree, before the build?
//!
//! The committed apps hold marker tokens (`__KEYSCAN_MBK_name__`,
//! `__KEYSCAN_UBSK_name__`, `__KEYSCAN_STRIPESK_name__`), never keys; each test
//! copies its app into a temporary folder, replaces every marker with a freshly
//! generated random key of that shape, commits the copy to a new git repository
//! (its `.gitignore` ignores `.env`, as real apps do), scans it, builds it and
//! looks for each key in the client output.
//!
//! The rule: a key keyscan calls `client` must ship; a key it calls `server` must
//! not; a key that ships must be `client` (a dotenv line may instead be
//! `critical`). Each app lists its *known* disagreements (issue #16 emptied
//! every list; a new framework case that keyscan gets wrong goes there until
//! it is fixed); the test fails when the set of disagreements differs from
//! that list in either direction, so a fix or a regression cannot go
//! unnoticed.
//!
//! Node.js and npm are needed, so the tests are `#[ignore]`d for a plain
//! `cargo test` (listed as ignored, with that reason) and run with
//! `--include-ignored`, as `.ci/run` does. `npm ci` runs once per lockfile into
//! a cache under the target folder (`CARGO_TARGET_TMPDIR/bundler-apps`); each
//! app copy is made inside that cache so that Node finds `node_modules` by
//! walking up, with no symlink in the scanned tree. Run without Node, the tests
//! fail under CI (`CI` set) and otherwise print a visible SKIPPED banner on the
//! terminal.

use crate::common::{self, Rng};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One app of `tests/apps/`.
struct App {
    /// Folder name under `tests/apps/` (and npm workspace member).
    name: &'static str,
    /// The build: a binary of `node_modules/.bin` and its arguments.
    build: (&'static str, &'static [&'static str]),
    /// Folders (relative to the app) whose files a browser can fetch.
    client_output: &'static [&'static str],
    /// Markers on which keyscan and the bundler disagree today (issue #16).
    known_disagreements: &'static [&'static str],
}

/// A key planted in place of one marker.
struct Planted {
    marker: String,
    key: String,
    file: String,
}

/// What keyscan said about one key.
#[derive(Clone)]
struct Verdict {
    context: String,
    severity: String,
}

/// One row of the table.
struct Row {
    marker: String,
    file: String,
    shipped: bool,
    keyscan: Vec<Verdict>,
    disagreement: Option<&'static str>,
}

const VITE_REACT: App = App {
    name: "vite-react",
    build: ("vite", &["build"]),
    client_output: &["dist"],
    known_disagreements: &[],
};

const NEXT_APP: App = App {
    name: "next-app",
    build: ("next", &["build"]),
    client_output: &[".next/static"],
    known_disagreements: &[],
};

const SVELTEKIT: App = App {
    name: "sveltekit",
    build: ("vite", &["build"]),
    client_output: &[".svelte-kit/output/client"],
    known_disagreements: &[],
};

const ASTRO: App = App {
    name: "astro",
    build: ("astro", &["build"]),
    client_output: &["dist"],
    known_disagreements: &[],
};

const VUE_VITE: App = App {
    name: "vue-vite",
    build: ("vite", &["build"]),
    client_output: &["dist"],
    known_disagreements: &[],
};

/// `npm ci` from the committed lockfile gives every build tool the apps use.
/// `.ci/run` runs this first, so that an install problem fails early and alone.
#[test]
#[ignore = "needs Node.js >= 20.19 and npm and builds the apps of tests/apps (about two minutes); .ci/run runs it"]
fn npm_ci_installs_the_build_tools() {
    let Some(cache) = node_cache() else {
        return;
    };
    for app in APPS {
        let bin = cache.join("node_modules/.bin").join(app.build.0);
        assert!(
            bin.exists(),
            "{}: npm ci gave no {}",
            app.name,
            bin.display()
        );
    }
}

#[test]
#[ignore = "needs Node.js >= 20.19 and npm and builds the apps of tests/apps (about two minutes); .ci/run runs it"]
fn vite_react_oracle() {
    check_app(&VITE_REACT);
}

#[test]
#[ignore = "needs Node.js >= 20.19 and npm and builds the apps of tests/apps (about two minutes); .ci/run runs it"]
fn next_app_router_oracle() {
    check_app(&NEXT_APP);
}

#[test]
#[ignore = "needs Node.js >= 20.19 and npm and builds the apps of tests/apps (about two minutes); .ci/run runs it"]
fn sveltekit_oracle() {
    check_app(&SVELTEKIT);
}

#[test]
#[ignore = "needs Node.js >= 20.19 and npm and builds the apps of tests/apps (about two minutes); .ci/run runs it"]
fn astro_oracle() {
    check_app(&ASTRO);
}

#[test]
#[ignore = "needs Node.js >= 20.19 and npm and builds the apps of tests/apps (about two minutes); .ci/run runs it"]
fn vue_vite_oracle() {
    check_app(&VUE_VITE);
}

/// `tests/apps/` in the source tree.
fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps")
}

/// Every app, for the cache's workspace members.
const APPS: [&App; 5] = [&VITE_REACT, &NEXT_APP, &SVELTEKIT, &ASTRO, &VUE_VITE];

/// Writes straight to the terminal: libtest captures `eprintln!`, and a skip
/// must be seen.
fn loud(message: &str) {
    let _ = std::io::stderr().write_all(format!("\n*** {message}\n").as_bytes());
}

/// The npm cache with `node_modules` installed from the committed lockfile,
/// or `None` when Node.js is missing (and this is not CI).
fn node_cache() -> Option<PathBuf> {
    static CACHE: OnceLock<Result<Option<PathBuf>, String>> = OnceLock::new();
    match CACHE.get_or_init(prepare_cache) {
        Ok(cache) => cache.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn prepare_cache() -> Result<Option<PathBuf>, String> {
    if let Err(why) = node_usable() {
        let why = format!("bundler oracle: {why} (.ci/run installs Node.js and npm)");
        if std::env::var_os("CI").is_some() {
            return Err(format!("{why}; CI must run these tests"));
        }
        loud(&format!("SKIPPED {why}"));
        return Ok(None);
    }
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bundler-apps");
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    // Test binaries (cargo nextest runs one process per test) may race here.
    let _lock = DirLock::acquire(&cache.join(".lock"))?;

    // The stamp is the lockfile and every manifest: any change reinstalls.
    let src = apps_dir();
    let mut stamp = Vec::new();
    let mut manifests = vec![("package.json".to_string(), read(&src.join("package.json"))?)];
    manifests.push((
        "package-lock.json".to_string(),
        read(&src.join("package-lock.json"))?,
    ));
    for app in APPS {
        let rel = format!("{}/package.json", app.name);
        manifests.push((rel.clone(), read(&src.join(&rel))?));
    }
    for (rel, bytes) in &manifests {
        stamp.extend_from_slice(rel.as_bytes());
        stamp.push(0);
        stamp.extend_from_slice(bytes);
    }
    let stamp_path = cache.join(".installed");
    let fresh =
        std::fs::read(&stamp_path).is_ok_and(|s| s == stamp) && cache.join("node_modules").is_dir();
    if !fresh {
        let _ = std::fs::remove_dir_all(cache.join("node_modules"));
        let _ = std::fs::remove_file(&stamp_path);
        for (rel, bytes) in &manifests {
            let dest = cache.join(rel);
            std::fs::create_dir_all(dest.parent().unwrap())
                .and_then(|()| std::fs::write(&dest, bytes))
                .map_err(|e| format!("{}: {e}", dest.display()))?;
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&cache)
            .output()
            .map_err(|e| format!("running npm ci in {}: {e}", cache.display()))?;
        if !out.status.success() {
            return Err(format!(
                "npm ci in {} failed ({}):\n{}\n{}",
                cache.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::write(&stamp_path, &stamp)
            .map_err(|e| format!("{}: {e}", stamp_path.display()))?;
    }
    Ok(Some(cache))
}

/// Node.js >= 20.19 (Vite 7's floor) and npm are on PATH.
fn node_usable() -> Result<(), String> {
    let version = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .ok_or_else(|| format!("`{tool}` is not installed"))
    };
    let node = version("node")?;
    version("npm")?;
    let mut parts = node
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (20, 19) {
        return Err(format!(
            "Node.js {node} is older than 20.19, which Vite 7 needs"
        ));
    }
    Ok(())
}

/// A lock between processes: a folder that exists while one holds it
/// (`create_dir` is atomic; `File::lock` is newer than the crate's MSRV). A lock
/// older than 20 minutes is left over from a killed run and is taken over.
struct DirLock(PathBuf);

impl DirLock {
    fn acquire(path: &Path) -> Result<DirLock, String> {
        loop {
            match std::fs::create_dir(path) {
                Ok(()) => return Ok(DirLock(path.to_path_buf())),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age.as_secs() > 20 * 60);
                    if stale {
                        let _ = std::fs::remove_dir(path);
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(500));
                    }
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `__KEYSCAN_<KIND>_<name>__`.
fn marker_regex() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"__KEYSCAN_(MBK|UBSK|STRIPESK)_([a-z0-9]+(?:_[a-z0-9]+)*)__").unwrap()
    })
}

/// A fresh random key of the marker's kind.
fn key_for(kind: &str, rng: &mut Rng) -> String {
    match kind {
        "MBK" => common::miniback_key(rng),
        "UBSK" => common::urbackend_key(rng, "sk_live_"),
        "STRIPESK" => common::stripe_key(rng, "sk_live_"),
        other => panic!("unknown marker kind {other}"),
    }
}

/// Copies the app (undotting `dot.*` names, leaving out installs and builds
/// made by hand in `tests/apps`) and replaces each marker with a new key.
fn copy_app(from: &Path, to: &Path, rel: &str, rng: &mut Rng, planted: &mut Vec<Planted>) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches!(
            name.as_str(),
            "node_modules" | "dist" | ".next" | ".svelte-kit" | ".astro"
        ) {
            continue;
        }
        let name = match name.strip_prefix("dot.") {
            Some(rest) => format!(".{rest}"),
            None => name,
        };
        let rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let dest = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_app(&entry.path(), &dest, &rel, rng, planted);
            continue;
        }
        let text = std::fs::read_to_string(entry.path())
            .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        let replaced = marker_regex().replace_all(&text, |c: &regex::Captures| {
            let key = key_for(&c[1], rng);
            planted.push(Planted {
                marker: c[2].to_string(),
                key: key.clone(),
                file: rel.clone(),
            });
            key
        });
        std::fs::write(&dest, replaced.as_bytes()).unwrap();
    }
}

/// True when `needle` occurs in any file under `dir`.
fn tree_contains(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            tree_contains(&e.path(), needle)
        } else if ft.is_file() {
            std::fs::read(e.path()).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        } else {
            false
        }
    })
}

/// Why a row breaks the rule, if it does.
fn judge_row(file: &str, shipped: bool, keyscan: &[Verdict]) -> Option<&'static str> {
    let is_dotenv = file
        .rsplit('/')
        .next()
        .is_some_and(|n| n == ".env" || n.starts_with(".env."));
    let client = keyscan.iter().any(|v| v.context == "client");
    let critical = keyscan.iter().any(|v| v.severity == "critical");
    let server = keyscan.iter().any(|v| v.context == "server");
    if shipped && !(client || (is_dotenv && critical)) {
        return Some("shipped, but keyscan does not call it client");
    }
    if !shipped && client {
        return Some("keyscan says client, but it did not ship");
    }
    if shipped && server {
        return Some("keyscan says server, but it shipped");
    }
    None
}

fn check_app(app: &App) {
    let Some(cache) = node_cache() else {
        loud(&format!("SKIPPED bundler oracle for {}", app.name));
        return;
    };
    let run = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&cache)
        .unwrap();
    let dir = run.path().join(app.name);
    let mut rng = Rng::new(0x0AC1E ^ app.name.len() as u64);
    let mut planted = Vec::new();
    copy_app(&apps_dir().join(app.name), &dir, "", &mut rng, &mut planted);
    let mut seen = BTreeSet::new();
    for p in &planted {
        assert!(
            seen.insert(&p.marker),
            "{}: marker {} planted twice",
            app.name,
            p.marker
        );
    }
    for known in app.known_disagreements {
        assert!(
            seen.contains(&known.to_string()),
            "{}: known disagreement {known} is no marker of the app",
            app.name
        );
    }

    // A real repository, as a developer has it: .env is ignored, the rest committed.
    common::git_in(&dir, &["init", "-q", "-b", "main"]);
    common::git_in(&dir, &["add", "-A"]);
    common::git_in(
        &dir,
        &[
            "-c",
            "user.name=Test",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            "app",
        ],
    );

    // keyscan on the source, before the build.
    let (report, code) = common::json_in(&dir, &["--show-secrets", "--no-build-dirs", "."]);
    assert!(
        code == 0 || code == 1,
        "{}: keyscan exited {code}: {report}",
        app.name
    );
    let mut by_key: BTreeMap<&str, Vec<Verdict>> = BTreeMap::new();
    for f in common::findings(&report) {
        if let Some(secret) = f["secret"].as_str() {
            by_key.entry(secret).or_default().push(Verdict {
                context: f["context"].as_str().unwrap_or("?").to_string(),
                severity: f["severity"].as_str().unwrap_or("?").to_string(),
            });
        }
    }

    // The oracle: the real build.
    let bin = cache.join("node_modules/.bin").join(app.build.0);
    let out = Command::new(&bin)
        .args(app.build.1)
        .current_dir(&dir)
        .env("NEXT_TELEMETRY_DISABLED", "1")
        .env("ASTRO_TELEMETRY_DISABLED", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{}: running {}: {e}", app.name, bin.display()));
    assert!(
        out.status.success(),
        "{}: `{} {}` failed ({}):\n{}\n{}",
        app.name,
        app.build.0,
        app.build.1.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for d in app.client_output {
        assert!(dir.join(d).is_dir(), "{}: the build made no {d}/", app.name);
    }

    let rows: Vec<Row> = planted
        .iter()
        .map(|p| {
            let shipped = app
                .client_output
                .iter()
                .any(|d| tree_contains(&dir.join(d), p.key.as_bytes()));
            let keyscan = by_key.get(p.key.as_str()).cloned().unwrap_or_default();
            let disagreement = judge_row(&p.file, shipped, &keyscan);
            Row {
                marker: p.marker.clone(),
                file: p.file.clone(),
                shipped,
                keyscan,
                disagreement,
            }
        })
        .collect();

    let table = render_table(app, &rows);
    // Shown on failure, or with `--nocapture`.
    eprintln!("{table}");

    let actual: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.disagreement.is_some())
        .map(|r| r.marker.as_str())
        .collect();
    let known: BTreeSet<&str> = app.known_disagreements.iter().copied().collect();
    let new: Vec<_> = actual.difference(&known).collect();
    let fixed: Vec<_> = known.difference(&actual).collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "{}: keyscan and the bundler disagree differently than recorded.\n\
         new disagreements (fix keyscan): {new:?}\n\
         no longer disagreeing (remove from known_disagreements): {fixed:?}\n{table}",
        app.name
    );
}

fn render_table(app: &App, rows: &[Row]) -> String {
    let mut s = format!("bundler oracle: {}\n", app.name);
    let w_marker = rows
        .iter()
        .map(|r| r.marker.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let w_file = rows.iter().map(|r| r.file.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        s,
        "{:w_marker$}  {:w_file$}  {:7}  {:20}  verdict",
        "marker", "file", "oracle", "keyscan"
    );
    for r in rows {
        let keyscan = if r.keyscan.is_empty() {
            "(not reported)".to_string()
        } else {
            r.keyscan
                .iter()
                .map(|v| format!("{}/{}", v.context, v.severity))
                .collect::<Vec<_>>()
                .join(",")
        };
        let verdict = match (
            r.disagreement,
            app.known_disagreements.contains(&r.marker.as_str()),
        ) {
            (None, false) => "agree".to_string(),
            (None, true) => "agree (listed as known: remove it)".to_string(),
            (Some(why), true) => format!("KNOWN: {why}"),
            (Some(why), false) => format!("NEW: {why}"),
        };
        let _ = writeln!(
            s,
            "{:w_marker$}  {:w_file$}  {:7}  {:20}  {verdict}",
            r.marker,
            r.file,
            if r.shipped { "client" } else { "server" },
            keyscan
        );
    }
    s
}
