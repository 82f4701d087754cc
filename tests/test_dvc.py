import os
import subprocess
import sys
from pathlib import Path

import pytest

from tvseg.pipeline.dvc_stages import render

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "datasets"
BIN = Path(sys.executable).parent


def test_committed_dvc_yaml_is_what_the_generator_gives():
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        assert (ROOT / "dvc.yaml").read_text() == render("profiles/cpu")
    finally:
        os.chdir(previous)


def run(cwd: Path, *command: str) -> str:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    result = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo")
def test_dvc_round_trip_leaves_nothing_to_redo(tmp_path):
    first, second, remote = tmp_path / "first", tmp_path / "second", tmp_path / "remote"
    run(tmp_path, "git", "clone", "-q", str(ROOT), str(first))
    # The quick profile, with its results in a git-tracked folder and the mirror by absolute path.
    profile = first / "profiles" / "quick" / "tvseg.yaml"
    text = profile.read_text().replace("mirror: ../shared/datasets", f"mirror: {MIRROR}")
    profile.write_text(text.replace("results_dir: work/quick/results", "results_dir: results/quick"))
    (first / "dvc.yaml").write_text(
        run(first, str(BIN / "python"), "-m", "tvseg.cli", "dvc-yaml", "--profile", "profiles/quick")
    )
    run(first, str(BIN / "dvc"), "remote", "modify", "local", "url", str(remote))
    run(first, str(BIN / "dvc"), "repro", "--quiet")
    run(first, "git", "add", "-A")
    run(first, "git", "commit", "-qm", "quick results")
    run(first, str(BIN / "dvc"), "push", "--quiet")

    run(tmp_path, "git", "clone", "-q", str(first), str(second))
    run(second, str(BIN / "dvc"), "pull", "--quiet")
    # DVC keeps no file times: `make pull` marks the pulled files up to date with this script
    run(second, "env", f"SNAKEMAKE={BIN / 'snakemake'}", "bash", "scripts/mark_up_to_date.sh", "profiles/quick")
    dry = run(second, str(BIN / "snakemake"), "--profile", "profiles/quick", "-n")
    assert "Nothing to be done" in dry, dry
    assert "data/prepared" not in run(second, str(BIN / "dvc"), "status")  # the pulled data matches the lock
    tables = sorted((first / "results" / "quick" / "tables").iterdir())
    # Tables 1-6 in md, tex, csv and html (5-6 without SUN-RGBD: the paper's numbers, ours not run), and the
    # per-class table of each dataset that ran
    assert len([t for t in tables if t.name.startswith("table")]) == 6 * 2 * 4
    assert sorted(t.name for t in tables if t.name.startswith("per_class")) == [
        "per_class_camvid.md",
        "per_class_wbc.md",
    ]
    for table in tables:
        assert (second / "results" / "quick" / "tables" / table.name).read_bytes() == table.read_bytes()
    assert (second / "results" / "quick" / "runs" / "runet_wbc_noisy" / "seed0" / "model.pt").is_file()

    # A code change that training depends on: `dvc repro` re-runs the train stage's command, which
    # (as docs/dvc.md says) does not retrain finished runs; no model or log is deleted.
    runs = second / "results" / "quick" / "runs"
    before = {p: p.read_bytes() for p in sorted(runs.glob("*/*/log.csv")) + sorted(runs.glob("*/*/model.pt"))}
    assert len(before) == 2 * 10
    with open(second / "src" / "tvseg" / "engine" / "train.py", "a") as f:
        f.write("\n# a comment: the code hash moves\n")
    run(second, str(BIN / "dvc"), "repro", "--quiet")
    assert {p: p.read_bytes() for p in before} == before


def test_a_profile_with_git_ignored_results_is_refused(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ValueError, match="which git ignores"):
        render("profiles/quick")


def test_make_pull_without_remote_data_says_what_to_do(tmp_path):
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(ROOT), str(clone))
    venv = Path(sys.executable).parent.parent
    result = subprocess.run(
        ["make", "-o", "env", "-o", f"{venv}/.installed", "pull", f"VENV={venv}"],
        cwd=clone, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    output = (result.stdout + result.stderr).splitlines()
    message = [line for line in output if not line.startswith(("make: ***", "make[")) and line.strip()]
    text = "\n".join(message)
    assert "'local'" in text and "tvseg-dvc-remote" in text and "dvc push" in text and "dvc remote modify" in text
    assert len(message) <= 6, text


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
