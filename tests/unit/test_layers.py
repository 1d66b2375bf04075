"""The package's layering, read from its own imports (every import statement,
in functions and under ``TYPE_CHECKING`` too): serving never imports fitting
or measuring, and no import runs in a circle.

Serving is what ``facematch serve`` runs; ``facematch.fit`` fits the
artefacts it loads (``facematch.artifacts``), ``facematch.eval`` measures, and
only the command line (``facematch.cli``) and tools use them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
REPO = SRC.parent
#: Packages and modules that serve requests (and what they are built from).
SERVING = ("facematch.api", "facematch.matcher", "facematch.checks", "facematch.models", "facematch.imaging",
           "facematch.artifacts", "facematch.scoring", "facematch.contract", "facematch.store",
           "facematch.passive_auth", "facematch.errors", "facematch.types", "facematch.settings",
           "facematch.web", "facematch.memory", "facematch.logs", "facematch.client", "facematch.data",
           "facematch.cancel")
#: What serving must never import.
FITTING_AND_MEASURING = ("facematch.fit", "facematch.eval", "facematch.cli", "benchmarks", "tools", "tests")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in (SRC / "facematch").rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module ``name`` imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            found.update(subs or [target])
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_layer_lists_cover_the_package():
    unclassified = [m for m in _modules() if m != "facematch"
                    and not _within(m, SERVING) and not _within(m, FITTING_AND_MEASURING)]
    assert unclassified == [], "say whether these serve or fit/measure"


def test_serving_never_imports_fitting_or_measuring():
    bad = sorted((m, i) for m, imps in _graph().items() if _within(m, SERVING)
                 for i in imps if _within(i, FITTING_AND_MEASURING))
    assert bad == []


def test_no_import_cycles():
    graph = {m: {i for i in imps if i in _modules() and i != m} for m, imps in _graph().items()}
    # Tarjan's strongly connected components: any with more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


@pytest.mark.parametrize("folder", ["benchmarks", "tools", "tests", "scripts", "src"])
def test_no_sys_path_patches(folder):
    """Benchmarks and tools run as modules from the repository root (``python -m benchmarks.latency``)."""
    calls = ("sys.path." + "insert", "sys.path." + "append")
    patched = [str(p.relative_to(REPO)) for p in (REPO / folder).rglob("*.py")
               if any(c in p.read_text() for c in calls)]
    assert patched == []


def test_every_import_of_the_projects_own_names_resolves():
    """Benchmarks and tools run by hand, not in the suite: a name moved or renamed in ``src`` left
    ``benchmarks/face_size.py`` failing at import. Every ``from facematch/benchmarks/tools/tests... import X``
    (in functions too) must name something that exists."""
    import importlib

    bad = []
    for root in ("src/facematch", "benchmarks", "tools", "tests"):
        for path in (REPO / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                        and node.module.split(".")[0] in ("facematch", "benchmarks", "tools", "tests")):
                    continue
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name):
                        try:
                            importlib.import_module(f"{node.module}.{alias.name}")
                        except ImportError:
                            bad.append(f"{path.relative_to(REPO)}:{node.lineno} {node.module}.{alias.name}")
    assert bad == []
