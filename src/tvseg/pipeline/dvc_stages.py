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

from tvseg.core.config import (
    dataset_results,
    load_config,
    post_tv_choice_path,
    run_files,
    runs_for,
    runs_root,
    seeds_for,
)
from tvseg.core.paper import FIGURES, TABLES


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
    "decoder_channels",
)  # fmt: skip
DATA_DATASET_KEYS = ("size", "limit", "noisy_train", "split", "train_count")
# The code each stage runs: a change to it re-runs the stage's Snakemake command.
DATA_CODE = ["src/tvseg/datasets", "workflow/rules/download.smk", "workflow/rules/prepare.smk",
             "workflow/rules/noisy_split.smk"]  # fmt: skip
TRAIN_CODE = ["src/tvseg/layers", "src/tvseg/models", "src/tvseg/core/settings.py", "src/tvseg/engine/train.py",
              "src/tvseg/engine/losses.py", "workflow/rules/train.smk"]  # fmt: skip
# evaluation rebuilds the models and their heads (post-TV's too) and adds the noise itself
EVALUATE_CODE = ["src/tvseg/datasets", "src/tvseg/layers", "src/tvseg/models", "src/tvseg/core/settings.py",
                 "src/tvseg/engine/evaluate.py", "src/tvseg/engine/metrics.py", "src/tvseg/engine/tuning.py",
                 "workflow/rules/evaluate.smk"]  # fmt: skip
REPORT_CODE = ["src/tvseg/reporting/report.py", "src/tvseg/reporting/claims.py", "src/tvseg/reporting/verdict.py",
               "src/tvseg/core/reference/paper_results.csv", "workflow/rules/tables.smk", "workflow/rules/figures.smk",
               "workflow/report"]  # fmt: skip


class _Profile:
    """What every stage reads: the configuration, its two files, its folders and its runs' files."""

    def __init__(self, profile: str, config_path: str):
        self.dir = Path(profile)
        self.base, self.override = Path(config_path), self.dir / "tvseg.yaml"
        self.config = load_config(self.base, self.override)
        self.prepared, self.results = Path(self.config["prepared_root"]), Path(self.config["results_dir"])
        _refuse_untracked_results(self.dir, self.results)
        self.snakemake = f"snakemake --profile {self.dir.as_posix()}"
        self.runs = runs_for(self.config)
        self.datasets = sorted({r.dataset for r in self.runs})

    def files(self, dataset: str) -> list:
        """(run, RunFiles) of every run and seed of ``dataset``."""
        runs = [r for r in self.runs if r.dataset == dataset]
        return [(r, run_files(self.config, r, seed)) for r in runs for seed in seeds_for(self.config, r)]

    def params(self, keys: list[str]) -> list:
        return _params(keys, self.base, self.override)

    def command(self, items) -> str:
        return f"{self.snakemake} {' '.join(_paths(items))}"


def _paths(items) -> list[str]:
    return [Path(p).as_posix() for p in items]


def _data_stage(p: _Profile) -> dict:
    keys = ["noise"] + [f"datasets.{d}.{k}" for d in p.datasets for k in DATA_DATASET_KEYS]
    noisy_ids = [p.prepared / d / "train_noisy" / "ids.json" for d in p.datasets]
    return {"cmd": p.command(noisy_ids), "deps": DATA_CODE, "params": p.params(keys), "outs": [p.prepared.as_posix()]}


def _train_stage(p: _Profile, dataset: str) -> dict:
    keys = ["tv", "converged", "training", "seeds"] + [f"datasets.{dataset}.{k}" for k in TRAIN_DATASET_KEYS]
    models = [f.model for _, f in p.files(dataset)]
    logs = [f.log for _, f in p.files(dataset)]
    return {
        "cmd": p.command(models),
        "deps": [p.prepared.as_posix()] + TRAIN_CODE,
        "params": p.params(keys),
        # persist: `dvc repro` never deletes a trained model or its log; a code change re-runs the
        # stage's Snakemake command, which does not retrain finished runs (docs/dvc.md)
        "outs": [{path: {"persist": True}} for path in _paths(models + logs)],
    }


def _evaluate_stage(p: _Profile, dataset: str) -> dict:
    models = [f.model for _, f in p.files(dataset)]
    evaluations = [f.evaluation for _, f in p.files(dataset)]
    panels = [f.panels for _, f in p.files(dataset)]
    # post_tv/<dataset>/runs: the runs trained to choose post-TV's lambda on images held out of
    # training (the choice itself, choice.json, is a small fact kept in git); none where the
    # lambda is chosen on a published split with the trained nets
    tuning_runs = p.config["post_tv"]["tune"]["enabled"] and not p.config["datasets"][dataset].get("tune_split")
    keys = ["evaluation", "post_tv"] + [f"datasets.{dataset}.{k}" for k in ("evaluation", "tune_split")]
    logs = [f.log for _, f in p.files(dataset)]
    # the dataset's evaluations and learned lambdas (and validation curves) collected: small, in git
    collected = [dataset_results(p.config, dataset) / name for name in ("metrics.csv", "lambdas.csv")]
    if p.config["datasets"][dataset].get("curve"):
        collected.append(dataset_results(p.config, dataset) / "curves.csv")
    tuning = (
        [{runs_root(post_tv_choice_path(p.config, dataset).parent).as_posix(): {"persist": True}}]
        if tuning_runs
        else []
    )
    return {
        "cmd": p.command(evaluations + collected),
        "deps": _paths(models + logs) + [p.prepared.as_posix()] + EVALUATE_CODE,
        "params": p.params(keys),
        "outs": _paths(evaluations + panels) + tuning + [{path: {"cache": False}} for path in _paths(collected)],
    }


def _report_stage(p: _Profile) -> dict:
    results = p.results
    readings = p.config["evaluation"]["gaussian_readings"]
    tables = [
        results / "tables" / f"table{n}_{r}.{e}" for n in TABLES for r in readings for e in ("md", "tex", "csv", "html")
    ]
    tables += [results / "tables" / f"per_class_{d}.md" for d in p.datasets]
    figures = [results / "figures" / f"figure{n}_{d}.{e}" for d, n in FIGURES.items() for e in ("png", "pdf")]
    figures += [results / "figures" / f"panels_{d}_{t}.png" for d in p.datasets for t in ("clean", "noisy")]
    figures += [results / "figures" / f"curves_{d}.png" for d in p.datasets if p.config["datasets"][d].get("curve")]
    curve_pngs = [f for f in figures if f.suffix == ".png" and f.name.startswith("figure")]
    other_figures = [f for f in figures if f not in curve_pngs]
    small = [
        results / "metrics.csv", results / "claims.md", results / "claims.html", results / "verdict.md",
        results / "lambdas.csv",
    ]  # fmt: skip
    collected = [dataset_results(p.config, d) / name for d in p.datasets for name in ("metrics.csv", "lambdas.csv")]
    collected += [
        dataset_results(p.config, d) / "curves.csv" for d in p.datasets if p.config["datasets"][d].get("curve")
    ]
    return {
        "cmd": [
            p.command(
                [results / "summary.json", results / "claims.md", results / "claims.html", results / "verdict.md"]
                + [results / "lambdas.csv"]
                + tables
                + figures
            ),
            f"{p.snakemake} --report {(results / 'report.html').as_posix()}",
        ],  # fmt: skip
        # the datasets' collected results (in git), not their run folders: the report renders
        # from them where a dataset's checkpoints and evaluations are not at hand
        "deps": _paths(collected) + REPORT_CODE,
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
