"""The GPU path without a GPU: the bundle, the workflow-free run, the estimate, the gpu profile."""

import pytest
from helpers import ROOT, quick_config

from tvseg.core.config import load_config
from tvseg.core.layout import run_dir
from tvseg.pipeline.plan import Plan
from tvseg.runner.schedule import done, planned_jobs


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


def test_post_tv_on_a_published_split_comes_after_the_nets_it_scores(tmp_path):
    config = quick_config(tmp_path)
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
    from tvseg.runner.schedule import schedule, whole_seeds_within

    config = quick_config(tmp_path)
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
    from tvseg.runner.schedule import job_seconds

    config = quick_config(tmp_path)
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


def test_the_levelling_checks_longer_training_runs_last_and_is_not_done_by_an_evaluation(tmp_path):
    from tvseg.core.layout import run_files
    from tvseg.runner.schedule import job_seconds

    config = quick_config(tmp_path)  # CamVid's levelling check: segnet_camvid_clean seed 0, twice the iterations
    plan = Plan(config)
    jobs = planned_jobs(plan)
    longer = jobs[-1]
    assert (longer.step, str(longer.run), longer.seed) == ("train_longer_schedule", "segnet_camvid_clean", 0)
    evaluation = run_files(config, longer.run, 0).evaluation  # the same net's evaluation on the configured schedule
    evaluation.parent.mkdir(parents=True)
    evaluation.write_text("run,seed\n")
    assert done(plan.job("train_model", run=longer.run, seed=0), plan) and not done(longer, plan)
    record = {"measured": [{"dataset": "camvid", "network": "segnet", "iteration_s": 1.0}]}
    assert job_seconds(longer, config, record) == 2 * config["datasets"]["camvid"]["iterations"]
