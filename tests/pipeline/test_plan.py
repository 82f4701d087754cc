"""The job graph is defined once (tvseg.pipeline.plan): the Snakefile's DAG and dvc.yaml must agree with it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import (
    ROOT,
)

from tvseg.core.config import load_config
from tvseg.pipeline.plan import Plan

SNAKEMAKE = Path(sys.executable).parent / "snakemake"
# None: config.yaml alone (the paper's settings); else a profile's overrides

PROFILES = [None, "profiles/cpu/tvseg.yaml", "profiles/gpu/tvseg.yaml", "profiles/quick/tvseg.yaml"]

RULE = re.compile(r"^(?:local)?rule (\w+):$")

FILES = re.compile(r"^    (input|output): (.*)$")

FLAG = re.compile(r" \((?:update|ancient|directory|report)\)$")  # how a dry run marks a file's flags


def _dry_run(override: str | None) -> subprocess.Popen:
    args = [str(SNAKEMAKE), "--dry-run", "--forceall", "--cores", "1"]
    args += ["--configfile", override] if override else []
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _jobs_in(dry_run_output: str) -> dict:
    """(rule, its outputs) -> its inputs, of every job a dry run lists (``rule all`` aside)."""
    jobs, current = [], None
    for line in dry_run_output.splitlines():
        if match := RULE.match(line):
            current = {"rule": match.group(1), "input": [], "output": []}
            jobs.append(current)
        elif (match := FILES.match(line)) and current is not None:
            current[match.group(1)] = [FLAG.sub("", name) for name in match.group(2).split(", ")]
    return {(j["rule"], frozenset(j["output"])): frozenset(j["input"]) for j in jobs if j["rule"] != "all"}


def _planned(plan: Plan) -> dict:
    return {
        (job.step, frozenset(map(str, job.output_files()))): frozenset(map(str, job.input_files())) for job in plan.jobs
    }


def _disagreements(planned: dict, dag: dict) -> list[str]:
    lines = [
        f"only in the {'plan' if key in planned else 'DAG'}: {key[0]} -> {sorted(key[1])}"
        for key in planned.keys() ^ dag.keys()
    ]
    lines += [
        f"{key[0]} -> {sorted(key[1])} reads {sorted(planned[key] ^ dag[key])} in one only"
        for key in planned.keys() & dag.keys()
        if planned[key] != dag[key]
    ]
    return lines  # fmt: skip


def test_the_snakefiles_jobs_are_the_plans_for_every_profile():
    runs = {override: _dry_run(override) for override in PROFILES}  # side by side
    for override, process in runs.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        config = load_config(ROOT / "config.yaml", *([ROOT / override] if override else []))
        problems = _disagreements(_planned(Plan(config)), _jobs_in(stdout))
        assert not problems, f"{override or 'config.yaml'}:\n" + "\n".join(problems[:20])


def test_a_job_the_plan_lacks_is_caught():
    # the comparison itself: a job left out of the plan, or an input added to it, shows up
    config = load_config(ROOT / "config.yaml", ROOT / "profiles/quick/tvseg.yaml")
    planned = _planned(Plan(config))
    key = next(k for k in planned if k[0] == "train_model")
    fewer = {k: v for k, v in planned.items() if k != key}
    assert _disagreements(fewer, planned) == [f"only in the DAG: train_model -> {sorted(key[1])}"]
    more = {**planned, key: planned[key] | {"extra.csv"}}
    assert len(_disagreements(more, planned)) == 1


def _covers(out: str, path: str) -> bool:
    return path == out or path.startswith(out.rstrip("/") + "/")


def _name(entry) -> str:
    return next(iter(entry)) if isinstance(entry, dict) else entry


def test_dvc_yamls_stages_are_the_plans_jobs():
    """Each stage's outputs are its planned jobs' (beside folders that hold them, the HTML report and
    the runs post-TV's choice trains), its command asks Snakemake for planned outputs of its own
    jobs, and every data file it depends on is made by a planned job of another stage."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    config = load_config(ROOT / "config.yaml", ROOT / "profiles/cpu/tvseg.yaml")
    plan = Plan(config)
    assert set(stages) == {job.stage for job in plan.jobs}
    for name, stage in stages.items():
        mine = [str(p) for job in plan.jobs if job.stage == name for p in job.output_files()]
        # post-TV's choice is a small fact kept in git alone (an ancient() input of the evaluations)
        versioned = [p for p in mine if not p.endswith("/choice.json")]
        others = [str(p) for job in plan.jobs if job.stage != name for p in job.output_files()]
        outs = [_name(e) for key in ("outs", "metrics", "plots") for e in stage.get(key, [])]
        uncovered = [p for p in versioned if not any(_covers(out, p) for out in outs)]
        assert not uncovered, f"{name}: planned outputs dvc.yaml does not version: {uncovered[:5]}"
        extra = [o for o in outs if not any(_covers(o, p) for p in mine) and not o.endswith(("report.html", "/runs"))]
        assert not extra, f"{name}: outputs of no planned job of the stage: {extra}"
        commands = stage["cmd"] if isinstance(stage["cmd"], list) else [stage["cmd"]]
        targets = [t for t in commands[0].split()[3:]]
        assert targets and set(targets) <= set(mine), f"{name}: {set(targets) - set(mine)}"
        data = [d for d in stage.get("deps", []) if not d.startswith(("src/", "workflow/"))]
        assert all(any(_covers(d, p) for p in others) for d in data), f"{name}: {data}"


@pytest.mark.parametrize("override", PROFILES)
def test_every_job_comes_after_what_it_reads(override):
    config = load_config(ROOT / "config.yaml", *([ROOT / override] if override else []))
    plan = Plan(config)
    position = {job: i for i, job in enumerate(plan.jobs)}
    for job in plan.jobs:
        assert all(position[r] < position[job] for r in plan.requirements(job)), job
    assert len(position) == len(plan.jobs)  # no job twice


def test_the_levelling_check_trains_the_plain_clean_net_longer_and_is_rendered():
    from tvseg.pipeline.plan import levelling_files

    config = load_config(ROOT / "config.yaml", ROOT / "profiles/quick/tvseg.yaml")
    plan = Plan(config)
    longer = plan.of("train_longer_schedule")
    assert [(str(job.run), job.seed, job.stage) for job in longer] == [("segnet_camvid_clean", 0, "train_camvid")]
    results = Path(config["results_dir"])
    assert longer[0].outputs["log_csv"] == results / "longer_schedule/runs/segnet_camvid_clean/seed0/log.csv"
    check = plan.job("check_levelling", dataset="camvid")
    assert longer[0] in plan.requirements(check) and plan.job("collect_curves", dataset="camvid") in plan.requirements(
        check
    )
    assert set(levelling_files(config, "camvid").values()) <= set(plan.final_outputs())
    config["datasets"]["camvid"]["curve"]["longer"]["seeds"] = [0, 5]  # seed 5 waits until the net has it
    assert [job.seed for job in Plan(config).of("train_longer_schedule")] == [0]
    config["datasets"]["camvid"]["curve"]["longer"]["seeds"] = [5]
    assert not Plan(config).of("train_longer_schedule", "check_levelling")
