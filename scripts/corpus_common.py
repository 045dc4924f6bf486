"""Shared helpers for keyscan's benchmark corpus generators (stdlib only).

Everything here is deterministic for a given ``random.Random`` instance: the
same seed always yields byte-identical corpora.

Fake keys planted by the generators follow the formats keyscan detects:

* Miniback:               ``mbk_`` + 20 x [a-z0-9]
* urBackend secret:       ``sk_live_`` + exactly 43 x [A-Za-z0-9_-]
* urBackend publishable:  ``pk_live_`` + exactly 43 x [A-Za-z0-9_-]
* Stripe secret:          ``sk_live_`` + 99 x [A-Za-z0-9]

None of the filler text contains the substrings ``mbk_``, ``sk_live_`` or
``pk_live_`` (checked by :func:`assert_clean`), so every prefix occurrence in
a generated corpus is either a planted key or a planted placeholder.
"""

from __future__ import annotations

import random
import string

GENERATOR_VERSION = 1

LOWER_DIGITS = string.ascii_lowercase + string.digits
ALNUM = string.ascii_letters + string.digits
B64URL = string.ascii_letters + string.digits + "-_"

RULES = {
    "miniback": ("miniback-api-key", "mbk_"),
    "urbackend-secret": ("urbackend-secret-key", "sk_live_"),
    "urbackend-publishable": ("urbackend-publishable-key", "pk_live_"),
    "stripe": ("stripe-secret-key", "sk_live_"),
}

# Placeholders that a correct scanner must NOT report.
PLACEHOLDERS = [
    "mbk_your_key",
    "mbk_YOUR_KEY_HERE",
    "sk_live_...",
    "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
    "pk_live_<your key>",
    "${MINIBACK_API_KEY}",
    "mbk_1a2b3c4d5e6f7g8h9i0j",
    "mbk_aaaaaaaaaaaaaaaaaaaa",
]

FORBIDDEN = (b"mbk_", b"sk_live_", b"pk_live_")


# Case-insensitive words that mark a placeholder (see rules/placeholders.toml);
# a generated key must not contain them by chance.
STOPWORDS = ("your", "example", "placeholder", "xxxx", "changeme", "change_me", "dummy",
             "sample", "insert", "replace", "redacted", "here", "token", "secret",
             "apikey", "api_key", "todo", "fixme")


def _has_run(body: str, n: int = 5) -> bool:
    run_up = run_down = 1
    for a, b in zip(body, body[1:]):
        run_up = run_up + 1 if ord(b) == ord(a) + 1 else 1
        run_down = run_down + 1 if ord(b) == ord(a) - 1 else 1
        if run_up >= n or run_down >= n:
            return True
    return False


def _random_body(rng: random.Random, alphabet: str, n: int) -> str:
    while True:
        body = "".join(rng.choice(alphabet) for _ in range(n))
        low = body.lower()
        if any(s in low for s in STOPWORDS) or _has_run(body):
            continue
        # "random-looking": plenty of distinct characters, mix of letters and digits
        if len(set(body)) < min(12, n // 2):
            continue
        if not any(c.isdigit() for c in body) or not any(c.isalpha() for c in body):
            continue
        return body


def make_key(rng: random.Random, kind: str) -> dict:
    """Return {'kind','rule_id','secret','redacted'} for a fresh fake key."""
    rule_id, prefix = RULES[kind]
    if kind == "miniback":
        body = _random_body(rng, LOWER_DIGITS, 20)
    elif kind in ("urbackend-secret", "urbackend-publishable"):
        body = list(_random_body(rng, B64URL, 43))
        if not any(c in "-_" for c in body):
            body[rng.randrange(1, 42)] = rng.choice("-_")
        body = "".join(body)
    elif kind == "stripe":
        body = _random_body(rng, ALNUM, 99)
    else:
        raise ValueError(kind)
    return {
        "kind": kind,
        "rule_id": rule_id,
        "secret": prefix + body,
        "redacted": redact(prefix, body),
    }


def redact(prefix: str, body: str) -> str:
    return prefix + body[:4] + "\u2026" + body[-2:]


def split_secret(secret: str) -> tuple[str, str]:
    for p in ("mbk_", "sk_live_", "pk_live_"):
        if secret.startswith(p):
            return p, secret[len(p):]
    raise ValueError(secret)


def assert_clean(data: bytes, what: str) -> None:
    for f in FORBIDDEN:
        if f in data:
            raise AssertionError(f"filler pool {what} accidentally contains {f!r}")


# --------------------------------------------------------------------------
# Filler text pools
# --------------------------------------------------------------------------

# No word may combine into a key prefix (notably: no "live", nothing ending
# in "mbk"/"sk"/"pk" followed by "_live").
WORDS = (
    "account user order item cart payment invoice session token cache store "
    "config route handler request response client server worker queue job task "
    "event stream buffer record entry index table schema model view controller "
    "service module plugin adapter factory builder parser lexer render layout "
    "widget button panel dialog modal header footer sidebar menu list grid "
    "filter sort search query result error status message notice report metric "
    "counter gauge timer span trace log level format value field key name id "
    "path url host port address region zone bucket object blob chunk block page "
    "offset limit total count size width height color theme style font image "
    "upload download export import sync async retry backoff timeout deadline "
    "lock mutex guard pool thread signal channel socket packet frame header "
    "tenant project team member role permission policy audit billing plan price "
    "product catalog inventory shipment address customer profile avatar email "
    "phone notify webhook callback listener emitter observer subject state store "
    "reducer action effect selector hook context provider consumer memo ref"
).split()

COMMENT_WORDS = (
    "the a this that we should must may not only when if then else because "
    "returns handles updates creates deletes validates parses renders loads "
    "fetches stores caches retries logs computes checks ensures converts maps "
    "before after during while until unless every each all none some any"
).split()


def _ident(rng, style="camel", n=None):
    n = n or rng.randint(1, 3)
    ws = [rng.choice(WORDS) for _ in range(n)]
    if style == "camel":
        return ws[0] + "".join(w.capitalize() for w in ws[1:])
    if style == "pascal":
        return "".join(w.capitalize() for w in ws)
    if style == "snake":
        return "_".join(ws)
    if style == "upper":
        return "_".join(w.upper() for w in ws)
    raise ValueError(style)


def _sentence(rng, lo=5, hi=14):
    ws = [rng.choice(WORDS + COMMENT_WORDS) for _ in range(rng.randint(lo, hi))]
    return " ".join(ws).capitalize() + "."


def _js_lines(rng, ts=False):
    i = lambda s="camel": _ident(rng, s)
    typ = lambda: rng.choice(["string", "number", "boolean", i("pascal")])
    out = []
    for _ in range(rng.randint(3, 12)):
        fn, a, b = i(), i(), i()
        t = rng.random()
        if t < 0.15:
            out.append(f'import {{ {i("pascal")}, {i()} }} from "./{i("snake")}";')
        elif t < 0.25:
            out.append(f"// {_sentence(rng)}")
        if ts:
            out.append(f"export async function {fn}({a}: {typ()}, {b}: {typ()}): Promise<{typ()}> {{")
        else:
            out.append(f"export async function {fn}({a}, {b}) {{")
        for _ in range(rng.randint(2, 9)):
            v = i()
            k = rng.random()
            if k < 0.3:
                out.append(f"  const {v} = await {i()}.{i()}({a}, {{ {i()}: {b}, {i()}: {rng.randint(0, 9999)} }});")
            elif k < 0.5:
                out.append(f'  if (!{v}) throw new Error("{_sentence(rng, 3, 7)}");')
            elif k < 0.7:
                out.append(f"  {i()}.{i()} = {v} ?? {rng.randint(0, 500)};")
            elif k < 0.85:
                out.append(f"  for (const {v} of {a}.{i()}) {{ {b}.push({v}.{i()}); }}")
            else:
                out.append(f'  logger.debug("{_sentence(rng, 2, 6)}", {{ {v} }});')
        out.append(f"  return {a}.{i()};")
        out.append("}")
        out.append("")
    return out


def _py_lines(rng):
    i = lambda s="snake": _ident(rng, s)
    out = []
    for _ in range(rng.randint(2, 8)):
        t = rng.random()
        if t < 0.2:
            out.append(f"from .{i()} import {i('pascal')}, {i()}")
        if t < 0.35:
            out.append(f"class {i('pascal')}:")
            out.append(f'    """{_sentence(rng)}"""')
            out.append("")
            ind = "    "
        else:
            ind = ""
        fn, a, b = i(), i(), i()
        out.append(f"{ind}def {fn}(self, {a}, {b}={rng.randint(0, 100)}):" if ind else f"def {fn}({a}, {b}={rng.randint(0, 100)}):")
        for _ in range(rng.randint(2, 9)):
            v = i()
            k = rng.random()
            if k < 0.3:
                out.append(f"{ind}    {v} = {a}.{i()}({b}, {i()}={rng.randint(0, 999)})")
            elif k < 0.5:
                out.append(f"{ind}    if not {v}:")
                out.append(f'{ind}        raise ValueError("{_sentence(rng, 3, 7)}")')
            elif k < 0.7:
                out.append(f"{ind}    # {_sentence(rng)}")
            else:
                out.append(f"{ind}    {v} = [x.{i()} for x in {a} if x.{i()} > {rng.randint(0, 50)}]")
        out.append(f"{ind}    return {a}")
        out.append("")
    return out


def _rs_lines(rng):
    i = lambda s="snake": _ident(rng, s)
    out = []
    for _ in range(rng.randint(2, 8)):
        if rng.random() < 0.2:
            out.append(f"use crate::{i()}::{{{i('pascal')}, {i('pascal')}}};")
        out.append(f"/// {_sentence(rng)}")
        out.append(f"pub fn {i()}({i()}: &str, {i()}: u{rng.choice([8, 16, 32, 64])}) -> Result<{i('pascal')}, Error> {{")
        for _ in range(rng.randint(2, 8)):
            k = rng.random()
            if k < 0.4:
                out.append(f"    let {i()} = {i()}.{i()}(&{i()})?;")
            elif k < 0.6:
                out.append(f"    if {i()}.is_empty() {{ return Err(Error::{i('pascal')}); }}")
            elif k < 0.8:
                out.append(f"    // {_sentence(rng)}")
            else:
                out.append(f"    {i()}.insert({rng.randint(0, 9999)}, {i()}.clone());")
        out.append(f"    Ok({i('pascal')}::default())")
        out.append("}")
        out.append("")
    return out


def _go_lines(rng):
    i = lambda s="camel": _ident(rng, s)
    P = lambda: _ident(rng, "pascal")
    out = []
    for _ in range(rng.randint(2, 8)):
        out.append(f"// {P()} {_sentence(rng).lower()}")
        out.append(f"func {P()}({i()} string, {i()} int) (*{P()}, error) {{")
        for _ in range(rng.randint(2, 8)):
            k = rng.random()
            if k < 0.4:
                out.append(f"\t{i()}, err := {i()}.{P()}(ctx, {i()})")
                out.append("\tif err != nil {")
                out.append(f'\t\treturn nil, fmt.Errorf("{_sentence(rng, 2, 5).lower()} %w", err)')
                out.append("\t}")
            elif k < 0.7:
                out.append(f"\t{i()} := &{P()}{{{P()}: {rng.randint(0, 999)}}}")
            else:
                out.append(f"\t// {_sentence(rng)}")
        out.append(f"\treturn &{P()}{{}}, nil")
        out.append("}")
        out.append("")
    return out


def _md_lines(rng):
    out = [f"## {_sentence(rng, 2, 5)[:-1]}", ""]
    for _ in range(rng.randint(1, 4)):
        out.append(" ".join(_sentence(rng) for _ in range(rng.randint(2, 6))))
        out.append("")
    k = rng.random()
    if k < 0.3:
        out.append("```js")
        out.extend(_js_lines(rng)[:8])
        out.append("```")
        out.append("")
    elif k < 0.6:
        for _ in range(rng.randint(2, 6)):
            out.append(f"- [{_ident(rng, 'pascal')}](./{_ident(rng, 'snake')}.md): {_sentence(rng, 3, 8)}")
        out.append("")
    return out


def _json_lines(rng):
    def val(depth):
        k = rng.random()
        if depth < 3 and k < 0.2:
            return "{" + ", ".join(f'"{_ident(rng)}": {val(depth + 1)}' for _ in range(rng.randint(1, 4))) + "}"
        if depth < 3 and k < 0.3:
            return "[" + ", ".join(val(depth + 1) for _ in range(rng.randint(1, 5))) + "]"
        if k < 0.55:
            return str(rng.randint(0, 100000))
        if k < 0.65:
            return rng.choice(["true", "false", "null"])
        return '"' + _sentence(rng, 1, 5) + '"'
    out = []
    for _ in range(rng.randint(3, 10)):
        out.append(f'  "{_ident(rng)}": {val(0)},')
    return out


def _min_js(rng):
    """One chunk of minified JS (no newlines)."""
    v = lambda: rng.choice("abcdefghijklmnopqrstuvwxyz") + rng.choice(["", "", str(rng.randint(0, 9)), rng.choice("abcdefghijklmnopqrstuvwxyz")])
    parts = []
    for _ in range(rng.randint(4, 14)):
        k = rng.random()
        if k < 0.3:
            parts.append(f"function {v()}({v()},{v()}){{var {v()}={v()}.{_ident(rng)}({v()},{rng.randint(0, 99)});return {v()}?{v()}:{v()}}}")
        elif k < 0.5:
            parts.append(f'{v()}.{_ident(rng)}="{_sentence(rng, 2, 8)}"')
        elif k < 0.7:
            parts.append(f"{v()}[{rng.randint(0, 999)}]=function({v()},{v()},{v()}){{\"use strict\";{v()}.r({v()}),{v()}.d({v()},{{{_ident(rng)}:()=>{v()}}})}}")
        elif k < 0.85:
            parts.append(f"for(var {v()}=0;{v()}<{v()}.length;{v()}++){v()}.push({v()}[{v()}].{_ident(rng)})")
        else:
            parts.append(f"const {v()}={{{_ident(rng)}:{rng.randint(0, 9999)},{_ident(rng)}:\"{_ident(rng, 'snake')}\",{_ident(rng)}:!0}}")
    return ";".join(parts) + ";"


def _vlq(rng, n):
    a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    segs = []
    total = 0
    while total < n:
        s = "".join(rng.choice(a) for _ in range(rng.randint(4, 8)))
        segs.append(s + rng.choice([",", ",", ",", ";"]))
        total += len(segs[-1])
    return "".join(segs)


class Pools:
    """Pre-generated filler text; files are built from slices of these."""

    def __init__(self, rng: random.Random, size: int = 3 << 20):
        gens = {
            "js": lambda: _js_lines(rng),
            "ts": lambda: _js_lines(rng, ts=True),
            "py": _py_lines_wrap(rng),
            "rs": lambda: _rs_lines(rng),
            "go": lambda: _go_lines(rng),
            "md": lambda: _md_lines(rng),
            "json": lambda: _json_lines(rng),
        }
        self.text = {}
        self.line_starts = {}
        for kind, gen in gens.items():
            lines, n = [], 0
            target = size if kind in ("js", "ts", "py", "md") else size * 2 // 3
            while n < target:
                chunk = gen()
                lines.extend(chunk)
                n += sum(len(x) + 1 for x in chunk)
            data = ("\n".join(lines) + "\n").encode()
            assert_clean(data, kind)
            self.text[kind] = data
            starts, pos = [], 0
            while True:
                starts.append(pos)
                pos = data.find(b"\n", pos) + 1
                if pos <= 0 or pos >= len(data):
                    break
            self.line_starts[kind] = starts
        parts, n = [], 0
        while n < size * 2:
            p = _min_js(rng)
            parts.append(p)
            n += len(p)
        self.minjs = "".join(parts).encode()
        assert_clean(self.minjs, "minjs")
        self.vlq = _vlq(rng, size).encode()
        self.binary = rng.randbytes(8 << 20)

    def text_slice(self, rng, kind, nbytes):
        """About nbytes of whole lines of filler of the given kind."""
        data = self.text[kind]
        starts = self.line_starts[kind]
        out, n = [], 0
        while n < nbytes:
            s = starts[rng.randrange(len(starts))]
            e = data.find(b"\n", min(len(data) - 1, s + (nbytes - n)))
            e = len(data) if e < 0 else e + 1
            out.append(data[s:e])
            n += e - s
        return b"".join(out)

    def minjs_slice(self, rng, nbytes):
        out, n = [], 0
        data = self.minjs
        while n < nbytes:
            s = rng.randrange(len(data) // 2)
            s = data.find(b";", s) + 1
            e = min(len(data), s + (nbytes - n))
            e = data.rfind(b";", s, e) + 1 or e
            if e <= s:
                e = min(len(data), s + 4096)
            out.append(data[s:e])
            n += e - s
        return b"".join(out)

    def vlq_slice(self, rng, nbytes):
        out, n = [], 0
        while n < nbytes:
            s = rng.randrange(len(self.vlq) // 2)
            e = min(len(self.vlq), s + (nbytes - n))
            out.append(self.vlq[s:e])
            n += e - s
        return b"".join(out)

    def binary_slice(self, rng, nbytes):
        if nbytes > len(self.binary) // 2:
            return rng.randbytes(nbytes)
        s = rng.randrange(len(self.binary) - nbytes)
        return self.binary[s:s + nbytes]


def _py_lines_wrap(rng):
    return lambda: _py_lines(rng)


def lognormal_size(rng, median, sigma, lo, hi):
    import math
    return int(max(lo, min(hi, median * math.exp(rng.gauss(0, sigma)))))
