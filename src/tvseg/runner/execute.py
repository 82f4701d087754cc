"""Every training and evaluation job of a profile, one after another or several at once, without Snakemake.

For a GPU box that has PyTorch with CUDA but neither internet nor the workflow's tools:

    PYTHONPATH=src python3 -m tvseg.cli gpu-run --bundle data/prepared/gpu/bundle

unpacks the bundle (``tvseg bundle``; checked first), then runs the jobs the workflow would run
for its configuration, as ``tvseg.pipeline.plan`` lists them with their files (post-TV's
validation choice, training, evaluation; seed by seed, each evaluation right after its
training) into the workflow's paths under ``results_dir``, through
the same functions as the CLI's ``tune-post-tv``, ``train`` and ``evaluate``. A job whose
outputs exist is skipped (a run whose evaluation exists too, even without its model: a box's
results come back without them), and training resumes from its checkpoint, so the same command
continues an interrupted run.
After each job ``<results_dir>/gpu-run.json`` records the device, the versions, each job's time
and how many of the planned jobs are finished, and ``gpu-run-outputs.txt`` lists the files of the
finished jobs, for ``make render-gpu`` (Snakemake marks them up to date with ``--touch`` and
renders tables, figures and claims as usual).

``--jobs N`` runs up to N jobs at once, each in a process of its own on the same device (a WBC
Unet uses a few GiB of a large GPU), each as soon as what it needs is finished, taken in the
plan's order; a job's outputs are those it makes alone. ``--budget S --estimate FILE``
(``tvseg estimate --json``) runs only the seeds whose jobs the estimate says finish within S
seconds at N jobs at once, so a call cut at its limit leaves whole seeds, not parts of several.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from tvseg.core.config import enabled_datasets
from tvseg.core.layout import prepared_dir
from tvseg.core.safe_io import write_atomic
from tvseg.pipeline.plan import Job, Plan
from tvseg.runner.schedule import done, job_seconds, made, of_seeds, planned_jobs, whole_seeds_within

RECORD = "gpu-run.json"
OUTPUTS = "gpu-run-outputs.txt"


def run_job(job: Job, config: dict, device: str, progress: bool) -> None:
    """One job of the plan, through the functions the CLI's commands call, into the job's own outputs."""
    from tvseg.core.from_config import evaluation_settings, longer_train_settings, train_settings

    if job.step == "tune_post_tv":
        from tvseg.engine.tuning import tune_post_tv

        tune_post_tv(config, job.dataset, job.outputs["choice"].parent, device, progress)
    elif job.step == "train_model":
        from tvseg.engine.train import train

        train(train_settings(config, job.run, job.seed), job.outputs["model"].parent, device, progress)
    elif job.step == "train_longer_schedule":
        from tvseg.engine.train import train

        settings = longer_train_settings(config, job.run, job.seed)
        train(settings, job.outputs["model"].parent, device, progress)
    else:
        from tvseg.engine.evaluate import evaluate_run

        choice = job.inputs["post_tv"][0] if "post_tv" in job.inputs else None
        settings = evaluation_settings(config, job.dataset, post_tv_choice=choice, panels=job.outputs["panels"])
        evaluate_run(job.inputs["model"][0], prepared_dir(config, job.dataset), job.outputs["csv"], settings,
                     run=str(job.run), seed=job.seed, device=device, progress=progress)  # fmt: skip


def device_name(device: str) -> str:
    import torch

    from tvseg.core.device import resolve_device

    resolved = resolve_device(device)
    if resolved.type == "cuda":
        return f"{torch.cuda.get_device_name(resolved)} ({resolved})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _run_in_child(job: Job, config: dict, device: str, threads: int) -> None:
    """A job in a process of its own (``--jobs`` above 1), with the parent's thread count, so
    that its numbers are those of the same job run alone."""
    import torch

    torch.set_num_threads(threads)
    run_job(job, config, device, progress=False)


def run_all(config: dict, device: str = "auto", progress: bool = True, say=print, jobs_at_once: int = 1,
            budget: float | None = None, estimate: dict | None = None) -> dict:  # fmt: skip
    """Run every planned job whose outputs are missing, up to ``jobs_at_once`` at a time; with a
    ``budget`` (seconds) and an ``estimate`` (``tvseg estimate --json``), only the whole seeds
    projected to fit. Returns (and writes) the run's record."""
    import torch

    if jobs_at_once < 1:
        raise ValueError(f"jobs_at_once must be at least 1; got {jobs_at_once}")
    from tvseg.core.device import resolve_device

    device = resolve_device(device)  # once: every job (and every child process) gets this torch device
    results = Path(config["results_dir"])
    results.mkdir(parents=True, exist_ok=True)
    plan = Plan(config)
    planned = jobs = planned_jobs(plan)
    record = {
        "device": device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "encoder_weights": {d: config["datasets"][d].get("encoder_weights") for d in enabled_datasets(config)},
        "jobs_at_once": jobs_at_once,
        "jobs": [],
    }
    started = time.perf_counter()
    if budget is not None and estimate is not None:
        remaining = [job for job in jobs if not done(job, plan)]
        seconds = {job: job_seconds(job, config, estimate, jobs_at_once) for job in remaining}
        seeds, end = whole_seeds_within(remaining, seconds, plan, jobs_at_once, budget)
        if seeds:
            left = sorted({job.seed for job in remaining if job.seed is not None} - set(seeds))
            say(f"the estimate fits seeds {', '.join(map(str, seeds))} in {budget:.0f} s at {jobs_at_once} "
                f"jobs at once (projected {end:.0f} s); left for a later call: {left or 'none'}")  # fmt: skip
            jobs = of_seeds(jobs, seeds, plan)
        else:
            say(f"the estimate fits no whole seed in {budget:.0f} s; running in the plan's order until stopped")
        record["plan"] = {"budget_s": budget, "seeds": seeds, "projected_s": round(end, 1)}

    def write_record() -> None:
        # after every job, so a run killed at a time limit still says what it did and made
        record["seconds"] = round(time.perf_counter() - started, 1)
        record["finished"] = sum(done(job, plan) for job in planned)
        record["planned"] = len(planned)
        write_atomic(results / RECORD, json.dumps(record, indent=1) + "\n")
        finished = [path for job in planned if made(job) for path in job.output_files()]
        write_atomic(results / OUTPUTS, "".join(f"{path}\n" for path in finished))

    if jobs_at_once == 1:
        for number, job in enumerate(jobs, 1):
            if done(job, plan):
                say(f"[{number}/{len(jobs)}] {job}: done before, skipped")
                continue
            say(f"[{number}/{len(jobs)}] {job} ...")
            begin = time.perf_counter()
            run_job(job, config, device, progress)
            seconds = time.perf_counter() - begin
            record["jobs"].append({"job": str(job), "seconds": round(seconds, 1)})
            say(f"[{number}/{len(jobs)}] {job}: {seconds:.0f} s (total {time.perf_counter() - started:.0f} s)")
            write_record()
    else:
        _run_at_once(jobs, plan, device, jobs_at_once, record, started, write_record, say)
    write_record()
    return record


def _run_at_once(jobs, plan: Plan, device, at_once: int, record: dict, started: float, write_record, say) -> None:
    """Up to ``at_once`` jobs in processes of their own, each started, in the plan's order, once
    a process is free and what it needs has finished. A failed job stops new starts; the running
    ones finish, then the failure is raised naming the job."""
    import multiprocessing
    import multiprocessing.connection

    import torch

    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in a forked child
    threads = torch.get_num_threads()
    finished = {job for job in jobs if done(job, plan)}
    for job in jobs:
        if job in finished:
            say(f"{job}: done before, skipped")
    waiting = [job for job in jobs if job not in finished]
    running: dict = {}  # sentinel -> (job, process, start)
    failed = None
    try:
        while waiting or running:
            while failed is None and len(running) < at_once:
                ready = next(
                    (j for j in waiting if all(r in finished or r not in jobs for r in plan.requirements(j))), None
                )
                if ready is None:
                    break
                waiting.remove(ready)
                process = context.Process(
                    target=_run_in_child, args=(ready, plan.config, device, threads), name=str(ready)
                )
                process.start()
                running[process.sentinel] = (ready, process, time.perf_counter())
                say(f"{ready} ... ({len(running)} running)")
            if not running:
                break  # a failure left jobs that need it
            for sentinel in multiprocessing.connection.wait(list(running)):
                job, process, begin = running.pop(sentinel)
                process.join()
                seconds = time.perf_counter() - begin
                if process.exitcode != 0:
                    failed = failed or (job, process.exitcode)
                    say(f"{job}: failed (exit code {process.exitcode}) after {seconds:.0f} s")
                    continue
                finished.add(job)
                record["jobs"].append({"job": str(job), "seconds": round(seconds, 1),
                                       "began_s": round(begin - started, 1)})  # fmt: skip
                say(f"{job}: {seconds:.0f} s (total {time.perf_counter() - started:.0f} s)")
                write_record()
    except BaseException:
        for _, process, _ in running.values():  # an interrupt (a time limit): stop the children too
            process.terminate()
        for _, process, _ in running.values():
            process.join(30)
        write_record()
        raise
    if failed is not None:
        job, code = failed
        print(f"tvseg gpu-run: {job} failed with exit code {code}; its error is printed above", file=sys.stderr)
        raise RuntimeError(f"{job} failed (exit code {code}); the other jobs that could run have finished")
