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

from tvseg.core.config import enabled_datasets, plain_network, prepared_dir, tuning_seeds
from tvseg.core.files import write_atomic
from tvseg.pipeline.plan import Job, Plan

RECORD = "gpu-run.json"
OUTPUTS = "gpu-run-outputs.txt"


def made(job: Job) -> bool:
    """Whether every output of ``job`` exists."""
    return all(path.exists() for path in job.output_files())


def done(job: Job, plan: Plan) -> bool:
    """Whether to skip the job: its outputs exist, or, for a run, its evaluation does. A cut
    run's evaluations come back from a GPU box without the models (too large to bring back),
    so a later run on a fresh box goes on with the runs not yet evaluated."""
    if job.run is not None and plan.job("evaluate_model", run=job.run, seed=job.seed).outputs["csv"].exists():
        return True
    return made(job)


def _after_requirements(jobs: list[Job], plan: Plan) -> list[Job]:
    """``jobs`` in their order, except that a job moves down to just after the last job it needs."""
    ordered, waiting = [], list(jobs)
    while waiting:
        placed = {*ordered}
        ready = next(
            (job for job in waiting if all(r in placed or r not in jobs for r in plan.requirements(job))), None
        )
        if ready is None:
            raise ValueError(f"the planned jobs need each other in a circle: {', '.join(map(str, waiting))}")
        ordered.append(ready)
        waiting.remove(ready)
    return ordered


def planned_jobs(plan: Plan) -> list[Job]:
    """The plan's post-TV choices, trainings and evaluations (the bundle brings the data prepared;
    the report is rendered back home), each after what it needs: post-TV's choices
    first, then seed by seed every run's training followed at once by its evaluation, so a run
    cut short (a time limit on the GPU box) leaves whole variants of the first seeds."""
    jobs = plan.of("tune_post_tv")
    trained = {(job.run, job.seed) for job in plan.of("train_model")}
    for seed in sorted({seed for _, seed in trained}):
        for run in plan.runs:
            if (run, seed) in trained:
                jobs += [plan.job("train_model", run=run, seed=seed), plan.job("evaluate_model", run=run, seed=seed)]
    return _after_requirements(jobs, plan)


def job_seconds(job, config: dict, estimate: dict, at_once: int = 1) -> float:
    """A job's projected seconds from ``estimate`` (:func:`tvseg.gpu.estimate.estimate_record`) with
    ``at_once`` jobs sharing the device (each slowed as the measured trainings at once were)."""
    measured = {(m["dataset"], m["network"]): m for m in estimate["measured"]}
    slowdown = 1.0
    if at_once > 1:
        shared = estimate.get("at_once")
        if not shared or shared["jobs"] != at_once:
            raise ValueError(f"the estimate measured no {at_once} jobs at once; run `tvseg estimate --jobs {at_once}`")
        slowdown = shared["slowdown"]
    iterations = config["datasets"][job.dataset]["iterations"]
    if job.step == "tune_post_tv":
        plain = measured[(job.dataset, plain_network(config, job.dataset))]
        seeds = len(tuning_seeds(config, job.dataset))
        if config["datasets"][job.dataset].get("tune_split"):
            return plain["eval_image_s"] * plain["test_images"] * seeds * slowdown
        return plain["iteration_s"] * iterations * seeds * slowdown
    m = measured[(job.dataset, job.run.network)]
    if job.step == "train_model":
        return m["iteration_s"] * iterations * slowdown
    return m["eval_image_s"] * m["test_images"] * slowdown


def schedule(jobs: list[Job], seconds: dict[Job, float], plan: Plan, at_once: int) -> dict[Job, float]:
    """When each job would finish (seconds from the start) with ``at_once`` jobs running at a time,
    each started as soon as a slot is free and what it needs has finished, in the plan's order
    (the runner's own rule); ``seconds``: each job's duration at that many jobs at once."""
    finish: dict[Job, float] = {}
    slots = [0.0] * max(1, at_once)
    for job in jobs:  # the plan's order respects requirements, so each one's are placed before it
        ready = max([finish[r] for r in plan.requirements(job) if r in finish], default=0.0)
        slot = min(range(len(slots)), key=lambda i: max(slots[i], ready))
        start = max(slots[slot], ready)
        finish[job] = slots[slot] = start + seconds[job]
    return finish


def of_seeds(jobs: list[Job], seeds: list[int], plan: Plan) -> list[Job]:
    """The jobs of ``seeds``, post-TV's choices, and what they need (in the plan's order)."""
    chosen = {job for job in jobs if job.seed is None or job.seed in seeds}
    while True:
        needed = {r for job in chosen for r in plan.requirements(job) if r in jobs} - chosen
        if not needed:
            return [job for job in jobs if job in chosen]
        chosen |= needed


def whole_seeds_within(jobs: list[Job], seconds: dict[Job, float], plan: Plan, at_once: int,
                       budget: float) -> tuple[list[int], float]:  # fmt: skip
    """The most seeds, first ones first, whose jobs (with every post-TV choice) are projected
    to finish within ``budget`` seconds at ``at_once`` jobs at a time, and that projection."""
    seeds = sorted({job.seed for job in jobs if job.seed is not None})
    best, best_end = [], 0.0
    for count in range(1, len(seeds) + 1):
        chosen = of_seeds(jobs, seeds[:count], plan)
        end = max(schedule(chosen, seconds, plan, at_once).values(), default=0.0)
        if end > budget:
            break
        best, best_end = seeds[:count], end
    return best, best_end


def run_job(job: Job, config: dict, device: str, progress: bool) -> None:
    """One job of the plan, through the functions the CLI's commands call, into the job's own outputs."""
    from tvseg.engine.experiment import evaluation_settings, train_settings

    if job.step == "tune_post_tv":
        from tvseg.engine.tuning import tune_post_tv

        tune_post_tv(config, job.dataset, job.outputs["choice"].parent, device, progress)
    elif job.step == "train_model":
        from tvseg.engine.train import train

        train(train_settings(config, job.run, job.seed), job.outputs["model"].parent, device, progress)
    else:
        from tvseg.engine.evaluate import evaluate_run

        choice = job.inputs["post_tv"][0] if "post_tv" in job.inputs else None
        settings = evaluation_settings(config, job.dataset, post_tv_choice=choice, panels=job.outputs["panels"])
        evaluate_run(job.inputs["model"][0], prepared_dir(config, job.dataset), job.outputs["csv"], settings,
                     run=str(job.run), seed=job.seed, device=device, progress=progress)  # fmt: skip


def device_name(device: str) -> str:
    import torch

    from tvseg.core.settings import resolve_device

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
    from tvseg.core.settings import resolve_device

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


def unpack_once(bundle_dir: Path, work_dir: Path, say=print) -> dict:
    """Unpack ``bundle_dir`` under ``work_dir`` (prepared data, packages) unless this very bundle
    is unpacked there already; returns its configuration, reading data from there."""
    import yaml

    from tvseg.gpu.bundle import CONFIG, MANIFEST, describe, unbundle, use_bundled_packages, verify

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
