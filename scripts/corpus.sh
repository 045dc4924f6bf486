#!/usr/bin/env bash
# Rebuild keyscan's real-code regression corpus into target/corpus/ (outside
# git); see corpus/README.md. Arguments go to scripts/corpus.py:
#   scripts/corpus.sh                 build every entry of corpus/manifest.toml
#   scripts/corpus.sh vite cargo      build only these entries
#   scripts/corpus.sh --force         rebuild (and plant fresh keys)
#   scripts/corpus.sh --out DIR       build elsewhere (or KEYSCAN_CORPUS=DIR)
#   KEYSCAN_MIRRORS=DIR[:DIR]         where local bare mirrors live (OWNER+NAME/repo)
# Without a mirror an entry is cloned from GitHub (blobless; full for history
# entries); npm entries use `npm pack`. Exits non-zero if a pinned commit is
# missing or an entry could not be built.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v git >/dev/null || { echo "corpus: git is required" >&2; exit 2; }
command -v python3 >/dev/null || { echo "corpus: python3 (3.11+, for tomllib) is required" >&2; exit 2; }
exec python3 scripts/corpus.py "$@"
