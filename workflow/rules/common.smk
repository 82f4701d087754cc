import hashlib
import json
import os
import sys
from pathlib import Path

import yaml
from snakemake.utils import min_version, validate

from tvseg.core.config import (
    RunId,
    bundle_dir,
    dataset_results,
    enabled_datasets,
    plain_network,
    post_tv_choice_path,
    run_files,
    runs_for,
    seeds_for,
)
from tvseg.core.config import validate as validate_fully
from tvseg.engine.experiment import (
    conditions,
    train_settings,
    tuning_run,
    tuning_seeds,
    uses_tuned_post_tv,
)
from tvseg.core.paper import DATASETS as PAPER_DATASETS, FIGURES, TABLES
from tvseg.pipeline.locks import forget_owner, record_owner, release_stale_locks

min_version("9.0")


# The package's validator first: it reads exponent notation (1e-4) as numbers, fills nested
# defaults and names each bad key in a line; Snakemake's then finds nothing more to say.
validate_fully(
    config,
    sources=", ".join(
        ["config.yaml"] + [str(f) for f in workflow.overwrite_configfiles or []]
    ),
)
validate(config, "../schemas/config.schema.yaml")

DATA = Path(config["data_root"])
PREPARED = Path(config["prepared_root"])
RESULTS = Path(config["results_dir"])
RUNS = runs_for(config)
READINGS = config["evaluation"]["gaussian_readings"]
DATASETS = sorted(enabled_datasets(config))
DATASETS_IN_ORDER = enabled_datasets(
    config
)  # config.yaml's order: the joined results' row order


def resolved_config_file():
    """The merged, validated config as one file for the jobs; rewritten only when it changes.

    One file per results folder (as configured, relative), so runs of different profiles side
    by side never read each other's settings. Jobs find it through TVSEG_CONFIG, set below,
    not through params, because its path is no setting of any job and must never trigger a
    re-run.
    """
    key = hashlib.sha256(str(config["results_dir"]).encode()).hexdigest()[:12]
    path = Path(".snakemake") / "tvseg" / f"config-{key}.yaml"
    text = yaml.safe_dump(config, sort_keys=True)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(path)


os.environ["TVSEG_CONFIG"] = resolved_config_file()


# A run killed with SIGKILL leaves Snakemake's lock behind; release it when its owner is gone,
# so the same command resumes (docs/reproducing.md: Resumable training). Only the main process: cluster
# jobs parse this file too while their workflow runs.
STATE_DIR = Path(".snakemake")
if workflow.is_main_process:
    for pid in release_stale_locks(STATE_DIR):
        print(
            f"tvseg: released the lock of Snakemake process {pid}, which is no longer running",
            file=sys.stderr,
        )


onstart:
    record_owner(
        STATE_DIR, list(getattr(workflow.persistence, "_lockfile", {}).values())
    )


onsuccess:
    forget_owner(STATE_DIR)


onerror:
    forget_owner(STATE_DIR)


# The package's CLI through this interpreter, so jobs need no activated environment.
TVSEG = f"{sys.executable} -m tvseg.cli"


wildcard_constraints:
    dataset="|".join(PAPER_DATASETS),
    run="[a-z]+_[a-z]+_(clean|noisy)",
    seed=r"\d+",
    reading="std|variance",


def run_folder(run, seed):
    """The files of a run's folder (model, log, evaluation, panels), named in tvseg.core.config."""
    return run_files(config, run, seed)


def train_inputs(wildcards):
    run = RunId.parse(wildcards.run)
    split = "train_noisy" if run.train_data == "noisy" else "train"
    return {
        "manifest": PREPARED / run.dataset / "manifest.json",
        "split": PREPARED / run.dataset / split / "ids.json",
    }


def train_params(wildcards):
    """Exactly what a training job reads, so a change re-runs training and nothing else does."""
    return json.dumps(
        train_settings(
            config, RunId.parse(wildcards.run), int(wildcards.seed)
        ).record(),
        sort_keys=True,
    )


def post_tv_choice(dataset):
    return post_tv_choice_path(config, dataset)


def evaluation_inputs(wildcards):
    """The model, and for a plain run the post-TV lambda chosen on validation (post_tv.tune).

    The choice is ancient(): a re-run tuning job still re-runs the evaluations, but its file's
    time alone does not. choice.json is kept in git, so in a fresh clone it may be newer than the
    committed results, and Snakemake would then redo every missing step behind them (a dataset's
    training, when its checkpoints are not at hand) to evaluate anew what git already holds.
    """
    run = RunId.parse(wildcards.run)
    inputs = {"model": run_folder(wildcards.run, wildcards.seed).model}
    if uses_tuned_post_tv(config, run):
        inputs["post_tv"] = ancient(post_tv_choice(run.dataset))
    return inputs


def tuning_inputs(wildcards):
    """The prepared data; on a published validation split (``tune_split``), also the trained
    plain clean nets of the tuning seeds that post-TV's lambda is chosen with."""
    dataset = wildcards.dataset
    inputs = {
        "manifest": PREPARED / dataset / "manifest.json",
        "split": PREPARED / dataset / "train" / "ids.json",
    }
    if config["datasets"][dataset].get("tune_split"):
        run = tuning_run(config, dataset)
        for seed in tuning_seeds(config, dataset):
            inputs[f"model_seed{seed}"] = run_folder(run, seed).model
    return inputs


def tuning_params(wildcards):
    """What the post-TV tuning reads: the plain clean run's settings (seed aside) and post_tv
    (and the published split it is chosen on, where there is one)."""
    plain = RunId(plain_network(config, wildcards.dataset), wildcards.dataset, "clean")
    settings = train_settings(config, plain, 0).record()
    settings.pop("seed")
    split = config["datasets"][wildcards.dataset].get("tune_split")
    return json.dumps(
        {
            "train": settings,
            "post_tv": config["post_tv"],
            "reading": config["noise"]["gaussian_reading"],
            **({"split": split} if split else {}),
        },
        sort_keys=True,
    )


def evaluation_params(wildcards):
    """What an evaluation reads that changes its numbers (evaluation.head_batch changes only its
    speed: tests/test_engine.py), so a change re-runs the evaluations and nothing else does.
    """
    return json.dumps(
        {
            "conditions": [
                vars(c) for c in conditions(config, RunId.parse(wildcards.run).dataset)
            ],
            "post_tv": config["post_tv"],
            "seed": config["evaluation"]["seed"],
            "qualitative_images": config["evaluation"]["qualitative_images"],
            "qualitative_conditions": config["evaluation"]["qualitative_conditions"],
        },
        sort_keys=True,
    )


def evaluation_files_of(wildcards):
    return evaluation_files(wildcards.dataset)


def training_logs_of_regularized_runs_of(wildcards):
    return [
        run_folder(run, seed).log
        for run in RUNS
        if run.head == "tv" and run.dataset == wildcards.dataset
        for seed in seeds_for(config, run)
    ]


def training_logs_with_curves(wildcards):
    return [
        run_folder(run, seed).log
        for run in RUNS
        if run.dataset == wildcards.dataset
        for seed in seeds_for(config, run)
    ]


def datasets_with_curves():
    return [d for d in DATASETS_IN_ORDER if config["datasets"][d].get("curve")]


def evaluation_files(dataset=None):
    return [
        run_folder(run, seed).evaluation
        for run in RUNS
        if dataset is None or run.dataset == dataset
        for seed in seeds_for(config, run)
    ]


def panel_folders(wildcards):
    return [
        run_folder(run, seeds_for(config, run)[0]).panels
        for run in RUNS
        if run.dataset == wildcards.dataset and run.train_data == wildcards.train_data
    ]


def final_outputs():
    """Every table and figure of the paper (those of datasets not run show the paper's
    numbers and say why ours are missing), the claims, the learned lambdas, and panels of
    the datasets that ran."""
    outputs = [
        RESULTS / "summary.json",
        RESULTS / "claims.md",
        RESULTS / "claims.html",
        RESULTS / "verdict.md",
        RESULTS / "lambdas.csv",
    ]
    for number in TABLES:
        for reading in READINGS:
            outputs += [
                RESULTS / "tables" / f"table{number}_{reading}.{ext}"
                for ext in ("md", "tex", "csv", "html")
            ]
    for dataset, number in FIGURES.items():
        outputs += [
            RESULTS / "figures" / f"figure{number}_{dataset}.{ext}"
            for ext in ("png", "pdf")
        ]
    for dataset in DATASETS:
        outputs += [
            RESULTS / "figures" / f"panels_{dataset}_{data}.png"
            for data in ("clean", "noisy")
        ]
        outputs.append(RESULTS / "tables" / f"per_class_{dataset}.md")
    for dataset in datasets_with_curves():
        outputs.append(RESULTS / "figures" / f"curves_{dataset}.png")
    return outputs
