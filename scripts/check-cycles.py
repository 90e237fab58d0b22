#!/usr/bin/env python3
"""Counts import cycles between the crate's top-level modules and exits 1 on any.

A top-level module is `src/NAME.rs` or the directory `src/NAME/`. Module A
depends on B when any file of A names `crate::B` (in a `use` line, a grouped
`use crate::{B::..}`, or an inline path such as `crate::B::f()`), or reaches B
through enough `super::` to climb out of A. Comments and string literals are
ignored, so doc links do not count. Every strongly connected group of two or
more modules is a cycle; the script prints each with one `file:line` witness
per edge, so the import to remove is one click away.

Usage: scripts/check-cycles.py [SRC_DIR]   (default: src next to this script)
"""

import os
import re
import sys
from collections import defaultdict

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip_comments_and_strings(text):
    """Blanks comments, strings and char literals, keeping newlines so line numbers hold."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 260]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append("\n" * text.count("\n", i, j + 1))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or (c == "'" and text.startswith("'\\", i)):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            if m:
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def group_heads(text, start):
    """Names at the top level of the brace group opening at text[start] == '{'."""
    depth, heads, expect = 0, [], True
    i = start
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
            if depth == 1:
                expect = True
            i += 1
        elif c == "}":
            depth -= 1
            i += 1
            if depth == 0:
                break
        elif c == "," and depth == 1:
            expect = True
            i += 1
        elif depth == 1 and expect and (c.isalpha() or c == "_"):
            m = IDENT.match(text, i)
            heads.append((m.group(0), i))
            expect = False
            i = m.end()
        else:
            if not c.isspace() and depth == 1:
                expect = False
            i += 1
    return heads


def top_module(path, src):
    rel = os.path.relpath(path, src).replace(os.sep, "/")
    parts = rel.split("/")
    if len(parts) == 1:
        return parts[0][:-3]
    return parts[0]


def depth_of(path, src):
    """How many `super::` lead from this file's module to its top-level module."""
    parts = os.path.relpath(path, src).replace(os.sep, "/").split("/")
    if len(parts) == 1:
        return 0
    name = parts[-1]
    return len(parts) - 1 - (1 if name == "mod.rs" else 0)


def edges_of(path, src, modules):
    text = strip_comments_and_strings(open(path, encoding="utf-8").read())
    me = top_module(path, src)
    found = []

    def line_of(pos):
        return text.count("\n", 0, pos) + 1

    for m in re.finditer(r"(?<![$\w])crate\s*::\s*", text):
        j = m.end()
        if j < len(text) and text[j] == "{":
            for name, pos in group_heads(text, j):
                found.append((name, line_of(pos)))
        else:
            ident = IDENT.match(text, j)
            if ident:
                found.append((ident.group(0), line_of(j)))
    climb = depth_of(path, src)
    if climb:
        pattern = r"(?<![\w:])" + r"super\s*::\s*" * (climb + 1)
        for m in re.finditer(pattern, text):
            ident = IDENT.match(text, m.end())
            if ident:
                found.append((ident.group(0), line_of(m.end())))
    return [(me, name, line) for name, line in found if name in modules and name != me]


def strongly_connected(graph, nodes):
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    src = os.path.normpath(src)
    modules = set()
    for entry in os.listdir(src):
        full = os.path.join(src, entry)
        if entry.endswith(".rs") and entry not in ("lib.rs", "main.rs"):
            modules.add(entry[:-3])
        elif os.path.isdir(full):
            modules.add(entry)
    graph = defaultdict(set)
    witness = {}
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            if os.path.dirname(path) == src and f in ("lib.rs", "main.rs"):
                continue
            for a, b, line in edges_of(path, src, modules):
                graph[a].add(b)
                witness.setdefault((a, b), f"{os.path.relpath(path, os.path.dirname(src))}:{line}")
    cycles = [c for c in strongly_connected(graph, modules) if len(c) > 1]
    edge_count = sum(len(v) for v in graph.values())
    print(f"{len(modules)} top-level modules, {edge_count} module dependencies, {len(cycles)} import cycle(s)")
    for comp in cycles:
        print(f"cycle: {' <-> '.join(comp)}")
        members = set(comp)
        for a in comp:
            for b in sorted(graph[a] & members):
                print(f"  {a} -> {b}   ({witness[(a, b)]})")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
