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

from tvseg.config import load_config, run_dir, runs_for, seeds_for
from tvseg.paper import FIGURES, TABLES


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


def dvc_stages(profile: str, config_path: str = "config.yaml") -> dict:
    profile_dir = Path(profile)
    override = profile_dir / "tvseg.yaml"
    config = load_config(config_path, override)
    _refuse_untracked_results(profile_dir, Path(config["results_dir"]))
    base = Path(config_path)
    run = f"snakemake --profile {profile_dir.as_posix()}"
    prepared = Path(config["prepared_root"])
    results = Path(config["results_dir"])
    runs = runs_for(config)
    datasets = sorted({r.dataset for r in runs})

    data_keys = ["noise"] + [
        f"datasets.{d}.{k}" for d in datasets for k in ("size", "limit", "noisy_train", "split", "train_count")
    ]
    train_keys = ["tv", "converged", "training", "seeds"] + [
        f"datasets.{d}.{k}"
        for d in datasets
        for k in (
            "architecture",
            "encoder",
            "encoder_weights",
            "batch_size",
            "iterations",
            "lr",
            "lr_schedule",
            "class_weights",
            "train_crop",
            "validation_count",
            "seeds",
        )  # fmt: skip
    ]
    noisy_ids = [prepared / d / "train_noisy" / "ids.json" for d in datasets]
    models, logs, evaluations, panels, regularized_logs = [], [], [], [], []
    for r in runs:
        for seed in seeds_for(config, r):
            folder = run_dir(config, r, seed)
            models.append(folder / "model.pt")
            logs.append(folder / "log.csv")
            if r.head == "tv":
                regularized_logs.append(folder / "log.csv")
            evaluations.append(folder / "evaluation.csv")
            panels.append(folder / "panels")
    readings = config["evaluation"]["gaussian_readings"]
    tuned = config["post_tv"]["tune"]["enabled"]
    tuning = results / "post_tv"
    tables = [
        results / "tables" / f"table{n}_{r}.{e}" for n in TABLES for r in readings for e in ("md", "tex", "csv", "html")
    ]
    figures = [results / "figures" / f"figure{n}_{d}.{e}" for d, n in FIGURES.items() for e in ("png", "pdf")]
    figures += [results / "figures" / f"panels_{d}_{t}.png" for d in datasets for t in ("clean", "noisy")]

    curve_pngs = [f for f in figures if f.suffix == ".png" and f.name.startswith("figure")]
    other_figures = [f for f in figures if f not in curve_pngs]

    def paths(items):
        return [p.as_posix() for p in items]

    def targets(items):
        return " ".join(paths(items))

    return {
        "stages": {
            "data": {
                "cmd": f"{run} {targets(noisy_ids)}",
                "deps": [
                    "src/tvseg/datasets",
                    "workflow/rules/download.smk",
                    "workflow/rules/prepare.smk",
                    "workflow/rules/noisy_split.smk",
                ],  # fmt: skip
                "params": _params(data_keys, base, override),
                "outs": [prepared.as_posix()],
            },
            "train": {
                "cmd": f"{run} {targets(models)}",
                "deps": [
                    prepared.as_posix(),
                    "src/tvseg/layers",
                    "src/tvseg/models",
                    "src/tvseg/settings.py",
                    "src/tvseg/train.py",
                    "src/tvseg/losses.py",
                    "workflow/rules/train.smk",
                ],  # fmt: skip
                "params": _params(train_keys, base, override),
                # persist: `dvc repro` never deletes a trained model or its log; a code change re-runs the
                # stage's Snakemake command, which does not retrain finished runs (README, DVC section)
                "outs": [{p: {"persist": True}} for p in paths(models) + paths(logs)],
            },
            "evaluate": {
                "cmd": f"{run} {targets(evaluations)}",
                "deps": paths(models)
                + [
                    prepared.as_posix(),
                    "src/tvseg/evaluate.py",
                    "src/tvseg/metrics.py",
                    "src/tvseg/tuning.py",
                    "workflow/rules/evaluate.smk",
                ],  # fmt: skip
                "params": _params(["evaluation", "post_tv"], base, override),
                # post_tv/<dataset>/runs: the runs that chose post-TV's lambda on validation (the choice
                # itself, choice.json, is a small fact kept in git)
                "outs": paths(evaluations)
                + paths(panels)
                + [{(tuning / d / "runs").as_posix(): {"persist": True}} for d in (datasets if tuned else [])],
            },
            "report": {
                "cmd": [
                    f"{run} {(results / 'summary.json').as_posix()} {(results / 'claims.md').as_posix()} "
                    f"{(results / 'claims.html').as_posix()} "
                    f"{(results / 'lambdas.csv').as_posix()} {targets(tables)} {targets(figures)}",
                    f"{run} --report {(results / 'report.html').as_posix()}",
                ],
                "deps": paths(evaluations)
                + paths(regularized_logs)
                + [
                    "src/tvseg/report.py",
                    "src/tvseg/claims.py",
                    "src/tvseg/reference/paper_results.csv",
                    "workflow/rules/tables.smk",
                    "workflow/rules/figures.smk",
                    "workflow/report",
                ],  # fmt: skip
                "outs": [
                    {p: {"cache": False}}
                    for p in paths(
                        [
                            results / "metrics.csv",
                            results / "claims.md",
                            results / "claims.html",
                            results / "lambdas.csv",
                        ]
                        + [results / "tables"]
                        + other_figures
                    )
                ]
                # The HTML report embeds every figure (megabytes): cached by DVC, not in git.
                + [(results / "report.html").as_posix()],
                "metrics": [{(results / "summary.json").as_posix(): {"cache": False}}],
                "plots": [{p: {"cache": False}} for p in paths(curve_pngs)],
            },
        }
    }


def render(profile: str) -> str:
    header = (
        "# Generated by `tvseg dvc-yaml --profile {0} > dvc.yaml` from config.yaml and {0}/tvseg.yaml;\n"
        "# do not edit by hand. Each stage calls Snakemake for its targets.\n"
    ).format(Path(profile).as_posix())
    return header + yaml.safe_dump(dvc_stages(profile), sort_keys=False, width=100)
