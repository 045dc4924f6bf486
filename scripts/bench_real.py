"""Real-code corpora for scripts/bench.py (issue #15).

The generated corpora of scripts/gen_corpus.py and gen_history.py miss what
real repositories have: hundreds of project roots (`package.json` in every
package of a monorepo and of `node_modules`), nested ignore files, and long
delta-heavy histories. This module builds two more corpora from pinned real
code, reusing scripts/corpus.sh (the regression corpus, built from local
mirrors or GitHub) and a committed npm lockfile:

  real-tree     WORKDIR/real/tree: the pinned trees of withastro/astro,
                sveltejs/kit, vitejs/vite and rust-lang/cargo (each with its own
                git repository, as scripts/corpus.sh builds them) under repos/,
                and web/ holding scripts/bench-node/package.json with the
                node_modules that `npm ci --ignore-scripts` installs from its
                lockfile. The top folder is a git repository with nothing
                committed and no .gitignore, so node_modules is scanned.
  real-history  WORKDIR/real/history.git: rust-lang/cargo's full history
                (~23k commits; objects borrowed from the corpus through git
                alternates) plus commits that add keys and remove them again,
                and one key only on a side branch.

Keys are generated with a seeded RNG (the same run after run; they are fake and
random-looking) and planted in new inodes, never through the hard links that
share the corpus files. Each corpus has a manifest next to it
(`real/tree.manifest.json`, `real/history.manifest.json`) in the shape the
recall check of bench.py reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from corpus_common import make_key  # noqa: E402

# Bump when the layout or the plants change: cached corpora are rebuilt.
REAL_VERSION = 1
TREE_ENTRIES = ("astro", "sveltekit", "vite", "cargo")
HISTORY_ENTRY = "cargo"
NODE_DIR = os.path.join(HERE, "bench-node")

# (path in the real tree, key kind, how the key is written)
TREE_PLANTS = (
    ("web/node_modules/lodash/lodash.js", "miniback", "js"),
    ("web/node_modules/next/dist/compiled/react-dom/cjs/react-dom-server.browser.production.min.js",
     "urbackend-secret", "midline"),
    ("web/node_modules/three/build/three.module.min.js", "miniback", "midline"),
    ("web/node_modules/@aws-sdk/client-s3/dist-cjs/index.js", "stripe", "js"),
    ("web/node_modules/stripe/README.md", "urbackend-publishable", "md"),
    ("repos/astro/packages/astro/src/core/constants.ts", "stripe", "js"),
    ("repos/sveltekit/packages/kit/src/runtime/server/cookie.js", "miniback", "js"),
    ("repos/vite/packages/vite/src/node/config.ts", "urbackend-secret", "js"),
    ("repos/cargo/src/bin/cargo/main.rs", "miniback", "rust"),
    ("web/.env.production", "stripe", "dotenv"),
)

# (path in the history, key kind, how it is written, branch): "main" plants are
# added in one commit and removed in the next; "side" lives only on a branch.
HISTORY_PLANTS = (
    ("src/cargo/util/bench_token.rs", "miniback", "rust", "main"),
    (".env.production", "stripe", "dotenv", "main"),
    ("doc/bench-keys.md", "urbackend-secret", "md", "main"),
    ("crates/bench-side/src/lib.rs", "urbackend-publishable", "rust", "side"),
)


class RealCorpusError(Exception):
    pass


def _run(cmd, **kw):
    kw.setdefault("check", True)
    try:
        return subprocess.run(cmd, **kw)
    except subprocess.CalledProcessError as e:
        err = (e.stderr or b"").decode(errors="replace")[-2000:] if isinstance(e.stderr, bytes) else ""
        raise RealCorpusError(f"`{' '.join(map(str, cmd))}` exited {e.returncode}\n{err}") from e


def _git(*args, cwd=None, git_dir=None, env=None, input_=None):
    cmd = ["git"] + (["--git-dir", git_dir] if git_dir else []) + list(args)
    full_env = dict(os.environ, GIT_AUTHOR_NAME="keyscan bench", GIT_AUTHOR_EMAIL="bench@invalid",
                    GIT_COMMITTER_NAME="keyscan bench", GIT_COMMITTER_EMAIL="bench@invalid",
                    GIT_AUTHOR_DATE="2026-02-01T00:00:00Z", GIT_COMMITTER_DATE="2026-02-01T00:00:00Z")
    full_env.update(env or {})
    r = _run(cmd, cwd=cwd, env=full_env, input=input_, capture_output=True)
    return r.stdout.decode().strip()


def _sha(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def corpus_dir():
    return os.environ.get("KEYSCAN_CORPUS", os.path.join(ROOT, "target", "corpus"))


def ensure_corpus_entries(names, log):
    """scripts/corpus.sh for `names` (idempotent: an up-to-date entry is skipped)."""
    log(f"scripts/corpus.sh {' '.join(names)}")
    r = subprocess.run([os.path.join(HERE, "corpus.sh")] + list(names), cwd=ROOT,
                       capture_output=True, text=True)
    for line in r.stdout.splitlines():
        log(f"  corpus: {line}")
    if r.returncode != 0:
        raise RealCorpusError(f"scripts/corpus.sh failed ({r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")


def _entry_digests(names):
    out = {}
    for n in names:
        st = _load(os.path.join(corpus_dir(), ".state", f"{n}.json"))
        if not st:
            raise RealCorpusError(f"corpus entry {n} is not built ({corpus_dir()}/.state/{n}.json missing)")
        out[n] = st.get("digest")
    return out


def ensure_node_modules(real, log):
    """real/node/node_modules from scripts/bench-node's lockfile (npm ci --ignore-scripts; cached)."""
    node = os.path.join(real, "node")
    stamp = _sha(os.path.join(NODE_DIR, "package.json"), os.path.join(NODE_DIR, "package-lock.json"))
    if _load(os.path.join(node, "stamp.json")) == {"lock": stamp} and os.path.isdir(os.path.join(node, "node_modules")):
        log(f"reusing {node}/node_modules")
        return node, stamp
    if not shutil.which("npm"):
        raise RealCorpusError("npm is required for the real-tree corpus (apt-get install npm)")
    if os.path.exists(node):
        shutil.rmtree(node)
    os.makedirs(node)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(NODE_DIR, name), node)
    log("npm ci --ignore-scripts (scripts/bench-node/package-lock.json; a few minutes the first time)")
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false", npm_config_loglevel="error")
    r = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=node, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RealCorpusError(f"npm ci failed ({r.returncode}):\n{r.stderr[-3000:]}")
    with open(os.path.join(node, "stamp.json"), "w") as f:
        json.dump({"lock": stamp}, f)
    return node, stamp


def _key_line(kind_style, secret, i):
    if kind_style == "rust":
        return f'pub const BENCH_KEY_{i}: &str = "{secret}";'
    if kind_style == "md":
        return f"The production key is `{secret}`."
    if kind_style == "dotenv":
        return f"API_KEY_{i}={secret}"
    return f'const benchKey{i} = "{secret}";'


def _plant(path, style, secret, i):
    """Writes the key into `path` through a new inode (the old one may be a
    hard link into the corpus or the npm install)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        if style != "dotenv":
            raise RealCorpusError(f"plant target {path} does not exist (pinned corpus or lockfile changed?)")
        data = b""
    if style == "midline":
        lines = data.split(b"\n")
        longest = max(range(len(lines)), key=lambda j: len(lines[j]))
        ln = lines[longest]
        cut = len(ln) // 2
        # after a `;` near the middle, so the statement stays valid
        semi = ln.find(b";", cut)
        cut = semi + 1 if semi >= 0 else cut
        lines[longest] = ln[:cut] + f'var benchKey{i}="{secret}";'.encode() + ln[cut:]
        new = b"\n".join(lines)
    else:
        lines = data.split(b"\n")
        pos = len(lines) // 2 if style != "dotenv" else len(lines)
        lines[pos:pos] = [_key_line(style, secret, i).encode()]
        new = b"\n".join(lines)
    tmp = path + ".bench-tmp"
    with open(tmp, "wb") as f:
        f.write(new)
    os.replace(tmp, path)


def _count(tree):
    files = nbytes = manifests = 0
    for dp, dn, fn in os.walk(tree):
        dn[:] = [d for d in dn if d != ".git"]
        for name in fn:
            p = os.path.join(dp, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if os.path.islink(p):
                continue
            files += 1
            nbytes += st.st_size
            if name == "package.json":
                manifests += 1
    return files, nbytes, manifests


def ensure_real_tree(workdir, seed, log):
    """The real-tree corpus and its manifest (cached while nothing changed)."""
    real = os.path.join(workdir, "real")
    os.makedirs(real, exist_ok=True)
    ensure_corpus_entries(TREE_ENTRIES, log)
    node, lock = ensure_node_modules(real, log)
    tree = os.path.join(real, "tree")
    mpath = tree + ".manifest.json"
    want = {"version": REAL_VERSION, "seed": seed, "lock": lock, "entries": _entry_digests(TREE_ENTRIES)}
    m = _load(mpath)
    if m and m.get("stamp") == want and os.path.isdir(tree):
        log(f"reusing {tree}")
        return m
    log(f"assembling {tree} (hard links to the corpus and the npm install)")
    if os.path.exists(tree):
        shutil.rmtree(tree)
    os.makedirs(os.path.join(tree, "repos"))
    for name in TREE_ENTRIES:
        _run(["cp", "-al", os.path.join(corpus_dir(), name), os.path.join(tree, "repos", name)])
    web = os.path.join(tree, "web")
    os.makedirs(web)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(node, name), web)
    _run(["cp", "-al", os.path.join(node, "node_modules"), os.path.join(web, "node_modules")])
    rng = random.Random(f"keyscan-real-tree/{seed}")
    planted = []
    for i, (rel, kind, style) in enumerate(TREE_PLANTS):
        key = make_key(rng, kind)
        _plant(os.path.join(tree, rel), style, key["secret"], i)
        planted.append({"path": rel, "rule_id": key["rule_id"], "secret_redacted": key["redacted"],
                        "site": style})
    # The scanned folder is a repository of its own (nothing committed), so git
    # answers its ignore questions, not the enclosing checkout's.
    _git("init", "-q", tree)
    files, nbytes, manifests = _count(tree)
    m = {"stamp": want, "files": files, "bytes": nbytes, "package_json": manifests,
         "planted": planted, "placeholders": [], "entries": list(TREE_ENTRIES)}
    with open(mpath, "w") as f:
        json.dump(m, f, indent=1)
    log(f"real tree: {files} files, {nbytes / 1e9:.2f} GB, {manifests} package.json")
    return m


def ensure_real_history(workdir, seed, log):
    """The real-history corpus (cargo + planted commits) and its manifest."""
    real = os.path.join(workdir, "real")
    os.makedirs(real, exist_ok=True)
    ensure_corpus_entries((HISTORY_ENTRY,), log)
    src = os.path.join(corpus_dir(), f"{HISTORY_ENTRY}.git")
    if not os.path.isdir(src):
        raise RealCorpusError(f"{src} missing: the corpus entry {HISTORY_ENTRY} has no history")
    dest = os.path.join(real, "history.git")
    mpath = os.path.join(real, "history.manifest.json")
    want = {"version": REAL_VERSION, "seed": seed, "entries": _entry_digests((HISTORY_ENTRY,))}
    m = _load(mpath)
    if m and m.get("stamp") == want and os.path.isdir(dest):
        log(f"reusing {dest}")
        return m
    log(f"building {dest} (alternates to {src})")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    _git("init", "--bare", "-q", "--initial-branch=main", dest)
    alts = [os.path.realpath(os.path.join(src, "objects"))]
    with open(os.path.join(src, "objects", "info", "alternates")) as f:
        alts += [ln.strip() for ln in f if ln.strip()]
    os.makedirs(os.path.join(dest, "objects", "info"), exist_ok=True)
    with open(os.path.join(dest, "objects", "info", "alternates"), "w") as f:
        f.write("\n".join(alts) + "\n")
    base = _git("--git-dir", src, "rev-parse", "refs/heads/corpus")
    base_tree = _git("rev-parse", f"{base}^{{tree}}", git_dir=dest)
    rng = random.Random(f"keyscan-real-history/{seed}")
    idx = os.path.join(dest, "bench-index")
    env = {"GIT_INDEX_FILE": idx}
    planted = []

    def commit_with(plants, parent, msg):
        _git("read-tree", base_tree, git_dir=dest, env=env)
        for i, (path, kind, style, _) in plants:
            key = make_key(rng, kind)
            text = f"// added for the keyscan benchmark\n{_key_line(style, key['secret'], i)}\n"
            sha = _git("hash-object", "-w", "--stdin", git_dir=dest, input_=text.encode())
            _git("update-index", "--add", "--cacheinfo", f"100644,{sha},{path}", git_dir=dest, env=env)
            planted.append({"path": path, "rule_id": key["rule_id"], "secret_redacted": key["redacted"],
                            "site": style, "reachable_from_head": True})
        tree = _git("write-tree", git_dir=dest, env=env)
        return _git("commit-tree", tree, "-p", parent, "-m", msg, git_dir=dest)

    main = [(i, p) for i, p in enumerate(HISTORY_PLANTS) if p[3] == "main"]
    side = [(i, p) for i, p in enumerate(HISTORY_PLANTS) if p[3] == "side"]
    added = commit_with(main, base, "bench: add configuration")
    removed = _git("commit-tree", base_tree, "-p", added, "-m", "bench: remove configuration", git_dir=dest)
    n_main = len(planted)
    side_commit = commit_with(side, base, "bench: side experiment")
    for p in planted[n_main:]:
        p["reachable_from_head"] = False
    os.unlink(idx)
    _git("update-ref", "refs/heads/main", removed, git_dir=dest)
    _git("update-ref", "refs/heads/bench-side", side_commit, git_dir=dest)
    commits = int(_git("rev-list", "--count", "--all", git_dir=dest))
    blobs = 0
    r = subprocess.run(["git", "--git-dir", dest, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)"],
                       capture_output=True, text=True, check=True)
    blobs = sum(1 for ln in r.stdout.splitlines() if ln == "blob")
    m = {"stamp": want, "commits": commits, "blobs": blobs, "planted": planted, "placeholders": []}
    with open(mpath, "w") as f:
        json.dump(m, f, indent=1)
    log(f"real history: {commits} commits, {blobs} blobs (all objects)")
    return m
