#!/usr/bin/env python3
"""Generate keyscan's deterministic synthetic benchmark corpus (a file tree).

    python3 scripts/gen_corpus.py --seed 42 --out target/bench/tree [--scale 1.0]

scale 1.0 is the full benchmark size (>= 1 GiB in ~100,000 files); 0.02 is a
quick smoke size. The tree mixes source files, Markdown, JSON, minified JS
bundles with multi-megabyte single lines, source maps, binary files with NULs
and three ~100 MB (x scale) files, and plants a known set of fake keys plus
placeholders that must not be reported.

The manifest is written beside the tree, *outside* it:
    <out>/../<basename(out)>.manifest.json
It is written last, so its presence means the tree is complete.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_common import (  # noqa: E402
    GENERATOR_VERSION, PLACEHOLDERS, Pools, WORDS, lognormal_size, make_key,
)

LANGS = ["py", "go", "rs", "ts", "js"]
BIN_KINDS = [(".png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), (".woff2", b"wOF2\x00\x01\x00\x00"),
             (".jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"), (".ico", b"\x00\x00\x01\x00\x01\x00"),
             (".wasm", b"\x00asm\x01\x00\x00\x00")]

# (site, key kind, how many)
PLANT_SITES = [
    ("server", "miniback", 3), ("server", "urbackend-secret", 2), ("server", "stripe", 2),
    ("server", "urbackend-publishable", 1),
    ("bundle", "urbackend-publishable", 3), ("bundle", "miniback", 2), ("bundle", "stripe", 1),
    ("bundle", "urbackend-secret", 1),
    ("bigbundle", "urbackend-publishable", 1),
    ("env", "miniback", 2), ("env", "urbackend-secret", 2), ("env", "stripe", 2),
    ("md", "miniback", 2), ("md", "urbackend-secret", 1), ("md", "stripe", 1),
    ("map", "miniback", 1), ("map", "urbackend-publishable", 1),
    ("json", "miniback", 1), ("json", "stripe", 1),
    ("biglog", "stripe", 1), ("appsrc", "miniback", 1),
]

ENV_NAMES = {"miniback": "MINIBACK_API_KEY", "urbackend-secret": "URBACKEND_SECRET_KEY",
             "urbackend-publishable": "VITE_URBACKEND_PUBLISHABLE_KEY", "stripe": "STRIPE_SECRET_KEY"}


def w(rng):
    return rng.choice(WORDS)


def hexid(rng, n=8):
    return "%0*x" % (n, rng.getrandbits(4 * n))


class Spec:
    __slots__ = ("path", "kind", "size", "plants", "phs", "extra")

    def __init__(self, path, kind, size, extra=None):
        self.path, self.kind, self.size = path, kind, size
        self.plants, self.phs = [], []
        self.extra = extra or {}


def plan(rng: random.Random, scale: float) -> list[Spec]:
    specs: list[Spec] = []
    n_services = max(3, round(400 * scale))
    n_apps = max(2, round(60 * scale))
    n_source = max(200, round(78000 * scale))
    n_md = max(40, round(8000 * scale))
    n_json = max(40, round(9000 * scale))
    n_bin = max(30, round(4500 * scale))

    # --- services -------------------------------------------------------
    services = []
    for s in range(n_services):
        name = f"{w(rng)}-{w(rng)}-{s:03d}"
        lang = LANGS[s % len(LANGS)]
        base = f"services/{name}"
        dirs = []
        for _ in range(rng.randint(4, 14)):
            depth = rng.randint(1, 5)
            dirs.append(base + "/src/" + "/".join(w(rng) for _ in range(depth)))
        services.append((base, lang, dirs))
        specs.append(Spec(f"{base}/README.md", "md", lognormal_size(rng, 2500, 0.6, 300, 40000)))
        specs.append(Spec(f"{base}/config/settings.json", "json", lognormal_size(rng, 1500, 0.6, 200, 20000)))

    # --- web apps -------------------------------------------------------
    apps = []
    for a in range(n_apps):
        name = f"{w(rng)}-app-{a:02d}"
        base = f"web/{name}"
        src_dirs = [base + "/src/" + "/".join(w(rng) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(3, 8))]
        pub_dirs = [base + "/public", base + "/public/assets", base + "/public/fonts"]
        apps.append((base, src_dirs, pub_dirs))
        specs.append(Spec(f"{base}/package.json", "pkgjson", 0, {"name": name}))
        specs.append(Spec(f"{base}/README.md", "md", lognormal_size(rng, 3000, 0.5, 500, 30000)))
        specs.append(Spec(f"{base}/.gitignore", "raw", 0, {"data": b"node_modules/\n.cache/\n*.tsbuildinfo\n"}))
        specs.append(Spec(f"{base}/.env.example", "env", 0))
        specs.append(Spec(f"{base}/.env.production", "env", 0))
        specs.append(Spec(f"{base}/dist/index.html", "raw", 0, {"data": None}))
        for chunk, lo, hi in (("index", 1_500_000, 6_000_000), ("vendor", 500_000, 2_000_000)):
            h = hexid(rng)
            size = rng.randint(lo, hi)
            specs.append(Spec(f"{base}/dist/assets/{chunk}-{h}.js", "bundle", size, {"map": f"{chunk}-{h}.js.map"}))
            specs.append(Spec(f"{base}/dist/assets/{chunk}-{h}.js.map", "map", size // 2, {"file": f"{chunk}-{h}.js"}))
        specs.append(Spec(f"{base}/dist/assets/index-{hexid(rng)}.css", "raw", 0, {"data": None}))

    # --- source files ---------------------------------------------------
    for i in range(n_source):
        if rng.random() < 0.85:
            base, lang, dirs = services[rng.randrange(n_services)]
            d = rng.choice(dirs)
        else:
            base, dirs, _ = apps[rng.randrange(n_apps)]
            d = rng.choice(dirs)
            lang = rng.choice(["ts", "ts", "js"])
            if rng.random() < 0.1:
                lang = "tsx" if lang == "ts" else "jsx"
        fname = f"{w(rng)}_{w(rng)}_{i}" if lang in ("py", "rs", "go") else f"{w(rng)}{w(rng).capitalize()}{i}"
        specs.append(Spec(f"{d}/{fname}.{lang}", "src", lognormal_size(rng, 2500, 0.9, 150, 256_000),
                          {"lang": {"tsx": "ts", "jsx": "js"}.get(lang, lang)}))

    # --- docs -----------------------------------------------------------
    doc_dirs = ["docs/" + "/".join(w(rng) for _ in range(rng.randint(1, 4))) for _ in range(max(5, n_md // 25))]
    for i in range(n_md):
        specs.append(Spec(f"{rng.choice(doc_dirs)}/{w(rng)}-{w(rng)}-{i}.md", "md", lognormal_size(rng, 3000, 0.8, 200, 120_000)))

    # --- json data ------------------------------------------------------
    data_dirs = ["data/" + "/".join(w(rng) for _ in range(rng.randint(1, 3))) for _ in range(max(5, n_json // 40))]
    for i in range(n_json):
        specs.append(Spec(f"{rng.choice(data_dirs)}/{w(rng)}_{i}.json", "json", lognormal_size(rng, 2000, 1.0, 100, 400_000)))

    # --- binaries -------------------------------------------------------
    asset_dirs = ["assets/" + "/".join(w(rng) for _ in range(rng.randint(1, 3))) for _ in range(max(5, n_bin // 60))]
    for i in range(n_bin):
        ext, magic = rng.choice(BIN_KINDS)
        if rng.random() < 0.4:
            d = rng.choice(apps[rng.randrange(n_apps)][2])
        else:
            d = rng.choice(asset_dirs)
        specs.append(Spec(f"{d}/{w(rng)}-{i}{ext}", "bin", lognormal_size(rng, 6000, 1.2, 64, 2_000_000), {"magic": magic}))

    # --- the ~100 MB files ----------------------------------------------
    big = int(100_000_000 * scale)
    specs.append(Spec("web/storefront-monolith/dist/assets/bundle.min.js", "bundle", big, {"map": None, "big": True}))
    specs.append(Spec("web/storefront-monolith/package.json", "pkgjson", 0, {"name": "storefront-monolith"}))
    specs.append(Spec("data/exports/audit-2024.log", "biglog", big))
    specs.append(Spec("assets/media/intro-video.mp4", "bin", big, {"magic": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"}))
    return specs


def assign(rng: random.Random, specs: list[Spec]) -> list[dict]:
    by = {}
    for s in specs:
        by.setdefault(s.kind, []).append(s)
    src = by["src"]
    server_src = [s for s in src if s.path.startswith("services/")]
    app_src = [s for s in src if s.path.startswith("web/")]
    bundles = [s for s in by["bundle"] if not s.extra.get("big")]
    bigbundle = [s for s in by["bundle"] if s.extra.get("big")]
    envprod = [s for s in by["env"] if s.path.endswith(".env.production")]
    envex = [s for s in by["env"] if s.path.endswith(".env.example")]
    mds = by["md"]
    jsons = by["json"]
    maps = by["map"]
    pools = {"server": server_src, "bundle": bundles, "bigbundle": bigbundle, "env": envprod,
             "md": mds, "map": maps, "json": jsons, "biglog": by["biglog"], "appsrc": app_src}
    used = set()
    keys = []
    for site, kind, n in PLANT_SITES:
        for _ in range(n):
            cands = pools[site]
            # prefer files without plants yet, but allow reuse (small scales)
            for _try in range(50):
                t = rng.choice(cands)
                if id(t) not in used:
                    break
            used.add(id(t))
            k = make_key(rng, kind)
            k["site"] = site
            t.plants.append(k)
            keys.append(k)
    # placeholders: never in a file that holds a planted key on the same line;
    # text files only (each placeholder on its own line).
    ph_pools = [mds, envex, server_src, app_src, envprod]
    for ph in PLACEHOLDERS:
        for j in range(3):
            pool = ph_pools[(PLACEHOLDERS.index(ph) + j) % len(ph_pools)]
            if ph == "${MINIBACK_API_KEY}" and j == 0:
                pool = envprod
            t = rng.choice(pool)
            t.phs.append(ph)
    return keys


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------

def key_line(lang: str, k: dict, rng) -> str:
    env = ENV_NAMES[k["kind"]]
    s = k["secret"]
    if lang == "py":
        return f'{env} = "{s}"  # TODO move to vault'
    if lang == "go":
        return f'\t{env[0] + env[1:].lower().replace("_", "")} = "{s}"'
    if lang == "rs":
        return f'const {env}: &str = "{s}";'
    if lang in ("js", "ts"):
        return f"const {env.lower().replace('_', '')} = '{s}';"
    if lang == "md":
        return f"    export {env}={s}"
    if lang == "json":
        return f'  "{env.lower()}": "{s}",'
    if lang == "env":
        return f"{env}={s}"
    raise ValueError(lang)


def ph_line(lang: str, ph: str) -> str:
    if lang == "py":
        return f'API_KEY = os.environ.get("API_KEY", "{ph}")'
    if lang == "go":
        return f'\tapiKey := getenv("API_KEY", "{ph}")'
    if lang == "rs":
        return f'// set API_KEY, e.g. API_KEY="{ph}"'
    if lang in ("js", "ts"):
        return f'const apiKey = process.env.API_KEY || "{ph}"; // replace me'
    if lang == "md":
        return f"Set `API_KEY={ph}` in your environment before running the app."
    if lang == "env":
        return f"MINIBACK_API_KEY={ph}"
    if lang == "json":
        return f'  "apiKeyExample": "{ph}",'
    raise ValueError(lang)


def insert_lines(body: bytes, rng, items: list[tuple[str, object]]):
    """Insert lines at random line boundaries; returns (bytes, [(item, lineno)])."""
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    placed = []
    for text, tag in items:
        pos = rng.randint(0, len(lines))
        lines.insert(pos, text.encode())
        placed.append([tag, pos])
        for p in placed[:-1]:
            if p[1] >= pos:
                p[1] += 1
    return b"\n".join(lines) + b"\n", [(t, p + 1) for t, p in placed]


def gen_text(spec, rng, pools, lang, header=b"", footer=b""):
    body = pools.text_slice(rng, lang, max(0, spec.size - len(header) - len(footer)))
    items = [(key_line(lang, k, rng), ("key", k)) for k in spec.plants]
    items += [(ph_line(lang, ph), ("ph", ph)) for ph in spec.phs]
    body, placed = insert_lines(body, rng, items)
    hl = header.count(b"\n")
    return header + body + footer, [(t, l + hl) for t, l in placed]


def gen_file(spec: Spec, rng: random.Random, pools: Pools):
    k = spec.kind
    placed = []
    if k == "src":
        lang = spec.extra["lang"]
        header = {"py": b'"""Service module."""\nimport os\n\n', "go": b"package main\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n",
                  "rs": b"use std::collections::HashMap;\n\n", "ts": b'import { logger } from "../logger";\n\n',
                  "js": b'"use strict";\nconst logger = require("../logger");\n\n'}[lang]
        data, placed = gen_text(spec, rng, pools, lang, header)
    elif k == "md":
        data, placed = gen_text(spec, rng, pools, "md", b"# " + spec.path.rsplit("/", 1)[-1].encode() + b"\n\n")
    elif k == "json":
        data, placed = gen_text(spec, rng, pools, "json", b"{\n", b'  "_generated": true\n}\n')
    elif k == "env":
        lines = [f"NODE_ENV={'production' if 'production' in spec.path else 'development'}",
                 f"PUBLIC_URL=https://{w(rng)}.example.com", f"LOG_LEVEL={rng.choice(['info', 'warn', 'debug'])}",
                 f"CACHE_TTL={rng.randint(10, 3600)}"]
        items = [(key_line("env", kk, rng), ("key", kk)) for kk in spec.plants]
        items += [(ph_line("env", ph), ("ph", ph)) for ph in spec.phs]
        data, placed = insert_lines(("\n".join(lines) + "\n").encode(), rng, items)
    elif k == "pkgjson":
        data = json.dumps({"name": spec.extra["name"], "version": f"1.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
                           "private": True, "type": "module",
                           "scripts": {"dev": "vite", "build": "vite build", "preview": "vite preview"},
                           "dependencies": {"react": "^18.3.1", "react-dom": "^18.3.1"},
                           "devDependencies": {"vite": "^5.4.0", "typescript": "^5.5.0"}}, indent=2).encode() + b"\n"
    elif k == "raw":
        data = spec.extra.get("data")
        if data is None:
            data = (b"<!doctype html><html><head><meta charset=\"utf-8\"><title>app</title></head>"
                    b"<body><div id=\"root\"></div></body></html>\n" if spec.path.endswith(".html")
                    else pools.minjs_slice(rng, 20000).replace(b";", b"}\n.c{"))
    elif k == "bundle":
        body = pools.minjs_slice(rng, spec.size)
        ins = []
        for kk in spec.plants:
            ins.append((f'var {w(rng)}Key="{kk["secret"]}",{w(rng)}Url="https://api.{w(rng)}.example.com"', kk))
        # place each plant somewhere in the middle 40% of the line, at a ';' boundary
        cuts = sorted((int(len(body) * rng.uniform(0.3, 0.7)), t, kk) for t, kk in ins)
        out, last = [], 0
        for c, t, kk in cuts:
            c = body.find(b";", max(c, last)) + 1 or len(body)
            out.append(body[last:c])
            out.append(t.encode() + b";")
            last = c
            placed.append((("key", kk), 1))
        out.append(body[last:])
        tail = b"\n"
        if spec.extra.get("map"):
            tail = b"\n//# sourceMappingURL=" + spec.extra["map"].encode() + b"\n"
        data = b"".join(out) + tail
    elif k == "map":
        srcs = [f"../../src/{w(rng)}/{w(rng)}{i}.ts" for i in range(rng.randint(5, 30))]
        contents = []
        budget = spec.size // 3
        for i, _ in enumerate(srcs):
            txt = pools.text_slice(rng, "ts", max(200, budget // len(srcs))).decode()
            if i == 0:
                for kk in spec.plants:
                    txt = f"export const {w(rng)}Key = \"{kk['secret']}\";\n" + txt
                    placed.append((("key", kk), 1))
            contents.append(txt)
        names = sorted({w(rng) for _ in range(200)})
        head = json.dumps({"version": 3, "file": spec.extra["file"], "sources": srcs,
                           "sourcesContent": contents, "names": names}, separators=(",", ":"))[:-1]
        mappings = pools.vlq_slice(rng, max(1000, spec.size - len(head)))
        data = head.encode() + b',"mappings":"' + mappings + b'"}\n'
    elif k == "bin":
        magic = spec.extra["magic"]
        data = magic + pools.binary_slice(rng, max(0, spec.size - len(magic)))
    elif k == "biglog":
        # ~size bytes of log-like text lines; plant near 90%
        parts, n = [], 0
        chunk = max(1 << 16, spec.size // 64)
        while n < spec.size:
            p = pools.text_slice(rng, rng.choice(["md", "json", "py"]), chunk)
            parts.append(p)
            n += len(p)
        body = b"".join(parts)
        off = body.find(b"\n", int(len(body) * 0.9)) + 1
        ins = b""
        for kk in spec.plants:
            ins += f"2024-03-02T10:00:00Z WARN config reloaded STRIPE_SECRET_KEY={kk['secret']} source=env\n".encode()
        line0 = body.count(b"\n", 0, off) + 1
        for i, kk in enumerate(spec.plants):
            placed.append((("key", kk), line0 + i))
        data = body[:off] + ins + body[off:]
    else:
        raise ValueError(k)
    return data, placed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--force", action="store_true", help="delete OUT first if it exists")
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
    rng = random.Random(f"keyscan-corpus/{a.seed}")
    pools = Pools(random.Random(f"keyscan-pools/{a.seed}"))
    specs = plan(rng, a.scale)
    assign(rng, specs)
    planted, placeholders = [], []
    made = set()
    total = 0
    for i, spec in enumerate(specs):
        frng = random.Random(f"{a.seed}/{i}/{spec.path}")
        data, placed = gen_file(spec, frng, pools)
        p = os.path.join(out, spec.path)
        d = os.path.dirname(p)
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        with open(p, "wb") as f:
            f.write(data)
        total += len(data)
        for (tag, obj), line in placed:
            if tag == "key":
                planted.append({"path": spec.path, "line": line, "rule_id": obj["rule_id"], "kind": obj["kind"],
                                "site": obj["site"], "secret": obj["secret"], "secret_redacted": obj["redacted"]})
            else:
                placeholders.append({"path": spec.path, "line": line, "text": obj})
        if (i + 1) % 20000 == 0:
            print(f"  {i + 1}/{len(specs)} files, {total / 2**20:.0f} MiB, {time.time() - t0:.0f}s", file=sys.stderr)
    # sanity: every planted key is really in its file
    for pk in planted:
        with open(os.path.join(out, pk["path"]), "rb") as f:
            assert pk["secret"].encode() in f.read(), pk
    manifest = {"kind": "tree", "generator_version": GENERATOR_VERSION, "seed": a.seed, "scale": a.scale,
                "root": name, "files": len(specs), "bytes": total,
                "planted": planted, "placeholders": placeholders}
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    os.replace(tmp, manifest_path)
    print(f"wrote {len(specs)} files, {total / 2**30:.3f} GiB, {len(planted)} keys, "
          f"{len(placeholders)} placeholders in {time.time() - t0:.1f}s -> {out}; manifest {manifest_path}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
