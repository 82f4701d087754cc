"""Which of a plan's jobs to run and when, without the workflow: the jobs still to do (a run whose
evaluation exists counts as done, even without its model), their order (each right after what it
needs), each job's projected seconds from an estimate, the start time of each at N jobs at once,
and the whole seeds that fit a budget. Pure: no torch."""

from __future__ import annotations

from tvseg.core.runs import longer_schedule, plain_network, tune_split, tuning_seeds
from tvseg.pipeline.plan import Job, Plan


def made(job: Job) -> bool:
    """Whether every output of ``job`` exists."""
    return all(path.exists() for path in job.output_files())


def done(job: Job, plan: Plan) -> bool:
    """Whether to skip the job: its outputs exist, or, for a run, its evaluation does. A cut
    run's evaluations come back from a GPU box without the models (too large to bring back),
    so a later run on a fresh box goes on with the runs not yet evaluated."""
    evaluated = job.step in ("train_model", "evaluate_model")  # a longer schedule's training has no evaluation
    if evaluated and plan.job("evaluate_model", run=job.run, seed=job.seed).outputs["csv"].exists():
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
    cut short (a time limit on the GPU box) leaves whole variants of the first seeds; the levelling
    check's longer trainings last."""
    jobs = plan.of("tune_post_tv")
    trained = {(job.run, job.seed) for job in plan.of("train_model")}
    for seed in sorted({seed for _, seed in trained}):
        for run in plan.runs:
            if (run, seed) in trained:
                jobs += [plan.job("train_model", run=run, seed=seed), plan.job("evaluate_model", run=run, seed=seed)]
    return _after_requirements(jobs + plan.of("train_longer_schedule"), plan)


def job_seconds(job, config: dict, estimate: dict, at_once: int = 1) -> float:
    """A job's projected seconds from ``estimate`` (:func:`tvseg.runner.estimate.estimate_record`) with
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
        if tune_split(config, job.dataset):
            return plain["eval_image_s"] * plain["test_images"] * seeds * slowdown
        return plain["iteration_s"] * iterations * seeds * slowdown
    if job.step == "train_longer_schedule":
        plain = measured[(job.dataset, plain_network(config, job.dataset))]
        return plain["iteration_s"] * iterations * longer_schedule(config, job.dataset)["factor"] * slowdown
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
