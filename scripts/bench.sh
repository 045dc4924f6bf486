#!/usr/bin/env bash
# keyscan benchmark: one command on a fresh machine.
#
#   scripts/bench.sh              full run (>= 1 GiB / ~100k-file tree, 20k-commit history,
#                                 100k-file staged repo), 5 runs, medians
#   scripts/bench.sh --quick      smoke run: scale 0.02, 1 run (well under a minute)
#   scripts/bench.sh --baselines-only   rg / git baselines only (no keyscan build)
#   scripts/bench.sh --help       all options (see scripts/bench.py)
#
# Builds keyscan in release, finds or installs ripgrep and GNU time, generates or
# reuses the corpora under target/bench (seeded, deterministic), warms the page
# cache, times keyscan against rg and git, and checks recall against the planted
# keys. Exits non-zero if recall fails.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "bench.sh: python3 is required" >&2; exit 2; }
command -v git >/dev/null || { echo "bench.sh: git is required" >&2; exit 2; }
exec python3 scripts/bench.py "$@"
