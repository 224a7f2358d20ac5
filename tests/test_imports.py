"""No import cycle in gen1_batch: every module can be imported first, and each one's dependencies form a tree
that a reader (or a refactor) can follow one way.

The graph is read from the source with `ast`, not from a running interpreter, so that it holds every import
statement of a gen1_batch module, wherever it stands: at the top, inside a function (the usual way of hiding a
cycle until the function runs), or under `if TYPE_CHECKING:` (a dependency of the design, even if not of the
running program). What the edges are:

* `import a.b.c` and `from a.b import c` (c a module): the module a.b.c.
* `from a.b import name` (name not a module): the package a.b itself, its `__init__`.
* A package's `__init__` depends on what it imports, so its re-exports are edges from the package to the
  modules it re-exports: a module outside `media/` that imports `from gen1_batch.media import read_video`
  depends on every module `media/__init__` imports.
* Importing a.b.c runs the `__init__` of a and a.b first. For a module outside those packages this is an edge
  (and it is what makes re-exports count). For a module inside them it is not: Python starts a package's
  `__init__` before any of its modules, so a module may take its siblings through the package
  (`from gen1_batch.media import canvas` inside media/reader.py) without depending on the package's
  re-exports. Taking a re-exported *name* from its own package (`from gen1_batch.media import read_video`
  inside media/) is an edge to the package, and a cycle through its `__init__` (the import that fails when
  the package is half initialised).

String imports (`importlib.import_module`, the lazy names of `gen1_batch/__init__`) are not statements and
are left out: they name a module chosen at run time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = "gen1_batch"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def _modules(root: Path) -> dict[str, Path]:
    """Every module of the package by dotted name; a package's name stands for its __init__.py."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported(module: str, tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    """The gen1_batch modules one module's import statements name (see the module docstring)."""
    own_package = module if _is_package(module, modules) else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package, up level - 1
                anchor = own_package.split(".")[: len(own_package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
    edges = set()
    for target in targets:
        if target not in modules:
            continue  # not gen1_batch, or a name the package does not have (the import itself would fail)
        inside = module == target or module.startswith(target + ".")
        if not inside:
            edges.add(target)
        # the __init__ of each enclosing package runs first, unless the importer is already inside it
        edges.update(a for a in _ancestors(target) if not (module == a or module.startswith(a + ".")))
    edges.discard(module)
    return edges


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = _modules(root)
    return {name: _imported(name, ast.parse(path.read_text(), str(path)), modules) for name, path in modules.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _shortest_cycle(graph: dict[str, set[str]], start: str) -> list[str]:
    """The shortest way from `start` back to itself (breadth first), as [start, ..., start]."""
    came_from: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise ValueError(f"{start} is on no cycle")


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per group of modules that import each other (a strongly connected component), each the
    shortest through the group's first module: [a, b, ..., a]."""
    reach = {node: _reachable(graph, node) for node in graph}
    cycles, placed = [], set()
    for node in sorted(graph):
        if node in placed or node not in reach[node]:
            continue
        placed.update(other for other in reach[node] if node in reach[other])
        cycles.append(_shortest_cycle(graph, node))
    return cycles


def test_the_package_has_no_import_cycle():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_graph_sees_imports_inside_functions_and_package_reexports(tmp_path):
    """The check itself: a cycle hidden in a function, or closed through a package's __init__, is found;
    siblings taken through their own package are not a cycle."""
    def package(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return tmp_path / PACKAGE

    root = package({
        f"{PACKAGE}/__init__.py": "",
        f"{PACKAGE}/a.py": "def f():\n    from gen1_batch import b\n",
        f"{PACKAGE}/b.py": "from gen1_batch.a import f\n",
        f"{PACKAGE}/media/__init__.py": "from gen1_batch.media.reader import read\n",
        f"{PACKAGE}/media/reader.py": "from gen1_batch.media import canvas\nfrom . import canvas as c\n",
        f"{PACKAGE}/media/canvas.py": "",
        f"{PACKAGE}/c.py": "from gen1_batch.media import read\n",
    })
    graph = import_graph(root)
    assert find_cycles(graph) == [["gen1_batch.a", "gen1_batch.b", "gen1_batch.a"]]
    assert graph["gen1_batch.media.reader"] == {"gen1_batch.media.canvas"}  # siblings through the package
    assert graph["gen1_batch.c"] == {"gen1_batch.media"}
    assert graph["gen1_batch.media"] == {"gen1_batch.media.reader"}

    (root / "b.py").write_text("")
    assert find_cycles(import_graph(root)) == []
    (root / "media" / "canvas.py").write_text("def g():\n    import gen1_batch.c\n")  # closed through __init__
    assert find_cycles(import_graph(root)) == [["gen1_batch.c", "gen1_batch.media", "gen1_batch.media.reader",
                                                "gen1_batch.media.canvas", "gen1_batch.c"]]


CODECS = ("av", "OpenImageIO", "torch")  # PyAV, OpenImageIO and torch: each loads native libraries, ~0.1-0.5 s


@pytest.mark.parametrize("module", ["gen1_batch.manifest", "gen1_batch.shot", "gen1_batch.media.formats"])
def test_reading_a_manifest_loads_no_codec_or_model_library(module):
    """Validating a manifest (gen1 validate, the schema, the dry run's first step) needs plain facts about
    media, not the libraries that decode and encode it: a fresh interpreter shows what an import loads."""
    code = f"import sys, {module}; print(' '.join(m for m in {CODECS!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"import {module} loads {', '.join(loaded)}"


def test_the_media_package_still_gives_its_names():
    """media/__init__ loads its modules on first use; every name it lists is there, and no other."""
    import gen1_batch.media as media
    from gen1_batch.media import formats, reader, writer

    assert (media.OUTPUT_FORMATS, media.read_video, media.write_output) == (
        formats.OUTPUT_FORMATS, reader.read_video, writer.write_output)
    assert all(hasattr(media, name) for name in media.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        media.nothing  # noqa: B018
