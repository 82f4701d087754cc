import json
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

from tvseg.core.config import validate as validate_fully
from tvseg.core.from_config import (
    evaluation_settings,
    longer_train_settings,
    train_settings,
)
from tvseg.core.layout import (
    bundle_dir,
    longer_run_files,
    manifest_path,
    post_tv_choice_path,
    run_files,
    source_record,
    split_ids_path,
)
from tvseg.core.paper import DATASETS as PAPER_DATASETS
from tvseg.core.provenance import COLLECTED_NAME as PROVENANCE
from tvseg.core.runs import RunId, tune_split, tuning_run
from tvseg.pipeline.plan import (
    Plan,
    claims_figure_files,
    collected_file,
    curves_figure,
    levelling_files,
    noise_figure_files,
    panels_figure,
    per_class_table,
    results_file,
    table_files,
)

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

# Every job with its inputs and outputs (tvseg.pipeline.plan): the input functions below and
# `rule all` read it; the rules spell their output patterns with the same functions.
PLAN = Plan(config)
RESULTS = Path(config["results_dir"])

# The package's CLI through this interpreter, so jobs need no activated environment.
TVSEG = f"{sys.executable} -m tvseg.cli"


wildcard_constraints:
    dataset="|".join(PAPER_DATASETS),
    run="[a-z]+_[a-z]+_(clean|noisy)",
    seed=r"\d+",
    reading="std|variance",


def run_folder(run, seed):
    """The files of a run's folder (model, log, evaluation, panels), named in tvseg.core.layout."""
    return run_files(config, run, seed)


def planned_inputs(step, wildcards):
    """The named inputs of ``step``'s job with these wildcards, as the plan lists them."""
    job = PLAN.job(step, **dict(wildcards.items()))
    return {name: [str(path) for path in paths] for name, paths in job.inputs.items()}


def inputs_of(step):
    """An input function for ``step``'s rule (used with unpack())."""
    return lambda wildcards: planned_inputs(step, wildcards)


def evaluation_inputs(wildcards):
    """The model, and for a plain run the post-TV lambda chosen on validation (post_tv.tune).

    The choice is ancient(): a re-run tuning job still re-runs the evaluations, but its file's
    time alone does not. choice.json is kept in git, so in a fresh clone it may be newer than the
    committed results, and Snakemake would then redo every missing step behind them (a dataset's
    training, when its checkpoints are not at hand) to evaluate anew what git already holds.
    """
    inputs = planned_inputs("evaluate_model", wildcards)
    if "post_tv" in inputs:
        inputs["post_tv"] = [ancient(path) for path in inputs["post_tv"]]
    return inputs


def train_params(wildcards):
    """Exactly what a training job reads, so a change re-runs training and nothing else does."""
    return json.dumps(
        train_settings(
            config, RunId.parse(wildcards.run), int(wildcards.seed)
        ).record(),
        sort_keys=True,
    )


def longer_train_params(wildcards):
    """Exactly what a levelling-check training reads (its longer schedule included)."""
    return json.dumps(
        longer_train_settings(
            config, RunId.parse(wildcards.run), int(wildcards.seed)
        ).record(),
        sort_keys=True,
    )


def tuning_params(wildcards):
    """What the post-TV tuning reads: the plain clean run's settings (seed aside) and post_tv
    (and the published split it is chosen on, where there is one)."""
    settings = train_settings(config, tuning_run(config, wildcards.dataset), 0).record()
    settings.pop("seed")
    split = tune_split(config, wildcards.dataset)
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
    """What an evaluation reads that changes its numbers (EvaluationSettings.record()), so a change
    re-runs the evaluations and nothing else does."""
    run = RunId.parse(wildcards.run)
    settings = evaluation_settings(
        config, run.dataset, panels=run_folder(run, wildcards.seed).panels
    )
    return json.dumps(settings.record(), sort_keys=True)
