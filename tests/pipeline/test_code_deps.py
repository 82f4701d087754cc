"""The code each DVC stage depends on, derived from the import graph."""

import subprocess

from helpers import (
    ROOT,
)

from tvseg.pipeline.code_deps import DATA_FILES, code_paths, import_graph, imported_by
from tvseg.pipeline.dvc_stages import DATA_CODE, EVALUATE_CODE, REPORT_CODE, TRAIN_CODE


def _covered(path: str, listed: list[str]) -> bool:
    return any(path == entry or path.startswith(entry + "/") for entry in listed)


def test_training_depends_on_every_module_it_imports():
    # the modules the typed list of old left out, though training imports them
    for path in ("src/tvseg/datasets/prepare.py", "src/tvseg/engine/metrics.py", "src/tvseg/core/config.py",
                 "src/tvseg/core/safe_io.py", "src/tvseg/engine/train.py", "src/tvseg/layers/_kernels.c",
                 "src/tvseg/models/segnet.py", "src/tvseg/__init__.py"):  # fmt: skip
        assert _covered(path, TRAIN_CODE), path
    # and not on what it never runs
    for path in ("src/tvseg/engine/evaluate.py", "src/tvseg/reporting/tables.py", "src/tvseg/cli/runs.py"):
        assert not _covered(path, TRAIN_CODE), path


def test_each_stage_lists_the_code_its_steps_run():
    assert _covered("src/tvseg/engine/tuning.py", EVALUATE_CODE) and _covered(
        "src/tvseg/models/__init__.py", EVALUATE_CODE
    )
    assert _covered("src/tvseg/reporting/claims.py", REPORT_CODE) and not _covered("src/tvseg/models", REPORT_CODE)
    assert _covered("src/tvseg/datasets/noise.py", DATA_CODE) and not _covered("src/tvseg/engine/train.py", DATA_CODE)
    for paths in (DATA_CODE, TRAIN_CODE, EVALUATE_CODE, REPORT_CODE):
        assert all((ROOT / path).exists() for path in paths), paths


def test_a_module_brings_what_it_imports_and_its_packages():
    graph = {"tvseg.a.b": {"tvseg.c.d"}, "tvseg.c.d": set(), "tvseg.a": set(), "tvseg.c": set(), "tvseg": set(),
             "tvseg.e": set()}  # fmt: skip
    assert imported_by(("tvseg.a.b",), graph) == {"tvseg.a.b", "tvseg.c.d", "tvseg.a", "tvseg.c", "tvseg"}


def test_a_folder_wholly_imported_is_named_whole_and_a_partial_one_by_its_modules(tmp_path):
    package = tmp_path / "tvseg"
    for name, text in {"__init__.py": "", "a/__init__.py": "", "a/x.py": "from tvseg.b import y\n",
                       "b/__init__.py": "", "b/y.py": "", "b/z.py": "", "b/data.txt": ""}.items():  # fmt: skip
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    assert code_paths(("tvseg.a.x",), src=tmp_path) == [
        f"{tmp_path.name}/tvseg/__init__.py", f"{tmp_path.name}/tvseg/a", f"{tmp_path.name}/tvseg/b/__init__.py",
        f"{tmp_path.name}/tvseg/b/y.py",
    ]  # fmt: skip


def test_every_file_beside_the_code_is_named_with_the_module_that_reads_it():
    tracked = subprocess.run(["git", "ls-files", "src/tvseg"], cwd=ROOT, capture_output=True, text=True, check=True)
    data = {path.removeprefix("src/") for path in tracked.stdout.split() if not path.endswith(".py")}
    assert data == {path for paths in DATA_FILES.values() for path in paths}
    assert set(DATA_FILES) <= set(import_graph())
