#!/usr/bin/env python3
"""A slow, naive stand-in for keyscan's CLI, used only to validate the benchmark harness.

    scripts/bench.sh --quick --no-build --keyscan scripts/naive_scanner.py

It implements just enough of keyscan's JSON contract (`--format json DIR`,
`--history`, `--staged`) with plain regexes and the placeholder rules of
rules/placeholders.toml, so the recall check can be exercised end to end before
(or independently of) the real binary. It is not a baseline for speed: use it
at --quick scale only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

RULES = [
    ("miniback-api-key", "miniback", "mbk_", re.compile(rb"(?<![A-Za-z0-9_])mbk_([a-z0-9]{20})(?![A-Za-z0-9_])")),
    ("urbackend-secret-key", "urbackend", "sk_live_",
     re.compile(rb"(?<![A-Za-z0-9_-])sk_live_([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])")),
    ("urbackend-publishable-key", "urbackend", "pk_live_",
     re.compile(rb"(?<![A-Za-z0-9_-])pk_live_([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])")),
    ("stripe-secret-key", "stripe", "sk_live_", re.compile(rb"(?<![A-Za-z0-9_])sk_live_([A-Za-z0-9]{99})(?![A-Za-z0-9])")),
]
PREFIX = re.compile(rb"mbk_|sk_live_|pk_live_")
STOPWORDS = ["your", "example", "placeholder", "xxxx", "changeme", "change_me", "dummy", "sample", "insert",
             "replace", "redacted", "here", "token", "secret", "apikey", "api_key", "todo", "fixme"]
KNOWN_EXAMPLES = {"1a2b3c4d5e6f7g8h9i0j"}


def placeholder(body: str) -> bool:
    low = body.lower()
    if body in KNOWN_EXAMPLES or any(s in low for s in STOPWORDS):
        return True
    n = len(body)
    ent = -sum(c / n * math.log2(c / n) for c in (body.count(ch) for ch in set(body)))
    if ent < 3.0:
        return True
    up = down = 1
    for a, b in zip(body, body[1:]):
        up = up + 1 if ord(b) == ord(a) + 1 else 1
        down = down + 1 if ord(b) == ord(a) - 1 else 1
        if up >= 6 or down >= 6:
            return True
    classes = any(c.islower() for c in body) + any(c.isupper() for c in body) + any(c.isdigit() for c in body)
    return classes < 2


def scan_bytes(data: bytes, path: str, commit=None):
    out = []
    if b"\x00" in data[:8192]:
        return out, True
    if not PREFIX.search(data):
        return out, False
    for rule_id, provider, prefix, rx in RULES:
        for m in rx.finditer(data):
            body = m.group(1).decode()
            if placeholder(body):
                continue
            start = m.start()
            line = data.count(b"\n", 0, start) + 1
            col = start - (data.rfind(b"\n", 0, start) + 1) + 1
            out.append({"rule_id": rule_id, "provider": provider, "severity": "high", "context": "unknown",
                        "path": path, "line": line, "column": col,
                        "secret_redacted": prefix + body[:4] + "\u2026" + body[-2:], "fingerprint": "",
                        "message": "", "rotation_url": "", "remediation": "", "commit": commit})
    return out, False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--format", default="json")
    ap.add_argument("--history", action="store_true")
    ap.add_argument("--staged", action="store_true")
    ap.add_argument("path", nargs="?", default=".")
    a = ap.parse_args()
    t0 = time.time()
    findings, nfiles, nbytes, nbin = [], 0, 0, 0
    if a.history or a.staged:
        if a.history:
            lines = subprocess.run(["git", "rev-list", "--all", "--objects"], capture_output=True, text=True,
                                   check=True).stdout.splitlines()
            types = dict(ln.split() for ln in subprocess.run(
                ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"],
                capture_output=True, text=True, check=True).stdout.splitlines())
            todo = [(ln.split(" ", 1)[0], ln.split(" ", 1)[1]) for ln in lines
                    if " " in ln and types.get(ln.split(" ", 1)[0]) == "blob"]
        else:
            names = subprocess.run(["git", "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"],
                                   capture_output=True, check=True).stdout.decode().split("\0")
            todo = [(":" + n, n) for n in names if n]
        p = subprocess.Popen(["git", "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for oid, path in todo:
            p.stdin.write(oid.encode() + b"\n")
            p.stdin.flush()
            hdr = p.stdout.readline().split()
            size = int(hdr[2])
            data = p.stdout.read(size)
            p.stdout.read(1)
            fs, binary = scan_bytes(data, path, {"id": oid} if a.history else None)
            findings += fs
            nfiles += 1
            nbytes += size
            nbin += binary
        p.stdin.close()
        p.wait()
    else:
        root = a.path
        for dp, dn, fn in os.walk(root):
            dn[:] = [d for d in dn if d != ".git"]
            for name in fn:
                full = os.path.join(dp, name)
                with open(full, "rb") as f:
                    data = f.read()
                fs, binary = scan_bytes(data, os.path.relpath(full, root).replace(os.sep, "/"))
                findings += fs
                nfiles += 1
                nbytes += len(data)
                nbin += binary
    doc = {"version": 1, "findings": findings,
           "summary": {"files_scanned": nfiles, "bytes_scanned": nbytes, "files_skipped": {"binary": nbin},
                       "errors": [], "findings_by_severity": {"high": len(findings)},
                       "duration_ms": int((time.time() - t0) * 1000)}}
    json.dump(doc, sys.stdout, ensure_ascii=False)
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
