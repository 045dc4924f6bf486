#!/usr/bin/env python3
"""Rebuild keyscan's real-code regression corpus (see corpus/README.md).

Reads corpus/manifest.toml and materialises every entry under OUT (default
target/corpus/), outside git:

  OUT/NAME/            the tree of the pinned commit (or the unpacked npm package),
                       with planted keys, and for git entries a fresh git repository
                       whose index holds exactly the files the commit tracks
  OUT/NAME.git         for entries with history = true: a bare repository whose
                       branch `corpus` is the pinned history plus planted commits
  OUT/plants.json      where every planted key and decoy went (entry, id, path,
                       line) -- never the key itself
  OUT/.state/NAME.json what was built, so that a second run skips it

Sources, in order: a local mirror (a bare git directory) under $KEYSCAN_MIRRORS
(default /work/.mirror, laid out as OWNER+NAME/repo), else a partial clone
(`git clone --filter=blob:none`) from GitHub into OUT/.src/. npm packages are
fetched with `npm pack NAME@VERSION` into OUT/.src/npm/.

Exit status: 0 when every entry is built or up to date, 1 when a pinned commit
is missing or an entry could not be built, 2 on bad usage or a bad manifest.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import string
import subprocess
import sys
import re
import tarfile
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STATE_VERSION = 2

# Key shapes (see README "Rules"). Bodies are random at build time.
ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"
LOWER = string.ascii_lowercase

# The prefixes are assembled so that this file holds no key-like literal.
P_MBK = "mbk" + "_"
P_SK = "sk" + "_live_"
P_PK = "pk" + "_live_"
P_RK = "rk" + "_live_"
P_UB = "ub" + "_key_"


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _mixed(alphabet: str, n: int, need=(string.ascii_lowercase, string.ascii_uppercase, string.digits)) -> str:
    """Random body that holds at least one character of each class in `need`
    (a real random key of that length almost always does)."""
    while True:
        body = _rand(alphabet, n)
        if all(any(c in cls for c in body) for cls in need):
            return body


def _b64url_body() -> str:
    # urBackend: 43 base64url characters (32 random bytes); make sure the body
    # has a '-' or '_' half the time is not enough: the vendor split in the
    # README keys on "-/_ or exactly 43", 43 is enough. Keep classes mixed.
    return _mixed(B64URL, 43)


SHAPES = {
    # rule it should be reported under today (informative; expectations decide)
    "miniback": lambda: P_MBK + _mixed(ALNUM, 32),
    "miniback-lower-nodigit": lambda: P_MBK + _rand(LOWER, 24),
    "urbackend-secret": lambda: P_SK + _b64url_body(),
    "urbackend-publishable": lambda: P_PK + _b64url_body(),
    "urbackend-legacy": lambda: P_UB + _b64url_body(),
    "stripe-secret": lambda: P_SK + _mixed(ALNUM, 99),
    "stripe-restricted": lambda: P_RK + _mixed(ALNUM, 99),
    "stripe-publishable": lambda: P_PK + _mixed(ALNUM, 99),
    # fits neither Stripe (24 or 90+) nor urBackend (43 or -/_): another vendor
    "sk-live-other": lambda: P_SK + _mixed(ALNUM, 32),
}


TOKEN_RE = re.compile(r"\{\{|\}\}|\{(?:key|key_b64|key_b64env|key_pct|key_uesc|key_xesc|P_MBK|P_SK|P_PK|P_RK|P_UB)\}")


class BuildError(Exception):
    pass


def log(msg: str) -> None:
    print(msg, flush=True)


def git(*args: str, git_dir: Path | None = None, cwd: Path | None = None, check=True,
        capture=True, env=None, input_=None) -> subprocess.CompletedProcess:
    cmd = ["git"]
    if git_dir is not None:
        cmd += ["--git-dir", str(git_dir)]
    cmd += list(args)
    full_env = dict(os.environ)
    full_env.update({
        "GIT_AUTHOR_NAME": "keyscan corpus", "GIT_AUTHOR_EMAIL": "corpus@invalid",
        "GIT_COMMITTER_NAME": "keyscan corpus", "GIT_COMMITTER_EMAIL": "corpus@invalid",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "GIT_TERMINAL_PROMPT": "0",
    })
    if env:
        full_env.update(env)
    r = subprocess.run(cmd, cwd=cwd, env=full_env, input=input_,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None)
    if check and r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip() if capture and r.stderr else ""
        raise BuildError(f"git {' '.join(args[:3])} failed: {err}")
    return r


# ------------------------------------------------------------------ sources

def find_mirror(repo: str, mirrors: list[Path]) -> Path | None:
    owner, name = repo.split("/", 1)
    for root in mirrors:
        for cand in (root / f"{owner}+{name}" / "repo", root / f"{owner}+{name}" / "repo" / ".git",
                     root / f"{owner}+{name}", root / owner / f"{name}.git", root / f"{name}.git"):
            if (cand / "objects").is_dir() and (cand / "HEAD").is_file():
                return cand
    return None


def commit_exists(git_dir: Path, commit: str) -> bool:
    return git("cat-file", "-e", f"{commit}^{{commit}}", git_dir=git_dir, check=False).returncode == 0


def source_for(entry: dict, mirrors: list[Path], out: Path, offline: bool) -> tuple[Path, str]:
    """A git directory holding entry['commit'], and a description of where it came from."""
    repo, commit = entry["repo"], entry["commit"]
    m = find_mirror(repo, mirrors)
    if m is not None:
        if not commit_exists(m, commit):
            raise BuildError(f"pinned commit {commit} is missing from the mirror {m}")
        return m, f"mirror {m}"
    clone = out / ".src" / (repo.replace("/", "+") + ".git")
    if clone.is_dir() and commit_exists(clone, commit):
        return clone, f"clone {clone}"
    if offline:
        raise BuildError(f"no mirror of {repo} under {', '.join(map(str, mirrors))} and --offline")
    url = f"https://github.com/{repo}.git"
    if not clone.is_dir():
        clone.parent.mkdir(parents=True, exist_ok=True)
        flt = [] if entry.get("history") else ["--filter=blob:none"]
        log(f"  cloning {url} ({'full history' if not flt else 'blobless'})")
        git("clone", "--bare", "--quiet", *flt, url, str(clone), capture=False)
    if not commit_exists(clone, commit):
        git("fetch", "--quiet", "origin", commit, git_dir=clone, check=False, capture=False)
    if not commit_exists(clone, commit):
        raise BuildError(f"pinned commit {commit} is missing from {url}")
    return clone, f"clone of {url}"


# ------------------------------------------------------------ materialise

def ls_tree(git_dir: Path, commit: str, subdir: str | None) -> list[tuple[str, str, str, str]]:
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if subdir:
        args += ["--", subdir.rstrip("/") + "/"]
    out = git(*args, git_dir=git_dir).stdout
    rows = []
    for rec in out.split(b"\0"):
        if not rec:
            continue
        meta, path = rec.split(b"\t", 1)
        mode, typ, sha = meta.decode().split()
        rows.append((mode, typ, sha, path.decode("utf-8", "surrogateescape")))
    return rows


def materialise(git_dir: Path, commit: str, subdir: str | None, dest: Path) -> dict:
    """Write the tree of `commit` (or of `subdir` in it) into `dest` blob by blob.

    Missing blobs (the local snapshots lack files of 4 MiB and more) are
    skipped and counted; `git archive` would stop at the first one."""
    rows = ls_tree(git_dir, commit, subdir)
    strip = (subdir.rstrip("/") + "/") if subdir else ""
    stats = {"files": 0, "bytes": 0, "missing_blobs": [], "submodules": 0, "symlinks": 0, "tracked": []}
    proc = subprocess.Popen(["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for mode, typ, sha, path in rows:
            rel = path[len(strip):] if strip and path.startswith(strip) else path
            if typ == "commit":
                stats["submodules"] += 1
                continue
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().decode().split()
            if len(header) == 2 and header[1] == "missing":
                stats["missing_blobs"].append(rel)
                continue
            size = int(header[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode == "120000":
                os.symlink(os.fsdecode(data), target)
                stats["symlinks"] += 1
            else:
                target.write_bytes(data)
                if mode == "100755":
                    target.chmod(0o755)
                stats["files"] += 1
                stats["bytes"] += size
            stats["tracked"].append(rel)
    finally:
        proc.stdin.close()
        proc.wait()
    return stats


# ------------------------------------------------------------------ plants

def render(text: str, key: str | None, plant: dict) -> tuple[str, str | None]:
    """The text to write and the token that marks the key's line."""
    tokens = {"P_MBK": P_MBK, "P_SK": P_SK, "P_PK": P_PK, "P_RK": P_RK, "P_UB": P_UB}
    marker = None
    if key is not None:
        b64 = base64.b64encode(key.encode()).decode()
        b64env = base64.b64encode((plant.get("b64_prefix", "") + key).encode()).decode()
        pct = "".join(f"%{b:02X}" for b in key.encode())
        uesc = "".join(f"\\u{ord(c):04x}" for c in key)
        xesc = "".join(f"\\x{ord(c):02x}" for c in key)
        tokens.update(key=key, key_b64=b64, key_b64env=b64env, key_pct=pct, key_uesc=uesc, key_xesc=xesc)
        for tok, val in (("{key}", key), ("{key_b64}", b64), ("{key_b64env}", b64env),
                         ("{key_pct}", pct), ("{key_uesc}", uesc), ("{key_xesc}", xesc)):
            if tok in text:
                marker = val
                break
    def sub(m: re.Match) -> str:
        tok = m.group(0)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        name = tok[1:-1]
        if name not in tokens:
            raise BuildError(f"plant {plant.get('id')}: token {tok} needs a key (kind = \"key\")")
        return tokens[name]
    return TOKEN_RE.sub(sub, text), marker


def apply_plant(root: Path, plant: dict, key: str | None) -> dict:
    text, marker = render(plant["text"], key, plant)
    if not text.endswith("\n"):
        text += "\n"
    target = root / plant["file"]
    at = plant.get("at", "append")
    target.parent.mkdir(parents=True, exist_ok=True)
    if at == "new":
        if target.exists():
            raise BuildError(f"plant {plant['id']}: {plant['file']} already exists (at = \"new\")")
        old_lines: list[str] = []
        start = 1
    else:
        old = target.read_text(encoding="utf-8", errors="surrogateescape") if target.exists() else ""
        old_lines = old.splitlines(keepends=True)
        if old_lines and not old_lines[-1].endswith("\n"):
            old_lines[-1] += "\n"
        if at == "append":
            start = len(old_lines) + 1
        elif isinstance(at, int) and at >= 1:
            start = min(at, len(old_lines) + 1)
        else:
            raise BuildError(f"plant {plant['id']}: bad `at` {at!r}")
    new_lines = text.splitlines(keepends=True)
    lines = old_lines[:start - 1] + new_lines + old_lines[start - 1:]
    target.write_text("".join(lines), encoding="utf-8", errors="surrogateescape")
    key_line = None
    if marker is not None:
        for i, ln in enumerate(new_lines):
            if marker in ln:
                key_line = start + i
                break
    return {"path": plant["file"], "line": key_line, "lines": [start, start + len(new_lines) - 1]}


def gen_key(plant: dict) -> str | None:
    if plant.get("kind", "key") == "decoy":
        return None
    shape = plant.get("shape")
    if shape not in SHAPES:
        raise BuildError(f"plant {plant['id']}: unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    return SHAPES[shape]()


# -------------------------------------------------------------- git index

def init_index(root: Path, tracked: list[str]) -> None:
    """A fresh repository in `root` whose index holds exactly `tracked`."""
    git("init", "--quiet", "--initial-branch=corpus", cwd=root)
    git("config", "core.autocrlf", "false", cwd=root)
    git("config", "commit.gpgsign", "false", cwd=root)
    data = b"\0".join(os.fsencode(p) for p in tracked) + b"\0"
    git("--literal-pathspecs", "add", "--force", "--pathspec-from-file=-", "--pathspec-file-nul",
        cwd=root, input_=data)
    git("commit", "--quiet", "--no-verify", "--allow-empty", "-m", "corpus snapshot", cwd=root)


def build_history(src: Path, entry: dict, dest: Path) -> list[dict]:
    """OUT/NAME.git: the pinned history (objects borrowed from `src` through
    alternates) plus, per history plant, a commit adding it and one removing it."""
    if dest.exists():
        shutil.rmtree(dest)
    git("init", "--bare", "--quiet", "--initial-branch=corpus", str(dest))
    (dest / "objects" / "info").mkdir(parents=True, exist_ok=True)
    (dest / "objects" / "info" / "alternates").write_text(str((src / "objects").resolve()) + "\n")
    commit = entry["commit"]
    git("update-ref", "refs/heads/corpus", commit, git_dir=dest)
    records = []
    plants = [p for p in entry.get("plant", []) if p.get("history")]
    if not plants:
        return records
    idx = dest / "corpus-index"
    env = {"GIT_INDEX_FILE": str(idx)}
    git("read-tree", commit, git_dir=dest, env=env)
    for p in plants:
        key = gen_key(p)
        text, marker = render(p["text"], key, p)
        if not text.endswith("\n"):
            text += "\n"
        sha = git("hash-object", "-w", "--stdin", git_dir=dest, input_=text.encode()).stdout.decode().strip()
        git("update-index", "--add", "--cacheinfo", f"100644,{sha},{p['file']}", git_dir=dest, env=env)
        line = next((i + 1 for i, ln in enumerate(text.splitlines()) if marker and marker in ln), None)
        records.append({"id": p["id"], "path": p["file"], "line": line, "kind": p.get("kind", "key"),
                        "shape": p.get("shape"), "history": True})
    tree = git("write-tree", git_dir=dest, env=env).stdout.decode().strip()
    add = git("commit-tree", tree, "-p", commit, "-m", "corpus: add planted files",
              git_dir=dest).stdout.decode().strip()
    tree2 = git("rev-parse", f"{commit}^{{tree}}", git_dir=dest).stdout.decode().strip()
    rm = git("commit-tree", tree2, "-p", add, "-m", "corpus: remove planted files",
             git_dir=dest).stdout.decode().strip()
    git("update-ref", "refs/heads/corpus", rm, git_dir=dest)
    idx.unlink()
    for r in records:
        r["commit"] = add
    return records


# ------------------------------------------------------------------- npm

def build_npm(entry: dict, out: Path, dest: Path, offline: bool) -> dict:
    cache = out / ".src" / "npm"
    cache.mkdir(parents=True, exist_ok=True)
    pkg = entry["package"]
    name, _, version = pkg.rpartition("@")
    tgz_name = name.lstrip("@").replace("/", "-") + f"-{version}.tgz"
    tgz = cache / tgz_name
    if not tgz.is_file():
        if offline:
            raise BuildError(f"{tgz} is not cached and --offline")
        r = subprocess.run(["npm", "pack", "--silent", pkg, "--pack-destination", str(cache)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0 or not tgz.is_file():
            raise BuildError(f"npm pack {pkg} failed: {r.stderr.decode(errors='replace').strip()[:300]}")
    files = nbytes = 0
    with tarfile.open(tgz) as tf:
        for m in tf.getmembers():
            if not m.isfile():
                continue
            parts = Path(m.name).parts
            rel = Path(*parts[1:]) if len(parts) > 1 else Path(parts[0])
            if rel.is_absolute() or ".." in rel.parts:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with tf.extractfile(m) as fh:
                data = fh.read()
            target.write_bytes(data)
            files += 1
            nbytes += len(data)
    return {"files": files, "bytes": nbytes, "tarball": str(tgz)}


# ------------------------------------------------------------------ driver

def entry_digest(entry: dict) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()[:16]


def build_entry(entry: dict, out: Path, mirrors: list[Path], offline: bool, force: bool) -> tuple[str, list[dict]]:
    name = entry["name"]
    dest = out / name
    state_file = out / ".state" / f"{name}.json"
    digest = entry_digest(entry)
    if not force and state_file.is_file() and dest.is_dir():
        st = json.loads(state_file.read_text())
        if st.get("digest") == digest and st.get("version") == STATE_VERSION:
            return "up to date (manifest entry unchanged; --force rebuilds and plants new keys)", st["plants"]
    if dest.exists():
        shutil.rmtree(dest)
    if entry.get("history") and (out / f"{name}.git").exists():
        shutil.rmtree(out / f"{name}.git")
    tmp = out / f".{name}.part"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    plants_out: list[dict] = []
    kind = entry.get("kind", "git")
    if kind == "npm":
        stats = build_npm(entry, out, tmp, offline)
        tracked = None
        how = f"npm pack {entry['package']}"
    elif kind == "git":
        src, how = source_for(entry, mirrors, out, offline)
        stats = materialise(src, entry["commit"], entry.get("subdir"), tmp)
        tracked = stats.pop("tracked")
    else:
        raise BuildError(f"unknown kind {kind!r}")
    for p in entry.get("plant", []):
        if p.get("history"):
            continue
        key = gen_key(p)
        rec = apply_plant(tmp, p, key)
        rec.update(id=p["id"], kind=p.get("kind", "key"), shape=p.get("shape"),
                   tracked=p.get("tracked", True), history=False)
        plants_out.append(rec)
        if tracked is not None and rec["tracked"] and p["file"] not in tracked:
            tracked.append(p["file"])
    if tracked is not None:
        init_index(tmp, tracked)
    tmp.rename(dest)
    if kind == "git" and entry.get("history"):
        plants_out += build_history(src, entry, out / f"{name}.git")
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state = {"version": STATE_VERSION, "digest": digest, "source": how, "plants": plants_out,
             "files": stats.get("files"), "bytes": stats.get("bytes")}
    if kind == "git":
        state.update(commit=entry["commit"], missing_blobs=stats["missing_blobs"],
                     submodules=stats["submodules"], symlinks=stats["symlinks"])
    state_file.write_text(json.dumps(state, indent=1))
    msg = f"built from {how}: {stats['files']} files, {stats['bytes'] / 1e6:.1f} MB"
    if kind == "git":
        if stats["missing_blobs"]:
            msg += f"; skipped {len(stats['missing_blobs'])} blobs absent from the source (files of 4 MiB and more in a snapshot)"
        if stats["submodules"]:
            msg += f"; skipped {stats['submodules']} submodules"
    if plants_out:
        msg += f"; planted {sum(1 for p in plants_out if p['kind'] == 'key')} keys, {sum(1 for p in plants_out if p['kind'] == 'decoy')} decoys"
    if entry.get("history"):
        msg += f"; history in {name}.git"
    return msg, plants_out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("KEYSCAN_CORPUS", str(REPO_ROOT / "target" / "corpus")),
                    help="where to build (default: target/corpus, or $KEYSCAN_CORPUS)")
    ap.add_argument("--manifest", default=str(REPO_ROOT / "corpus" / "manifest.toml"))
    ap.add_argument("--mirrors", default=os.environ.get("KEYSCAN_MIRRORS", "/work/.mirror"),
                    help="colon-separated folders of bare git mirrors (default: $KEYSCAN_MIRRORS or /work/.mirror)")
    ap.add_argument("--offline", action="store_true", help="never clone from GitHub or call npm")
    ap.add_argument("--force", action="store_true", help="rebuild entries that are up to date (new planted keys)")
    ap.add_argument("--list", action="store_true", help="list the entries and exit")
    ap.add_argument("only", nargs="*", help="build only these entries")
    a = ap.parse_args()

    try:
        manifest = tomllib.loads(Path(a.manifest).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        print(f"corpus: cannot read {a.manifest}: {e}", file=sys.stderr)
        return 2
    entries = manifest.get("entry", [])
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        print("corpus: duplicate entry names in the manifest", file=sys.stderr)
        return 2
    unknown = set(a.only) - set(names)
    if unknown:
        print(f"corpus: unknown entries: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if a.list:
        for e in entries:
            print(f"{e['name']:26} {e.get('repo') or e.get('package')} {e.get('commit', '')[:12]}")
        return 0
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    mirrors = [Path(p) for p in a.mirrors.split(":") if p]
    failed = 0
    selected = [e for e in entries if not a.only or e["name"] in a.only]
    all_plants: dict[str, list[dict]] = {}
    pf = out / "plants.json"
    if pf.is_file():
        all_plants = json.loads(pf.read_text())
    for e in entries:
        if a.only and e["name"] not in a.only:
            continue
        try:
            msg, plants = build_entry(e, out, mirrors, a.offline, a.force)
            all_plants[e["name"]] = plants
            log(f"{e['name']:26} {msg}")
        except (BuildError, OSError, ValueError, KeyError) as err:
            failed += 1
            all_plants.pop(e["name"], None)
            log(f"{e['name']:26} FAILED: {err}")
    all_plants = {k: v for k, v in all_plants.items() if k in names}
    pf.write_text(json.dumps(all_plants, indent=1))
    log(f"corpus in {out}: {len(selected) - failed} of {len(selected)} entries ready, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
