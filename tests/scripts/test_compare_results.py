"""scripts/compare_results.py: a refactor's check that two results folders hold the same results."""

import subprocess
import sys
from pathlib import Path

from helpers import (
    ROOT,
)

SCRIPT = ROOT / "scripts" / "compare_results.py"

LOG = "iteration,loss,seconds\n1,0.5,{}\n"


def _results(root: Path, seconds: str = "0.31") -> Path:
    (root / "runs" / "a" / "seed0").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "metrics.csv").write_text("metric,value\nmiou,50.1\n")
    (root / "runs" / "a" / "seed0" / "log.csv").write_text(LOG.format(seconds))
    (root / "logs" / "job.log").write_text(f"took {seconds} s\n")
    return root


def _compare(before: Path, after: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(before), str(after)], capture_output=True, text=True, check=False
    )


def test_the_same_results_with_other_timings_are_the_same(tmp_path):
    result = _compare(_results(tmp_path / "a"), _results(tmp_path / "b", seconds="0.47"))
    assert result.returncode == 0, result.stdout
    assert "2 of 2 files the same (1 training logs apart from their 'seconds' column)" in result.stdout


def test_a_changed_number_or_a_missing_file_is_a_difference(tmp_path):
    before, after = _results(tmp_path / "a"), _results(tmp_path / "b")
    (after / "metrics.csv").write_text("metric,value\nmiou,50.2\n")
    (after / "runs" / "a" / "seed0" / "log.csv").write_text("iteration,loss,seconds\n1,0.6,0.31\n")
    (before / "claims.md").write_text("claims\n")
    result = _compare(before, after)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"only in {before}: claims.md" in lines and "differs: metrics.csv" in lines
    assert "differs: runs/a/seed0/log.csv" in lines  # its loss changed, not only its seconds


def test_a_folder_that_is_not_there_is_named(tmp_path):
    result = _compare(_results(tmp_path / "a"), tmp_path / "nowhere")
    assert result.returncode != 0 and f"{tmp_path / 'nowhere'} is not a folder" in result.stderr
