"""The package's import graph, and from it the code a step runs: what ``dvc.yaml``'s stages list as
their code dependencies, so that a change to any module a step imports re-runs it and a change
elsewhere does not.

The graph is read from the source (every ``import``, at the top or inside a function); the files a
module reads beside its code (the paper's numbers, the TV kernel's C source, the datasets'
checksums) are named in ``DATA_FILES``, and a test holds that list to the package's files.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]
REPO_ROOT = SRC.parent

# module -> the files beside the code it reads (paths relative to src/)
DATA_FILES = {
    "tvseg.core.paper": ("tvseg/core/reference/paper_results.csv", "tvseg/core/reference/ground_truth_re.csv"),
    "tvseg.layers._native": ("tvseg/layers/_kernels.c", "tvseg/layers/_kernels_body.h"),
    "tvseg.datasets.sources": ("tvseg/datasets/contents/camvid.sha256", "tvseg/datasets/contents/wbc.sha256"),
    "tvseg.datasets.splits": ("tvseg/datasets/splits/wbc.json",),
}


def module_files(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package: its dotted name (a package by its own name) -> its file."""
    return dict(_read_package(src)[0])


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (top-level and inside functions alike); a module
    importing its own package (its ``__init__``) is Python's usual layout and not listed."""
    return {name: set(targets) for name, targets in _read_package(src)[1].items()}


@lru_cache
def _read_package(src: Path) -> tuple[dict[str, Path], dict[str, frozenset[str]]]:
    """The modules and their imports, parsed once per process (dvc.yaml's four stages each ask)."""
    modules = {}
    for path in sorted((src / "tvseg").rglob("*.py")):
        name = ".".join(path.relative_to(src).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return modules, {name: frozenset(targets) for name, targets in graph.items()}


def imported_by(entries: tuple[str, ...], graph: dict[str, set[str]]) -> set[str]:
    """``entries`` and every module they import, directly or not, with the packages those sit in
    (Python runs a package's ``__init__`` before any module of it)."""
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(graph[module])
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    return seen


def code_paths(entries: tuple[str, ...], src: Path = SRC) -> list[str]:
    """The source files a step whose code starts at ``entries`` runs, as repository paths: a folder
    whose every module is imported is named whole (its data files with it), else its modules one by
    one, with the data files of each (``DATA_FILES``)."""
    modules, graph = _read_package(src)
    used = imported_by(entries, graph)
    by_folder: dict[Path, list[str]] = {}
    for name, path in modules.items():
        by_folder.setdefault(path.parent, []).append(name)
    paths: list[str] = []
    for folder, names in sorted(by_folder.items()):
        taken = [name for name in names if name in used]
        if not taken:
            continue
        whole = len(taken) == len(names) and folder != src / "tvseg"
        if whole:
            paths.append(_repo_path(folder, src))
            continue
        for name in taken:
            paths.append(_repo_path(modules[name], src))
            paths += [_repo_path(src / data, src) for data in DATA_FILES.get(name, ())]
    return paths


def _repo_path(path: Path, src: Path) -> str:
    return path.relative_to(src.parent).as_posix()


def folder_graph(src: Path = SRC) -> dict[str, set[str]]:
    """The import graph between the package's folders (``core`` -> ``datasets``...), each module's
    arrows taken to its folder."""

    def folder(module: str) -> str:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else "tvseg"

    graph: dict[str, set[str]] = {}
    for module, targets in import_graph(src).items():
        arrows = graph.setdefault(folder(module), set())
        arrows.update(folder(target) for target in targets if folder(target) != folder(module))
    return graph


if __name__ == "__main__":  # python -m tvseg.pipeline.code_deps [SRC]: the folders' import graph
    import sys

    for name, targets in sorted(folder_graph(Path(sys.argv[1]) if len(sys.argv) > 1 else SRC).items()):
        print(f"{name} -> {', '.join(sorted(targets)) or '(nothing)'}")
