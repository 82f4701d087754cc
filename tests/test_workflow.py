import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "datasets"
BIN = Path(sys.executable).parent


def snakemake(*args, check=True):
    env_path = f"{BIN}:{__import__('os').environ.get('PATH', '')}"
    result = subprocess.run(
        [str(BIN / "snakemake"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": env_path, "HOME": str(Path.home())},
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def job_counts(output: str) -> dict[str, int]:
    block = output.split("Job stats:")[1].split("Reasons:")[0] if "Job stats:" in output else ""
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", block, re.MULTILINE)
        if m.group(1) != "total"
    }


def _fresh_paths(tmp_path) -> Path:
    paths = tmp_path / "paths.yaml"
    paths.write_text(
        f"data_root: {tmp_path / 'data'}\nprepared_root: {tmp_path / 'prepared'}\nresults_dir: {tmp_path / 'results'}\n"
    )
    return paths


def test_paper_settings_dry_run_has_twelve_training_jobs(tmp_path):
    result = snakemake("-n", "--cores", "1", "--configfile", "config.yaml", str(_fresh_paths(tmp_path)))
    counts = job_counts(result.stdout + result.stderr)
    assert counts["train_model"] == 12
    assert counts["evaluate_model"] == 12
    assert counts["render_table"] == 12  # Tables 1-6, each for both readings of sigma
    assert counts["plot_noise_curves"] == 3  # Figures 2, 4, 6
    assert counts["download_dataset"] == 3


def test_lint_and_format_are_clean():
    result = snakemake("--lint", check=False)
    assert result.returncode == 0 and "Congratulations" in result.stdout + result.stderr
    formatted = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert formatted.returncode == 0, formatted.stderr


def test_bad_config_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets:\n  wbc:\n    batchsize: 8\n")
    result = snakemake("-n", "--cores", "1", "--configfile", "config.yaml", str(bad), check=False)
    assert result.returncode != 0
    assert "batchsize" in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo")
def test_quick_profile_end_to_end(tmp_path):
    profile_config = ["--configfile", "profiles/quick/tvseg.yaml", str(_fresh_paths(tmp_path))]
    snakemake("--profile", "profiles/quick", *profile_config)
    results = tmp_path / "results"
    for number in (1, 2, 3, 4):
        for reading in ("std", "variance"):
            table = pd.read_csv(results / "tables" / f"table{number}_{reading}.csv")
            assert table["ours_mean"].notna().sum() >= 3 * 8 * 2  # 3 metrics x 8 columns x 2 methods at least
            assert table["paper"].notna().sum() == 3 * 8 * 2
            assert (results / "tables" / f"table{number}_{reading}.md").read_text().count("| ours ") >= 6
    for figure in ("figure2_wbc", "figure4_camvid"):
        assert (results / "figures" / f"{figure}.png").stat().st_size > 20_000
        assert (results / "figures" / f"{figure}.pdf").stat().st_size > 5_000
    assert (results / "figures" / "panels_wbc_noisy.png").stat().st_size > 10_000
    table1 = pd.read_csv(results / "tables" / "table1_variance.csv")
    assert table1.loc[table1["method"] == "RUnet*1", "ours_mean"].notna().sum() == 3 * 8  # the converged extra
    assert list((results / "runs" / "runet_wbc_noisy" / "seed0").glob("*.pt")) == [
        results / "runs" / "runet_wbc_noisy" / "seed0" / "model.pt"
    ]

    again = snakemake("--profile", "profiles/quick", *profile_config, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr

    changed = tmp_path / "noise.yaml"
    changed.write_text("evaluation:\n  figure_sigmas: [0.0, 0.05, 0.08, 0.1]\n")
    rerun = snakemake("--profile", "profiles/quick", *profile_config, str(changed), "-n")
    counts = job_counts(rerun.stdout + rerun.stderr)
    assert "train_model" not in counts and "prepare_dataset" not in counts
    assert counts["evaluate_model"] == 10  # the paper's 8 variants and RUnet* on clean and noisy WBC

    report = tmp_path / "report.html"
    snakemake("--profile", "profiles/quick", *profile_config, "--report", str(report))
    html = report.read_text(errors="replace")
    assert "table1_std.csv" in html and "figure2_wbc.png" in html and "panels_camvid_clean.png" in html
    shutil.rmtree(tmp_path / "data", ignore_errors=True)
