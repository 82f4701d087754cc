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


def _entry_paths(entries: list) -> set[str]:
    """The paths of a dvc.yaml stage's deps or outs: each entry is a path, or a one-key mapping of
    the path to its options (``{path: {persist: true}}``)."""
    return {entry if isinstance(entry, str) else next(iter(entry)) for entry in entries}


def _pulled_by_dvc(path: str, outputs: set[str]) -> bool:
    """Whether ``path`` is (or lies in) one of ``outputs`` (dvc.yaml's stages' outputs) and git ignores
    it: such a file comes with ``dvc pull``, not with a clone, so a fresh clone lacks it by design."""
    import subprocess

    if not any(path == out or path.startswith(out.rstrip("/") + "/") for out in outputs):
        return False
    return subprocess.run(["git", "check-ignore", "-q", path], check=False, cwd=ROOT).returncode == 0


def test_dvc_lock_names_the_dependencies_dvc_yaml_names_and_they_exist():
    # dvc.lock holds the stages whose outputs were at hand when it was written (docs/dvc.md says
    # which); each must be a stage of dvc.yaml with the same dependencies, every one of them in the tree
    import yaml

    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert lock, "dvc.lock locks no stage"
    outputs = set().union(*(_entry_paths(stage.get("outs", [])) for stage in stages.values()))
    for name, locked in lock.items():
        assert name in stages, f"dvc.lock locks {name}, which dvc.yaml does not define"
        declared = _entry_paths(stages[name].get("deps", []))
        paths = {dep["path"] for dep in locked.get("deps", [])}
        assert paths == declared, f"{name}: dvc.lock {sorted(paths ^ declared)} differ from dvc.yaml"
        missing = [p for p in paths if not (ROOT / p).exists() and not _pulled_by_dvc(p, outputs)]
        assert missing == [], f"{name}: dvc.lock names paths that do not exist: {missing}"


class _Recording(dict):
    """A configuration that notes each value read out of it by key, as a dotted path (a section
    read whole, e.g. ``{**config["evaluation"]}``, is not noted: the check below is a floor)."""

    def __init__(self, data: dict, path: str, read: set):
        super().__init__(data)
        self._path, self._read = path, read

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        path = f"{self._path}.{key}" if self._path else str(key)
        if isinstance(value, dict):
            return _Recording(value, path, self._read)
        self._read.add(path)
        return value

    def get(self, key, default=None):
        if key in self:
            return self[key]
        self._read.add(f"{self._path}.{key}" if self._path else str(key))
        return default


PATHS = ("prepared_root", "results_dir", "data_root")  # where files go: no stage's params


def _uncovered(read: set, declared: list[str]) -> list[str]:
    return sorted(p for p in read if p not in PATHS and not any(p == k or p.startswith(k + ".") for k in declared))


def _read_by(config: dict, *builds) -> set:
    """The keys the settings builders read: each of ``builds`` is (builder, its arguments after the configuration)."""
    read: set = set()
    for build, *args in builds:
        build(_Recording(config, "", read), *args)
    return read


@pytest.mark.parametrize("profile", ["cpu", "quick", "gpu"])
def test_each_stage_declares_every_key_its_settings_are_built_from(profile):
    from pathlib import Path

    from tvseg.core.config import enabled_datasets, load_config
    from tvseg.core.from_config import (
        evaluation_settings,
        prepare_settings,
        train_settings,
        tuning_evaluation_settings,
        tuning_study_settings,
    )
    from tvseg.core.runs import runs_for
    from tvseg.pipeline.dvc_stages import data_params, evaluate_params, train_params

    config = load_config(ROOT / "config.yaml", ROOT / "profiles" / profile / "tvseg.yaml")
    datasets = enabled_datasets(config)
    for dataset in datasets:
        assert _uncovered(_read_by(config, (prepare_settings, dataset)), data_params(datasets)) == []
        trainings = [(train_settings, run, 0) for run in runs_for(config) if run.dataset == dataset]
        assert _uncovered(_read_by(config, *trainings), train_params(dataset)) == []
        evaluations = [(evaluation_settings, dataset, None, Path("panels")),
                       (tuning_evaluation_settings, dataset, "val", {}), (tuning_study_settings, [0])]  # fmt: skip
        assert _uncovered(_read_by(config, *evaluations), evaluate_params(dataset)) == []
    # the check finds a key a stage leaves out: training draws its held-out images from noise.seed
    read = _read_by(config, (train_settings, runs_for(config)[0], 0))
    assert _uncovered(read, [k for k in train_params(datasets[0]) if k != "noise.seed"]) == ["noise.seed"]
