"""The layer contract of docs/architecture.md, enforced: import-linter's contracts (pyproject.toml) and no import cycles."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install 'synth[test]')")
    return exe


def test_layer_contracts_hold():
    """Layers, bpy only in render/blender, ray only in distributed, estimators read through io only."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout and "KEPT" in res.stdout


def test_a_broken_layer_is_caught(tmp_path):
    """The contract is live: a copy of the package where core imports the pipeline fails lint-imports."""
    shutil.copytree(ROOT / "synth", tmp_path / "synth", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "synth" / "core" / "units.py", "a") as f:
        f.write("\n\ndef _bad():\n    from synth.pipeline import worker  # noqa: F401\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = subprocess.run([_lint_imports(), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode != 0 and "synth.core.units -> synth.pipeline.worker" in res.stdout, res.stdout[-3000:]


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (import cycles), Tarjan's algorithm."""
    mods = sorted(graph.modules)
    adj = {m: sorted(x for x in graph.find_modules_directly_imported_by(m) if x in graph.modules) for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
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
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in mods:
        if m not in index:
            visit(m)
    return out


def test_no_import_cycles_between_modules():
    grimp = pytest.importorskip("grimp")
    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph("synth", cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    assert graph.modules and "synth.pipeline.posed_scene" in graph.modules
    assert _cycles(graph) == []
