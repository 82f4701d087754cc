"""The GPU path without a GPU: the bundle, the workflow-free run, the estimate, the gpu profile."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import (
    BIN,
    ROOT,
    needs_mirror,
    prepare_wbc,
    tiny_config,
)

from tvseg.core.config import load_config


def test_gpu_profile_runs_the_eight_variants_at_paper_resolution(tmp_path):
    config = load_config(ROOT / "config.yaml", ROOT / "profiles/gpu/tvseg.yaml")
    assert config["datasets"]["wbc"]["size"] is None and config["datasets"]["camvid"]["size"] is None  # as published
    assert config["datasets"]["wbc"]["encoder"] == "vgg13" and config["datasets"]["camvid"]["encoder"] == "vgg16_bn"
    paths = tmp_path / "paths.yaml"
    paths.write_text(f"data_root: {tmp_path}/d\nprepared_root: {tmp_path}/p\nresults_dir: {tmp_path}/r\n")
    result = subprocess.run(
        [str(BIN / "snakemake"), "--profile", "profiles/gpu", "-n", "--configfile", "profiles/gpu/tvseg.yaml", str(paths)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    trained = sorted(set(__import__("re").findall(r"runs/(\w+)/seed\d/model\.pt", result.stdout)))
    assert trained == sorted(
        f"{n}_{d}_{t}" for n, d in (("unet", "wbc"), ("runet", "wbc"), ("segnet", "camvid"), ("rsegnet", "camvid"))
        for t in ("clean", "noisy")
    )  # fmt: skip


@pytest.mark.slow
@needs_mirror
def test_the_gpu_path_at_tiny_size_on_the_cpu(tmp_path):
    """bundle -> gpu-run (--device cpu, no workflow) -> the workflow renders; the weights match a workflow run."""
    config = tiny_config(tmp_path)
    prepare_wbc(config)
    cli = [sys.executable, "-m", "tvseg.cli"]
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(
        "\n".join(f"{k}: {config[k]}" for k in ("data_root", "prepared_root", "results_dir"))
        + "\ndatasets: {camvid: {enabled: false}}\nconverged: {datasets: []}\n"
    )
    configs = ["--config", "config.yaml", "--config", "profiles/quick/tvseg.yaml", "--config", str(overrides)]
    subprocess.run([*cli, "bundle", *configs, "--out", str(tmp_path / "bundle"), "--part-size", "100k"], cwd=ROOT,
                   check=True)  # fmt: skip
    # the GPU box: the bundle, the package and torch; a fresh folder for the data
    run = subprocess.run([*cli, "gpu-run", "--bundle", str(tmp_path / "bundle"), "--work", str(tmp_path / "box"),
                          "--device", "cpu", "--quiet"], check=False, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    record = json.loads((results / "gpu-run.json").read_text())
    assert record["device"].startswith("cpu") and len(record["jobs"]) == 1 + 4 + 4  # tune, train, evaluate
    again = subprocess.run([*cli, "gpu-run", "--bundle", str(tmp_path / "bundle"), "--work", str(tmp_path / "box"),
                            "--device", "cpu", "--quiet"], check=False, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert "unpacked in" in again.stdout and json.loads((results / "gpu-run.json").read_text())["jobs"] == []
    cost = subprocess.run([*cli, "estimate", "--bundle", str(tmp_path / "bundle"), "--work", str(tmp_path / "box"),
                           "--device", "cpu", "--iterations", "4", "--eval-images", "1", "--jobs", "2",
                           "--json", str(tmp_path / "estimate.json")],
                          check=False, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert cost.returncode == 0 and "## This profile:" in cost.stdout, cost.stderr[-2000:]
    measured = json.loads((tmp_path / "estimate.json").read_text())
    assert measured["at_once"]["jobs"] == 2 and measured["at_once"]["slowdown"] > 0
    assert "| 2 | " in cost.stdout.split("wall time by jobs at once")[1]  # nothing left: 0 s at 1 and at 2

    # back home: the workflow takes the results as its own and renders them
    smk = [str(BIN / "snakemake"), "--cores", "2", "--configfile", "profiles/quick/tvseg.yaml", str(overrides)]
    outputs = (results / "gpu-run-outputs.txt").read_text().split()
    subprocess.run([smk[0], *outputs, "--touch", *smk[1:]], cwd=ROOT, check=True, capture_output=True)
    plan = subprocess.run([*smk, "-n"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    jobs = plan.split("Job stats:")[1].split("Reasons:")[0]
    assert "train_model" not in jobs and "evaluate_model" not in jobs and "tune_post_tv" not in jobs
    assert "render_table" in jobs
    subprocess.run(smk, cwd=ROOT, check=True, capture_output=True)
    assert (results / "tables" / "table1_variance.md").read_text().count("| ours ") >= 4
    assert (results / "claims.md").exists() and (results / "figures" / "figure2_wbc.png").exists()

    # the same training through the workflow's own job gives the same weights
    other = subprocess.run([*cli, "train", "--run", "runet_wbc_noisy", "--seed", "0", "--out", str(tmp_path / "wf"),
                            "--quiet", *configs], check=False, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert other.returncode == 0, other.stderr[-2000:]
    a = torch.load(results / "runs/runet_wbc_noisy/seed0/model.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "wf" / "model.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
@needs_mirror
def test_two_jobs_at_once_make_what_one_at_a_time_makes(tmp_path):
    from tvseg.runner.execute import run_all

    config = tiny_config(tmp_path)
    prepare_wbc(config)
    made = {}
    for at_once in (1, 2):
        config["results_dir"] = str(tmp_path / f"results{at_once}")
        record = run_all(config, "cpu", progress=False, say=lambda *a: None, jobs_at_once=at_once)
        assert record["jobs_at_once"] == at_once and record["finished"] == record["planned"] == len(record["jobs"])
        results = Path(config["results_dir"])
        made[at_once] = {p.relative_to(results): p for p in results.rglob("*.csv") if "log" not in p.name}
        made[at_once]["models"] = sorted(results.rglob("model.pt"))
    assert len(made[1]["models"]) == len(made[2]["models"]) >= 5
    for one, two in zip(made[1]["models"], made[2]["models"], strict=True):
        a, b = torch.load(one)["model"], torch.load(two)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a), one
    tables = {k for k in made[1] if k != "models"}
    assert tables == {k for k in made[2] if k != "models"} and any("evaluation" in str(k) for k in tables)
    for key in tables:
        assert made[1][key].read_bytes() == made[2][key].read_bytes(), key
