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


def _every_result_displays_in_the_page(report: Path) -> None:
    """A real headless browser opens the report: every figure, table and the claims show in the page."""
    from report_browser import CHROMIUM, show_every_result

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the report was not opened")
    seen, exceptions = show_every_result(report)
    assert exceptions == []
    names = {Path(path).name: shown for path, shown in seen.items()}
    expected = [f"figure{n}_{d}.png" for n, d in ((2, "wbc"), (4, "camvid"), (6, "sunrgbd"))]
    expected += [f"panels_{d}_{t}.png" for d in ("wbc", "camvid") for t in ("clean", "noisy")]
    for name in expected:
        assert names[name]["shown"] == "img" and names[name]["img"], name
    for number in range(1, 7):
        for reading in ("std", "variance"):
            shown = names[f"table{number}_{reading}.html"]
            assert shown["shown"] == "html" and shown["iframe"] and f"Table {number}:" in shown["text"]
    assert names["claims.html"]["iframe"] and "The paper's claims at this scale" in names["claims.html"]["text"]


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
    output = result.stdout + result.stderr
    assert "batchsize" in output and "bad.yaml" in output
    assert len(output.strip().splitlines()) < 15  # the key and what is allowed, not the whole schema


def test_exponent_notation_is_a_number(tmp_path):
    profile = tmp_path / "exp.yaml"
    profile.write_text("datasets:\n  wbc:\n    lr: 1e-4\n  camvid:\n    lr: 1.0e+9\n")
    result = snakemake("-n", "--cores", "1", "--configfile", "config.yaml", str(profile), check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    from tvseg.config import load_config

    config = load_config(ROOT / "config.yaml", profile)
    assert config["datasets"]["wbc"]["lr"] == 1e-4 and config["datasets"]["camvid"]["lr"] == 1e9


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
    for number in (5, 6):  # SUN-RGBD is disabled: the paper's numbers, ours marked as not run
        table = pd.read_csv(results / "tables" / f"table{number}_variance.csv")
        assert table["ours_mean"].isna().all() and table["paper"].notna().sum() == 3 * 8 * 2
        assert "not run" in (results / "tables" / f"table{number}_variance.md").read_text()
    for figure in ("figure2_wbc", "figure4_camvid", "figure6_sunrgbd"):
        assert (results / "figures" / f"{figure}.png").stat().st_size > 20_000
        assert (results / "figures" / f"{figure}.pdf").stat().st_size > 5_000
    # the fair baseline: post-TV at the lambda chosen on validation, recorded with the results
    choice = __import__("json").loads((results / "post_tv" / "wbc" / "choice.json").read_text())
    assert choice["lam"] in (1.0, 4.0) and set(choice["validation_mean_miou"]) == {"1", "4"}
    metrics = pd.read_csv(results / "metrics.csv")
    assert {"Unet1+postTV-val", "Segnet2+postTV-val", "ground truth"} <= set(metrics["method"])
    assert (metrics["condition"] == "salt_pepper").any()  # the large salt-and-pepper of Figures 1/3
    lambdas = pd.read_csv(results / "lambdas.csv")
    assert set(lambdas["method"]) == {"RUnet1", "RUnet2", "RUnet*1", "RUnet*2", "RSegnet1", "RSegnet2"}
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
    assert "tune_post_tv" not in counts  # the validation choice does not depend on the test conditions

    report = tmp_path / "report.html"
    snakemake("--profile", "profiles/quick", *profile_config, "--report", str(report))
    html = report.read_text(errors="replace")
    assert "table1_std.html" in html and "figure2_wbc.png" in html and "panels_camvid_clean.png" in html
    _every_result_displays_in_the_page(report)
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo")
def test_a_blown_up_run_never_reaches_evaluation_or_the_tables(tmp_path):
    exploding = tmp_path / "exploding.yaml"
    exploding.write_text(
        "datasets:\n  wbc: {lr: 1e9}\n  camvid: {enabled: false}\nconverged: {datasets: []}\n"
        "post_tv: {tune: {enabled: false}}\n"
    )
    profile_config = ["--configfile", "profiles/quick/tvseg.yaml", str(_fresh_paths(tmp_path)), str(exploding)]
    result = snakemake("--profile", "profiles/quick", *profile_config, "--keep-going", check=False)
    assert result.returncode != 0
    results = tmp_path / "results"
    logs = "".join(p.read_text() for p in (results / "logs" / "train_model").glob("*.log"))
    assert "holds non-finite values after the update at iteration" in logs or "the loss is nan" in logs, logs[-2000:]
    assert "run " in logs  # the error names the run folder
    assert not list(results.rglob("evaluation.csv")) and not (results / "metrics.csv").exists()
    assert not (results / "tables").exists() or not list((results / "tables").iterdir())
