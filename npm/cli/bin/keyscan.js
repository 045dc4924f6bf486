#!/usr/bin/env node
// The `keyscan` command of the @keyscan/cli npm package: finds the prebuilt
// binary that npm installed from the one per-platform package matching this
// machine (@keyscan/cli-linux-x64 …, chosen by their `os`/`cpu` fields
// through optionalDependencies) and runs it with the same arguments, standard
// streams and exit code. No install script, no download, no network: if the
// platform package is missing, this says why and how to fix it.
"use strict";

const { spawnSync } = require("child_process");
const fs = require("fs");

// `${process.platform} ${process.arch}` -> the package holding its binary.
// Keep in sync with optionalDependencies in package.json and npm/build.js.
const PACKAGES = {
  "linux x64": "@keyscan/cli-linux-x64",
  "linux arm64": "@keyscan/cli-linux-arm64",
  "darwin x64": "@keyscan/cli-darwin-x64",
  "darwin arm64": "@keyscan/cli-darwin-arm64",
  "win32 x64": "@keyscan/cli-win32-x64",
};

function fail(message) {
  process.stderr.write(`keyscan (npm launcher): ${message}\n`);
  // 2 is keyscan's "usage or configuration error": a hook must not pass.
  process.exit(2);
}

function binaryPath() {
  const override = process.env.KEYSCAN_BINARY;
  if (override) {
    if (!fs.existsSync(override)) {
      fail(`KEYSCAN_BINARY is set to ${override}, which does not exist.`);
    }
    return override;
  }
  const platform = `${process.platform} ${process.arch}`;
  const pkg = PACKAGES[platform];
  if (!pkg) {
    fail(
      `there is no prebuilt keyscan for ${platform} (prebuilt: ${Object.keys(PACKAGES).join(", ")}).\n` +
        "Build it from source with Rust (`cargo install --locked --git https://github.com/keyscan/keyscan`)\n" +
        "and set KEYSCAN_BINARY to the binary, or run that binary directly."
    );
  }
  const exe = process.platform === "win32" ? "keyscan.exe" : "keyscan";
  try {
    return require.resolve(`${pkg}/bin/${exe}`);
  } catch (e) {
    fail(
      `the package ${pkg}, which holds the keyscan binary for ${platform}, is not installed.\n` +
        "npm installs it through @keyscan/cli's optionalDependencies; it is missing when\n" +
        "optional dependencies were omitted (--omit=optional, --no-optional) or when\n" +
        "node_modules was copied from another platform. Reinstall with optional\n" +
        "dependencies (`npm install`), or set KEYSCAN_BINARY to a keyscan binary."
    );
  }
}

const result = spawnSync(binaryPath(), process.argv.slice(2), {
  stdio: "inherit",
  windowsHide: true,
});
if (result.error) {
  fail(`could not run ${result.error.path || "the keyscan binary"}: ${result.error.message}`);
}
if (result.signal) {
  // Die of the same signal, so a shell sees what happened.
  process.kill(process.pid, result.signal);
}
process.exit(result.status === null ? 2 : result.status);
