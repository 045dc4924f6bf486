#!/usr/bin/env python3
"""Score a keyscan binary against the real-code corpus (stdlib only).

    scripts/corpus.sh                       # build target/corpus/ first
    python3 scripts/corpus_eval.py          # score target/release/keyscan
    python3 scripts/corpus_eval.py --keyscan PATH --corpus DIR [ENTRY ...]
    python3 scripts/corpus_eval.py --report-only   # always exit 0
    python3 scripts/corpus_eval.py --json OUT.json # machine-readable result

Runs `keyscan ENTRY --format json` on every entry of corpus/manifest.toml (and
`keyscan --history ENTRY.git --format json` for history entries), matches the
findings against corpus/expectations.toml and target/corpus/plants.json, and
prints per entry: true positives (MUST findings reported), false negatives
(MUST findings missing), false positives (MUST NOT findings, duplicates and
unexpected findings), tolerated findings, and every context/severity mismatch.

Exit status: 1 when a MUST expectation fails (a missing finding, a wrong
context or severity, a MUST NOT finding), 0 otherwise or with --report-only,
2 when the corpus or the binary is missing.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SEVERITIES = ["info", "low", "medium", "high", "critical"]


def sev_rank(s: str | None) -> int:
    try:
        return SEVERITIES.index((s or "").lower())
    except ValueError:
        return len(SEVERITIES)  # unknown severities count as worse than critical


def as_list(v) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def glob_match(patterns, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def path_match(pattern: str, path: str) -> bool:
    if pattern in ("**", "*"):
        return True
    if fnmatch.fnmatchcase(path, pattern):
        return True
    # "**/x/**" also matches "x/..." at the root; "a/**" matches "a/b/c"
    if pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]):
        return True
    return False


# --------------------------------------------------------------- findings

def norm_finding(raw: dict, scan: str) -> dict:
    """Tolerant view of one JSON finding: today's flat shape (path, line) or a
    nested location object; unknown fields are kept but ignored."""
    loc = raw.get("location") if isinstance(raw.get("location"), dict) else {}
    path = raw.get("path", loc.get("path", "")) or ""
    line = raw.get("line", loc.get("line", 0))
    try:
        line = int(line or 0)
    except (TypeError, ValueError):
        line = 0
    return {
        "rule": str(raw.get("rule_id") or raw.get("rule") or "?"),
        "severity": str(raw.get("severity") or "?").lower(),
        "context": str(raw.get("context") or "?"),
        "path": path.replace("\\", "/").lstrip("./") if path.startswith("./") else path.replace("\\", "/"),
        "line": line,
        "origin": raw.get("origin"),
        "redacted": raw.get("secret_redacted"),
        "scan": scan,
        "raw": raw,
    }


def run_keyscan(binary: str, args: list[str], timeout: int) -> tuple[dict | None, str, float]:
    t0 = time.monotonic()
    try:
        r = subprocess.run([binary, *args, "--format", "json", "--color", "never"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout}s", time.monotonic() - t0
    dt = time.monotonic() - t0
    if r.returncode not in (0, 1):
        return None, f"exit {r.returncode}: {r.stderr.decode(errors='replace').strip()[:400]}", dt
    try:
        doc = json.loads(r.stdout.decode("utf-8", "replace"))
    except json.JSONDecodeError as e:
        return None, f"unparsable JSON: {e}", dt
    if not isinstance(doc, dict):
        return None, "JSON is not an object", dt
    return doc, "", dt


# ----------------------------------------------------------- expectations

def resolve_expectations(entry_exp: dict, defaults: dict, plants: list[dict], name: str, errors: list[str]):
    by_id = {p["id"]: p for p in plants}
    musts, must_nots, mays = [], [], []
    for i, m in enumerate(entry_exp.get("must", [])):
        m = dict(m)
        if "plant" in m:
            p = by_id.get(m["plant"])
            if p is None:
                errors.append(f"{name}: must #{i + 1} names plant {m['plant']!r}, which the corpus build did not record")
                continue
            m.setdefault("path", p["path"])
            if "line" not in m:
                m["line"] = p.get("line")
            if p.get("history"):
                m.setdefault("scan", "history")
        m.setdefault("scan", "tree")
        m["label"] = m.get("plant") or f"{m.get('path')}:{m.get('line')}"
        musts.append(m)

    def rule_set(lst, kind):
        out = []
        for r in lst:
            r = dict(r)
            if "plant" in r:
                p = by_id.get(r["plant"])
                if p is None:
                    errors.append(f"{name}: {kind} names plant {r['plant']!r}, which the corpus build did not record")
                    continue
                r["path"] = p["path"]
                r["lines"] = p.get("lines") or [p.get("line"), p.get("line")]
            r.setdefault("path", "**")
            r.setdefault("rule", "*")
            out.append(r)
        return out

    must_nots = rule_set(entry_exp.get("must_not", []), "must_not") + rule_set(defaults.get("must_not", []), "must_not")
    mays = rule_set(entry_exp.get("may", []), "may") + rule_set(defaults.get("may", []), "may")
    return musts, must_nots, mays


def matches_must(m: dict, f: dict) -> bool:
    if f["scan"] != m.get("scan", "tree"):
        return False
    if f["path"] != m.get("path"):
        return False
    if m.get("line") is not None and f["line"] != m["line"]:
        return False
    if not glob_match(as_list(m.get("rule", "*")), f["rule"]):
        return False
    if glob_match(as_list(m.get("not_rule")), f["rule"]):
        return False
    return True


def same_place(m: dict, f: dict) -> bool:
    """A finding of the must's key at the must's place, whatever its rule."""
    return (f["scan"] == m.get("scan", "tree") and f["path"] == m.get("path")
            and m.get("line") is not None and f["line"] == m["line"] and f["line"] != 0)


def matches_rule(r: dict, f: dict) -> bool:
    if not path_match(r["path"], f["path"]) and not (r["path"] == f["path"]):
        return False
    if "lines" in r and r["lines"] and r["lines"][0] is not None:
        lo, hi = r["lines"]
        if not (lo <= f["line"] <= hi):
            return False
    if not glob_match(as_list(r["rule"]), f["rule"]):
        return False
    return True


def judge_entry(name: str, findings: list[dict], musts, must_nots, mays):
    res = {"tp": [], "fn": [], "fp_must_not": [], "fp_dup": [], "fp_unexpected": [],
           "tolerated": [], "mismatch": []}
    used = set()
    # 1. every must takes its best finding (exact context/severity first)
    for m in musts:
        cands = [i for i, f in enumerate(findings) if i not in used and matches_must(m, f)]
        def score(i):
            f = findings[i]
            ok_ctx = "context" not in m or f["context"] in as_list(m["context"])
            ok_sev = "severity" not in m or f["severity"] == m["severity"]
            return (ok_ctx and ok_sev, ok_sev, ok_ctx)
        cands.sort(key=score, reverse=True)
        if not cands:
            res["fn"].append(m)
            continue
        i = cands[0]
        used.add(i)
        f = findings[i]
        res["tp"].append((m, f))
        problems = []
        if "context" in m and f["context"] not in as_list(m["context"]):
            problems.append(f"context {f['context']} (want {'/'.join(as_list(m['context']))})")
        if "severity" in m and f["severity"] != m["severity"]:
            problems.append(f"severity {f['severity']} (want {m['severity']})")
        if problems:
            res["mismatch"].append((m, f, problems))
    # 2. other findings at a must's place: duplicates of that key
    for i, f in enumerate(findings):
        if i in used:
            continue
        if any(same_place(m, f) for m in musts):
            used.add(i)
            res["fp_dup"].append(f)
    # 3. the rest: must_not, may, or unexpected
    for i, f in enumerate(findings):
        if i in used:
            continue
        hit = next((r for r in must_nots if matches_rule(r, f)), None)
        if hit is not None:
            if "max_severity" in hit and sev_rank(f["severity"]) <= sev_rank(hit["max_severity"]):
                res["tolerated"].append((f, hit))
            else:
                res["fp_must_not"].append((f, hit))
            continue
        hit = next((r for r in mays if matches_rule(r, f)), None)
        if hit is not None and ("max_severity" not in hit or sev_rank(f["severity"]) <= sev_rank(hit["max_severity"])):
            res["tolerated"].append((f, hit))
            continue
        res["fp_unexpected"].append(f)
    return res


def fmt_f(f: dict) -> str:
    where = f"{f['path']}:{f['line']}"
    if f["scan"] == "history":
        where = "history " + where
    return f"{f['rule']} {f['context']}/{f['severity']} at {where}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keyscan", default=str(REPO_ROOT / "target" / "release" / "keyscan"))
    ap.add_argument("--corpus", default=str(REPO_ROOT / "target" / "corpus"))
    ap.add_argument("--manifest", default=str(REPO_ROOT / "corpus" / "manifest.toml"))
    ap.add_argument("--expectations", default=str(REPO_ROOT / "corpus" / "expectations.toml"))
    ap.add_argument("--report-only", action="store_true", help="always exit 0")
    ap.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per keyscan run")
    ap.add_argument("--brief", action="store_true", help="table and totals only")
    ap.add_argument("--full", action="store_true", help="list every false positive, ungrouped")
    ap.add_argument("--extra-args", default="", help="extra arguments for every keyscan run (space-separated)")
    ap.add_argument("only", nargs="*", help="score only these entries")
    a = ap.parse_args()

    corpus = Path(a.corpus)
    if not Path(a.keyscan).is_file():
        print(f"corpus_eval: no keyscan binary at {a.keyscan} (cargo build --release)", file=sys.stderr)
        return 2
    manifest = tomllib.loads(Path(a.manifest).read_text())
    exp = tomllib.loads(Path(a.expectations).read_text())
    plants_file = corpus / "plants.json"
    if not plants_file.is_file():
        print(f"corpus_eval: {plants_file} is missing: run scripts/corpus.sh first", file=sys.stderr)
        return 2
    plants_all = json.loads(plants_file.read_text())
    defaults = exp.get("default", {})
    exp_by_name = {e["name"]: e for e in exp.get("entry", [])}
    entries = [e for e in manifest.get("entry", []) if not a.only or e["name"] in a.only]
    errors: list[str] = []
    extra = a.extra_args.split()

    rows = []
    details = []
    totals = {k: 0 for k in ("tp", "fn", "fp", "tol", "mis", "must_fail")}
    result_json = {"keyscan": a.keyscan, "entries": {}}
    for e in entries:
        name = e["name"]
        root = corpus / name
        if not root.is_dir():
            errors.append(f"{name}: not built ({root} missing): run scripts/corpus.sh {name}")
            rows.append((name, "not built", "", "", "", "", "", ""))
            totals["must_fail"] += 1
            continue
        findings: list[dict] = []
        secs = 0.0
        runs = [("tree", [str(root)])]
        if e.get("history"):
            runs.append(("history", ["--history", str(corpus / f"{name}.git")]))
        failed_run = False
        files = 0
        for scan, args in runs:
            doc, err, dt = run_keyscan(a.keyscan, args + extra, a.timeout)
            secs += dt
            if doc is None:
                errors.append(f"{name} ({scan}): keyscan failed: {err}")
                failed_run = True
                continue
            files += int((doc.get("summary") or {}).get("files_scanned") or 0) if scan == "tree" else 0
            for raw in doc.get("findings") or []:
                if isinstance(raw, dict):
                    findings.append(norm_finding(raw, scan))
        musts, must_nots, mays = resolve_expectations(exp_by_name.get(name, {}), defaults,
                                                      plants_all.get(name, []), name, errors)
        res = judge_entry(name, findings, musts, must_nots, mays)
        tp, fn = len(res["tp"]), len(res["fn"])
        fp = len(res["fp_must_not"]) + len(res["fp_dup"]) + len(res["fp_unexpected"])
        mis = len(res["mismatch"])
        must_fail = fn + mis + len(res["fp_must_not"]) + len(res["fp_dup"]) + (1 if failed_run else 0)
        totals["tp"] += tp
        totals["fn"] += fn
        totals["fp"] += fp
        totals["tol"] += len(res["tolerated"])
        totals["mis"] += mis
        totals["must_fail"] += must_fail
        rows.append((name, str(len(findings)), str(tp), str(fn), str(fp), str(len(res["tolerated"])),
                     str(mis), f"{secs:.2f}s"))
        details.append((name, res))
        result_json["entries"][name] = {
            "findings": len(findings), "tp": tp, "fn": fn, "fp": fp, "tolerated": len(res["tolerated"]),
            "mismatch": mis, "seconds": round(secs, 3), "files_scanned": files,
            "false_negatives": [m["label"] for m in res["fn"]],
            "mismatches": [{"expect": m["label"], "got": fmt_f(f), "problems": p} for m, f, p in res["mismatch"]],
            "false_positives": [fmt_f(f) for f, _ in res["fp_must_not"]] + [fmt_f(f) + " (duplicate)" for f in res["fp_dup"]]
                               + [fmt_f(f) + " (unexpected)" for f in res["fp_unexpected"]],
        }

    hdr = ("entry", "findings", "TP", "FN", "FP", "tolerated", "ctx/sev wrong", "time")
    widths = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(hdr, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print("-" * len(line))
    tp, fn, fp = totals["tp"], totals["fn"], totals["fp"]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    exact = tp - totals["mis"]
    print(f"precision {precision:.1%} ({tp} TP / {tp + fp} reported and judged)   "
          f"recall {recall:.1%} ({tp} of {tp + fn} MUST findings)   "
          f"right context and severity: {exact} of {tp + fn}   tolerated: {totals['tol']}")
    result_json.update(precision=precision, recall=recall, tp=tp, fn=fn, fp=fp,
                       exact=exact, mismatch=totals["mis"], must_failures=totals["must_fail"])

    if not a.brief:
        for name, res in details:
            lines = []
            for m in res["fn"]:
                why = f"  -- {m['why']}" if m.get("why") else ""
                lines.append(f"  FN  {m['label']}: want {'/'.join(as_list(m.get('rule')))} "
                             f"{'/'.join(as_list(m.get('context', '*')))}/{m.get('severity', '*')} at "
                             f"{'history ' if m.get('scan') == 'history' else ''}{m.get('path')}:{m.get('line')}{why}")
            for m, f, probs in res["mismatch"]:
                why = f"  -- {m['why']}" if m.get("why") else ""
                lines.append(f"  CTX {m['label']}: {fmt_f(f)}: {', '.join(probs)}{why}")
            for f in res["fp_dup"]:
                lines.append(f"  FP  {fmt_f(f)}  -- a second finding at a MUST key's place (same key twice, or a competing rule)")
            # false positives of one kind are grouped: rule, judgement and reason
            groups: dict = {}
            for f, r in res["fp_must_not"]:
                groups.setdefault(("FP ", f["rule"], f["context"], f["severity"], "must not: " + r.get("why", "")), []).append(f)
            for f in res["fp_unexpected"]:
                groups.setdefault(("FP?", f["rule"], f["context"], f["severity"],
                                   "unexpected (classify it in expectations.toml)"), []).append(f)
            for (tag, rule, ctx, sev, why), fs in groups.items():
                if len(fs) <= 3 and not a.full:
                    for f in fs:
                        red = f" [{f['redacted']}]" if f.get("redacted") else ""
                        lines.append(f"  {tag} {fmt_f(f)}{red}  -- {why}")
                else:
                    files = sorted({f["path"] for f in fs})
                    lines.append(f"  {tag} {len(fs)} x {rule} {ctx}/{sev} in {len(files)} files  -- {why}")
                    for f in (fs if a.full else fs[:3]):
                        red = f" [{f['redacted']}]" if f.get("redacted") else ""
                        lines.append(f"        e.g. {f['path']}:{f['line']}{red}")
            if lines:
                print(f"\n{name}:")
                for ln in lines:
                    print(ln)

    if errors:
        print("\nerrors:")
        for err in errors:
            print(f"  {err}")
    if a.json:
        Path(a.json).write_text(json.dumps(result_json, indent=1))
    failing = totals["must_fail"] + len(errors)
    print(f"\n{failing} MUST expectation(s) failing" + (" (--report-only: exit 0)" if a.report_only and failing else ""))
    if a.report_only:
        return 0
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
