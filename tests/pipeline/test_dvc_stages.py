import os
from pathlib import Path

import pytest
from helpers import (
    ROOT,
)

from tvseg.pipeline.dvc_stages import render


def test_committed_dvc_yaml_is_what_the_generator_gives():
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        assert (ROOT / "dvc.yaml").read_text() == render("profiles/cpu")
    finally:
        os.chdir(previous)


def test_a_profile_with_git_ignored_results_is_refused(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ValueError, match="which git ignores"):
        render("profiles/quick")


def test_dvc_lock_names_the_dependencies_dvc_yaml_names_and_they_exist():
    # dvc.lock holds the stages whose outputs were at hand when it was written (docs/dvc.md says
    # which); each must be a stage of dvc.yaml with the same dependencies, every one of them in the tree
    import yaml

    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert lock, "dvc.lock locks no stage"
    for name, locked in lock.items():
        assert name in stages, f"dvc.lock locks {name}, which dvc.yaml does not define"
        declared = {dep if isinstance(dep, str) else next(iter(dep)) for dep in stages[name].get("deps", [])}
        paths = {dep["path"] for dep in locked.get("deps", [])}
        assert paths == declared, f"{name}: dvc.lock {sorted(paths ^ declared)} differ from dvc.yaml"
        tracked_elsewhere = ("data/", "results/cpu/runs/")  # DVC's own outputs: pulled, not in git
        missing = [p for p in paths if not (ROOT / p).exists() and not p.startswith(tracked_elsewhere)]
        assert missing == [], f"{name}: dvc.lock names paths that do not exist: {missing}"
