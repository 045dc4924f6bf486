#!/usr/bin/env python3
"""Generate keyscan's deterministic synthetic git history (via git fast-import).

    python3 scripts/gen_history.py --seed 42 --out target/bench/history [--scale 1.0]

scale 1.0 = >= 20,000 commits on main plus side branches; 0.02 = ~400 commits.
The history has realistic churn (edits, additions, deletions, renames), a
merged feature branch, an unmerged experiment branch, a release branch and
annotated tags. Fake keys are added in some commits and removed in later ones
(some stay at HEAD, one lives in a file that is later deleted, one only on the
unmerged branch, one only on the release branch). Placeholders are committed
too and must never be reported.

Manifest (outside the repo): <out>/../<basename(out)>.manifest.json, written
last. Each planted key lists the path at which its blob(s) appeared, the rule
id, the redacted form, the commit that added it (and removed it, if any) and
whether it is reachable from HEAD.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_common import GENERATOR_VERSION, PLACEHOLDERS, Pools, WORDS, lognormal_size, make_key  # noqa: E402

LANGS = ["py", "ts", "js", "go", "rs", "md", "json"]
EXT = {"py": "py", "ts": "ts", "js": "js", "go": "go", "rs": "rs", "md": "md", "json": "json"}
AUTHORS = [("Ada Byte", "ada@example.com"), ("Bo Commit", "bo@example.com"), ("Cy Merge", "cy@example.com"),
           ("Di Rebase", "di@example.com"), ("Ed Stash", "ed@example.com"), ("Flo Patch", "flo@example.com")]
PROTECT = (b"mbk_", b"sk_live_", b"pk_live_", b"MINIBACK_API_KEY")
KEY_KINDS = ["miniback", "urbackend-secret", "urbackend-publishable", "stripe"]


def w(rng):
    return rng.choice(WORDS)


def key_text(lang, k):
    s = k["secret"]
    return {
        "py": f'API_KEY = "{s}"',
        "ts": f'export const apiKey = "{s}";',
        "js": f'const apiKey = "{s}";',
        "go": f'\tapiKey := "{s}"',
        "rs": f'const API_KEY: &str = "{s}";',
        "md": f"    export API_KEY={s}",
        "json": f'  "apiKey": "{s}",',
        "env": f"API_KEY={s}",
    }[lang]


def ph_text(lang, ph):
    return {
        "py": f'API_KEY = os.environ.get("API_KEY", "{ph}")',
        "ts": f'const apiKey = process.env.API_KEY ?? "{ph}";',
        "js": f'const apiKey = process.env.API_KEY || "{ph}";',
        "go": f'\tapiKey := getenv("API_KEY", "{ph}")',
        "rs": f'// e.g. API_KEY="{ph}"',
        "md": f"Set `API_KEY={ph}` before you start.",
        "json": f'  "apiKeyExample": "{ph}",',
        "env": f"API_KEY={ph}",
    }[lang]


def lang_of(path):
    if path.endswith(".env") or "/.env" in path:
        return "env"
    return path.rsplit(".", 1)[-1]


class Repo:
    """Branch states + fast-import stream writer."""

    def __init__(self, out_stream, rng, pools):
        self.f = out_stream
        self.rng = rng
        self.pools = pools
        self.mark = 0
        self.t = 1546300800  # 2019-01-01
        self.commit_marks = []  # (mark, branch)
        self.nblob_writes = 0

    def next_mark(self):
        self.mark += 1
        return self.mark

    def commit(self, branch, state, changes, msg, parent=None, merge=None):
        """changes: dict path -> bytes | None (delete). Applies to state."""
        rng = self.rng
        m = self.next_mark()
        self.t += rng.randint(600, 36000)
        name, email = rng.choice(AUTHORS)
        out = [f"commit refs/heads/{branch}\nmark :{m}\n"
               f"author {name} <{email}> {self.t} +0000\ncommitter {name} <{email}> {self.t} +0000\n"]
        mb = msg.encode()
        out.append(f"data {len(mb)}\n")
        w_ = self.f.write
        w_("".join(out).encode())
        w_(mb + b"\n")
        if parent is not None:
            w_(f"from :{parent}\n".encode())
        if merge is not None:
            w_(f"merge :{merge}\n".encode())
        for path in sorted(changes):
            data = changes[path]
            if data is None:
                w_(f"D {path}\n".encode())
                state.pop(path, None)
            else:
                w_(f"M 100644 inline {path}\ndata {len(data)}\n".encode())
                w_(data)
                w_(b"\n")
                state[path] = data
                self.nblob_writes += 1
        w_(b"\n")
        return m

    def tag(self, name, mark, msg):
        self.t += 60
        mb = msg.encode()
        self.f.write(f"tag {name}\nfrom :{mark}\ntagger Rel Eng <rel@example.com> {self.t} +0000\n"
                     f"data {len(mb)}\n".encode() + mb + b"\n")

    # ---- content helpers -------------------------------------------------
    def new_file(self, lang):
        size = lognormal_size(self.rng, 3000, 0.8, 200, 60000)
        return self.pools.text_slice(self.rng, lang if lang != "env" else "md", size)

    def mutate(self, data: bytes, lang: str) -> bytes:
        rng = self.rng
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            pos = rng.randrange(len(lines) + 1)
            new = self.pools.text_slice(rng, lang if lang != "env" else "md", rng.randint(40, 600)).rstrip(b"\n").split(b"\n")
            if op < 0.45 or not lines:
                lines[pos:pos] = new
            else:
                end = min(len(lines), pos + rng.randint(1, 8))
                if any(p in ln for ln in lines[pos:end] for p in PROTECT):
                    lines[pos:pos] = new  # never delete planted lines by accident
                elif op < 0.8:
                    lines[pos:end] = new
                else:
                    del lines[pos:end]
        return b"\n".join(lines) + b"\n"


def insert_line(rng, data: bytes, text: str) -> bytes:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    pos = rng.randint(0, len(lines))
    lines.insert(pos, text.encode())
    return b"\n".join(lines) + b"\n"


def remove_line(data: bytes, text: str) -> bytes:
    lines = data.split(b"\n")
    tb = text.encode()
    lines = [ln for ln in lines if ln != tb]
    return b"\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args(argv)

    out = os.path.abspath(a.out.rstrip("/"))
    name = os.path.basename(out)
    manifest_path = os.path.join(os.path.dirname(out), name + ".manifest.json")
    if os.path.exists(out):
        if not a.force:
            sys.exit(f"{out} exists; pass --force to regenerate")
        shutil.rmtree(out)
    if os.path.exists(manifest_path):
        os.remove(manifest_path)
    t0 = time.time()
    rng = random.Random(f"keyscan-history/{a.seed}")
    pools = Pools(random.Random(f"keyscan-history-pools/{a.seed}"), size=2 << 20)

    subprocess.run(["git", "init", "-q", "-b", "main", out], check=True)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    fi = subprocess.Popen(["git", "fast-import", "--quiet", "--done", f"--export-marks={out}/.git/bench-marks"],
                          cwd=out, stdin=subprocess.PIPE, env=env, bufsize=1 << 20)
    repo = Repo(fi.stdin, rng, pools)

    n_main = max(300, round(20000 * a.scale))
    n_files0 = max(60, round(1500 * a.scale))
    dirs = ["/".join(w(rng) for _ in range(rng.randint(1, 4))) for _ in range(max(10, n_files0 // 12))]
    tops = ["server", "web/src", "packages/core/src", "docs", "config"]

    def new_path(lang=None):
        lang = lang or rng.choice(LANGS)
        top = "docs" if lang == "md" else ("config" if lang == "json" else rng.choice(tops[:3]))
        return f"{top}/{rng.choice(dirs)}/{w(rng)}_{w(rng)}_{rng.randrange(10**6)}.{EXT[lang]}"

    main_state: dict[str, bytes] = {}
    # initial import commit
    init = {}
    for _ in range(n_files0):
        p = new_path()
        init[p] = repo.new_file(lang_of(p))
    init["README.md"] = pools.text_slice(rng, "md", 4000)
    init[".gitignore"] = b"node_modules/\ntarget/\n.env.local\n"
    head = repo.commit("main", main_state, init, "Initial import")

    # ---- schedule of events (commit index on main -> actions) -----------
    planted = []  # dicts; filled as they happen
    placeholders = []
    events: dict[int, list] = {}

    def at(i, ev):
        events.setdefault(i, []).append(ev)

    n_keys = 24
    for j in range(n_keys):
        kind = KEY_KINDS[j % 4]
        add_i = rng.randrange(1, n_main - 10)
        mode = ["removed", "removed", "removed", "kept", "file-deleted"][j % 5]
        rm_i = rng.randrange(add_i + 1, min(n_main, add_i + max(5, n_main // 8)))
        at(add_i, ("add-key", j, kind, mode, rm_i))
    # a tracked .env.production with a key that stays
    at(max(2, n_main // 3), ("env-key", "stripe"))
    for pi, ph in enumerate(PLACEHOLDERS):
        at(rng.randrange(1, n_main - 1), ("add-ph", ph))
        at(rng.randrange(1, n_main - 1), ("add-ph", ph))

    feature_fork = n_main * 3 // 10
    feature_merge = n_main * 4 // 10
    release_fork = n_main // 2
    experiment_fork = n_main * 7 // 10
    tags = {n_main // 10: "v0.1.0", release_fork: "v1.0.0", n_main * 8 // 10: "v1.1.0"}
    branch_jobs = {}  # main index -> callable
    key_locations: dict[int, tuple] = {}  # j -> (path, text)

    def regular_changes(state, k_files=None):
        ch = {}
        paths = list(state)
        nmod = k_files or rng.choice([1, 1, 1, 2, 2, 3, 4, 6])
        for _ in range(nmod):
            p = rng.choice(paths)
            if p in ch or p == ".gitignore":
                continue
            ch[p] = repo.mutate(state[p], lang_of(p))
        r = rng.random()
        if r < 0.10:
            p = new_path()
            ch[p] = repo.new_file(lang_of(p))
        elif r < 0.13 and len(paths) > 50:
            p = rng.choice(paths)
            if p not in ch and not any(x in state[p] for x in PROTECT) and p not in (".gitignore", "README.md"):
                ch[p] = None
        elif r < 0.15 and len(paths) > 50:
            p = rng.choice(paths)
            if p not in ch and not any(x in state[p] for x in PROTECT) and p not in (".gitignore", "README.md"):
                q = new_path(lang_of(p) if lang_of(p) in EXT else "md")
                ch[p] = None
                ch[q] = state[p]
        return ch

    def side_branch(branch, fork_mark, fork_state, n, key_kind=None):
        st = dict(fork_state)
        changed = set()
        m = fork_mark
        key_at = rng.randrange(n) if key_kind else -1
        for i in range(n):
            ch = regular_changes(st)
            if i == key_at:
                k = make_key(rng, key_kind)
                p = new_path(rng.choice(["ts", "py", "go"]))
                ch[p] = insert_line(rng, repo.new_file(lang_of(p)), key_text(lang_of(p), k))
                k.update(path=p, branch=branch)
                planted.append(k)
            m = repo.commit(branch, st, ch, f"{branch}: {w(rng)} {w(rng)}", parent=m if i == 0 else None)
            if i == key_at:
                k["added_mark"] = m
            changed.update(ch)
        return m, st, changed

    print(f"  {n_main} commits on main, {n_files0} initial files", file=sys.stderr)
    feat = None
    for i in range(1, n_main):
        ch = regular_changes(main_state)
        msg = f"{rng.choice(['fix', 'feat', 'refactor', 'chore', 'docs', 'test'])}: {w(rng)} {w(rng)} {w(rng)}"
        merge = None
        added = []
        for ev in events.get(i, []):
            if ev[0] == "add-key":
                _, j, kind, mode, rm_i = ev
                k = make_key(rng, kind)
                lang = rng.choice(["py", "ts", "js", "go", "rs", "md", "json"])
                if mode == "file-deleted":
                    p = new_path(lang)
                    base = repo.new_file(lang)
                else:
                    cands = [q for q in main_state if lang_of(q) in EXT and q not in ch and q != "README.md"]
                    p = rng.choice(cands)
                    base = main_state[p]
                    lang = lang_of(p)
                text = key_text(lang, k)
                ch[p] = insert_line(rng, base, text)
                k.update(path=p, branch="main", mode=mode)
                planted.append(k)
                added.append(k)
                key_locations[j] = (p, text, k)
                if mode != "kept":
                    at(rm_i, ("rm-key", j, mode))
            elif ev[0] == "rm-key":
                _, j, mode = ev
                p, text, k = key_locations[j]
                if p not in main_state:
                    continue  # path went away (renamed) — cannot happen for protected files
                if mode == "file-deleted":
                    ch[p] = None
                else:
                    ch[p] = remove_line(main_state[p] if p not in ch or ch[p] is None else ch[p], text)
                k["removed_at"] = i
                msg = f"security: remove leaked credential from {p.rsplit('/', 1)[-1]}"
            elif ev[0] == "env-key":
                k = make_key(rng, ev[1])
                p = "deploy/.env.production"
                ch[p] = (f"NODE_ENV=production\nLOG_LEVEL=info\n"
                         f"STRIPE_SECRET_KEY={k['secret']}\nMINIBACK_API_KEY=${{MINIBACK_API_KEY}}\n").encode()
                k.update(path=p, branch="main", mode="kept")
                planted.append(k)
                added.append(k)
                placeholders.append({"path": p, "text": "${MINIBACK_API_KEY}"})
            elif ev[0] == "add-ph":
                ph = ev[1]
                cands = [q for q in main_state if lang_of(q) in EXT and q not in ch]
                p = rng.choice(cands)
                ch[p] = insert_line(rng, main_state[p], ph_text(lang_of(p), ph))
                placeholders.append({"path": p, "text": ph})
        if i == feature_merge and feat is not None:
            fmark, fstate, fchanged = feat
            for p in sorted(fchanged):
                if p in fstate:
                    ch[p] = fstate[p]
                elif p in main_state:
                    ch[p] = None
            merge = fmark
            msg = "Merge branch 'feature/checkout-v2'"
        head = repo.commit("main", main_state, ch, msg, merge=merge)
        for k in added:
            k["added_mark"] = head
        if i == feature_fork:
            feat = side_branch("feature/checkout-v2", head, main_state, max(20, n_main // 25), "urbackend-secret")
        if i == release_fork:
            side_branch("release/1.x", head, main_state, max(10, n_main // 100), "miniback")
        if i == experiment_fork:
            side_branch("experiment/new-billing", head, main_state, max(10, n_main // 100), "stripe")
        if i in tags:
            repo.tag(tags[i], head, f"Release {tags[i]}")
        if i % 5000 == 0:
            print(f"  {i}/{n_main} commits, {time.time() - t0:.0f}s", file=sys.stderr)
    repo.tag("v2.0.0", head, "Release v2.0.0")
    fi.stdin.write(b"done\n")
    fi.stdin.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=out, check=True)

    # resolve marks -> shas, reachability from HEAD
    marks = {}
    with open(f"{out}/.git/bench-marks") as f:
        for line in f:
            mk, sha = line.split()
            marks[int(mk[1:])] = sha
    head_commits = set(subprocess.run(["git", "rev-list", "HEAD"], cwd=out, capture_output=True, text=True,
                                      check=True).stdout.split())
    keys_out = []
    for k in planted:
        sha = marks[k["added_mark"]]
        keys_out.append({"path": k["path"], "rule_id": k["rule_id"], "kind": k["kind"], "secret": k["secret"],
                         "secret_redacted": k["redacted"], "branch": k["branch"], "added_in": sha,
                         "mode": k.get("mode", "branch" if k["branch"] != "main" else "kept"),
                         "removed_at_main_commit": k.get("removed_at"),
                         "reachable_from_head": sha in head_commits})
    counts = subprocess.run(["git", "count-objects", "-v"], cwd=out, capture_output=True, text=True).stdout
    nblobs = sum(1 for ln in subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)"], cwd=out,
        capture_output=True, text=True, check=True).stdout.split() if ln == "blob")
    ncommits = len(subprocess.run(["git", "rev-list", "--all"], cwd=out, capture_output=True, text=True,
                                  check=True).stdout.split())
    manifest = {"kind": "history", "generator_version": GENERATOR_VERSION, "seed": a.seed, "scale": a.scale,
                "root": name, "commits": ncommits, "blobs": nblobs,
                "refs": subprocess.run(["git", "for-each-ref", "--format=%(refname)"], cwd=out,
                                       capture_output=True, text=True).stdout.split(),
                "planted": keys_out, "placeholders": placeholders}
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    os.replace(tmp, manifest_path)
    print(f"history: {ncommits} commits, {nblobs} blobs, {len(keys_out)} keys, {len(placeholders)} placeholders "
          f"in {time.time() - t0:.1f}s -> {out}\n{counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
