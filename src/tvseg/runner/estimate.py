"""What a profile will cost on the device at hand, measured, before the run.

    tvseg estimate --config config.yaml --config profiles/gpu/tvseg.yaml [--device cuda]

For each network of each enabled dataset (plain and regularized; clean and noisy training cost
the same), the real training loop (``train``, on the prepared data, the profile's batch size and
resolution) runs a few iterations; the median time of an iteration after the first ones is
projected onto the profile's iteration counts and seeds, and onto the paper's schedule
(``config.yaml``'s iterations and seeds, at the profile's resolution and variants). The
evaluation of one run is timed on a few test images (every condition, post-TV heads included)
and projected onto the whole test set.
Post-TV's validation choice costs the plain network's training for each of its seeds (on a
published validation split, ``tune_split``: about one evaluation of the trained net per seed).

``--jobs N`` also trains the first network in N processes at once and measures how much longer
an iteration takes when N share the device; the projection then gives the wall time of the
profile's remaining jobs at N at a time (the runner's schedule, :func:`tvseg.runner.schedule.schedule`).
``--json`` writes the measurements for ``tvseg gpu-run --estimate`` (which seeds fit a budget).
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

from tvseg.core.config import REPO_ROOT, enabled_datasets
from tvseg.core.layout import RunFiles, prepared_dir
from tvseg.core.runs import RunId, plain_network, runs_for, tuning_seeds
from tvseg.pipeline.plan import Plan


def _iteration_seconds(log_csv: Path, skip: int) -> float:
    with open(log_csv, newline="") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    return statistics.median(seconds[skip:] or seconds)


def measure(config: dict, device: str, iterations: int = 8, eval_images: int = 2, progress: bool = False) -> dict:
    """Seconds per training iteration and per evaluated test image, per (dataset, network)."""
    from tvseg.core.from_config import train_settings
    from tvseg.datasets.prepare import read_manifest
    from tvseg.engine.train import train

    measured = {}
    with tempfile.TemporaryDirectory(prefix="tvseg-estimate-") as scratch:
        for run in runs_for(config):
            key = (run.dataset, run.network)
            if run.train_data != "clean" or key in measured:
                continue
            folder = Path(scratch) / str(run)
            settings = replace(train_settings(config, run, 0), iterations=iterations, checkpoint_every=10**9)
            train(settings, folder, device=device, progress=progress, check_every=1)  # each iteration timed
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


def _timed_training(settings, folder: Path, device: str, threads: int, barrier) -> None:
    """One of the trainings run at once: starts with the others, each iteration timed."""
    import torch

    from tvseg.engine.train import train

    torch.set_num_threads(threads)
    barrier.wait()
    train(settings, folder, device=device, progress=False, check_every=1)


def measure_at_once(config: dict, device: str, at_once: int, iterations: int = 8) -> dict:
    """The first network's seconds per iteration with ``at_once`` trainings sharing the device,
    each in its own process (as ``gpu-run --jobs``): the median over the processes' medians."""
    import multiprocessing

    import torch

    from tvseg.core.from_config import train_settings

    run = next(run for run in runs_for(config) if run.train_data == "clean")
    settings = replace(train_settings(config, run, 0), iterations=iterations, checkpoint_every=10**9)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(at_once)
    with tempfile.TemporaryDirectory(prefix="tvseg-estimate-") as scratch:
        folders = [Path(scratch) / f"job{i}" for i in range(at_once)]
        processes = [
            context.Process(target=_timed_training, args=(settings, folder, device, torch.get_num_threads(), barrier))
            for folder in folders
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        failed = [process.exitcode for process in processes if process.exitcode != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} of the {at_once} trainings timed at once failed (exit codes {failed})")
        medians = [_iteration_seconds(RunFiles(folder).log, skip=min(3, iterations - 1)) for folder in folders]
    return {"dataset": run.dataset, "network": run.network, "jobs": at_once, "iteration_s": statistics.median(medians)}


def _evaluate_some(config, run: RunId, folder: Path, image_ids, device) -> None:
    from tvseg.core.from_config import evaluation_settings
    from tvseg.core.settings import POST_TV_TUNED_SUFFIX
    from tvseg.engine.evaluate import evaluate_run

    # the workflow's evaluation on a few images; the validated post-TV head costs what the fixed
    # one does, so the configured one stands in for it
    heads = {"": config["post_tv"], POST_TV_TUNED_SUFFIX: config["post_tv"]}
    settings = replace(evaluation_settings(config, run.dataset), image_ids=tuple(image_ids),
                       post_tv=heads if run.head == "softmax" else None)  # fmt: skip
    evaluate_run(RunFiles(folder).model, prepared_dir(config, run.dataset), RunFiles(folder).evaluation, settings,
                 run=str(run), device=device, progress=False)  # fmt: skip


def project(config: dict, measured: dict) -> list[dict]:
    """Projected seconds per variant (training and evaluation over all seeds) for ``config``'s
    plan, and post-TV's choice per dataset where the plan has one."""
    plan = Plan(config)
    rows = []
    for run in plan.runs:
        m = measured[(run.dataset, run.network)]
        seeds = sum(job.run == run for job in plan.of("train_model"))
        iterations = config["datasets"][run.dataset]["iterations"]
        rows.append({
            "variant": run.paper_name, "run": str(run), "seeds": seeds, "iterations": iterations,
            "train_s": m["iteration_s"] * iterations * seeds,
            "evaluate_s": m["eval_image_s"] * m["test_images"] * seeds,
        })  # fmt: skip
    for job in plan.of("tune_post_tv"):
        seeds = len(tuning_seeds(config, job.dataset))
        iterations = config["datasets"][job.dataset]["iterations"]
        seconds = measured[(job.dataset, plain_network(config, job.dataset))]["iteration_s"] * iterations * seeds
        rows.append({"variant": f"post-TV choice ({job.dataset})", "run": "tune_post_tv", "seeds": seeds,
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


def estimate_record(config: dict, device: str = "auto", iterations: int = 8, eval_images: int = 2,
                    at_once: int = 1) -> dict:  # fmt: skip
    """What :func:`estimate` measures, as data (``tvseg estimate --json``; ``gpu-run --estimate``)."""
    from tvseg.runner.execute import device_name

    measured = measure(config, device, iterations, eval_images)
    record = {
        "device": device_name(device),
        "iterations": iterations,
        "eval_images": eval_images,
        "measured": [{"dataset": d, "network": n, **m} for (d, n), m in measured.items()],
    }
    if at_once > 1:
        shared = measure_at_once(config, device, at_once, iterations)
        alone = measured[(shared["dataset"], shared["network"])]["iteration_s"]
        record["at_once"] = {**shared, "slowdown": shared["iteration_s"] / alone}
    return record


def estimate(config: dict, device: str = "auto", iterations: int = 8, eval_images: int = 2,
             record: dict | None = None) -> str:  # fmt: skip
    """Measure on ``device`` (or take ``record``, :func:`estimate_record`'s) and return the
    projection as Markdown (the profile, then the paper's; the remaining jobs at N at once)."""
    from tvseg.runner.schedule import done, job_seconds, planned_jobs, schedule

    record = record or estimate_record(config, device, iterations, eval_images)
    measured = {(m["dataset"], m["network"]): m for m in record["measured"]}
    paper = paper_schedule(config)
    lines = [f"# Cost estimate on {record['device']}", "",
             f"Measured: {record['iterations']} training iterations per network (median after the first 3), "
             f"{record['eval_images']} test images evaluated under every condition; projected below.", ""]  # fmt: skip
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
    plan = Plan(config)
    remaining = [job for job in planned_jobs(plan) if not done(job, plan)]
    counts = [1] + ([record["at_once"]["jobs"]] if "at_once" in record else [])
    lines += ["", f"## This profile's remaining jobs ({len(remaining)}), wall time by jobs at once", "",
              "| jobs at once | an iteration takes | wall time |", "|---:|---:|---:|"]  # fmt: skip
    for count in counts:
        seconds = {job: job_seconds(job, config, record, count) for job in remaining}
        wall = max(schedule(remaining, seconds, plan, count).values(), default=0.0)
        factor = record["at_once"]["slowdown"] if count > 1 else 1.0
        lines.append(f"| {count} | {factor:.2f}x | {_duration(wall)} |")
    return "\n".join(lines) + "\n"
