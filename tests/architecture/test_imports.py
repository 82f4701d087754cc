"""The package's import graph runs one way: no cycle, no folder importing one above it, and the layer alone."""

import ast

from helpers import (
    SRC,
    import_blocker,
)

from tvseg.pipeline.code_deps import import_graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert "tvseg.layers._operators" in graph and not graph["tvseg.layers._operators"]  # the leaf
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# The package's folders from the ground up: each imports only folders below it (and itself).
# The reusable layer stands alone at the bottom; the command line is the top.

FLOORS = ("layers", "datasets", "core", "models", "engine", "reporting", "pipeline", "runner", "cli")


def floor_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) < 2:
        return len(FLOORS)  # the package itself (its version): no floor to break
    return FLOORS.index(parts[1])


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if floor_of(target) > floor_of(module)
    )


def test_every_module_stands_on_a_floor():
    graph = import_graph()
    assert {module.split(".")[1] for module in graph if "." in module} == set(FLOORS)


def test_no_folder_imports_one_above_it():
    assert upward_imports(import_graph()) == []


def test_the_floor_check_finds_an_upward_import():
    graph = {"tvseg.core.config": {"tvseg.engine.train"}, "tvseg.engine.train": {"tvseg.core.config"}}
    assert upward_imports(graph) == ["tvseg.core.config -> tvseg.engine.train"]


LAYER_ALONE = (
    import_blocker(
        (
            "pandas",
            "segmentation_models_pytorch",
            "snakemake",
            "dvc",
            "yaml",
            "scipy",
            "jsonschema",
            "matplotlib",
            "PIL",
            "tqdm",
        ),
        "{name} is blocked: the layer must not need it",
    )
    + """
import torch
from tvseg.layers import TVSoftmax, tv_softmax
x = torch.randn(1, 3, 8, 8, requires_grad=True)
TVSoftmax(lam=1.0)(x).sum().backward()
tv_softmax(x.detach(), 2.0, tol=1e-3)
import json
print("alone", json.dumps(sorted(m for m in sys.modules if m.startswith("tvseg"))))
"""
)


def test_the_layer_imports_and_runs_with_the_replications_packages_absent():
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", LAYER_ALONE], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.split("alone", 1)[1])
    assert all(m == "tvseg" or m.startswith("tvseg.layers") for m in loaded), loaded


def test_nothing_outside_the_layer_imports_its_private_modules():
    # the application uses tvseg.layers' public API; its _modules may change under it
    private = {
        (name, target)
        for name, targets in import_graph().items()
        if not name.startswith("tvseg.layers")
        for target in targets
        if target.startswith("tvseg.layers._")
    }
    assert private == set()


def test_no_module_of_the_package_is_over_400_lines():
    # a module that grows past this holds more than one job: split it along its concerns (docs/layout.md)
    sizes = {str(path.relative_to(SRC)): len(path.read_text().splitlines()) for path in (SRC / "tvseg").rglob("*.py")}
    assert {name: size for name, size in sizes.items() if size > 400} == {}


def test_no_command_module_is_large():
    sizes = {path.name: len(path.read_text().splitlines()) for path in (SRC / "tvseg" / "cli").glob("*.py")}
    assert max(sizes.values()) < 200, sizes


# The layer's public keyword-only API may take more: its options are the paper's and the solver's.

MANY_PARAMETERS_ALLOWED = {"tvseg.layers._functional.tv_softmax", "tvseg.layers.modules.TVSoftmax.__init__"}


def functions_with_many_parameters(limit: int = 8) -> dict[str, int]:
    """Every function of the package taking more than ``limit`` parameters (self, cls and autograd's
    ctx, which no caller passes, not counted)."""
    found = {}
    for path in (SRC / "tvseg").rglob("*.py"):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")

        def visit(node, prefix):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}.{child.name}")
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    a = child.args
                    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
                    count = len(names) + (a.vararg is not None) + (a.kwarg is not None)
                    count -= bool(names) and names[0] in ("self", "cls", "ctx")
                    if count > limit:
                        found[f"{prefix}.{child.name}"] = count
                    visit(child, f"{prefix}.{child.name}")

        visit(ast.parse(path.read_text()), module)
    return found


def test_no_function_takes_more_than_eight_parameters():
    # settings travel as one object (TrainSettings, EvaluationSettings, StudySettings), not value by value
    assert set(functions_with_many_parameters()) <= MANY_PARAMETERS_ALLOWED, functions_with_many_parameters()
    assert set(functions_with_many_parameters(limit=7)) > MANY_PARAMETERS_ALLOWED  # the count sees the 8s
