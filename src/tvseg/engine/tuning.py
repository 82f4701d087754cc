"""Lambda's scale, studied on a validation split carved from the training set (never the test set).

For one dataset: the plain net and the regularized net at several initial lambdas (step*lambda
held at the configured value, so every start is equally convergent) are trained with
``validation_count`` training images held out, then scored on those held-out images, clean and
under gaussian noise; the plain net is also scored with post-TV at several lambdas. The output
says which lambda (initial, and post-TV) a run of the full experiment should use, and how much
the regularized net's robustness depends on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tvseg.core.from_config import (
    study_evaluation_settings,
    study_train_settings,
    tuning_evaluation_settings,
    tuning_study_settings,
)
from tvseg.core.layout import RunFiles, prepared_dir, run_dir_under, run_files
from tvseg.core.runs import RunId, plain_network, tune_split, tuning_run, tuning_seeds
from tvseg.core.safe_io import write_atomic
from tvseg.core.settings import StudySettings
from tvseg.datasets.prepare import PreparedSplit
from tvseg.datasets.splits import validation_ids
from tvseg.engine.evaluate import evaluate_run
from tvseg.engine.train import train
from tvseg.layers import SOFTMAX_STEP_LAM_BOUND


def lambda_study(
    config: dict, dataset: str, settings: StudySettings, out_dir: Path, device: str = "auto", progress: bool = True
) -> pd.DataFrame:
    """Train and score on the validation split; returns (and writes) the tidy scores."""
    if settings.validation_count < 1:
        raise ValueError("the study needs validation_count >= 1 held-out training images")
    out_dir = Path(out_dir)
    plain = plain_network(config, dataset)
    post = config["post_tv"]
    extra_post = {f"(lam={lam:g})": post_tv_settings(post, lam) for lam in settings.post_tv_lams}
    frames = []
    jobs = [(RunId(plain, dataset, "clean"), None)] + [
        (RunId(f"r{plain}", dataset, "clean"), lam) for lam in settings.lams
    ]
    for run, lam in jobs:
        for seed in settings.seeds:
            name = f"{run}_lam{lam:g}" if lam is not None else str(run)
            folder = run_dir_under(out_dir, name, seed)
            run_settings = study_train_settings(config, run, seed, lam, settings.validation_count)
            model = train(run_settings, folder, device=device, progress=progress)
            held_out = validation_ids(
                PreparedSplit(prepared_dir(config, dataset), "train").ids,
                run_settings.validation_count,
                run_settings.validation_seed,
            )
            evaluation = study_evaluation_settings(
                config, settings, run_settings.split, held_out, {"": post, **extra_post} if lam is None else None
            )
            csv = evaluate_run(model, prepared_dir(config, dataset), folder / "validation.csv", evaluation,
                               run=str(run), seed=seed, device=device, progress=progress)  # fmt: skip
            frame = pd.read_csv(csv)
            frame["initial_lam"] = lam if lam is not None else float("nan")
            frame["final_lam"] = _final_lam(RunFiles(folder).log) if lam is not None else float("nan")
            frames.append(frame)
    scores = pd.concat(frames, ignore_index=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "scores.csv", scores.to_csv(index=False, float_format="%.6g"))
    write_atomic(
        out_dir / "summary.md",
        summary_markdown(scores, dataset, settings.levels, settings.reading, settings.validation_count),
    )
    return scores


def post_tv_settings(post_tv: dict, lam: float) -> dict:
    """Post-TV's head at ``lam``: the configured step, lowered where step*lam would exceed the bound."""
    return {"lam": lam, "step": min(post_tv["step"], SOFTMAX_STEP_LAM_BOUND / lam), "iters": post_tv["iters"]}


def tune_post_tv(config: dict, dataset: str, out_dir: Path, device: str = "auto", progress: bool = True) -> dict:
    """Choose post-TV's lambda on a validation split (``post_tv.tune``); writes choice.json.

    Where the dataset has a published validation split (``tune_split``: CamVid's val), the
    trained plain clean nets of the tuning seeds (their run folders) are scored on all of it;
    otherwise a plain net is trained with ``validation_count`` training images held out and
    scored on them. Either way each candidate lambda's post-TV is scored clean and under the
    configured gaussian levels (sigma read as the noisy training sets read it), and the lambda
    with the best mIoU averaged over those conditions and the seeds wins. The test set is never
    looked at.
    """
    tune = config["post_tv"]["tune"]
    seeds = tuning_seeds(config, dataset)
    reading = config["noise"]["gaussian_reading"]
    split = tune_split(config, dataset)
    if split:
        scores = _score_trained_on_split(config, dataset, split, seeds, Path(out_dir), device, progress)
        where = {
            "validation_split": split,
            "validation_count": len(PreparedSplit(prepared_dir(config, dataset), split)),
        }
    else:
        settings = tuning_study_settings(config, seeds)
        scores = lambda_study(config, dataset, settings, Path(out_dir), device=device, progress=progress)
        where = {"validation_count": tune["validation_count"]}
    best, mean = best_post_tv_lambda(scores)
    choice = {
        "dataset": dataset,
        **post_tv_settings(config["post_tv"], best),
        "criterion": "validation mIoU averaged over clean and gaussian "
        + ", ".join(f"{level:g}" for level in tune["levels"])
        + f" (sigma read as a {reading}) and over seeds",
        "validation_mean_miou": {f"{lam:g}": round(float(value), 4) for lam, value in mean.items()},
        "seeds": [int(seed) for seed in seeds],
        **where,
    }
    path = Path(out_dir) / "choice.json"
    write_atomic(path, json.dumps(choice, indent=1) + "\n")
    return choice


def _score_trained_on_split(
    config: dict, dataset: str, split: str, seeds: list[int], out_dir: Path, device: str, progress: bool
) -> pd.DataFrame:
    """Post-TV at each candidate lambda on the trained plain clean nets of ``seeds``, scored on
    every image of the published ``split``; writes (and returns) the tidy scores."""
    tune = config["post_tv"]["tune"]
    candidates = {f"(lam={lam:g})": post_tv_settings(config["post_tv"], lam) for lam in tune["lams"]}
    run = tuning_run(config, dataset)
    frames = []
    evaluation = tuning_evaluation_settings(config, dataset, split, candidates)
    for seed in seeds:
        csv = evaluate_run(run_files(config, run, seed).model, prepared_dir(config, dataset),
                           out_dir / "scores" / f"seed{seed}.csv", evaluation, run=str(run), seed=seed, device=device,
                           progress=progress)  # fmt: skip
        frames.append(pd.read_csv(csv))
    scores = pd.concat(frames, ignore_index=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "scores.csv", scores.to_csv(index=False, float_format="%.6g"))
    return scores


def best_post_tv_lambda(scores: pd.DataFrame) -> tuple[float, pd.Series]:
    """The post-TV lambda with the best validation mIoU averaged over conditions and seeds, and all the means."""
    miou = scores[(scores["metric"] == "miou") & scores["method"].str.contains("+postTV(lam=", regex=False)]
    if miou.empty:
        raise ValueError("no post-TV validation scores to choose lambda from")
    lams = miou["method"].str.extract(r"\+postTV\(lam=([^)]+)\)")[0].astype(float)
    mean = miou.assign(lam=lams).groupby("lam")["value"].mean()
    return float(mean.idxmax()), mean


def _final_lam(log_csv: Path) -> float:
    log = pd.read_csv(log_csv)
    return float(log["lam"].iloc[-1])


def _label(row) -> str:
    if row["head"] == "tv":
        return f"regularized, initial lambda {row['initial_lam']:g}"
    if "+postTV" in row["method"]:
        suffix = row["method"].split("+postTV", 1)[1]
        return f"plain + post-TV {suffix or '(configured lambda)'}"
    return "plain"


def summary_markdown(scores: pd.DataFrame, dataset: str, levels: list[float], reading: str, count: int) -> str:
    miou = scores[scores["metric"] == "miou"].copy()
    miou["variant"] = miou.apply(_label, axis=1)
    miou["column"] = miou.apply(lambda r: "clean" if r["condition"] == "clean" else f"gaussian {r['level']:g}", axis=1)
    table = miou.pivot_table(index="variant", columns="column", values="value", aggfunc="mean")
    worst = f"gaussian {max(levels):g}"
    table["loss to " + worst] = table["clean"] - table[worst]
    lams = scores[scores["head"] == "tv"].groupby("initial_lam")["final_lam"].mean()
    seeds = sorted(scores["seed"].unique())
    # without regularized nets this is post-TV's choice (tune-post-tv), not a study of lambda in training
    study = len(lams) > 0
    what = "Lambda study" if study else "Post-TV's lambda chosen"
    command = "tvseg lambda-study" if study else "tvseg tune-post-tv"
    lines = [
        f"# {what} on {dataset}: validation split ({count} training images held out), "
        f"sigma read as a {reading}, seeds {[int(s) for s in seeds]}",
        "",
        f"mIoU (%) on the held-out images, mean over seeds. Generated by `{command}`.",
        "",
        table.round(2).to_markdown(),
        "",
    ]
    if study:
        lines += [
            "Learned lambda at the end of training: "
            + ", ".join(f"initial {lam:g} -> {value:.3g}" for lam, value in lams.items()),
            "",
        ]
    regularized = table[table.index.str.startswith("regularized")]
    post = table[table.index.str.startswith("plain + post-TV (lam")]
    if len(regularized):
        lines.append(f"Best initial lambda at {worst} on validation: {regularized[worst].idxmax()}.")
    if len(post):
        lines.append(f"Best post-TV lambda at {worst} on validation: {post[worst].idxmax()}.")
    return "\n".join(lines) + "\n"
