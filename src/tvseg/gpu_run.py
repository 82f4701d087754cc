"""Every training and evaluation job of a profile, one after another, without Snakemake.

For a GPU box that has PyTorch with CUDA but neither internet nor the workflow's tools:

    PYTHONPATH=src python3 -m tvseg.cli gpu-run --bundle data/prepared/gpu/bundle

unpacks the bundle (``tvseg bundle``; checked first), then runs the jobs the workflow would run
for its configuration (post-TV's validation choice, training, evaluation; seed by seed, each
evaluation right after its training) into the workflow's paths under ``results_dir``, through
the same functions as the CLI's ``tune-post-tv``, ``train`` and ``evaluate``. A job whose
outputs exist is skipped (a run whose evaluation exists too, even without its model: a box's
results come back without them), and training resumes from its checkpoint, so the same command
continues an interrupted run.
After each job ``<results_dir>/gpu-run.json`` records the device, the versions, each job's time
and how many of the planned jobs are finished, and ``gpu-run-outputs.txt`` lists the files of the
finished jobs, for ``make render-gpu`` (Snakemake marks them up to date with ``--touch`` and
renders tables, figures and claims as usual).
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from tvseg.config import RunId, enabled_datasets, post_tv_choice_path, run_files, runs_for, seeds_for
from tvseg.files import write_atomic

RECORD = "gpu-run.json"
OUTPUTS = "gpu-run-outputs.txt"


@dataclass(frozen=True)
class Job:
    kind: str  # tune | train | evaluate
    dataset: str
    run: RunId | None = None
    seed: int | None = None

    def __str__(self) -> str:
        return f"tune post-TV on {self.dataset}" if self.kind == "tune" else f"{self.kind} {self.run} seed {self.seed}"

    def outputs(self, config: dict) -> list[Path]:
        """The files the workflow's rule for this job declares."""
        if self.kind == "tune":
            return [post_tv_choice_path(config, self.dataset)]
        files = run_files(config, self.run, self.seed)
        return [files.model, files.log] if self.kind == "train" else [files.evaluation, files.panels]

    def made(self, config: dict) -> bool:
        """Whether every output exists."""
        return all(path.exists() for path in self.outputs(config))

    def done(self, config: dict) -> bool:
        """Whether to skip the job: its outputs exist, or, for a run, its evaluation does. A cut
        run's evaluations come back from a GPU box without the models (too large to bring back),
        so a later run on a fresh box goes on with the runs not yet evaluated."""
        if self.kind != "tune" and run_files(config, self.run, self.seed).evaluation.exists():
            return True
        return self.made(config)


def planned_jobs(config: dict) -> list[Job]:
    """The workflow's training and evaluation jobs for ``config``, each after what it needs: post-TV's
    choices first, then seed by seed every run's training followed at once by its evaluation, so a
    run cut short (a time limit on the GPU box) leaves whole variants of the first seeds."""
    from tvseg.experiment import uses_tuned_post_tv

    runs = runs_for(config)
    jobs = [
        Job("tune", d)
        for d in enabled_datasets(config)
        if any(uses_tuned_post_tv(config, r) for r in runs if r.dataset == d)
    ]
    for seed in sorted({seed for run in runs for seed in seeds_for(config, run)}):
        for run in runs:
            if seed in seeds_for(config, run):
                jobs += [Job("train", run.dataset, run, seed), Job("evaluate", run.dataset, run, seed)]
    return jobs


def run_job(job: Job, config: dict, device: str, progress: bool) -> None:
    from tvseg.experiment import evaluate_job, train_settings, uses_tuned_post_tv

    if job.kind == "tune":
        from tvseg.tuning import tune_post_tv

        tune_post_tv(config, job.dataset, post_tv_choice_path(config, job.dataset).parent, device, progress)
    elif job.kind == "train":
        from tvseg.train import train

        train(train_settings(config, job.run, job.seed), run_files(config, job.run, job.seed).folder, device, progress)
    else:
        choice = post_tv_choice_path(config, job.dataset) if uses_tuned_post_tv(config, job.run) else None
        panels = run_files(config, job.run, job.seed).panels
        evaluate_job(config, job.run, job.seed, qualitative=panels, post_tv_choice=choice,
                     device=device, progress=progress)  # fmt: skip


def device_name(device: str) -> str:
    import torch

    from tvseg.settings import resolve_device

    resolved = resolve_device(device)
    if resolved.type == "cuda":
        return f"{torch.cuda.get_device_name(resolved)} ({resolved})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def run_all(config: dict, device: str = "auto", progress: bool = True, say=print) -> dict:
    """Run every planned job whose outputs are missing; returns (and writes) the run's record."""
    import torch

    results = Path(config["results_dir"])
    results.mkdir(parents=True, exist_ok=True)
    jobs = planned_jobs(config)
    record = {
        "device": device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "encoder_weights": {d: config["datasets"][d].get("encoder_weights") for d in enabled_datasets(config)},
        "jobs": [],
    }
    started = time.perf_counter()

    def write_record() -> None:
        # after every job, so a run killed at a time limit still says what it did and made
        record["seconds"] = round(time.perf_counter() - started, 1)
        record["finished"] = sum(job.done(config) for job in jobs)
        record["planned"] = len(jobs)
        write_atomic(results / RECORD, json.dumps(record, indent=1) + "\n")
        made = [path for job in jobs if job.made(config) for path in job.outputs(config)]
        write_atomic(results / OUTPUTS, "".join(f"{path}\n" for path in made))

    for number, job in enumerate(jobs, 1):
        if job.done(config):
            say(f"[{number}/{len(jobs)}] {job}: done before, skipped")
            continue
        say(f"[{number}/{len(jobs)}] {job} ...")
        begin = time.perf_counter()
        run_job(job, config, device, progress)
        seconds = time.perf_counter() - begin
        record["jobs"].append({"job": str(job), "seconds": round(seconds, 1)})
        say(f"[{number}/{len(jobs)}] {job}: {seconds:.0f} s (total {time.perf_counter() - started:.0f} s)")
        write_record()
    write_record()
    return record


def unpack_once(bundle_dir: Path, work_dir: Path, say=print) -> dict:
    """Unpack ``bundle_dir`` under ``work_dir`` (prepared data, packages) unless this very bundle
    is unpacked there already; returns its configuration, reading data from there."""
    import yaml

    from tvseg.bundle import CONFIG, MANIFEST, describe, unbundle, use_bundled_packages, verify

    bundle_dir, work_dir = Path(bundle_dir), Path(work_dir)
    stamp = work_dir / "unpacked-from.json"
    manifest_text = (bundle_dir / MANIFEST).read_text() if (bundle_dir / MANIFEST).is_file() else None
    if manifest_text is not None and stamp.is_file() and stamp.read_text() == manifest_text:
        say(f"{bundle_dir} is unpacked in {work_dir} already")
        config = yaml.safe_load((bundle_dir / CONFIG).read_text())
        config["prepared_root"] = str(work_dir / "prepared")
    else:
        say(describe(verify(bundle_dir)))
        config = unbundle(bundle_dir, work_dir / "prepared", site_dir=work_dir / "site")
        stamp.write_text(manifest_text)
    use_bundled_packages(work_dir / "site")
    return config


def gpu_run(bundle_dir: Path, work_dir: Path, device: str = "auto", results_dir: str | None = None,
            progress: bool = True, say=print) -> dict:  # fmt: skip
    """Unpack the bundle (once), then run every job."""
    config = unpack_once(bundle_dir, work_dir, say)
    if results_dir:
        config["results_dir"] = results_dir
    return run_all(config, device, progress, say)
