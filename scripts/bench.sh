#!/usr/bin/env bash
# keyscan benchmark: one command on a fresh machine.
#
#   scripts/bench.sh              full run: the generated corpora (>= 1 GiB / ~100k-file tree,
#                                 20k-commit history, 100k-file staged repo) and the real ones
#                                 (astro + sveltekit + vite + cargo trees with a real node_modules;
#                                 rust-lang/cargo's history), 5 runs, medians and minimums
#   scripts/bench.sh --quick      smoke run: generated corpora at scale 0.02, 1 run
#   scripts/bench.sh --modes real-tree,real-history   the real corpora only
#   scripts/bench.sh --baselines-only   rg / git baselines only (no keyscan build)
#   scripts/bench.sh --help       all options (see scripts/bench.py)
#
# Builds keyscan in release, finds or installs ripgrep and GNU time, generates or
# reuses the corpora under target/bench (seeded, deterministic; the real ones via
# scripts/corpus.sh and `npm ci --ignore-scripts` from scripts/bench-node/), warms
# the page cache, times keyscan against rg and git (wall, CPU, peak RSS, load
# average), and checks recall against the planted keys. Exits non-zero if recall
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "bench.sh: python3 is required" >&2; exit 2; }
command -v git >/dev/null || { echo "bench.sh: git is required" >&2; exit 2; }
exec python3 scripts/bench.py "$@"
