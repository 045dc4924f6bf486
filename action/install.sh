#!/usr/bin/env bash
# Installs keyscan for the GitHub Action (action.yml), in two calls:
#
#   install.sh resolve   decide the version, target, install folder and cache
#                        key; write them to $GITHUB_OUTPUT; put the folder on
#                        $GITHUB_PATH.
#   install.sh install   (when the cache missed) download the release archive
#                        and SHA256SUMS, verify the checksum, unpack the binary;
#                        or build from source when there is no release binary.
#
# Environment: KEYSCAN_VERSION (input: vX.Y.Z, X.Y.Z, "source" or empty),
# ACTION_REF, ACTION_REPOSITORY, ACTION_PATH (the github.action_* values),
# RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE or RUNNER_TEMP, GITHUB_OUTPUT,
# GITHUB_PATH; for `install` also KEYSCAN_TARGET and KEYSCAN_DIR.
# KEYSCAN_RELEASE_URL replaces https://github.com/OWNER/REPO/releases/download
# (a mirror; the tests use a file:// folder).
#
# A checksum mismatch is an error, never a reason to fall back: the binary
# would not be the one the release published. Errors are annotations.
set -euo pipefail

annotate() { # LEVEL MESSAGE: a workflow command, escaped as @actions/core does
  local msg=${2//'%'/'%25'}
  msg=${msg//$'\r'/'%0D'}
  msg=${msg//$'\n'/'%0A'}
  printf '::%s title=keyscan::%s\n' "$1" "$msg"
}
die() { annotate error "$1"; exit 2; }
output() { printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
  else die "neither sha256sum nor shasum is installed: cannot verify the keyscan download"
  fi
}

# The Rust target of this runner's release binary, or empty.
runner_target() {
  case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
    *) echo "" ;;
  esac
}

# The action's own ref: github.action_ref, or the last part of the action's
# folder (…/_actions/OWNER/REPO/REF), which the runner names after the ref.
action_ref() {
  if [ -n "${ACTION_REF:-}" ]; then echo "$ACTION_REF"; else basename "${ACTION_PATH:-}"; fi
}

# A hash of the sources `cargo install --path` builds, for the cache key.
source_hash() {
  (cd "$ACTION_PATH" && find Cargo.toml Cargo.lock src rules -type f -print0 | LC_ALL=C sort -z |
    xargs -0 cat | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-16)
}

resolve() {
  local version=${KEYSCAN_VERSION:-} target base key
  target=$(runner_target)
  if [ -z "$version" ]; then
    version=$(action_ref)
    # Only a release tag names a release; a branch or commit builds from source.
    if ! [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then version=source; fi
  elif [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]; then
    version=v$version
  fi
  if [ "$version" != source ] && ! [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
    die "version '$version' is not a keyscan release (vX.Y.Z) or 'source'"
  fi
  if [ "$version" != source ] && [ -z "$target" ]; then
    annotate notice "no prebuilt keyscan for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}: building $version's source instead"
    version=source
  fi
  if [ "$version" = source ]; then
    key="keyscan-source-$(source_hash)-${RUNNER_OS:-os}-${RUNNER_ARCH:-arch}"
  else
    key="keyscan-$version-$target"
  fi
  base=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:?neither RUNNER_TOOL_CACHE nor RUNNER_TEMP is set}}
  local dir="$base/keyscan/$key/bin"
  output version "$version"
  output target "$target"
  output cache-key "$key"
  output dir "$dir"
  echo "$dir" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
  echo "keyscan: $version (${target:-built from source}), cache key $key"
}

build_from_source() {
  local dir=$1
  command -v cargo >/dev/null 2>&1 ||
    die "building keyscan from source needs cargo, which this runner lacks: add a Rust toolchain step (e.g. dtolnay/rust-toolchain@stable) before keyscan, or use a release tag (uses: keyscan/keyscan@vX.Y.Z)"
  echo "keyscan: building from source with cargo install (a few minutes; the result is cached)"
  cargo install --locked --path "$ACTION_PATH" --root "$(dirname "$dir")" ||
    die "cargo install of keyscan failed (see the log above)"
}

install() {
  local version=${KEYSCAN_VERSION:?} target=${KEYSCAN_TARGET:-} dir=${KEYSCAN_DIR:?}
  mkdir -p "$dir"
  if [ "$version" = source ]; then
    build_from_source "$dir"
    return
  fi
  local repo=${ACTION_REPOSITORY:-keyscan/keyscan}
  [ -n "$repo" ] || repo=keyscan/keyscan
  local url=${KEYSCAN_RELEASE_URL:-https://github.com/$repo/releases/download}/$version
  local ext=tar.gz exe=keyscan
  case "$target" in *windows*) ext=zip exe=keyscan.exe ;; esac
  local name="keyscan-$version-$target"
  local tmp
  tmp=$(mktemp -d)
  if ! curl -fsSL --retry 3 -o "$tmp/$name.$ext" "$url/$name.$ext"; then
    annotate warning "no keyscan $version binary at $url/$name.$ext: building from source instead"
    build_from_source "$dir"
    return
  fi
  curl -fsSL --retry 3 -o "$tmp/SHA256SUMS" "$url/SHA256SUMS" ||
    die "the keyscan $version release has no SHA256SUMS at $url: refusing to run an unverified binary"
  local want got
  want=$(awk -v f="$name.$ext" '$2 == f || $2 == "*" f { print $1 }' "$tmp/SHA256SUMS")
  [ -n "$want" ] || die "SHA256SUMS of keyscan $version lists no $name.$ext: refusing to run an unverified binary"
  got=$(sha256 "$tmp/$name.$ext")
  [ "$want" = "$got" ] ||
    die "checksum mismatch for $name.$ext: SHA256SUMS says $want, the download is $got. Not installing it."
  if [ "$ext" = zip ]; then
    (cd "$tmp" && unzip -q "$name.$ext")
  else
    tar -xzf "$tmp/$name.$ext" -C "$tmp"
  fi
  [ -f "$tmp/$name/$exe" ] || die "$name.$ext holds no $name/$exe"
  mv "$tmp/$name/$exe" "$dir/$exe"
  chmod +x "$dir/$exe"
  local said
  said=$("$dir/$exe" --version) || die "the downloaded keyscan does not run on this runner"
  [ "$said" = "keyscan ${version#v}" ] || die "the $version archive holds '$said'"
  rm -rf "$tmp"
  echo "keyscan: installed $said ($target), checksum verified"
}

case "${1:-}" in
  resolve) resolve ;;
  install) install ;;
  *) echo "usage: install.sh resolve|install" >&2; exit 2 ;;
esac
