"""The GPU path without a GPU: the bundle, the workflow-free run, the estimate, the gpu profile."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tvseg.core.config import bundle_dir, load_config, run_dir
from tvseg.gpu.bundle import BundleError, make_bundle, parse_size, unbundle, verify
from tvseg.gpu.run import done, planned_jobs
from tvseg.pipeline.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "datasets"
BIN = Path(sys.executable).parent
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo"
)


def _tiny_config(tmp_path: Path) -> dict:
    """The quick profile on WBC alone, with its paths under ``tmp_path``."""
    paths = tmp_path / "paths.yaml"
    paths.write_text(
        f"data_root: {tmp_path / 'data'}\nprepared_root: {tmp_path / 'prepared'}\nresults_dir: {tmp_path / 'results'}\n"
        "datasets: {camvid: {enabled: false}}\nconverged: {datasets: []}\n"
    )
    return load_config(ROOT / "config.yaml", ROOT / "profiles/quick/tvseg.yaml", paths)


def _prepare(config: dict) -> None:
    from tvseg.datasets import fetch, make_noisy_split, prepare_dataset
    from tvseg.engine.experiment import prepare_settings

    tree = fetch("wbc", Path(config["data_root"]), mirror=MIRROR)
    settings = prepare_settings(config, "wbc")
    folder = prepare_dataset("wbc", tree, Path(config["prepared_root"]) / "wbc", settings, progress=False)
    make_noisy_split(folder, settings.noisy)


@needs_mirror
def test_a_bundle_round_trips_in_parts_and_refuses_a_corrupt_part(tmp_path):
    config = _tiny_config(tmp_path)
    _prepare(config)
    manifest = make_bundle(config, tmp_path / "bundle", part_size="64k")
    parts = manifest["datasets"]["wbc"]["parts"]
    assert len(parts) > 1 and all(p["bytes"] <= 64 * 1024 for p in parts)
    assert manifest["datasets"]["wbc"]["bytes"] < manifest["datasets"]["wbc"]["prepared_bytes"]
    assert not any("train_noisy" in p["file"] for p in parts)
    unpacked = unbundle(tmp_path / "bundle", tmp_path / "there", site_dir=tmp_path / "site")
    assert unpacked["prepared_root"] == str(tmp_path / "there")
    original, copy = Path(config["prepared_root"]) / "wbc", tmp_path / "there" / "wbc"
    files = sorted(p.relative_to(original) for p in original.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(copy) for p in copy.rglob("*") if p.is_file())
    assert all((original / f).read_bytes() == (copy / f).read_bytes() for f in files)  # the noisy set too
    assert (tmp_path / "site" / "segmentation_models_pytorch" / "__init__.py").is_file()
    # a box without segmentation_models_pytorch (the CUDA image has none): unpacking needs the
    # models (the noisy set is remade), so the bundled copy must be usable before the datasets
    hide_installed = (
        "import importlib.machinery, sys\n"
        "class HideInstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name != 'segmentation_models_pytorch': return None\n"
        "        spec = importlib.machinery.PathFinder.find_spec(name, [p for p in sys.path if p.endswith('site')])\n"
        "        if spec is None: raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "        return spec\n"
        "sys.meta_path.insert(0, HideInstalled())\n"
        "from tvseg.gpu.run import unpack_once\n"
        "unpack_once(sys.argv[1], sys.argv[2], say=lambda text: None)\n"
        "import segmentation_models_pytorch as smp\n"
        "print(smp.__file__)\n"
    )
    box = subprocess.run(
        [sys.executable, "-c", hide_installed, str(tmp_path / "bundle"), str(tmp_path / "box")],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert box.returncode == 0, box.stderr[-2000:]
    assert box.stdout.strip().startswith(str(tmp_path / "box" / "site"))

    part = tmp_path / "bundle" / parts[1]["file"]
    data = bytearray(part.read_bytes())
    data[100] ^= 1
    part.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=parts[1]["file"]):
        verify(tmp_path / "bundle")
    part.unlink()
    with pytest.raises(BundleError, match="missing"):
        unbundle(tmp_path / "bundle", tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()  # nothing written from a bad bundle


def test_the_papers_schedule_is_read_without_the_schema(tmp_path):
    # the GPU box has no jsonschema: estimate reads config.yaml's schedule as plain YAML
    resolved = tmp_path / "config.yaml"
    resolved.write_text(yaml.safe_dump(load_config(ROOT / "config.yaml", ROOT / "profiles/gpu/tvseg.yaml")))
    code = (
        "import sys, yaml\n"
        "sys.modules['jsonschema'] = None\n"
        "from tvseg.gpu.estimate import paper_schedule\n"
        "paper = paper_schedule(yaml.safe_load(open(sys.argv[1])))\n"
        "print(paper['datasets']['wbc']['iterations'], paper['datasets']['camvid']['iterations'], *paper['seeds'])\n"
    )
    box = subprocess.run(
        [sys.executable, "-c", code, str(resolved)],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert box.returncode == 0, box.stderr[-2000:]
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    expected = [raw["datasets"]["wbc"]["iterations"], raw["datasets"]["camvid"]["iterations"], *raw["seeds"]]
    assert box.stdout.split() == [str(v) for v in expected]


def test_the_makefiles_bundle_is_the_gpu_profiles_bundle_dir_without_the_schema(tmp_path):
    # make's BUNDLE default is computed on the GPU box too, where jsonschema is missing
    (tmp_path / "jsonschema.py").write_text("raise ImportError('no jsonschema on this box')\n")
    python = tmp_path / "python"  # the interpreter, with the blocker ahead of site-packages
    python.write_text(f'#!/bin/sh\nPYTHONPATH="$PYTHONPATH:{tmp_path}" exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    made = subprocess.run(
        ["make", "-n", "reproduce-gpu", f"PYTHON={python}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr[-2000:]
    expected = bundle_dir(load_config(ROOT / "config.yaml", ROOT / "profiles/gpu/tvseg.yaml"))
    assert f"--bundle {expected}" in made.stdout


def test_part_sizes_read_as_bytes():
    assert (
        parse_size("50M") == 50 * 2**20 and parse_size("1.5G") == int(1.5 * 2**30) and parse_size("500k") == 500 * 1024
    )
    with pytest.raises(ValueError, match="not a size"):
        parse_size("fifty")


def test_the_workflow_free_run_plans_the_workflows_jobs():
    config = load_config(ROOT / "config.yaml", ROOT / "profiles/gpu/tvseg.yaml")
    jobs = planned_jobs(Plan(config))
    steps = [job.step for job in jobs]
    assert steps.count("train_model") == 16 and steps.count("evaluate_model") == 16 and steps.count("tune_post_tv") == 2
    first = {job.step: i for i, job in reversed(list(enumerate(jobs)))}
    assert first["tune_post_tv"] < first["train_model"] < first["evaluate_model"]  # each after what it needs
    for i, job in enumerate(jobs):
        if job.step == "evaluate_model":  # right after its own training: a cut run leaves whole variants
            assert (jobs[i - 1].step, jobs[i - 1].run, jobs[i - 1].seed) == ("train_model", job.run, job.seed)
    assert [job.seed for job in jobs if job.step == "train_model"] == [0] * 8 + [1] * 8  # seed by seed


def test_a_bundle_of_one_dataset_plans_that_datasets_jobs_alone():
    # `tvseg bundle --datasets wbc`: a bundle small enough for one transfer, and a box that runs it
    from tvseg.core.config import ConfigError, only_datasets

    config = load_config(ROOT / "config.yaml", ROOT / "profiles/gpu/tvseg.yaml")
    wbc = only_datasets(config, ["wbc"])
    jobs = planned_jobs(Plan(wbc))
    assert {job.dataset for job in jobs} == {"wbc"} and len(jobs) == 17
    assert config["datasets"]["camvid"]["enabled"] is not False  # the configuration given is untouched
    with pytest.raises(ConfigError, match=r"sunrgbd.*enabled: \['wbc', 'camvid'\]"):
        only_datasets(config, ["sunrgbd"])  # off in the GPU profile


def test_a_run_evaluated_elsewhere_is_not_trained_again(tmp_path):
    # a box's results come back without the models: its evaluations alone mark the runs done
    config = load_config(ROOT / "config.yaml", ROOT / "profiles/gpu/tvseg.yaml")
    config["results_dir"] = str(tmp_path)
    plan = Plan(config)
    jobs = planned_jobs(plan)
    assert not any(done(job, plan) for job in jobs)
    first = next(job for job in jobs if job.step == "evaluate_model")
    evaluation = run_dir(config, first.run, first.seed) / "evaluation.csv"
    evaluation.parent.mkdir(parents=True)
    evaluation.write_text("run,seed\n")
    finished = [(job.step, job.run) for job in jobs if done(job, plan)]
    assert finished == [("train_model", first.run), ("evaluate_model", first.run)]


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
    config = _tiny_config(tmp_path)
    _prepare(config)
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
def test_the_estimate_projects_the_profile_and_the_paper(tmp_path):
    from tvseg.gpu.estimate import estimate

    config = _tiny_config(tmp_path)
    _prepare(config)
    text = estimate(config, "cpu", iterations=3, eval_images=1)
    assert "| wbc | unet |" in text and "| wbc | runet |" in text
    assert "## This profile:" in text and "## The paper's schedule" in text and "| 20000 |" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the benchmark measures")
def test_the_cuda_benchmark_says_it_skipped_without_cuda():
    result = subprocess.run([sys.executable, "benchmarks/bench_cuda.py"], cwd=ROOT, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0 and "no CUDA device here; nothing measured" in result.stdout


# ---------- several jobs at once, and the seeds a budget fits ----------
def _quick_config(tmp_path: Path) -> dict:
    paths = tmp_path / "paths.yaml"
    paths.write_text(f"data_root: {tmp_path}/d\nprepared_root: {tmp_path}/p\nresults_dir: {tmp_path}/r\n")
    return load_config(ROOT / "config.yaml", ROOT / "profiles/quick/tvseg.yaml", paths)


def test_post_tv_on_a_published_split_comes_after_the_nets_it_scores(tmp_path):
    config = _quick_config(tmp_path)
    config["seeds"] = [0, 1]
    config["post_tv"]["tune"]["seeds"] = [0, 1]
    plan = Plan(config)
    jobs = planned_jobs(plan)
    tune = plan.job("tune_post_tv", dataset="camvid")
    needed = plan.requirements(tune)  # CamVid's choice scores the trained Segnet1 nets on val
    trained = [(j.step, str(j.run), j.seed) for j in needed if j.step == "train_model"]
    assert trained == [("train_model", "segnet_camvid_clean", s) for s in (0, 1)]
    assert all(jobs.index(n) < jobs.index(tune) for n in needed if n in jobs)
    # WBC's trains its own on held-out images: it needs the prepared data alone
    assert [j.step for j in plan.requirements(plan.job("tune_post_tv", dataset="wbc"))] == ["prepare_dataset"]
    for i, job in enumerate(jobs):
        assert all(jobs.index(r) < i for r in plan.requirements(job) if r in jobs), job


def test_the_schedule_and_the_seeds_a_budget_fits(tmp_path):
    from tvseg.gpu.run import schedule, whole_seeds_within

    config = _quick_config(tmp_path)
    config["datasets"]["camvid"]["enabled"] = False
    config["seeds"] = [0, 1, 2]
    plan = Plan(config)
    jobs = planned_jobs(plan)  # tune, then per seed 5 WBC trainings each followed by its evaluation
    seconds = {job: {"tune_post_tv": 10.0, "train_model": 100.0, "evaluate_model": 20.0}[job.step] for job in jobs}
    per_seed = sum(1 for j in jobs if j.seed == 0 and j.step == "train_model")
    alone = schedule(jobs, seconds, plan, 1)
    assert max(alone.values()) == pytest.approx(10 + 3 * per_seed * 120)  # one after another
    two = schedule(jobs, seconds, plan, 2)
    assert max(two.values()) < max(alone.values())
    for job, end in two.items():  # nothing ends before what it needs plus its own time
        assert all(end >= two[r] + seconds[job] - 1e-9 for r in plan.requirements(job) if r in two)
    seeds, end = whole_seeds_within(jobs, seconds, plan, 1, budget=10 + 2 * per_seed * 120 + 5)
    assert seeds == [0, 1] and end == pytest.approx(10 + 2 * per_seed * 120)
    assert whole_seeds_within(jobs, seconds, plan, 1, budget=50)[0] == []


def test_job_seconds_come_from_the_estimate(tmp_path):
    from tvseg.gpu.run import job_seconds

    config = _quick_config(tmp_path)
    record = {"measured": [{"dataset": "wbc", "network": n, "iteration_s": 0.5, "eval_image_s": 2.0, "test_images": 3}
                           for n in ("unet", "runet", "runetstar")] +
              [{"dataset": "camvid", "network": n, "iteration_s": 1.0, "eval_image_s": 4.0, "test_images": 3}
               for n in ("segnet", "rsegnet")],
              "at_once": {"jobs": 2, "slowdown": 1.5}}  # fmt: skip
    plan = Plan(config)
    train = next(j for j in planned_jobs(plan) if j.step == "train_model" and j.dataset == "wbc")
    assert job_seconds(train, config, record) == 0.5 * config["datasets"]["wbc"]["iterations"]
    assert job_seconds(train, config, record, 2) == 1.5 * 0.5 * config["datasets"]["wbc"]["iterations"]
    assert job_seconds(plan.job("tune_post_tv", dataset="camvid"), config, record) == 4.0 * 3  # one seed scored on val
    with pytest.raises(ValueError, match="no 3 jobs at once"):
        job_seconds(train, config, record, 3)


@pytest.mark.slow
@needs_mirror
def test_two_jobs_at_once_make_what_one_at_a_time_makes(tmp_path):
    from tvseg.gpu.run import run_all

    config = _tiny_config(tmp_path)
    _prepare(config)
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
