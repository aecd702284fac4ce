"""No module of datamap imports, directly or through others, a module that imports it back.

A cycle means two rooms that cannot be understood, tested or moved apart (issue 15). The graph
is read from the source with ``ast`` (no import runs), so a cycle hidden inside a function body
counts too. ``from datamap.pkg import mod`` is an edge to ``datamap.pkg.mod``; importing a name
from a package's ``__init__`` is an edge to that ``__init__``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "datamap"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def import_graph(root: Path = PACKAGE) -> nx.DiGraph:
    """Module to module edges, one per import statement that names another datamap module."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in files.items():
        graph.add_node(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block)
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue  # `if TYPE_CHECKING:` imports never run
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in files else module for a in node.names]
            else:
                continue
            graph.add_edges_from((name, t) for t in targets if t in files and t != name)
    return graph


def test_no_module_imports_itself_back() -> None:
    cycles = sorted(nx.simple_cycles(import_graph()), key=len)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c + c[:1]) for c in cycles[:20])


def test_the_graph_sees_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "datamap"
    (pkg / "inner").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "inner" / "__init__.py").write_text("from datamap.inner.reader import read\n")
    (pkg / "inner" / "reader.py").write_text("def read():\n    from datamap.inner import _helper\n")
    (pkg / "plain.py").write_text("from typing import TYPE_CHECKING\nfrom datamap.inner import reader\n"
                                  "if TYPE_CHECKING:\n    from datamap import plain2\n")
    (pkg / "plain2.py").write_text("from datamap import plain\n")
    graph = import_graph(pkg)
    assert sorted(map(sorted, nx.simple_cycles(graph))) == [["datamap.inner", "datamap.inner.reader"]]
    assert graph.has_edge("datamap.plain", "datamap.inner.reader")
    assert not graph.has_edge("datamap.plain", "datamap.plain2")  # a type-checking import never runs


def test_docs_design_names_every_room_of_the_package() -> None:
    design = (PACKAGE.parent / "docs" / "design.md").read_text(encoding="utf-8")
    rooms = [p.name + "/" if p.is_dir() else p.name for p in PACKAGE.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py")]
    missing = [room for room in rooms if f"datamap/{room}" not in design and f"`{room}`" not in design]
    assert not missing, f"docs/design.md does not say what these rooms are for: {missing}"
