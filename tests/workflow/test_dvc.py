import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    BIN,
    MIRROR,
    ROOT,
)


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
    # The quick profile on WBC alone (every stage and kind of output; CamVid would add only more of
    # the same), with its results in a git-tracked folder and the mirror by absolute path.
    profile = first / "profiles" / "quick" / "tvseg.yaml"
    text = profile.read_text().replace("mirror: ../shared/datasets", f"mirror: {MIRROR}")
    text = text.replace("  camvid:\n", "  camvid:\n    enabled: false\n", 1)
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
    assert sorted(t.name for t in tables if t.name.startswith("per_class")) == ["per_class_wbc.md"]
    for table in tables:
        assert (second / "results" / "quick" / "tables" / table.name).read_bytes() == table.read_bytes()
    assert (second / "results" / "quick" / "runs" / "runet_wbc_noisy" / "seed0" / "model.pt").is_file()

    # A code change that training depends on: `dvc repro` re-runs the train stage's command, which
    # (as docs/dvc.md says) does not retrain finished runs; no model or log is deleted.
    runs = second / "results" / "quick" / "runs"
    before = {p: p.read_bytes() for p in sorted(runs.glob("*/*/log.csv")) + sorted(runs.glob("*/*/model.pt"))}
    assert len(before) == 2 * 6  # WBC's 4 variants and RUnet* on clean and noisy data
    with open(second / "src" / "tvseg" / "engine" / "train.py", "a") as f:
        f.write("\n# a comment: the code hash moves\n")
    run(second, str(BIN / "dvc"), "repro", "--quiet")
    assert {p: p.read_bytes() for p in before} == before


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
