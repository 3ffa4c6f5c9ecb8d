"""Imports point down the layers of docs/architecture.md, and no modules import each other in a cycle.

Every ``import`` of a wattwise module counts, also those inside functions (a lazy import is still a
dependency). A new module needs a layer here: add it to ``LAYERS`` where it belongs.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Bottom to top; a module may import its own layer and the layers below it. Names are module prefixes.
LAYERS: list[tuple[str, ...]] = [
    ("wattwise.footprint", "wattwise.errors", "wattwise.config", "wattwise.fmt", "wattwise.console",
     "wattwise.equivalents", "wattwise.validate"),
    ("wattwise.sensors", "wattwise.hardware", "wattwise.hostinfo"),
    ("wattwise.store",),
    ("wattwise.grid",),
    ("wattwise.context",),
    ("wattwise.estimate", "wattwise.schedule"),
    ("wattwise.accounting",),
    ("wattwise.meter",),
    ("wattwise", "wattwise.tracking", "wattwise.integrations.distributed"),  # `wattwise` itself: the public API
    ("wattwise.report", "wattwise.export", "wattwise.integrations"),
    ("wattwise.train", "wattwise.reduce", "wattwise.serve"),
    ("wattwise.dashboard",),
    ("wattwise.cli", "wattwise.demo", "wattwise.__main__"),
]


def _modules() -> dict[str, Path]:
    mods = {}
    for p in (SRC / "wattwise").rglob("*.py"):
        parts = list(p.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = p
    return mods


def _imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the wattwise modules it imports (``from a import b`` is ``a.b`` when that is a module)."""

    def known(name: str) -> str:
        while name not in mods:
            name = name.rpartition(".")[0]
        return name

    edges: dict[str, set[str]] = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out |= {known(a.name) for a in node.names if a.name.split(".")[0] == "wattwise"}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                if base.split(".")[0] == "wattwise":
                    out |= {known(f"{base}.{a.name}") for a in node.names}
        out.discard(mod)
        edges[mod] = out
    return edges


def layer_of(mod: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for i, names in enumerate(LAYERS):
        for name in names:
            inside = mod == name or (mod.startswith(name + ".") and name != "wattwise")  # `wattwise`: the package only
            if inside and (best is None or len(name) > best[0]):
                best = (len(name), i)
    return None if best is None else best[1]


def test_every_module_has_a_layer():
    missing = sorted(m for m in _modules() if layer_of(m) is None)
    assert not missing, f"give these modules a layer in tests/test_layers.py (and docs/architecture.md): {missing}"


def test_no_import_from_a_higher_layer():
    edges = _imports(_modules())
    bad = [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
           for a, targets in sorted(edges.items()) for b in sorted(targets)
           if (la := layer_of(a)) is not None and (lb := layer_of(b)) is not None and lb > la]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    edges = _imports(_modules())
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                cycles.append([*path[path.index(n):], n])
            elif n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_checks_catch_a_violation(tmp_path, monkeypatch):
    """The parser sees lazy and relative imports; an upward import and a cycle through them are reported."""
    pkg = tmp_path / "wattwise"
    (pkg / "sensors").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sensors" / "__init__.py").write_text("")
    (pkg / "meter.py").write_text("from .sensors import probe\n")
    (pkg / "sensors" / "probe.py").write_text("def f():\n    import wattwise.meter\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    edges = _imports(_modules())
    assert edges["wattwise.sensors.probe"] == {"wattwise.meter"}
    assert edges["wattwise.meter"] == {"wattwise.sensors.probe"}
    assert layer_of("wattwise.sensors.probe") < layer_of("wattwise.meter")
    with pytest.raises(AssertionError, match=re.escape("wattwise.sensors.probe (layer 1) imports wattwise.meter")):
        test_no_import_from_a_higher_layer()
    with pytest.raises(AssertionError, match=re.escape("wattwise.meter -> wattwise.sensors.probe -> wattwise.meter")):
        test_no_import_cycles()
