#!/usr/bin/env python3
"""keyscan benchmark driver (run it through scripts/bench.sh).

One command on a fresh machine: builds keyscan (release), finds or installs
ripgrep and GNU time, generates (or reuses) the deterministic corpora, warms
the page cache and reports medians over N runs for three modes:

  tree     keyscan --format json DIR            vs  rg -uu -c -F -e mbk_ -e sk_live_ -e pk_live_ DIR
  history  keyscan --history --format json      vs  git cat-file --batch-all-objects --batch --unordered
  staged   keyscan --staged --format json in a ~100,000-file repository with 5 files staged
           vs  git diff --cached --name-only

and on real code (scripts/bench_real.py, built from scripts/corpus.sh and a
committed npm lockfile):

  real-tree     astro + sveltekit + vite + cargo trees and a real node_modules
                (~1,500 package.json project roots), vs the same rg command
  real-history  rust-lang/cargo's full history (delta-heavy packs) vs git cat-file

Every row reports the median and the minimum wall time, the median CPU time
(user + system), the peak RSS and the load average around the runs,

plus a recall check: every planted key must be reported (path + rule id +
secret_redacted) and no placeholder may be. A failed recall check makes the
benchmark exit non-zero: a fast wrong answer is not a result.

Exit codes: 0 ok, 1 recall failure, 2 a command failed / setup error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from corpus_common import GENERATOR_VERSION, make_key  # noqa: E402
import bench_real  # noqa: E402

SECRET_RULES = {"miniback-api-key", "urbackend-secret-key", "urbackend-publishable-key", "stripe-secret-key"}
# `-g !.git`: keyscan never reads .git folders; `rg -uu` would.
RG_ARGS = ["-uu", "-c", "-F", "-g", "!.git", "-e", "mbk_", "-e", "sk_live_", "-e", "pk_live_"]
# A reference row: rg applying ignore files (`.gitignore`, `.ignore`, `.rgignore`,
# excludes) and reading hidden files, as keyscan does. The target stays against
# `rg -uu`, which reads every file and applies no rule.
RG_IGNORE_ARGS = ["--hidden", "-c", "-F", "-g", "!.git", "-e", "mbk_", "-e", "sk_live_", "-e", "pk_live_"]


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def die(msg, code=2):
    print(f"\n[bench] ERROR: {msg}\n", file=sys.stderr, flush=True)
    sys.exit(code)


def sh(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


# --------------------------------------------------------------------------
# tools
# --------------------------------------------------------------------------

def apt_install(pkg):
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "-qq", pkg], env=env, capture_output=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        r = subprocess.run(["apt-get", "install", "-y", "-qq", pkg], env=env, capture_output=True)
    return r.returncode == 0


def find_rg():
    rg = shutil.which("rg")
    if rg:
        return rg
    log("ripgrep not found; trying apt-get install ripgrep")
    if apt_install("ripgrep") and shutil.which("rg"):
        return shutil.which("rg")
    log("trying cargo install ripgrep")
    r = subprocess.run(["cargo", "install", "--locked", "ripgrep"])
    cand = os.path.expanduser("~/.cargo/bin/rg")
    if r.returncode == 0 and os.path.exists(cand):
        return cand
    die("could not find or install ripgrep")


def find_time():
    if os.path.exists("/usr/bin/time"):
        return "/usr/bin/time"
    log("/usr/bin/time not found; trying apt-get install time")
    if apt_install("time") and os.path.exists("/usr/bin/time"):
        return "/usr/bin/time"
    log("GNU time unavailable; measuring peak RSS with getrusage(RUSAGE_CHILDREN) in a wrapper process")
    return None


def tool_version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except Exception:  # noqa: BLE001
        return "?"


# --------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------

RUSAGE_WRAPPER = (
    "import resource,subprocess,sys\n"
    "r=subprocess.run(sys.argv[2:])\n"
    "u=resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1],'w').write(f'{u.ru_maxrss} {u.ru_utime} {u.ru_stime}')\n"
    "sys.exit(r.returncode)\n"
)


class CommandFailed(Exception):
    pass


class Runner:
    def __init__(self, time_bin, tmpdir):
        self.time_bin = time_bin
        self.tmp = tmpdir

    def run(self, cmd, cwd, ok_codes=(0,), stdout_path=None, label=""):
        """Run cmd; return (seconds, peak_rss_kib, exit code, cpu seconds (user + system))."""
        rss_file = os.path.join(self.tmp, "rss")
        if self.time_bin:
            full = [self.time_bin, "-f", "%M %U %S", "-o", rss_file] + cmd
        else:
            full = [sys.executable, "-c", RUSAGE_WRAPPER, rss_file] + cmd
        err_path = os.path.join(self.tmp, "stderr")
        out_f = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
        with open(err_path, "wb") as err_f:
            t0 = time.perf_counter()
            r = subprocess.run(full, cwd=cwd, stdout=out_f, stderr=err_f)
            secs = time.perf_counter() - t0
        if stdout_path:
            out_f.close()
        if r.returncode not in ok_codes:
            with open(err_path, "rb") as f:
                err = f.read()[-4000:].decode(errors="replace")
            raise CommandFailed(f"{label}: `{' '.join(cmd)}` (cwd {cwd}) exited {r.returncode}; "
                                f"allowed {ok_codes}\n{err}")
        try:
            with open(rss_file) as f:
                rss, user, system = f.read().strip().splitlines()[-1].split()
            rss, cpu = int(rss), float(user) + float(system)
        except Exception:  # noqa: BLE001
            rss, cpu = 0, float("nan")
        return secs, rss, r.returncode, cpu


def med(xs):
    return statistics.median(xs) if xs else float("nan")


# --------------------------------------------------------------------------
# corpora
# --------------------------------------------------------------------------

def load_manifest(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ensure_corpus(script, out, seed, scale):
    mpath = out + ".manifest.json"
    m = load_manifest(mpath)
    if (m and os.path.isdir(out) and m.get("seed") == seed and m.get("scale") == scale
            and m.get("generator_version") == GENERATOR_VERSION):
        log(f"reusing {out} (seed {seed}, scale {scale})")
        return m
    log(f"generating {out} (seed {seed}, scale {scale}) ...")
    t0 = time.time()
    sh([sys.executable, os.path.join(HERE, script), "--seed", str(seed), "--scale", str(scale),
        "--out", out, "--force"])
    log(f"generated {out} in {time.time() - t0:.1f}s")
    return load_manifest(mpath)


def ensure_staged_repo(tree, tree_m, repo):
    """A git repository holding the tree corpus, committed once (hard links; cached)."""
    stamp_path = os.path.join(repo, ".git", "bench-stamp.json")
    want = {"seed": tree_m["seed"], "scale": tree_m["scale"], "generator_version": GENERATOR_VERSION}
    if load_manifest(stamp_path) == want:
        log(f"reusing staged repo {repo}")
        # back to a clean index/work tree (git rewrites changed files via unlink+create,
        # so the hard-linked tree corpus is never modified in place)
        sh(["git", "reset", "-q", "--hard", "HEAD"], cwd=repo)
        return
    log(f"building staged repo {repo} from {tree} (hard links + one commit) ...")
    t0 = time.time()
    if os.path.exists(repo):
        shutil.rmtree(repo)
    sh(["cp", "-al", tree, repo])
    sh(["git", "init", "-q", "-b", "main", repo])
    sh(["git", "config", "user.name", "Bench"], cwd=repo)
    sh(["git", "config", "user.email", "bench@example.com"], cwd=repo)
    sh(["git", "config", "core.untrackedCache", "true"], cwd=repo)
    sh(["git", "add", "-A"], cwd=repo)
    sh(["git", "commit", "-q", "-m", "import corpus"], cwd=repo)
    with open(stamp_path, "w") as f:
        json.dump(want, f)
    log(f"staged repo ready in {time.time() - t0:.1f}s")


def stage_change(repo, tree_m, seed):
    """Stage a change to 5 tracked files, one of which gains a fresh key. Returns expected findings."""
    import random
    rng = random.Random(f"keyscan-staged/{seed}")
    taken = {p["path"] for p in tree_m["planted"]} | {p["path"] for p in tree_m["placeholders"]}
    files = sorted(subprocess.run(["git", "ls-files", "--", "services/*.ts", "services/*.py"], cwd=repo,
                                  capture_output=True, text=True, check=True).stdout.split())
    files = [f for f in files if f not in taken]
    picks = rng.sample(files, 5)
    key = make_key(rng, "miniback")
    expected = []
    for i, p in enumerate(picks):
        full = os.path.join(repo, p)
        with open(full, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        if p.endswith(".py"):
            add = [b"", b"def staged_change_%d(value):" % i, b"    return value"]
            keyline = f'MINIBACK_API_KEY = "{key["secret"]}"'
        else:
            add = [b"", b"export const stagedChange%d = (value) => value;" % i]
            keyline = f'const minibackKey = "{key["secret"]}";'
        pos = len(lines) // 2
        if i == 0:
            add.append(keyline.encode())
            expected.append({"path": p, "rule_id": key["rule_id"], "secret_redacted": key["redacted"],
                             "line": pos + len(add)})
        lines[pos:pos] = add
        tmp = full + ".bench-tmp"
        with open(tmp, "wb") as f:
            f.write(b"\n".join(lines))
        os.replace(tmp, full)  # new inode: never writes through to the hard-linked tree corpus
    sh(["git", "add", "--"] + picks, cwd=repo)
    return expected, picks


def warm(path):
    """Read every file once so the page cache holds the corpus."""
    n = 0
    buf = bytearray(1 << 20)
    for dp, dn, fn in os.walk(path):
        for name in fn:
            try:
                with open(os.path.join(dp, name), "rb", buffering=0) as f:
                    while f.readinto(buf):
                        pass
                n += 1
            except OSError:
                pass
    return n


# --------------------------------------------------------------------------
# recall
# --------------------------------------------------------------------------

def norm_path(p, root):
    p = p.replace("\\", "/")
    if os.path.isabs(p):
        p = os.path.relpath(p, root).replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def check_recall(mode, out_json, root, planted, placeholders, allow_extra, required=lambda k: True):
    """Return (ok, report_lines, summary)."""
    try:
        with open(out_json, "rb") as f:
            doc = json.loads(f.read().decode())
    except ValueError as e:
        return False, [f"{mode}: keyscan output is not JSON: {e}"], {}
    all_findings = doc.get("findings", [])
    # audits (gitignore coverage, dotenv tracking, ...) are legitimate findings of other
    # rules: counted, not judged
    findings = [f for f in all_findings if f.get("rule_id") in SECRET_RULES]
    other = {}
    for f in all_findings:
        if f.get("rule_id") not in SECRET_RULES:
            other[f.get("rule_id")] = other.get(f.get("rule_id"), 0) + 1
    have = set()
    by_rule_red = set()
    for f in findings:
        path = norm_path(f.get("path") or "", root)
        have.add((path, f.get("rule_id"), f.get("secret_redacted")))
        by_rule_red.add((f.get("rule_id"), f.get("secret_redacted")))
    lines = []
    if other:
        lines.append(f"{mode}: findings of non-secret rules (not judged): {other}")
    ok = True
    missing = []
    for k in planted:
        if (k["path"], k["rule_id"], k["secret_redacted"]) not in have:
            if required(k):
                missing.append(k)
            else:
                lines.append(f"{mode}: (not required) missed {k['rule_id']} {k['secret_redacted']} at {k['path']}")
    if missing:
        ok = False
        lines.append(f"{mode}: MISSED {len(missing)}/{len(planted)} planted keys:")
        for k in missing:
            extra = f" [{k.get('site') or k.get('mode')}]" if (k.get("site") or k.get("mode")) else ""
            lines.append(f"    {k['rule_id']:28} {k['secret_redacted']:16} {k['path']}"
                         f"{':' + str(k['line']) if k.get('line') else ''}{extra}")
    planted_keys = {(k["path"], k["rule_id"], k["secret_redacted"]) for k in planted}
    planted_rr = {(k["rule_id"], k["secret_redacted"]) for k in planted}
    ph_hits, extras = [], []
    ph_lines = {(p["path"], p.get("line")) for p in placeholders}
    ph_by_path = {}
    for p in placeholders:
        ph_by_path.setdefault(p["path"], []).append(p["text"])
    for f in findings:
        path = norm_path(f.get("path") or "", root)
        key = (path, f.get("rule_id"), f.get("secret_redacted"))
        if mode.endswith("history"):
            expected = (key[1], key[2]) in planted_rr
        else:
            expected = key in planted_keys
        if expected:
            continue
        head = (f.get("secret_redacted") or "").split("\u2026")[0]
        ph_texts = ph_by_path.get(path, ())
        if (path, f.get("line")) in ph_lines or (head and any(t.startswith(head) for t in ph_texts)):
            ph_hits.append(f)
        else:
            extras.append(f)
    if ph_hits:
        ok = False
        lines.append(f"{mode}: REPORTED {len(ph_hits)} PLACEHOLDER(S):")
        for f in ph_hits[:20]:
            lines.append(f"    {f.get('rule_id')} {f.get('secret_redacted')} at {f.get('path')}:{f.get('line')}")
    if extras:
        if not allow_extra:
            ok = False
        lines.append(f"{mode}: {len(extras)} unexpected finding(s) (not planted){'' if allow_extra else ' — counted as failure; --allow-extra to relax'}:")
        for f in extras[:20]:
            lines.append(f"    {f.get('rule_id')} {f.get('secret_redacted')} at {f.get('path')}:{f.get('line')}")
    found = len(planted) - len(missing) - sum(1 for k in planted if not required(k)
                                               and (k["path"], k["rule_id"], k["secret_redacted"]) not in have)
    summary = {"planted": len(planted), "found": found, "missing": len(missing),
               "placeholders_reported": len(ph_hits), "unexpected": len(extras),
               "findings": len(all_findings), "other_rule_findings": other, "keyscan_summary": doc.get("summary")}
    return ok, lines, summary


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def machine_info():
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "rustc": tool_version(["rustc", "--version"]), "git": tool_version(["git", "--version"])}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: scale 0.02, 1 run, no warm-up runs")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per command (default 5; 1 with --quick)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale", type=float, default=None, help="corpus scale (default 1.0; 0.02 with --quick)")
    ap.add_argument("--workdir", default=None, help="default target/bench (target/bench/quick with --quick)")
    ap.add_argument("--keyscan", default=None, help="keyscan binary (default target/release/keyscan)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release")
    ap.add_argument("--baselines-only", action="store_true", help="measure rg and git only (no keyscan)")
    ap.add_argument("--modes", default=None,
                    help="comma list of tree,history,staged,real-tree,real-history "
                         "(default: all five; tree,history,staged with --quick)")
    ap.add_argument("--warmups", type=int, default=None, help="untimed runs per command first (default 1; 0 with --quick)")
    ap.add_argument("--allow-extra", action="store_true",
                    help="do not fail on findings that are neither planted keys nor placeholders")
    ap.add_argument("--head-only-history", action="store_true",
                    help="do not require history keys that only unmerged branches reach")
    a = ap.parse_args(argv)

    runs = a.runs or (1 if a.quick else 5)
    scale = a.scale if a.scale is not None else (0.02 if a.quick else 1.0)
    workdir = os.path.abspath(a.workdir or os.path.join(ROOT, "target", "bench", "quick" if a.quick else ""))
    default_modes = "tree,history,staged" if a.quick else "tree,history,staged,real-tree,real-history"
    modes = [m.strip() for m in (a.modes or default_modes).split(",") if m.strip()]
    unknown = set(modes) - {"tree", "history", "staged", "real-tree", "real-history"}
    if unknown:
        die(f"unknown mode(s): {', '.join(sorted(unknown))}")
    keyscan = os.path.abspath(a.keyscan or os.path.join(ROOT, "target", "release", "keyscan"))
    os.makedirs(workdir, exist_ok=True)
    t_start = time.time()

    # ---- tools ------------------------------------------------------------
    if not a.baselines_only and not a.no_build:
        log("cargo build --release")
        r = subprocess.run(["cargo", "build", "--release"], cwd=ROOT)
        if r.returncode != 0:
            die("cargo build --release failed")
    if not a.baselines_only and not os.access(keyscan, os.X_OK):
        die(f"keyscan binary not found at {keyscan} (build failed? use --baselines-only for rg/git only)")
    rg = find_rg() if ("tree" in modes or "real-tree" in modes) else None
    time_bin = find_time()
    info = machine_info()
    info["rg"] = tool_version([rg, "--version"]) if rg else None
    if not a.baselines_only:
        info["keyscan"] = tool_version([keyscan, "--version"])
        info["keyscan_binary"] = keyscan
    log(f"machine: {info}")

    # ---- corpora ----------------------------------------------------------
    tree = os.path.join(workdir, "tree")
    hist = os.path.join(workdir, "history")
    staged_repo = os.path.join(workdir, "staged-repo")
    tree_m = hist_m = None
    if "tree" in modes or "staged" in modes:
        tree_m = ensure_corpus("gen_corpus.py", tree, a.seed, scale)
        # A scanned project is a repository of its own. Without this, git would
        # answer ignore questions from the enclosing checkout (whose .gitignore
        # ignores target/), and keyscan would rightly call the planted
        # .env.production files "ignored". No commit: the files stay untracked.
        if not os.path.isdir(os.path.join(tree, ".git")):
            sh(["git", "init", "-q", tree])
    if "history" in modes:
        hist_m = ensure_corpus("gen_history.py", hist, a.seed, scale)
    staged_expected = None
    if "staged" in modes:
        ensure_staged_repo(tree, tree_m, staged_repo)
        staged_expected, staged_files = stage_change(staged_repo, tree_m, a.seed)

    # ---- warm the page cache ----------------------------------------------
    t0 = time.time()
    if tree_m:
        warm(tree)
    if hist_m:
        warm(os.path.join(hist, ".git"))
    if staged_expected is not None:
        warm(os.path.join(staged_repo, ".git"))
    real_tree_m = real_hist_m = None
    real_tree = os.path.join(workdir, "real", "tree")
    real_hist = os.path.join(workdir, "real", "history.git")
    try:
        if "real-tree" in modes:
            real_tree_m = bench_real.ensure_real_tree(workdir, a.seed, log)
            warm(real_tree)
        if "real-history" in modes:
            real_hist_m = bench_real.ensure_real_history(workdir, a.seed, log)
            warm(real_hist)
            for alt in open(os.path.join(real_hist, "objects", "info", "alternates")).read().split():
                warm(os.path.join(alt, "pack"))
    except bench_real.RealCorpusError as e:
        die(f"real corpus: {e}")
    log(f"page cache warmed in {time.time() - t0:.1f}s")

    tmp = tempfile.mkdtemp(prefix="keyscan-bench-")
    runner = Runner(time_bin, tmp)
    results = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": info,
               "seed": a.seed, "scale": scale, "runs": runs, "quick": a.quick, "modes": {}}
    recall_ok = True
    recall_lines = []
    warmups = a.warmups if a.warmups is not None else (0 if a.quick else 1)

    def bench_pair(label, cmds, check=None):
        """cmds: {name: (argv, cwd, ok_codes, capture)}; interleaved runs; returns {name: {...}}."""
        res = {n: {"secs": [], "cpu_s": [], "rss_kib": [], "exit": []} for n in cmds}
        load_before = os.getloadavg()
        for i in range(warmups + runs):
            for n, (cmd, cwd, ok, capture) in cmds.items():
                outp = os.path.join(tmp, f"{label}-{n}.out") if capture else None
                s, rss, rc, cpu = runner.run(cmd, cwd, ok, outp, f"{label}/{n}")
                if check and capture:
                    check(n, outp, i)
                if i >= warmups:
                    res[n]["secs"].append(s)
                    res[n]["cpu_s"].append(cpu)
                    res[n]["rss_kib"].append(rss)
                    res[n]["exit"].append(rc)
                    log(f"{label:12} {n:8} run {i - warmups + 1}/{runs}: {s:8.3f}s  cpu {cpu:7.3f}s  "
                        f"{rss / 1024:7.1f} MiB  load {os.getloadavg()[0]:.1f}")
                else:
                    log(f"{label:12} {n:8} warm-up:  {s:8.3f}s")
        load_after = os.getloadavg()
        for n in res:
            res[n]["median_s"] = med(res[n]["secs"])
            res[n]["min_s"] = min(res[n]["secs"]) if res[n]["secs"] else float("nan")
            res[n]["median_cpu_s"] = med(res[n]["cpu_s"])
            res[n]["min_cpu_s"] = min(res[n]["cpu_s"]) if res[n]["cpu_s"] else float("nan")
            res[n]["median_rss_mib"] = med(res[n]["rss_kib"]) / 1024
            res[n]["max_rss_mib"] = max(res[n]["rss_kib"], default=0) / 1024
        return res, {"before": load_before, "after": load_after}

    def make_check(mode, root, planted, placeholders, required=lambda k: True, allow_extra=False):
        state = {}

        def check(name, outp, i):
            nonlocal recall_ok
            ok, lines, summ = check_recall(mode, outp, root, planted, placeholders, allow_extra, required)
            if i == 0 or not ok:
                state["summary"] = summ
                if not state.get("reported"):
                    for ln in lines:
                        recall_lines.append(ln)
                    state["reported"] = True
            if not ok:
                recall_ok = False
                keep = os.path.join(workdir, f"failed-{mode}.json")
                shutil.copy(outp, keep)
        return check, state

    failures = []

    def guarded(fn):
        try:
            fn()
        except CommandFailed as e:
            failures.append(str(e))
            log(f"ERROR: {e}")

    def tree_mode(label, root, m):
        cmds = {}
        if not a.baselines_only:
            cmds["keyscan"] = ([keyscan, "--format", "json", root], workdir, (0, 1), True)
        cmds["rg"] = ([rg] + RG_ARGS + [root], workdir, (0, 1), False)
        cmds["rg --hidden"] = ([rg] + RG_IGNORE_ARGS + [root], workdir, (0, 1, 2), False)
        # Real code holds findings nobody planted (the regression corpus's own
        # plants, real false positives): counted and listed, not a failure here;
        # precision on real code is scripts/corpus_eval.py's job.
        check, st = make_check(label, root, m["planted"], m["placeholders"],
                               allow_extra=a.allow_extra or label == "real-tree")
        r, load = bench_pair(label, cmds, check)
        mb = m["bytes"] / 1e6
        for n in r:
            r[n]["files_per_s"] = m["files"] / r[n]["median_s"]
            r[n]["mb_per_s"] = mb / r[n]["median_s"]
        out = {"corpus": {"files": m["files"], "bytes": m["bytes"], "package_json": m.get("package_json")},
               "commands": r, "load": load, "recall": st.get("summary")}
        if "keyscan" in r:
            out["ratio_keyscan_over_rg"] = r["keyscan"]["median_s"] / r["rg"]["median_s"]
            out["ratio_keyscan_over_rg_min"] = r["keyscan"]["min_s"] / r["rg"]["min_s"]
            out["cpu_ratio_keyscan_over_rg"] = r["keyscan"]["median_cpu_s"] / r["rg"]["median_cpu_s"]
            out["ratio_keyscan_over_rg_hidden"] = r["keyscan"]["median_s"] / r["rg --hidden"]["median_s"]
        results["modes"][label] = out

    def history_mode(label, repo, m):
        cmds = {}
        if not a.baselines_only:
            cmds["keyscan"] = ([keyscan, "--history", "--format", "json"], repo, (0, 1), True)
        cmds["git"] = (["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"], repo, (0,), False)
        required = (lambda k: k["reachable_from_head"]) if a.head_only_history else (lambda k: True)
        check, st = make_check(label, repo, m["planted"], m["placeholders"], required,
                               allow_extra=a.allow_extra or label == "real-history")
        r, load = bench_pair(label, cmds, check)
        for n in r:
            r[n]["blobs_per_s"] = m["blobs"] / r[n]["median_s"]
        out = {"corpus": {"commits": m["commits"], "blobs": m["blobs"]}, "commands": r, "load": load,
               "recall": st.get("summary")}
        if "keyscan" in r:
            out["ratio_keyscan_over_git"] = r["keyscan"]["median_s"] / r["git"]["median_s"]
            out["ratio_keyscan_over_git_min"] = r["keyscan"]["min_s"] / r["git"]["min_s"]
            out["cpu_ratio_keyscan_over_git"] = r["keyscan"]["median_cpu_s"] / r["git"]["median_cpu_s"]
        results["modes"][label] = out

    def mode_staged():
        cmds = {}
        if not a.baselines_only:
            cmds["keyscan"] = ([keyscan, "--staged", "--format", "json"], staged_repo, (0, 1), True)
        # baseline: git listing what is staged (the same work: HEAD vs the index)
        cmds["git"] = (["git", "diff", "--cached", "--name-only", "--no-ext-diff", "--no-color"], staged_repo,
                       (0,), False)
        check, st = make_check("staged", staged_repo, staged_expected, [])
        r, load = bench_pair("staged", cmds, check)
        out = {"repo_files": tree_m["files"], "staged_files": 5, "commands": r, "load": load,
               "recall": st.get("summary")}
        if "keyscan" in r:
            out["ratio_keyscan_over_git"] = r["keyscan"]["median_s"] / r["git"]["median_s"]
        results["modes"]["staged"] = out

    for name, fn in (("tree", lambda: tree_mode("tree", tree, tree_m)),
                     ("history", lambda: history_mode("history", hist, hist_m)),
                     ("staged", mode_staged),
                     ("real-tree", lambda: tree_mode("real-tree", real_tree, real_tree_m)),
                     ("real-history", lambda: history_mode("real-history", real_hist, real_hist_m))):
        if name in modes:
            guarded(fn)
    if "staged" in modes:
        sh(["git", "reset", "-q", "--hard", "HEAD"], cwd=staged_repo)
    results["command_failures"] = failures

    # ---- report -----------------------------------------------------------------
    results["recall_ok"] = recall_ok
    results["wall_s"] = time.time() - t_start
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    res_path = os.path.join(workdir, f"results-{stamp}.json")
    with open(res_path, "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    print(render(results))
    print(f"\nresults: {res_path}  (total {results['wall_s']:.0f}s)")
    if recall_lines:
        print("\n".join(recall_lines))
    if failures:
        print("\n" + "!" * 72 + "\n!! COMMAND(S) FAILED:\n" + "\n".join("!! " + f.splitlines()[0] for f in failures)
              + "\n" + "!" * 72, file=sys.stderr)
        sys.exit(2)
    if not recall_ok:
        print("\n" + "!" * 72 + "\n!! RECALL CHECK FAILED — these timings are not a result.\n"
              f"!! keyscan's JSON kept under {workdir}/failed-<mode>.json\n" + "!" * 72, file=sys.stderr)
        sys.exit(1)
    if not a.baselines_only:
        print("\nrecall: OK (every planted key reported, no placeholder reported)")


def render(res):
    L = []
    m = res["machine"]
    L.append(f"keyscan benchmark — seed {res['seed']}, scale {res['scale']}, {res['runs']} run(s): "
             "median and minimum wall time, median CPU (user + system), median peak RSS")
    L.append(f"machine: {m['cores']} cores ({m['cpu']}), {m['memory']}, kernel {m['kernel']}, {m['rustc']}")

    def load(x):
        return " / ".join(f"{v:.1f}" for v in x)

    def table(title, rows, ratio_of, extra=lambda r: ""):
        L.append("")
        L.append(f"{title}")
        L.append("| command | median | min | CPU (median) | throughput | peak RSS | ratio median / min / CPU |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, r in rows.items():
            ratio = ratio_of(n)
            L.append(f"| {n} | {r['median_s']:.3f} s | {r['min_s']:.3f} s | {r['median_cpu_s']:.2f} s | "
                     f"{extra(r)} | {r['median_rss_mib']:.0f} MiB | {ratio} |")

    for label in ("tree", "real-tree"):
        t = res["modes"].get(label)
        if not t:
            continue
        c = t["corpus"]
        pj = f", {c['package_json']} package.json" if c.get("package_json") else ""
        base = t["commands"].get("rg")

        def ratio(n, t=t, base=base):
            if n == "rg" or base is None:
                return ""
            r = t["commands"][n]
            return (f"{r['median_s'] / base['median_s']:.2f}× / {r['min_s'] / base['min_s']:.2f}× / "
                    f"{r['median_cpu_s'] / base['median_cpu_s']:.2f}× rg")
        table(f"{label}: {c['files']:,} files, {c['bytes'] / 2**30:.2f} GiB{pj}; load average "
              f"{load(t['load']['before'])} before, {load(t['load']['after'])} after",
              t["commands"], ratio,
              lambda r: f"{r['files_per_s']:,.0f} files/s, {r['mb_per_s']:,.0f} MB/s")
    for label in ("history", "real-history"):
        h = res["modes"].get(label)
        if not h:
            continue
        c = h["corpus"]
        base = h["commands"].get("git")

        def ratio(n, h=h, base=base):
            if n != "keyscan" or base is None:
                return ""
            r = h["commands"]["keyscan"]
            return (f"{r['median_s'] / base['median_s']:.2f}× / {r['min_s'] / base['min_s']:.2f}× / "
                    f"{r['median_cpu_s'] / base['median_cpu_s']:.2f}× git")
        table(f"{label}: {c['commits']:,} commits, {c['blobs']:,} blobs; load average "
              f"{load(h['load']['before'])} before, {load(h['load']['after'])} after",
              h["commands"], ratio, lambda r: f"{r['blobs_per_s']:,.0f} blobs/s")
    s = res["modes"].get("staged")
    if s:
        base = s["commands"].get("git")

        def ratio(n, s=s, base=base):
            if n != "keyscan" or base is None:
                return ""
            r = s["commands"]["keyscan"]
            return (f"{r['median_s'] / base['median_s']:.2f}× / {r['min_s'] / base['min_s']:.2f}× / "
                    f"{r['median_cpu_s'] / base['median_cpu_s']:.2f}× git")
        table(f"staged: {s['repo_files']:,}-file repository, 5 files staged (git = git diff --cached --name-only); "
              f"load average {load(s['load']['before'])} before, {load(s['load']['after'])} after",
              s["commands"], ratio)
    for mode in ("tree", "history", "staged", "real-tree", "real-history"):
        rc = (res["modes"].get(mode) or {}).get("recall")
        if rc:
            ks = rc.get("keyscan_summary") or {}
            L.append(f"recall {mode}: {rc['found']}/{rc['planted']} planted found, {rc['placeholders_reported']} "
                     f"placeholders reported, {rc['unexpected']} unexpected; {rc['findings']} findings; "
                     f"keyscan summary: files_scanned={ks.get('files_scanned')} bytes_scanned={ks.get('bytes_scanned')} "
                     f"skipped={ks.get('files_skipped')} errors={len(ks.get('errors') or [])} "
                     f"placeholders_ignored={ks.get('placeholders_ignored')} duration_ms={ks.get('duration_ms')}")
    return "\n".join(L)


if __name__ == "__main__":
    main()
