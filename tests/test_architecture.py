"""The house rules of the package, checked on the code itself (issue 9).

* No import cycle between modules of ``sanctionwatch``. Counted: every import that can run,
  at module level *and* inside functions (a function-level import that closes a circle is
  still a circle; it only hides it from the reader). Not counted: imports under
  ``if TYPE_CHECKING:`` (never executed) and under ``if __name__ == "__main__":`` (run only
  when the module is a script, e.g. ``python -m sanctionwatch.config.ranges``).
* No library module imports ``sanctionwatch.cli`` (at all, type-checking imports included).
* No module is over `MAX_MODULE_LINES` lines.
* No work at import time decides the schema: ``Store(path)`` creates the same tables whether
  only ``sanctionwatch.storage.db`` was imported or every module was, and no module calls a
  ``register_*`` function at its top level.
* docs/architecture.md lists every module and only modules that exist.

Every command and sub-command having help is checked by tests/cli/test_cli_help.py.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

from tests.support.paths import REPO

PACKAGE = "sanctionwatch"
SOURCE = REPO / PACKAGE
ARCHITECTURE_DOC = REPO / "docs" / "architecture.md"
MAX_MODULE_LINES = 400
CLI = f"{PACKAGE}.cli"
# Stages above storage: importing only storage.db must not load any of them, or the schema
# comparison below would prove nothing.
ABOVE_STORAGE = ("alerting", "watchlists", "reporting", "slackapp", "cli", "runtime")


def module_files() -> list[Path]:
    return sorted(p for p in SOURCE.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _guarded_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``if __name__ == "__main__":`` blocks at module level."""
    lines: set[int] = set()
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
        ):
            end = node.end_lineno or node.lineno
            lines.update(range(node.lineno, end + 1))
    return lines


def runtime_imports() -> dict[str, set[str]]:
    """module → the package modules it imports, as counted for cycles (see the docstring)."""
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=True, cache_dir=None)
    script_lines = {
        module_name(p): _guarded_lines(ast.parse(p.read_text(encoding="utf-8")))
        for p in module_files()
    }
    edges: dict[str, set[str]] = {m: set() for m in graph.modules}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            details = graph.get_import_details(importer=importer, imported=imported)
            skipped = script_lines.get(importer, set())
            if not details or any(d["line_number"] not in skipped for d in details):
                edges[importer].add(imported)
    return edges


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_circle_and_accepts_a_chain() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    edges = runtime_imports()
    assert len(edges) >= 50, "grimp did not find the package's modules"
    assert cycles(edges) == []


def test_no_library_module_imports_the_cli() -> None:
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    offenders = sorted(
        f"{importer} imports {imported}"
        for importer in graph.modules
        if importer != CLI and not importer.startswith(CLI + ".")
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported == CLI or imported.startswith(CLI + ".")
    )
    assert offenders == []


def test_no_module_is_over_the_line_limit() -> None:
    sizes = {
        str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines())
        for p in module_files()
    }
    too_big = {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES}
    assert too_big == {}, f"split these by responsibility: {too_big}"


def _top_level_register_calls(tree: ast.Module) -> list[str]:
    calls = []
    for node in tree.body:
        if isinstance(node, ast.Expr | ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name.startswith("register"):
                calls.append(f"line {node.lineno}: {name}()")
    return calls


# Registrations into a third-party library's own registry, with the reason they are allowed.
# None: feedparser's date handler is registered by ingest.dates.install(), called by parse().
ALLOWED_REGISTRATIONS: dict[str, list[str]] = {}


def test_no_module_registers_anything_at_import_time() -> None:
    found = {
        str(p.relative_to(REPO)): [call.partition(": ")[2] for call in calls]
        for p in module_files()
        if (calls := _top_level_register_calls(ast.parse(p.read_text(encoding="utf-8"))))
    }
    assert found == ALLOWED_REGISTRATIONS


def test_register_call_detector_sees_a_module_level_call() -> None:
    tree = ast.parse("from x import register_migration\nregister_migration(3, f)\n")
    assert _top_level_register_calls(tree) == ["line 2: register_migration()"]
    assert _top_level_register_calls(ast.parse("def f():\n    register_migration(3, g)\n")) == []


SCHEMA_PROBE = """
import importlib, json, pkgutil, sys
from pathlib import Path
import sanctionwatch
if sys.argv[2] == "everything":
    # every module, in reverse order, so that a registry filled by a late import shows up
    names = [m.name for m in pkgutil.walk_packages(sanctionwatch.__path__, "sanctionwatch.")]
    for name in reversed(names):
        importlib.import_module(name)
from sanctionwatch.storage.db import Store
loaded = sorted(m for m in sys.modules if m.startswith("sanctionwatch"))
store = Store(Path(sys.argv[1]))
tables = sorted(store.db.table_names())
store.close()
print(json.dumps({"tables": tables, "loaded": loaded}))
"""


def _probe(db: Path, mode: str) -> dict[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", SCHEMA_PROBE, str(db), mode],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, list[str]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_store_creates_the_same_tables_whatever_was_imported(tmp_path: Path) -> None:
    alone = _probe(tmp_path / "alone.db", "storage-only")
    everything = _probe(tmp_path / "everything.db", "everything")
    loaded_alone = set(alone["loaded"])
    assert not {
        m for m in loaded_alone for stage in ABOVE_STORAGE if m.startswith(f"{PACKAGE}.{stage}")
    }, "importing storage.db loaded a higher stage"
    assert len(everything["loaded"]) > len(loaded_alone)
    # the tables the old import-time registries used to add (overlay, review, audit, lists)
    assert {"watchlist_overlay", "audit_log", "imported_lists", "alerts"} <= set(alone["tables"])
    assert alone["tables"] == everything["tables"]


# ---- docs/architecture.md ------------------------------------------------------------------
DOC_MODULE = re.compile(r"`(sanctionwatch/[\w/]+\.py)`")


def _needs_a_line(path: Path) -> bool:
    """Every module, except a package ``__init__.py`` that holds nothing but its docstring."""
    if path.name != "__init__.py":
        return True
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return not (len(body) <= 1 and all(isinstance(n, ast.Expr) for n in body))


def test_architecture_doc_lists_every_module_and_only_real_ones() -> None:
    listed = set(DOC_MODULE.findall(ARCHITECTURE_DOC.read_text(encoding="utf-8")))
    actual = {str(p.relative_to(REPO)) for p in module_files() if _needs_a_line(p)}
    assert sorted(actual - listed) == [], "add these to docs/architecture.md"
    assert sorted(p for p in listed if not (REPO / p).is_file()) == [], "gone from the tree"


def test_architecture_doc_names_every_stage_folder() -> None:
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    folders = sorted(p.name for p in SOURCE.iterdir() if (p / "__init__.py").is_file())
    assert len(folders) >= 5
    assert [f for f in folders if f"`{f}/`" not in text] == []


def test_readme_links_the_architecture_map() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/architecture.md" in readme


@pytest.mark.parametrize("stage", ["fetch", "parse", "match", "rules", "record", "deliver",
                                   "review", "export"])  # fmt: skip
def test_architecture_doc_maps_each_pipeline_stage(stage: str) -> None:
    rows = [
        line
        for line in ARCHITECTURE_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| {stage} |")
    ]
    assert len(rows) == 1 and "/`" in rows[0], f"stage {stage}: one row naming its folder"
