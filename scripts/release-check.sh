#!/usr/bin/env bash
# Checks that everything a release tag publishes agrees on one version:
#
#   scripts/release-check.sh vX.Y.Z [--allow-unreleased]
#
# - the tag is v + Cargo.toml's version (and Cargo.lock's entry for keyscan);
# - CHANGELOG.md has a dated section `## [X.Y.Z] - YYYY-MM-DD`
#   (--allow-unreleased accepts the `## [Unreleased]` section instead: what
#   CI checks between releases);
# - npm/cli/package.json's version and every optionalDependency are X.Y.Z;
# - pre-commit-mirror/pyproject.toml's version and keyscan-cli pin are X.Y.Z;
# - every `rev:` of a keyscan hook repository and every `keyscan/keyscan@v…`
#   in README.md, docs/ and pre-commit-mirror/README.md is vX.Y.Z.
#
# The release workflow runs it before building anything; tests/it/release.rs
# runs it on this tree. Prints every problem, exits 1 if there was one.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:?usage: scripts/release-check.sh vX.Y.Z [--allow-unreleased]}
allow_unreleased=${2:-}
problems=0
problem() { echo "release-check: $1" >&2; problems=$((problems + 1)); }

version=$(awk '/^\[package\]/{p=1; next} /^\[/{p=0} p && /^version *=/{gsub(/"/, "", $3); print $3; exit}' Cargo.toml)
[ -n "$version" ] || { echo "release-check: no version in Cargo.toml" >&2; exit 1; }
[ "$tag" = "v$version" ] || problem "tag $tag does not match Cargo.toml's version $version (tag v$version)"

lock=$(awk '/^name = "keyscan"$/{getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)
[ "$lock" = "$version" ] || problem "Cargo.lock has keyscan $lock, Cargo.toml $version: run cargo update -p keyscan"

if grep -Eq "^## \[$version\] - [0-9]{4}-[0-9]{2}-[0-9]{2}\$" CHANGELOG.md; then
  :
elif [ "$allow_unreleased" = --allow-unreleased ] && grep -q '^## \[Unreleased\]' CHANGELOG.md; then
  :
else
  problem "CHANGELOG.md has no section '## [$version] - YYYY-MM-DD'"
fi

node_version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' npm/cli/package.json)
[ "$node_version" = "$version" ] || problem "npm/cli/package.json has version $node_version, expected $version"
while IFS= read -r line; do
  [ "$line" = "$version" ] || problem "npm/cli/package.json pins a platform package at $line, expected $version"
done < <(sed -n 's/^    "@keyscan\/cli-[a-z0-9-]*": "\(.*\)",\{0,1\}$/\1/p' npm/cli/package.json)
[ "$(grep -c '"@keyscan/cli-' npm/cli/package.json)" = 5 ] || problem "npm/cli/package.json should list 5 platform packages"

mirror=pre-commit-mirror/pyproject.toml
grep -q "^version = \"$version\"\$" "$mirror" || problem "$mirror: version is not $version"
grep -q "\"keyscan-cli==$version\"" "$mirror" || problem "$mirror: the keyscan-cli pin is not $version"

while IFS= read -r hit; do
  problem "$hit: expected v$version"
done < <(grep -HnoE 'keyscan/keyscan(-pre-commit)?@v[0-9][0-9A-Za-z.+-]*|^ *rev: v[0-9][0-9A-Za-z.+-]*' README.md docs/*.yml pre-commit-mirror/README.md |
  grep -vE "@v$version\$|rev: v$version\$" || true)

if [ "$problems" -gt 0 ]; then
  echo "release-check: $problems problem(s) for $tag" >&2
  exit 1
fi
echo "release-check: $tag is consistent (Cargo.toml, Cargo.lock, CHANGELOG.md, npm, pre-commit mirror, README)"
