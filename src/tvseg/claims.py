"""The paper's four claims, checked on our metrics with numbers (paired over seeds).

Plain and regularized networks of one seed start from identical weights, so differences are
taken per seed and reported as mean ± standard deviation over seeds; a claim "holds" when the
mean difference has the paper's sign, and "clearly" when it also exceeds two standard errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tvseg.report import DATASET_NAMES, TABLE_COLUMNS, column_label

NAMES = {"wbc": ("Unet", "RUnet"), "camvid": ("Segnet", "RSegnet"), "sunrgbd": ("Segnet", "RSegnet")}


def _value(metrics: pd.DataFrame, method: str, metric: str, condition: str, level: float, reading: str) -> pd.Series:
    rows = metrics[
        (metrics["method"] == method)
        & (metrics["metric"] == metric)
        & (metrics["condition"] == condition)
        & np.isclose(metrics["level"], level)
        & ((metrics["reading"] == reading) | (condition != "gaussian"))
    ]
    return rows.set_index("seed")["value"].sort_index()


def _describe(diff: pd.Series, unit: str = "") -> tuple[str, str]:
    """'+1.23 ± 0.45 (3 seeds)' and a verdict word for the sign 'positive means the claim holds'."""
    n = int(diff.notna().sum())
    mean = float(diff.mean())
    sd = float(diff.std()) if n > 1 else float("nan")
    text = f"{mean:+.2f}{unit}" + (f" ± {sd:.2f}" if n > 1 else "") + f" ({n} seed{'s' if n != 1 else ''})"
    if mean <= 0:
        return text, "does not hold"
    if n == 1:
        return text, "holds on one seed (no spread to judge by)"
    return text, "holds" if mean > 2 * sd / np.sqrt(n) else "holds weakly (within the seeds' spread)"


def claims_markdown(metrics: pd.DataFrame, dataset: str, reading: str) -> str:
    data = metrics[metrics["dataset"] == dataset]
    plain, regularized = NAMES[dataset]
    sigma = "standard deviation" if reading == "std" else "variance"
    lines = [f"### {DATASET_NAMES[dataset]}: sigma read as a {sigma}", ""]
    lines += ["| claim | training data | measured (paired over seeds) | verdict |", "|---|---|---|---|"]

    def drop(method: str) -> pd.Series:
        return _value(data, method, "miou", "clean", 0.0, reading) - _value(
            data, method, "miou", "gaussian", 0.09, reading
        )

    for index, train in ((1, "clean"), (2, "noisy")):
        p, r = f"{plain}{index}", f"{regularized}{index}"
        if _value(data, p, "miou", "clean", 0.0, reading).empty or _value(data, r, "miou", "clean", 0.0, reading).empty:
            continue
        text, verdict = _describe(drop(p) - drop(r), " mIoU")
        lines.append(
            f"| (1) {r} loses less mIoU than {p} at gaussian 0.09 (plain's loss minus regularized's) | {train} | {text} | {verdict} |"
        )
        wins = []
        for condition, level in TABLE_COLUMNS:
            diff = _value(data, p, "re", condition, level, reading) - _value(data, r, "re", condition, level, reading)
            wins.append(float(diff.mean()) > 0)
        verdict = "holds" if all(wins) else "does not hold"
        lines.append(
            f"| (2) RE of {r} is lower than {p}'s at every condition | {train} | lower at {sum(wins)} of {len(wins)} conditions | {verdict} |"
        )
        post = f"{p}+postTV"
        if not _value(data, post, "miou", "clean", 0.0, reading).empty:
            better = []
            for condition, level in TABLE_COLUMNS:
                diff = _value(data, r, "miou", condition, level, reading) - _value(
                    data, post, "miou", condition, level, reading
                )
                better.append(float(diff.mean()) > 0)
            diff09 = _value(data, r, "miou", "gaussian", 0.09, reading) - _value(
                data, post, "miou", "gaussian", 0.09, reading
            )
            text, _ = _describe(diff09, " mIoU")
            verdict = (
                "holds"
                if all(better)
                else ("holds at most conditions" if sum(better) > len(better) / 2 else "does not hold")
            )
            lines.append(
                f"| (4) post-TV on {p} is worse than the trained {r} (mIoU) | {train} | better at {sum(better)} of "
                f"{len(better)} conditions; at gaussian 0.09: {text} | {verdict} |"
            )
    lines += _converged_lines(data, regularized, reading)
    p1, p2, r2 = f"{plain}1", f"{plain}2", f"{regularized}2"
    if (
        not _value(data, p2, "miou", "clean", 0.0, reading).empty
        and not _value(data, p1, "miou", "clean", 0.0, reading).empty
    ):
        text, verdict = _describe(drop(p1) - drop(p2), " mIoU")
        ahead = _value(data, r2, "miou", "gaussian", 0.09, reading) - _value(
            data, p2, "miou", "gaussian", 0.09, reading
        )
        ahead_text, ahead_verdict = _describe(ahead, " mIoU")
        lines.append(
            f"| (3a) noisy training shrinks the mIoU loss at gaussian 0.09 ({p1}'s loss minus {p2}'s) | both | {text} | {verdict} |"
        )
        lines.append(f"| (3b) {r2} stays ahead of {p2} at gaussian 0.09 | noisy | {ahead_text} | {ahead_verdict} |")
    return "\n".join(lines) + "\n"


def _converged_lines(data: pd.DataFrame, regularized: str, reading: str) -> list[str]:
    """Beyond the paper: the converged layer (RUnet*) against one-iteration training (RUnet)."""
    lines = []
    for index, train in ((1, "clean"), (2, "noisy")):
        one, star = f"{regularized}{index}", f"{regularized}*{index}"
        if (
            _value(data, star, "miou", "clean", 0.0, reading).empty
            or _value(data, one, "miou", "clean", 0.0, reading).empty
        ):
            continue
        for condition, level in (("clean", 0.0), ("gaussian", 0.09), ("salt", 0.01)):
            diff = _value(data, star, "miou", condition, level, reading) - _value(
                data, one, "miou", condition, level, reading
            )
            text, verdict = _describe(diff, " mIoU")
            verdict = verdict.replace("does not hold", "no").replace("holds", "yes")
            lines.append(
                f"| (extra) {star} (converged layer) beats {one} (one iteration) in mIoU at "
                f"{column_label(condition, level)} | {train} | {text} | {verdict} |"
            )
    return lines


def claims_report(metrics: pd.DataFrame) -> str:
    parts = [
        "## The paper's claims at this scale\n",
        "Generated by `tvseg claims` from `metrics.csv`. Differences are paired per seed (plain and",
        "regularized networks of one seed start from the same weights); mean ± standard deviation over",
        "seeds. (1) plain's mIoU loss from clean to gaussian 0.09 minus the regularized net's;",
        "(3a) the clean-trained plain net's loss minus the noisy-trained one's; positive numbers agree",
        "with the paper.\n",
    ]
    for dataset in sorted(metrics["dataset"].unique()):
        for reading in sorted(set(metrics["reading"]) - {"none"}):
            parts.append(claims_markdown(metrics, dataset, reading))
    return "\n".join(parts)
