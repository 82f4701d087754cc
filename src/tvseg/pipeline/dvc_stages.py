"""``dvc.yaml`` for a profile, derived from the same configuration the Snakemake workflow reads.

Each DVC stage calls Snakemake for its targets, so DVC versions the data, checkpoints and results
while Snakemake keeps scheduling them. Stages declare exactly the params they read: a dotted key
is listed under the profile's override file where that file sets it, else under config.yaml.
Generated, never hand-edited: ``tvseg dvc-yaml --profile profiles/cpu > dvc.yaml`` (a test
checks that the committed file is what the generator gives).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tvseg.core.config import load_config
from tvseg.core.layout import post_tv_choice_path, runs_root
from tvseg.core.provenance import COLLECTED_NAME
from tvseg.core.runs import tune_split
from tvseg.pipeline.code_deps import code_paths
from tvseg.pipeline.plan import Plan


def _has(tree: dict, dotted: str) -> bool:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return True


def _params(keys: list[str], base: Path, override: Path) -> list:
    base_tree = yaml.safe_load(base.read_text()) or {}
    override_tree = yaml.safe_load(override.read_text()) or {}
    by_file: dict[str, list[str]] = {str(override): [], str(base): []}
    for key in keys:
        if _has(override_tree, key):
            by_file[str(override)].append(key)
        if _has(base_tree, key) and not _is_whole_override(override_tree, key):
            by_file[str(base)].append(key)
    return [{name: sorted(set(k))} for name, k in by_file.items() if k]


def _is_whole_override(tree: dict, dotted: str) -> bool:
    """True where the override sets this key or one of its parents to a non-mapping (replacing it)."""
    parts = dotted.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if _has(tree, prefix):
            node = tree
            for part in parts[:i]:
                node = node[part]
            if not isinstance(node, dict):
                return True
    return False


def _refuse_untracked_results(profile: Path, results: Path) -> None:
    """A profile whose results git ignores cannot round-trip: after a fresh clone and `dvc pull`, the
    small results DVC leaves to git (tables, claims, metrics) would be missing and Snakemake would
    redo the work."""
    ignored = subprocess.run(["git", "check-ignore", "-q", results.as_posix()], capture_output=True, check=False)
    if ignored.returncode == 0:
        raise ValueError(
            f"{profile.as_posix()} writes its results to {results.as_posix()}, which git ignores, so a dvc.yaml for it "
            "could not round-trip (push, fresh clone, pull). Generate dvc.yaml from a profile whose results_dir "
            "is tracked by git, e.g. profiles/cpu."
        )


TRAIN_DATASET_KEYS = (
    "architecture", "encoder", "encoder_weights", "batch_size", "iterations", "lr", "lr_schedule",
    "class_weights", "train_crop", "validation_count", "seeds", "paper_network", "weight_decay", "hflip", "curve",
    "decoder_channels", "optimizer",
)  # fmt: skip
DATA_DATASET_KEYS = ("size", "limit", "noisy_train", "split", "train_count")


def data_params(datasets) -> list[str]:
    """The configuration's keys the data stage reads (tests/pipeline/test_dvc_stages.py holds the
    settings' builders to them)."""
    return ["noise"] + [f"datasets.{d}.{k}" for d in datasets for k in DATA_DATASET_KEYS]


def train_params(dataset: str) -> list[str]:
    """The keys a dataset's train stage reads: the heads, the training, the seeds, the seed the
    held-out images are drawn from (``noise.seed``) and the dataset's own recipe."""
    return ["tv", "converged", "training", "seeds", "noise.seed"] + [
        f"datasets.{dataset}.{k}" for k in TRAIN_DATASET_KEYS
    ]


def evaluate_params(dataset: str) -> list[str]:
    """The keys a dataset's evaluate stage reads: the evaluation grid, post-TV and its tuning (with
    the reading of sigma the noisy training sets use)."""
    keys = ["evaluation", "post_tv", "noise.gaussian_reading"]
    return keys + [f"datasets.{dataset}.{k}" for k in ("evaluation", "tune_split")]


# The code each stage runs, from the modules its steps start at through every module they import
# (pipeline.code_deps): a change to any of it re-runs the stage's Snakemake command. The rule files
# and the report's captions are named beside them.
DATA_CODE = code_paths(("tvseg.datasets", "tvseg.core.from_config")) + [
    "workflow/rules/download.smk", "workflow/rules/prepare.smk", "workflow/rules/noisy_split.smk",
]  # fmt: skip
TRAIN_CODE = code_paths(("tvseg.engine.train", "tvseg.core.from_config")) + ["workflow/rules/train.smk"]
# evaluation rebuilds the models and their heads (post-TV's too), adds the noise itself, tunes
# post-TV's lambda and collects the dataset's results
EVALUATE_CODE = code_paths(
    ("tvseg.engine.evaluate", "tvseg.engine.tuning", "tvseg.core.from_config", "tvseg.reporting.results",
     "tvseg.reporting.provenance")
) + ["workflow/rules/evaluate.smk"]  # fmt: skip
REPORT_CODE = code_paths(
    ("tvseg.reporting.tables", "tvseg.reporting.figures", "tvseg.reporting.panels", "tvseg.reporting.claims",
     "tvseg.reporting.claims_figure", "tvseg.reporting.verdict", "tvseg.reporting.provenance",
     "tvseg.reporting.captions", "tvseg.reporting.pages", "tvseg.reporting.levelling")
) + ["workflow/rules/tables.smk", "workflow/rules/figures.smk", "workflow/report"]  # fmt: skip


class _Profile:
    """What every stage reads: the configuration, its two files, and its plan of jobs."""

    def __init__(self, profile: str, config_path: str):
        self.dir = Path(profile)
        self.base, self.override = Path(config_path), self.dir / "tvseg.yaml"
        self.config = load_config(self.base, self.override)
        self.prepared, self.results = Path(self.config["prepared_root"]), Path(self.config["results_dir"])
        _refuse_untracked_results(self.dir, self.results)
        self.snakemake = f"snakemake --profile {self.dir.as_posix()}"
        self.plan = Plan(self.config)
        self.datasets = sorted(self.plan.datasets)

    def outputs(self, step: str, name: str, dataset: str | None = None) -> list[Path]:
        """The output ``name`` of every planned job of ``step`` (of ``dataset``), in the plan's order."""
        return [job.outputs[name] for job in self.plan.of(step, dataset=dataset)]

    def params(self, keys: list[str]) -> list:
        return _params(keys, self.base, self.override)

    def command(self, items) -> str:
        return f"{self.snakemake} {' '.join(_paths(items))}"


def _paths(items) -> list[str]:
    return [Path(p).as_posix() for p in items]


def _data_stage(p: _Profile) -> dict:
    keys = data_params(p.datasets)
    noisy_ids = [path for d in p.datasets for path in p.outputs("make_noisy_split", "ids", d)]
    return {"cmd": p.command(noisy_ids), "deps": DATA_CODE, "params": p.params(keys), "outs": [p.prepared.as_posix()]}


def _train_stage(p: _Profile, dataset: str) -> dict:
    keys = train_params(dataset)
    steps = ("train_model", "train_longer_schedule")  # the profile's runs, then the levelling check's
    models = [path for step in steps for path in p.outputs(step, "model", dataset)]
    logs = [path for step in steps for path in p.outputs(step, "log_csv", dataset)]
    return {
        "cmd": p.command(models),
        "deps": [p.prepared.as_posix()] + TRAIN_CODE,
        "params": p.params(keys),
        # persist: `dvc repro` never deletes a trained model or its log; a code change re-runs the
        # stage's Snakemake command, which does not retrain finished runs (docs/dvc.md)
        "outs": [{path: {"persist": True}} for path in _paths(models + logs)],
    }


def _collected(p: _Profile, dataset: str) -> list[Path]:
    """A dataset's evaluations and learned lambdas (and validation curves) collected, and where its
    runs ran: small, in git."""
    steps = ("collect_dataset_metrics", "collect_dataset_lambdas", "collect_curves")
    collected = [path for step in steps for path in p.outputs(step, "csv", dataset)]
    return collected + p.outputs("collect_dataset_metrics", "provenance", dataset)


def _evaluate_stage(p: _Profile, dataset: str) -> dict:
    # the train stage's outs (models and logs: the evaluations read the one, the lambdas and curves the other)
    trained = p.outputs("train_model", "model", dataset) + p.outputs("train_model", "log_csv", dataset)
    evaluations, panels = p.outputs("evaluate_model", "csv", dataset), p.outputs("evaluate_model", "panels", dataset)
    # post_tv/<dataset>/runs: the runs trained to choose post-TV's lambda on images held out of
    # training (the choice itself, choice.json, is a small fact kept in git); none where the
    # lambda is chosen on a published split with the trained nets
    tuning_runs = p.config["post_tv"]["tune"]["enabled"] and not tune_split(p.config, dataset)
    keys = evaluate_params(dataset)
    collected = _collected(p, dataset)
    tuning = (
        [{runs_root(post_tv_choice_path(p.config, dataset).parent).as_posix(): {"persist": True}}]
        if tuning_runs
        else []
    )
    return {
        "cmd": p.command(evaluations + collected),
        "deps": _paths(trained) + [p.prepared.as_posix()] + EVALUATE_CODE,
        "params": p.params(keys),
        "outs": _paths(evaluations + panels) + tuning + [{path: {"cache": False}} for path in _paths(collected)],
    }


def _report_stage(p: _Profile) -> dict:
    results = p.results
    final = p.plan.final_outputs()
    figures = [path for path in final if path.parent.name == "figures"]
    curve_pngs = [f for f in figures if f.suffix == ".png" and f.name.startswith("figure")]
    other_figures = [f for f in figures if f not in curve_pngs]
    small = [path for path in final if path.parent == results and path.name != "summary.json"]
    small[:0] = [results / "metrics.csv", results / COLLECTED_NAME]
    # the datasets' collected results (in git), not their run folders: the report renders
    # from them where a dataset's checkpoints and evaluations are not at hand
    collected = [path for d in p.datasets for path in _collected(p, d) if path.name != "curves.csv"]
    collected += [path for d in p.datasets for path in _collected(p, d) if path.name == "curves.csv"]
    # the levelling check's longer runs (the train stages' outs): their curves are set against curves.csv
    longer = [path for d in p.datasets for path in p.outputs("train_longer_schedule", "log_csv", d)]
    return {
        "cmd": [p.command(final), f"{p.snakemake} --report {(results / 'report.html').as_posix()}"],
        "deps": _paths(collected + longer) + REPORT_CODE,
        # The HTML report embeds every figure (megabytes): cached by DVC, not in git.
        "outs": [{path: {"cache": False}} for path in _paths(small + [results / "tables"] + other_figures)]
        + [(results / "report.html").as_posix()],
        "metrics": [{(results / "summary.json").as_posix(): {"cache": False}}],
        "plots": [{path: {"cache": False}} for path in _paths(curve_pngs)],
    }


def dvc_stages(profile: str, config_path: str = "config.yaml") -> dict:
    """The stages of ``profile``: data, then train_<dataset> and evaluate_<dataset> per dataset (one
    dataset's lock entries stay valid while another is added), then report."""
    p = _Profile(profile, config_path)
    stages = {"data": _data_stage(p)}
    for dataset in p.datasets:
        stages[f"train_{dataset}"] = _train_stage(p, dataset)
        stages[f"evaluate_{dataset}"] = _evaluate_stage(p, dataset)
    stages["report"] = _report_stage(p)
    return {"stages": stages}


def render(profile: str) -> str:
    header = (
        "# Generated by `tvseg dvc-yaml --profile {0} > dvc.yaml` from config.yaml and {0}/tvseg.yaml;\n"
        "# do not edit by hand. Each stage calls Snakemake for its targets.\n"
    ).format(Path(profile).as_posix())
    return header + yaml.safe_dump(dvc_stages(profile), sort_keys=False, width=100)
