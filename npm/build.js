#!/usr/bin/env node
// Assembles the npm packages of a keyscan release from its binaries:
//
//   node npm/build.js --binaries DIR --out OUT [--version X.Y.Z]
//                     [--platforms linux-x64,darwin-arm64] [--pack]
//                     [--binary PLATFORM=FILE]…
//
// DIR holds one folder per Rust target with the binary in it, as the release
// workflow downloads them: DIR/x86_64-unknown-linux-musl/keyscan,
// DIR/x86_64-pc-windows-msvc/keyscan.exe, … OUT receives cli/ (the
// @keyscan/cli launcher package, version and optionalDependencies stamped)
// and cli-PLATFORM/ (one package per binary, with `os`/`cpu` so npm installs
// only the one matching the machine). --platforms builds a subset (a local
// test has only its own binary); the launcher package still lists every
// platform. --pack runs `npm pack` in each folder and prints the tarballs.
// --binary linux-x64=target/release/keyscan takes that platform's binary from
// FILE instead of DIR (a local build). The version defaults to Cargo.toml's.
// Plain Node, no dependencies.
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const ROOT = path.resolve(__dirname, "..");

// npm platform -> Rust target, `os`, `cpu`, binary name. Keep in sync with
// npm/cli/bin/keyscan.js and .github/workflows/release.yml.
const PLATFORMS = {
  "linux-x64": { target: "x86_64-unknown-linux-musl", os: "linux", cpu: "x64", exe: "keyscan", label: "Linux x64 (static, musl)" },
  "linux-arm64": { target: "aarch64-unknown-linux-musl", os: "linux", cpu: "arm64", exe: "keyscan", label: "Linux arm64 (static, musl)" },
  "darwin-x64": { target: "x86_64-apple-darwin", os: "darwin", cpu: "x64", exe: "keyscan", label: "macOS x64" },
  "darwin-arm64": { target: "aarch64-apple-darwin", os: "darwin", cpu: "arm64", exe: "keyscan", label: "macOS arm64 (Apple silicon)" },
  "win32-x64": { target: "x86_64-pc-windows-msvc", os: "win32", cpu: "x64", exe: "keyscan.exe", label: "Windows x64" },
};

function die(message) {
  process.stderr.write(`npm/build.js: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { pack: false, binary: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--binaries") args.binaries = value();
    else if (a === "--out") args.out = value();
    else if (a === "--version") args.version = value();
    else if (a === "--platforms") args.platforms = value().split(",").filter(Boolean);
    else if (a === "--pack") args.pack = true;
    else if (a === "--binary") {
      const [platform, ...file] = value().split("=");
      if (!file.length) die("--binary takes PLATFORM=FILE");
      args.binary[platform] = file.join("=");
    }
    else die(`unknown argument ${a}`);
  }
  if ((!args.binaries && !Object.keys(args.binary).length) || !args.out) {
    die("usage: node npm/build.js --binaries DIR --out OUT [--version X.Y.Z] [--platforms a,b] [--binary PLATFORM=FILE] [--pack]");
  }
  return args;
}

function cargoVersion() {
  const toml = fs.readFileSync(path.join(ROOT, "Cargo.toml"), "utf8");
  const pkg = toml.split(/^\[/m).find((s) => s.startsWith("package]"));
  const m = pkg && pkg.match(/^version\s*=\s*"([^"]+)"/m);
  if (!m) die("no version in Cargo.toml's [package]");
  return m[1];
}

function writeJson(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const version = args.version || cargoVersion();
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) die(`${version} is not a version`);
  const wanted = args.platforms || Object.keys(PLATFORMS);
  for (const p of [...wanted, ...Object.keys(args.binary)]) {
    if (!PLATFORMS[p]) die(`unknown platform ${p} (known: ${Object.keys(PLATFORMS).join(", ")})`);
  }
  const out = path.resolve(args.out);
  fs.mkdirSync(out, { recursive: true });

  const launcher = JSON.parse(fs.readFileSync(path.join(__dirname, "cli", "package.json"), "utf8"));
  const dirs = [];
  for (const name of wanted) {
    const p = PLATFORMS[name];
    const src = args.binary[name] ? path.resolve(args.binary[name]) : path.resolve(args.binaries || ".", p.target, p.exe);
    if (!fs.statSync(src, { throwIfNoEntry: false })?.isFile()) die(`missing binary for ${name}: ${src}`);
    const dir = path.join(out, `cli-${name}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
    const dest = path.join(dir, "bin", p.exe);
    fs.copyFileSync(src, dest);
    fs.chmodSync(dest, 0o755);
    // A binary for this machine must say it is this version.
    if (`${process.platform}-${process.arch}` === name) {
      const said = execFileSync(dest, ["--version"], { encoding: "utf8" }).trim();
      if (said !== `keyscan ${version}`) die(`${src} says "${said}", expected "keyscan ${version}"`);
    }
    writeJson(path.join(dir, "package.json"), {
      name: `@keyscan/cli-${name}`,
      version,
      description: `The keyscan binary for ${p.label}. Install @keyscan/cli, which picks this package on ${p.label}.`,
      homepage: launcher.homepage,
      repository: launcher.repository,
      license: launcher.license,
      os: [p.os],
      cpu: [p.cpu],
      files: [`bin/${p.exe}`],
      preferUnplugged: true,
    });
    fs.writeFileSync(
      path.join(dir, "README.md"),
      `# @keyscan/cli-${name}\n\nThe prebuilt keyscan ${version} binary for ${p.label} (Rust target \`${p.target}\`).\n` +
        "Do not install it directly: install `@keyscan/cli`, whose launcher finds this package.\n"
    );
    dirs.push(dir);
  }

  const cli = path.join(out, "cli");
  fs.rmSync(cli, { recursive: true, force: true });
  fs.mkdirSync(path.join(cli, "bin"), { recursive: true });
  fs.copyFileSync(path.join(__dirname, "cli", "bin", "keyscan.js"), path.join(cli, "bin", "keyscan.js"));
  fs.chmodSync(path.join(cli, "bin", "keyscan.js"), 0o755);
  fs.copyFileSync(path.join(__dirname, "cli", "README.md"), path.join(cli, "README.md"));
  launcher.version = version;
  launcher.optionalDependencies = Object.fromEntries(Object.keys(PLATFORMS).sort().map((n) => [`@keyscan/cli-${n}`, version]));
  writeJson(path.join(cli, "package.json"), launcher);
  dirs.push(cli);

  for (const dir of dirs) {
    if (args.pack) {
      const json = execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: dir, encoding: "utf8" });
      process.stdout.write(path.join(out, JSON.parse(json)[0].filename) + "\n");
    } else {
      process.stdout.write(dir + "\n");
    }
  }
}

main();
