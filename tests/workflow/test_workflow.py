import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import (
    BIN,
    MIRROR,
    ROOT,
    import_blocker,
)


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


def _wbc_only(path: Path, wbc: str, extra: str = "") -> Path:
    """Quick-profile overrides: WBC's four variants alone, with ``wbc`` settings."""
    path.write_text(
        f"datasets:\n  wbc: {wbc}\n  camvid: {{enabled: false}}\nconverged: {{datasets: []}}\n"
        f"post_tv: {{tune: {{enabled: false}}}}\n{extra}"
    )
    return path


def test_paper_settings_dry_run_has_twelve_training_jobs(tmp_path):
    result = snakemake("-n", "--cores", "1", "--configfile", "config.yaml", str(_fresh_paths(tmp_path)))
    counts = job_counts(result.stdout + result.stderr)
    assert counts["train_model"] == 12
    assert counts["evaluate_model"] == 12
    assert counts["render_table"] == 12  # Tables 1-6, each for both readings of sigma
    assert counts["plot_noise_curves"] == 3  # Figures 2, 4, 6
    assert counts["download_dataset"] == 3


# Installed on the path of a Snakemake run: any import of torch fails, naming the culprit.
NO_TORCH = import_blocker(("torch",), "torch was imported while Snakemake parsed the workflow")


def test_a_snakefile_parse_imports_no_torch(tmp_path):
    # the plan, the settings (the jobs' params) and the paths are pure, so planning needs no torch
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(NO_TORCH)
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(tmp_path / "site")}
    args = [
        "-n",
        "--cores",
        "1",
        "--configfile",
        "config.yaml",
        "profiles/quick/tvseg.yaml",
        str(_fresh_paths(tmp_path)),
    ]
    result = subprocess.run(
        [str(BIN / "snakemake"), *args], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "train_model" in result.stdout  # it planned the jobs
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True, env=env, check=False)
    assert "torch was imported" in probe.stderr  # the refusal is in force in such a process


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
    from tvseg.core.config import load_config

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
    # CamVid: post-TV chosen with the trained Segnet1 on the published val split; a validation curve
    camvid_choice = __import__("json").loads((results / "post_tv" / "camvid" / "choice.json").read_text())
    assert camvid_choice["validation_split"] == "val" and camvid_choice["validation_count"] == 2
    curves = pd.read_csv(results / "datasets" / "camvid" / "curves.csv")
    assert set(curves["iteration"]) == {2, 3} and set(curves["method"]) == {
        "Segnet1",
        "RSegnet1",
        "Segnet2",
        "RSegnet2",
    }
    assert (results / "figures" / "curves_camvid.png").stat().st_size > 10_000
    assert pd.read_csv(results / "datasets" / "wbc" / "metrics.csv").equals(
        metrics[metrics["dataset"] == "wbc"].reset_index(drop=True)
    )
    lambdas = pd.read_csv(results / "lambdas.csv")
    assert set(lambdas["method"]) == {"RUnet1", "RUnet2", "RUnet*1", "RUnet*2", "RSegnet1", "RSegnet2"}
    assert (results / "figures" / "panels_wbc_noisy.png").stat().st_size > 10_000
    table1 = pd.read_csv(results / "tables" / "table1_variance.csv")
    assert table1.loc[table1["method"] == "RUnet*1", "ours_mean"].notna().sum() == 3 * 8  # the converged extra
    assert list((results / "runs" / "runet_wbc_noisy" / "seed0").glob("*.pt")) == [
        results / "runs" / "runet_wbc_noisy" / "seed0" / "model.pt"
    ]
    # where each run ran: one recorded row per run and seed of the metrics, and the machines page
    provenance = pd.read_csv(results / "provenance.csv", dtype=str)
    recorded = set(zip(provenance["run"], provenance["seed"].astype(int), strict=True))
    assert recorded == set(zip(metrics["run"], metrics["seed"], strict=True))
    assert (provenance["origin"] == "recorded by the run").all() and (provenance["train_sessions"] == "1").all()
    assert (
        not provenance[["train_cpu", "evaluate_cpu", "train_tv_layer", "evaluate_commit"]]
        .isin(["not recorded"])
        .any()
        .any()
    )
    assert "| wbc | 0 | " in (results / "machines.md").read_text()
    for dataset in ("wbc", "camvid"):  # each claim as its spread over seeds
        assert (results / "figures" / f"claims_{dataset}.png").stat().st_size > 10_000

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
    assert "claims_wbc.png" in html
    _every_result_displays_in_the_page(report)
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo")
def test_a_blown_up_run_never_reaches_evaluation_or_the_tables(tmp_path):
    exploding = _wbc_only(tmp_path / "exploding.yaml", "{lr: 1e9}")
    profile_config = ["--configfile", "profiles/quick/tvseg.yaml", str(_fresh_paths(tmp_path)), str(exploding)]
    result = snakemake("--profile", "profiles/quick", *profile_config, "--keep-going", check=False)
    assert result.returncode != 0
    results = tmp_path / "results"
    logs = "".join(p.read_text() for p in (results / "logs" / "train_model").glob("*.log"))
    assert "holds non-finite values after the update at iteration" in logs or "the loss is nan" in logs, logs[-2000:]
    assert "run " in logs  # the error names the run folder
    assert not list(results.rglob("evaluation.csv")) and not (results / "metrics.csv").exists()
    assert not (results / "tables").exists() or not list((results / "tables").iterdir())


@pytest.mark.skipif(not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo")
def test_a_failed_prepare_keeps_the_last_good_data(tmp_path):
    import os

    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR / "segmentation_WBC", mirror / "segmentation_WBC", copy_function=os.symlink)
    (tmp_path / "mirror.yaml").write_text(f"mirror: {mirror}\n")
    args = ["--cores", "1", "--configfile", "profiles/quick/tvseg.yaml", str(_fresh_paths(tmp_path))]
    args.append(str(tmp_path / "mirror.yaml"))
    wbc = tmp_path / "prepared" / "wbc"
    snakemake(str(wbc / "manifest.json"), *args)
    manifest, ids = (wbc / "manifest.json").read_text(), (wbc / "train" / "ids.json").read_text()
    from tvseg.datasets.sources import expected_contents

    lost = mirror / "segmentation_WBC" / sorted(expected_contents("wbc"))[0]
    lost.unlink()  # the upstream tree breaks, and a changed setting makes prepare run again
    (tmp_path / "fewer.yaml").write_text("datasets:\n  wbc: {limit: {test: 2}}\n")
    result = snakemake(str(wbc / "manifest.json"), *args, str(tmp_path / "fewer.yaml"), check=False)
    assert result.returncode != 0 and lost.name in (tmp_path / "results/logs/prepare_dataset/wbc.log").read_text()
    assert (wbc / "manifest.json").read_text() == manifest
    assert (wbc / "train" / "ids.json").read_text() == ids


def _trainers_of(folder: Path) -> list[int]:
    """Process ids of `tvseg train` processes writing ``folder``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if " train " in text and str(folder) in text:
            found.append(int(cmdline.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo")
def test_a_workflow_killed_with_sigkill_resumes_with_the_same_command(tmp_path):
    import os
    import signal
    import time

    import torch

    long_run = _wbc_only(tmp_path / "long.yaml", "{iterations: 200}", "training: {checkpoint_every: 25}\n")
    target = "runs/runet_wbc_clean/seed0/model.pt"

    def command(root):
        root.mkdir()
        return [str(root / "results" / target), "--profile", "profiles/quick", "--configfile"] + [
            "profiles/quick/tvseg.yaml",
            str(_fresh_paths(root)),
            str(long_run),
        ]

    whole, killed = tmp_path / "whole", tmp_path / "killed"
    snakemake(*command(whole))
    args = command(killed)
    env = {"PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HOME": str(Path.home())}
    workflow = subprocess.Popen([str(BIN / "snakemake"), *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    folder = killed / "results" / "runs" / "runet_wbc_clean" / "seed0"
    deadline = time.time() + 300
    while not (folder / "checkpoint.pt").exists() and time.time() < deadline and workflow.poll() is None:
        time.sleep(0.05)
    os.kill(workflow.pid, signal.SIGKILL)
    workflow.wait()
    assert (folder / "checkpoint.pt").exists() and not (folder / "model.pt").exists(), "killed too late"
    deadline = time.time() + 60
    while _trainers_of(folder) and time.time() < deadline:
        time.sleep(0.2)
    assert not _trainers_of(folder), "the trainer outlived its workflow"

    again = snakemake(*args)  # the same command: no --unlock, no --rerun-incomplete by hand
    assert "released the lock" in again.stderr
    with open(folder / "log.csv") as f:
        assert [int(line.split(",")[0]) for line in f.readlines()[1:]] == list(range(1, 201))
    a = torch.load(whole / "results" / target, weights_only=False)["model"]
    b = torch.load(folder / "model.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_lock_of_a_killed_workflow_is_released_and_a_live_ones_kept(tmp_path, monkeypatch):
    import json
    import os
    import socket

    from tvseg.pipeline.locks import OWNERS, record_owner, release_stale_locks

    dead = subprocess.Popen(["sleep", "0"])
    dead.wait()
    live_lock, dead_lock = tmp_path / "locks" / "0.input.lock", tmp_path / "locks" / "1.input.lock"
    live_lock.parent.mkdir()
    live_lock.write_text("a\n")
    dead_lock.write_text("b\n")
    record_owner(tmp_path, [str(live_lock)])  # this process, taken below for a running Snakemake
    live = tmp_path / OWNERS / f"{socket.gethostname()}-{os.getpid()}.json"
    (tmp_path / OWNERS / f"{socket.gethostname()}-{dead.pid}.json").write_text(
        json.dumps({"host": socket.gethostname(), "pid": dead.pid, "lock_files": [str(dead_lock)]})
    )
    import tvseg.pipeline.locks as locks

    original = locks._alive
    monkeypatch.setattr(locks, "_alive", lambda pid: pid == os.getpid() or original(pid))
    assert release_stale_locks(tmp_path) == [dead.pid]
    assert live_lock.exists() and live.exists() and not dead_lock.exists()


def test_a_fresh_clone_plans_no_job_of_a_dataset_whose_results_git_holds(tmp_path):
    # WBC's results (its collected metrics and lambdas, tables, figures, post-TV's choice) are in
    # git while its checkpoints are not: the CPU profile must plan CamVid's jobs alone, whatever
    # order the clone wrote the files in (choice.json newer than the collected metrics, as here)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / "results" / "cpu" / "post_tv" / "wbc" / "choice.json").touch()
    results = clone / "results" / "cpu"  # CamVid as it is being added: none of its own results yet
    for added in ("datasets/camvid", "post_tv/camvid"):
        shutil.rmtree(results / added, ignore_errors=True)
    for figure in ["curves_camvid.png", "panels_camvid_clean.png", "panels_camvid_noisy.png"]:
        (results / "figures" / figure).unlink(missing_ok=True)
    shutil.copytree(ROOT / "src", clone / "src", dirs_exist_ok=True)  # the working tree's code, committed or not
    for name in ("workflow", "profiles"):
        shutil.copytree(ROOT / name, clone / name, dirs_exist_ok=True)
    (clone / "Snakefile").write_bytes((ROOT / "Snakefile").read_bytes())
    (clone / "config.yaml").write_bytes((ROOT / "config.yaml").read_bytes())
    mirror = clone / "profiles" / "cpu" / "tvseg.yaml"
    mirror.write_text(mirror.read_text().replace("mirror: ../shared/datasets", f"mirror: {MIRROR}"))
    result = subprocess.run(
        [str(BIN / "snakemake"), "--profile", "profiles/cpu", "-n"], cwd=clone, capture_output=True, text=True,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(clone / "src")}, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    planned = re.findall(
        r"^(?:local)?rule (\w+):\n(?:(?!(?:local)?rule |\[).*\n)*?\s+wildcards: (.*)$", output, re.MULTILINE
    )
    # no training, tuning, evaluation or collection of WBC (its figures and per-class table are
    # drawn again from metrics.csv)
    drawn_again = {"plot_noise_curves", "render_per_class_table", "plot_claims"}
    wbc_jobs = [(r, w) for r, w in planned if ("_wbc_" in w or "dataset=wbc" in w) and r not in drawn_again]
    assert planned and not wbc_jobs, output[-3000:]
    from tvseg.core.config import load_config

    config = load_config(ROOT / "config.yaml", ROOT / "profiles/cpu/tvseg.yaml")
    seeds = config["datasets"]["camvid"]["seeds"]
    extra = [s for s in config["post_tv"]["tune"]["seeds"] if s not in seeds]  # Segnet1 for post-TV's val choice
    assert job_counts(output)["train_model"] == 4 * len(seeds) + len(extra)  # CamVid's four variants per seed


def test_every_key_the_schema_can_refuse_says_what_it_is():
    import yaml

    from tvseg.core.config import ConfigError, load_config

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    undocumented = []

    def walk(node, path):
        if not isinstance(node, dict):
            return
        for key, sub in node.get("properties", {}).items():
            if isinstance(sub, dict) and "description" not in sub:
                undocumented.append(f"{path}/{key}")
            walk(sub, f"{path}/{key}")
        for key, sub in node.get("definitions", {}).items():
            walk(sub, f"{path}/#{key}")
        for sub in node.get("oneOf", []):
            walk(sub, path)
        walk(node.get("items"), f"{path}[]")

    walk(schema, "")
    assert undocumented == []
    bad = ROOT / ".pytest_cache" / "batch0.yaml"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("datasets:\n  wbc: {batch_size: 0}\n")
    with pytest.raises(
        ConfigError, match=r"wbc/batch_size = 0: less than the minimum of 1 \(batch_size: training images per SGD step"
    ):
        load_config(ROOT / "config.yaml", bad)
