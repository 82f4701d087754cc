"""What a profile will cost on the device at hand, measured, before the run.

    tvseg estimate --config config.yaml --config profiles/gpu/tvseg.yaml [--device cuda]

For each network of each enabled dataset (plain and regularized; clean and noisy training cost
the same), the real training loop (``train``, on the prepared data, the profile's batch size and
resolution) runs a few iterations; the median time of an iteration after the first ones is
projected onto the profile's iteration counts and seeds, and onto the paper's schedule
(``config.yaml``'s iterations and seeds, at the profile's resolution and variants). The
evaluation of one run is timed on a few test images (every condition, post-TV heads included)
and projected onto the whole test set.
Post-TV's validation choice costs the plain network's training for each of its seeds.
"""

from __future__ import annotations

import copy
import csv
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

from tvseg.config import REPO_ROOT, RunFiles, RunId, enabled_datasets, plain_network, prepared_dir, runs_for, seeds_for


def _iteration_seconds(log_csv: Path, skip: int) -> float:
    with open(log_csv, newline="") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    return statistics.median(seconds[skip:] or seconds)


def measure(config: dict, device: str, iterations: int = 8, eval_images: int = 2, progress: bool = False) -> dict:
    """Seconds per training iteration and per evaluated test image, per (dataset, network)."""
    from tvseg.datasets.prepare import read_manifest
    from tvseg.experiment import train_settings
    from tvseg.train import train

    measured = {}
    with tempfile.TemporaryDirectory(prefix="tvseg-estimate-") as scratch:
        for run in runs_for(config):
            key = (run.dataset, run.network)
            if run.train_data != "clean" or key in measured:
                continue
            folder = Path(scratch) / str(run)
            settings = replace(train_settings(config, run, 0), iterations=iterations, checkpoint_every=10**9)
            train(settings, folder, device=device, progress=progress)
            test_ids = read_manifest(Path(settings.data_dir))["splits"]["test"]
            begin = time.perf_counter()
            _evaluate_some(config, run, folder, test_ids[:eval_images], device)
            per_image = (time.perf_counter() - begin) / min(eval_images, len(test_ids))
            measured[key] = {
                "iteration_s": _iteration_seconds(RunFiles(folder).log, skip=min(3, iterations - 1)),
                "eval_image_s": per_image,
                "test_images": len(test_ids),
            }
    return measured


def _evaluate_some(config, run: RunId, folder: Path, image_ids, device) -> None:
    from tvseg.evaluate import POST_TV_TUNED_SUFFIX, evaluate_run
    from tvseg.experiment import conditions

    # the validated post-TV head costs what the fixed one does: the configured one stands in for it
    heads = {"": config["post_tv"], POST_TV_TUNED_SUFFIX: config["post_tv"]}
    evaluate_run(
        RunFiles(folder).model, prepared_dir(config, run.dataset), RunFiles(folder).evaluation,
        conditions(config, run.dataset), post_tv=heads if run.head == "softmax" else None, run=str(run),
        device=device, progress=False, image_ids=list(image_ids), head_batch=config["evaluation"]["head_batch"],
        network_batch=config["evaluation"].get("batch", 1),
    )  # fmt: skip


def project(config: dict, measured: dict) -> list[dict]:
    """Projected seconds per variant (training and evaluation over all seeds) for ``config``."""
    rows = []
    for run in runs_for(config):
        m = measured[(run.dataset, run.network)]
        seeds = len(seeds_for(config, run))
        iterations = config["datasets"][run.dataset]["iterations"]
        rows.append({
            "variant": run.paper_name, "run": str(run), "seeds": seeds, "iterations": iterations,
            "train_s": m["iteration_s"] * iterations * seeds,
            "evaluate_s": m["eval_image_s"] * m["test_images"] * seeds,
        })  # fmt: skip
    if config["post_tv"]["tune"]["enabled"]:
        for dataset in enabled_datasets(config):
            plain = RunId(plain_network(config, dataset), dataset, "clean")
            seeds = len(config["post_tv"]["tune"]["seeds"] or seeds_for(config, plain)[:1])
            iterations = config["datasets"][dataset]["iterations"]
            seconds = measured[(dataset, plain.network)]["iteration_s"] * iterations * seeds
            rows.append({"variant": f"post-TV choice ({dataset})", "run": "tune_post_tv", "seeds": seeds,
                         "iterations": iterations, "train_s": seconds, "evaluate_s": 0.0})  # fmt: skip
    return rows


def paper_schedule(config: dict) -> dict:
    """``config`` with config.yaml's iterations and seeds (the paper's schedule) in place of the
    profile's. config.yaml is read as plain YAML: a GPU box has no jsonschema, and the tests
    validate config.yaml here."""
    raw = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
    paper = copy.deepcopy(config)
    paper["seeds"] = raw["seeds"]
    for name in enabled_datasets(config):
        paper["datasets"][name]["iterations"] = raw["datasets"][name]["iterations"]
        paper["datasets"][name]["seeds"] = raw["datasets"][name].get("seeds")
    paper["post_tv"]["tune"]["seeds"] = raw["post_tv"]["tune"]["seeds"]
    paper.setdefault("converged", {})["seeds"] = raw.get("converged", {}).get("seeds")
    return paper


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def estimate(config: dict, device: str = "auto", iterations: int = 8, eval_images: int = 2) -> str:
    """Measure on ``device`` and return the projection as Markdown (the profile, then the paper's)."""
    from tvseg.gpu_run import device_name

    measured = measure(config, device, iterations, eval_images)
    paper = paper_schedule(config)
    lines = [f"# Cost estimate on {device_name(device)}", "",
             f"Measured: {iterations} training iterations per network (median after the first 3), "
             f"{eval_images} test images evaluated under every condition; projected below.", ""]  # fmt: skip
    lines += ["| dataset | network | s / iteration | s / test image (all conditions) |", "|---|---|---:|---:|"]
    for (dataset, network), m in measured.items():
        lines.append(f"| {dataset} | {network} | {m['iteration_s']:.3f} | {m['eval_image_s']:.2f} |")
    schedules = (("This profile", config),
                 ("The paper's schedule (config.yaml's iterations and seeds, at this profile's resolution)", paper))  # fmt: skip
    for title, cfg in schedules:
        rows = project(cfg, measured)
        total = sum(r["train_s"] + r["evaluate_s"] for r in rows)
        lines += ["", f"## {title}: {_duration(total)} in all", "",
                  "| variant | run | seeds | iterations | training | evaluation |", "|---|---|---:|---:|---:|---:|"]  # fmt: skip
        for r in rows:
            lines.append(f"| {r['variant']} | {r['run']} | {r['seeds']} | {r['iterations']} | "
                         f"{_duration(r['train_s'])} | {_duration(r['evaluate_s'])} |")  # fmt: skip
    return "\n".join(lines) + "\n"
