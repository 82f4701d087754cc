"""The paper's claims, checked on our metrics with paired differences and 95 % confidence intervals.

Plain and regularized networks of one seed start from identical weights, so each claim is a
difference taken per seed (positive means the claim holds on that seed). Its mean gets a 95 %
Student-t interval over seeds, ``mean ± t(0.975, n-1) * sd / sqrt(n)``: with the handful of
seeds a CPU budget allows, the t interval is the standard choice for a paired mean (a bootstrap
over 5 values cannot reach 95 % coverage). The verdict follows the interval alone:

* **holds**: the whole interval is above 0;
* **fails**: the whole interval is below 0;
* **undecided**: it spans 0, or there is one seed and so no interval.

Beside ours stands the same statistic computed from the paper's Tables 1-6 (for claim 1 the
paper's loss difference, not its absolute gap), so like is compared with like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from tvseg.core.paper import DATASET_NAMES, TABLE_COLUMNS
from tvseg.reporting.report import column_label, load_paper

CONFIDENCE = 0.95
NAMES = {"wbc": ("Unet", "RUnet"), "camvid": ("Segnet", "RSegnet"), "sunrgbd": ("Segnet", "RSegnet")}
STRONGEST = ("gaussian", 0.09)  # the strongest gaussian noise of the tables
TABLE_OF = {("wbc", 1): 1, ("wbc", 2): 2, ("camvid", 1): 3, ("camvid", 2): 4, ("sunrgbd", 1): 5, ("sunrgbd", 2): 6}


@dataclass(frozen=True)
class Interval:
    """Mean of a paired difference over seeds with its 95 % t interval (NaN bounds with one seed)."""

    mean: float
    low: float
    high: float
    seeds: int

    @classmethod
    def of(cls, diff: pd.Series) -> Interval:
        values = diff.dropna().to_numpy(dtype=float)
        n = len(values)
        if n == 0:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        mean = float(values.mean())
        if n == 1:
            return cls(mean, float("nan"), float("nan"), 1)
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
        return cls(mean, mean - half, mean + half, n)

    @property
    def verdict(self) -> str:
        if self.seeds < 2:
            return "undecided (one seed: no interval)" if self.seeds == 1 else "undecided (no data)"
        if self.low > 0:
            return "holds"
        if self.high < 0:
            return "fails"
        return "undecided"

    def text(self, unit: str = "") -> str:
        if self.seeds == 0:
            return "no data"
        interval = f" [{self.low:+.2f}, {self.high:+.2f}]" if self.seeds > 1 else ""
        return f"{self.mean:+.2f}{unit}{interval} ({self.seeds} seed{'s' if self.seeds != 1 else ''})"


def verdict_of_all(intervals: list[Interval]) -> str:
    """A claim made at every condition: holds if it holds at each, fails if it fails at any, else undecided."""
    verdicts = [i.verdict for i in intervals]
    if verdicts and all(v == "holds" for v in verdicts):
        return "holds"
    if "fails" in verdicts:
        return "fails"
    return "undecided"


def _value(metrics: pd.DataFrame, method: str, metric: str, condition: str, level: float, reading: str) -> pd.Series:
    rows = metrics[
        (metrics["method"] == method)
        & (metrics["metric"] == metric)
        & (metrics["condition"] == condition)
        & np.isclose(metrics["level"], level)
        & ((metrics["reading"] == reading) | (condition != "gaussian"))
    ]
    return rows.set_index("seed")["value"].sort_index()


def _paper(paper: pd.DataFrame, table: int, method: str, metric: str, condition: str, level: float) -> float:
    rows = paper[
        (paper["table"] == table)
        & (paper["method"] == method)
        & (paper["metric"] == metric)
        & (paper["condition"] == condition)
        & np.isclose(paper["level"], level)
    ]
    return float(rows["value"].iloc[0]) if len(rows) else float("nan")


def _fmt(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:+.2f}"


class _Judge:
    """Differences of one dataset and sigma reading, ours per seed and the paper's from its tables."""

    def __init__(self, metrics: pd.DataFrame, paper: pd.DataFrame, dataset: str, reading: str):
        self.data = metrics[metrics["dataset"] == dataset]
        self.paper = paper
        self.dataset = dataset
        self.reading = reading

    def has(self, method: str) -> bool:
        return not _value(self.data, method, "miou", "clean", 0.0, self.reading).empty

    def ours(self, method: str, metric: str, condition: str, level: float) -> pd.Series:
        return _value(self.data, method, metric, condition, level, self.reading)

    def theirs(self, index: int, method: str, metric: str, condition: str, level: float) -> float:
        return _paper(self.paper, TABLE_OF[(self.dataset, index)], method, metric, condition, level)

    def loss(self, method: str) -> pd.Series:
        """mIoU lost from clean to the strongest gaussian noise, per seed."""
        return self.ours(method, "miou", "clean", 0.0) - self.ours(method, "miou", *STRONGEST)

    def paper_loss(self, index: int, method: str) -> float:
        return self.theirs(index, method, "miou", "clean", 0.0) - self.theirs(index, method, "miou", *STRONGEST)


def _row(claim: str, train: str, ours: str, paper: str, verdict: str) -> str:
    return f"| {claim} | {train} | {ours} | {paper} | {verdict} |"


def claims_markdown(metrics: pd.DataFrame, dataset: str, reading: str, paper: pd.DataFrame | None = None) -> str:
    judge = _Judge(metrics, load_paper() if paper is None else paper, dataset, reading)
    plain, regularized = NAMES[dataset]
    sigma = "standard deviation" if reading == "std" else "variance"
    strongest = column_label(*STRONGEST)
    lines = [f"### {DATASET_NAMES[dataset]}: sigma read as a {sigma}", ""]
    lines += [
        "| claim | training data | ours: mean [95 % CI] | paper | verdict |",
        "|---|---|---|---|---|",
    ]
    for index, train in ((1, "clean"), (2, "noisy")):
        p, r = f"{plain}{index}", f"{regularized}{index}"
        if not (judge.has(p) and judge.has(r)):
            continue
        gap = Interval.of(judge.loss(p) - judge.loss(r))
        lines.append(
            _row(
                f"(1) {r} loses less mIoU than {p} from clean to {strongest} ({p}'s loss minus {r}'s)",
                train,
                gap.text(" mIoU"),
                _fmt(judge.paper_loss(index, p) - judge.paper_loss(index, r)),
                gap.verdict,
            )  # fmt: skip
        )
        re_gaps = [
            Interval.of(judge.ours(p, "re", c, lv) - judge.ours(r, "re", c, lv)) for c, lv in TABLE_COLUMNS
        ]  # fmt: skip
        paper_re = [
            judge.theirs(index, p, "re", c, lv) - judge.theirs(index, r, "re", c, lv) for c, lv in TABLE_COLUMNS
        ]
        at = int(np.argmin([i.low if i.seeds > 1 else i.mean for i in re_gaps]))
        held = sum(i.verdict == "holds" for i in re_gaps)
        paper_held = sum(value > 0 for value in paper_re if not np.isnan(value))
        lines.append(
            _row(
                f"(2) RE of {r} is lower than {p}'s at every condition ({p}'s RE minus {r}'s)",
                train,
                f"interval above 0 at {held} of {len(re_gaps)} conditions; least sure at "
                f"{column_label(*TABLE_COLUMNS[at])}: {re_gaps[at].text()}",
                f"lower at {paper_held} of {len(paper_re)}" if paper_held else "—",
                verdict_of_all(re_gaps),
            )  # fmt: skip
        )
        for post, label in ((f"{p}+postTV", "fixed lambda"), (f"{p}+postTV-val", "lambda chosen on validation")):
            if not judge.has(post):
                continue
            ahead = Interval.of(judge.ours(r, "miou", *STRONGEST) - judge.ours(post, "miou", *STRONGEST))
            lines.append(
                _row(
                    f"(4) the trained {r} beats post-TV on {p} ({label}) in mIoU at {strongest} ({r} minus {post})",
                    train,
                    ahead.text(" mIoU"),
                    "— (shown only in its figures)",
                    ahead.verdict,
                )  # fmt: skip
            )
    lines += _noisy_training_lines(judge, plain, regularized, strongest)
    lines += _converged_lines(judge, regularized)
    return "\n".join(lines) + "\n"


def _noisy_training_lines(judge: _Judge, plain: str, regularized: str, strongest: str) -> list[str]:
    p1, p2, r2 = f"{plain}1", f"{plain}2", f"{regularized}2"
    if not (judge.has(p1) and judge.has(p2)):
        return []
    shrink = Interval.of(judge.loss(p1) - judge.loss(p2))
    lines = [
        _row(
            f"(3a) noisy training shrinks the mIoU loss from clean to {strongest} ({p1}'s loss minus {p2}'s)",
            "both",
            shrink.text(" mIoU"),
            _fmt(judge.paper_loss(1, p1) - judge.paper_loss(2, p2)),
            shrink.verdict,
        )  # fmt: skip
    ]
    if judge.has(r2):
        ahead = Interval.of(judge.ours(r2, "miou", *STRONGEST) - judge.ours(p2, "miou", *STRONGEST))
        paper = judge.theirs(2, r2, "miou", *STRONGEST) - judge.theirs(2, p2, "miou", *STRONGEST)
        lines.append(
            _row(
                f"(3b) {r2} is ahead of {p2} in mIoU at {strongest} ({r2} minus {p2})",
                "noisy",
                ahead.text(" mIoU"),
                _fmt(paper),
                ahead.verdict,
            )  # fmt: skip
        )
    return lines


def _converged_lines(judge: _Judge, regularized: str) -> list[str]:
    """Beyond the paper: the converged layer (RUnet*) against one-iteration training (RUnet)."""
    lines = []
    for index, train in ((1, "clean"), (2, "noisy")):
        one, star = f"{regularized}{index}", f"{regularized}*{index}"
        if not (judge.has(star) and judge.has(one)):
            continue
        for condition, level in (("clean", 0.0), STRONGEST, ("salt", 0.01)):
            diff = Interval.of(judge.ours(star, "miou", condition, level) - judge.ours(one, "miou", condition, level))
            lines.append(
                _row(
                    f"(extra) {star} (converged layer) beats {one} (one iteration) in mIoU at "
                    f"{column_label(condition, level)} ({star} minus {one})",
                    train,
                    diff.text(" mIoU"),
                    "— (beyond the paper)",
                    diff.verdict,
                )  # fmt: skip
            )
    return lines


def claims_report(metrics: pd.DataFrame) -> str:
    paper = load_paper()
    parts = [
        "## The paper's claims at this scale\n",
        "Generated by `tvseg claims` from `metrics.csv`. Each claim is a difference paired per seed",
        "(plain and regularized networks of one seed start from the same weights); positive numbers",
        "agree with the paper. Ours: the mean over seeds and its 95 % Student-t confidence interval.",
        "Verdict: *holds* when the interval lies above 0, *fails* when below 0, *undecided* when it",
        "spans 0 or there is only one seed. The paper column is the same difference computed from the",
        "paper's tables (one run each, no interval).\n",
    ]
    for dataset in sorted(metrics["dataset"].unique()):
        # the readings of sigma this dataset was evaluated under (its own grid may keep one)
        for reading in sorted(set(metrics.loc[metrics["dataset"] == dataset, "reading"]) - {"none"}):
            parts.append(claims_markdown(metrics, dataset, reading, paper))
    return "\n".join(parts)


def seed_spread_markdown(recipes: dict[str, pd.DataFrame], dataset: str = "wbc", reading: str = "variance") -> str:
    """How much the seeds disagree under each training recipe: mIoU at the strongest gaussian noise
    per variant (mean, standard deviation over seeds) and claim 1's paired difference with its interval."""
    plain, regularized = NAMES[dataset]
    strongest = column_label(*STRONGEST)
    lines = [
        f"### Seed spread on {DATASET_NAMES[dataset]} at {strongest} (sigma read as a {reading})",
        "",
        "Generated by `tvseg spread`. mIoU: mean ± standard deviation over seeds; claim (1): plain's mIoU",
        "loss from clean minus the regularized net's, paired per seed, with its 95 % t interval.",
        "",
        "| recipe | seeds | " + " | ".join(f"{plain}{i} / {regularized}{i} mIoU" for i in (1, 2)) + " | "
        + " | ".join(f"claim (1), {t} training" for t in ("clean", "noisy")) + " |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for label, metrics in recipes.items():
        judge = _Judge(metrics, load_paper(), dataset, reading)
        cells, claims, seeds = [], [], 0
        for index in (1, 2):
            p, r = f"{plain}{index}", f"{regularized}{index}"
            pair = []
            for method in (p, r):
                values = judge.ours(method, "miou", *STRONGEST)
                seeds = max(seeds, len(values))
                pair.append(f"{values.mean():.2f} ± {values.std(ddof=1):.2f}")
            cells.append(" / ".join(pair))
            claims.append(Interval.of(judge.loss(p) - judge.loss(r)).text())
        lines.append(f"| {label} | {seeds} | " + " | ".join(cells) + " | " + " | ".join(claims) + " |")
    return "\n".join(lines) + "\n"
