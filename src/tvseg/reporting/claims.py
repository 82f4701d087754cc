"""The paper's claims, checked on our metrics with paired differences and 95 % confidence intervals.

Plain and regularized networks of one seed start from identical weights, so each claim is a
difference taken per seed (positive means the claim holds on that seed). Its mean gets a 95 %
Student-t interval over seeds, ``mean ± t(0.975, n-1) * sd / sqrt(n)``: with the handful of
seeds a CPU budget allows, the t interval is the standard choice for a paired mean (a bootstrap
over 5 values cannot reach 95 % coverage). Each claim alone is judged by its interval:

* **holds**: the whole interval is above 0;
* **fails**: the whole interval is below 0;
* **undecided**: it spans 0, or there is one seed and so no interval.

About ten claims are tested per dataset and reading of sigma, so the verdict that counts is
family-wise: Holm's step-down correction over the claims of one section (one dataset, one
reading) of the same t test's two-sided p-values keeps the chance of any false verdict in the
section at 5 %. A claim made at every condition (claim 2) is an intersection-union test: it
holds when it holds at each condition, so its p-value is the largest of theirs; it fails when it
fails at any, judged Bonferroni-corrected over its conditions.

Beside ours stands the same statistic computed from the paper's Tables 1-6 (for claim 1 the
paper's loss difference, not its absolute gap), so like is compared with like.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from tvseg.core.paper import DATASET_NAMES, TABLE_COLUMNS
from tvseg.reporting.results import column_label, load_paper
from tvseg.reporting.statistics import CONFIDENCE, MOST_SEEDS, Evidence, Interval, holm, seeds_to_decide, verdict_of_all

NAMES = {"wbc": ("Unet", "RUnet"), "camvid": ("Segnet", "RSegnet"), "sunrgbd": ("Segnet", "RSegnet")}
STRONGEST = ("gaussian", 0.09)  # the strongest gaussian noise of the tables
TABLE_OF = {("wbc", 1): 1, ("wbc", 2): 2, ("camvid", 1): 3, ("camvid", 2): 4, ("sunrgbd", 1): 5, ("sunrgbd", 2): 6}


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


class Judge:
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


@dataclass(frozen=True)
class Row:
    """One claim of a section: what it says, our difference, the paper's, and how it is judged;
    for a claim that is one paired difference, its value per seed and the paper's as a number
    (the spread figure and the power line read them; None and NaN where there is none)."""

    claim: str
    train: str
    ours: str
    paper: str
    alone: str
    test: Evidence
    per_seed: pd.Series | None = None
    paper_value: float = float("nan")
    short: str = ""  # the difference in a few words, for the figure and the power lines

    @property
    def label(self) -> str:
        """The claim's number and its difference in brief, e.g. "(3b) RUnet2 minus Unet2 at gaussian 0.09"."""
        return f"{self.claim.split(' ', 1)[0]} {self.short or self.train}"


def power_line(row: Row) -> str:
    """How many seeds would decide a difference of the paper's size, from our paired sd."""
    if row.per_seed is None:
        return f"{row.label}: a claim over several conditions; no single size to plan for"
    values = row.per_seed.dropna()
    if len(values) < 2:
        return f"{row.label}: one seed, no spread yet to plan from"
    sd = float(values.std(ddof=1))
    if np.isnan(row.paper_value) or row.paper_value == 0:
        return f"{row.label}: sd {sd:.2f} over {len(values)} seeds; the paper gives no difference to size it by"
    spread = f"{row.label}: sd {sd:.2f} over {len(values)} seeds"
    n = seeds_to_decide(sd, row.paper_value, most=MOST_SEEDS)
    if n is None:
        return f"{spread}; not even {MOST_SEEDS} seeds would decide the paper's {row.paper_value:+.2f}"
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / np.sqrt(n)
    return f"{spread}; {n} seeds would give a 95 % interval of ±{half:.2f} around an effect of the paper's size ({row.paper_value:+.2f})"


def judged_rows(
    metrics: pd.DataFrame, dataset: str, reading: str, paper: pd.DataFrame | None = None
) -> list[tuple[Row, str]]:
    """Every claim of one section (dataset, reading of sigma) with its family-wise verdict (Holm)."""
    judge = Judge(metrics, load_paper() if paper is None else paper, dataset, reading)
    plain, regularized = NAMES[dataset]
    strongest = column_label(*STRONGEST)
    rows: list[Row] = _abstract_rows(judge, plain, regularized)
    for index, train in ((1, "clean"), (2, "noisy")):
        p, r = f"{plain}{index}", f"{regularized}{index}"
        if judge.has(p) and judge.has(r):
            rows += _training_rows(judge, index, train, p, r, strongest)
    rows += _noisy_training_rows(judge, plain, regularized, strongest)
    rows += _converged_rows(judge, regularized)
    return list(zip(rows, holm([row.test for row in rows]), strict=True))


def claims_markdown(metrics: pd.DataFrame, dataset: str, reading: str, paper: pd.DataFrame | None = None) -> str:
    judged = judged_rows(metrics, dataset, reading, paper)
    sigma = "standard deviation" if reading == "std" else "variance"
    seeds = metrics.loc[metrics["dataset"] == dataset, "seed"].nunique()
    lines = [f"### {DATASET_NAMES[dataset]}: sigma read as a {sigma}", "", coverage(seeds, len(judged)), ""]
    lines += [
        f"| claim | training data | ours: mean [95 % CI] | paper | p | 95 % CI alone | verdict (Holm, {len(judged)} claims) |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for row, verdict in judged:
        p_text = "—" if np.isnan(row.test.p) else f"{row.test.p:.2g}"
        lines.append(
            f"| {row.claim} | {row.train} | {row.ours} | {row.paper} | {p_text} | {row.alone} | **{verdict}** |"
        )
    lines += ["", "Seeds to decide each claim, planned from our paired sd (the number of seeds whose 95 % interval "
              "is half as wide as the paper's difference on each side):", ""]  # fmt: skip
    lines += [f"- {power_line(row)}" for row, _ in judged]
    return "\n".join(lines) + "\n"


def coverage(seeds: int, claims: int) -> str:
    """What a section's intervals and p-values cover."""
    return (
        f"Intervals and p-values cover the spread over {seeds} training seed{'s' * (seeds != 1)} "
        f"(initialisation, batch order, augmentation) on one fixed test set and one draw of the test noise "
        f"(evaluation.seed); they do not cover the sampling of the test images nor other noise draws. "
        f"The verdict is family-wise over the {claims} claims of this section."
    )


def _paired(claim: str, train: str, per_seed: pd.Series, paper_value: float, short: str) -> Row:
    """The row of a claim that is one paired difference in mIoU."""
    interval = Interval.of(per_seed)
    return Row(claim, train, interval.text(" mIoU"), _fmt(paper_value), interval.verdict, Evidence.of(interval),
               per_seed, paper_value, short)  # fmt: skip


def _abstract_rows(judge: Judge, plain: str, regularized: str) -> list[Row]:
    """The abstract's claim: "the regularized networks provide better segmentation results than
    the original ones", read as the clean-trained pair on clean images."""
    p, r = f"{plain}1", f"{regularized}1"
    if not (judge.has(p) and judge.has(r)):
        return []
    clean = ("clean", 0.0)
    ahead = judge.ours(r, "miou", *clean) - judge.ours(p, "miou", *clean)
    paper = judge.theirs(1, r, "miou", *clean) - judge.theirs(1, p, "miou", *clean)
    return [_paired(f"(0) {r} beats {p} in mIoU on clean images, the abstract's claim ({r} minus {p})", "clean",
                    ahead, paper, f"{r} minus {p}, clean images")]  # fmt: skip


def _training_rows(judge: Judge, index: int, train: str, p: str, r: str, strongest: str) -> list[Row]:
    rows = [
        _paired(
            f"(1) {r} loses less mIoU than {p} from clean to {strongest} ({p}'s loss minus {r}'s)",
            train,
            judge.loss(p) - judge.loss(r),
            judge.paper_loss(index, p) - judge.paper_loss(index, r),
            f"{p}'s loss minus {r}'s, clean to {strongest}",
        )  # fmt: skip
    ]
    re_gaps = [Interval.of(judge.ours(p, "re", c, lv) - judge.ours(r, "re", c, lv)) for c, lv in TABLE_COLUMNS]
    paper_re = [judge.theirs(index, p, "re", c, lv) - judge.theirs(index, r, "re", c, lv) for c, lv in TABLE_COLUMNS]
    at = int(np.argmin([i.low if i.seeds > 1 else i.mean for i in re_gaps]))
    held = sum(i.verdict == "holds" for i in re_gaps)
    paper_held = sum(value > 0 for value in paper_re if not np.isnan(value))
    rows.append(
        Row(
            f"(2) RE of {r} is lower than {p}'s at every condition ({p}'s RE minus {r}'s)",
            train,
            f"interval above 0 at {held} of {len(re_gaps)} conditions; least sure at "
            f"{column_label(*TABLE_COLUMNS[at])}: {re_gaps[at].text()}",
            f"lower at {paper_held} of {len(paper_re)}" if paper_held else "—",
            verdict_of_all(re_gaps),
            Evidence.of_all(re_gaps),
        )  # fmt: skip
    )
    for post, label in ((f"{p}+postTV", "fixed lambda"), (f"{p}+postTV-val", "lambda chosen on validation")):
        if not judge.has(post):
            continue
        ahead = judge.ours(r, "miou", *STRONGEST) - judge.ours(post, "miou", *STRONGEST)
        row = _paired(f"(4) the trained {r} beats post-TV on {p} ({label}) in mIoU at {strongest} ({r} minus {post})",
                      train, ahead, float("nan"), f"{r} minus {post} at {strongest}")  # fmt: skip
        rows.append(replace(row, paper="— (shown only in its figures)"))
    return rows


def _noisy_training_rows(judge: Judge, plain: str, regularized: str, strongest: str) -> list[Row]:
    p1, p2, r2 = f"{plain}1", f"{plain}2", f"{regularized}2"
    if not (judge.has(p1) and judge.has(p2)):
        return []
    rows = [
        _paired(
            f"(3a) noisy training shrinks the mIoU loss from clean to {strongest} ({p1}'s loss minus {p2}'s)",
            "both",
            judge.loss(p1) - judge.loss(p2),
            judge.paper_loss(1, p1) - judge.paper_loss(2, p2),
            f"{p1}'s loss minus {p2}'s, clean to {strongest}",
        )  # fmt: skip
    ]
    if judge.has(r2):
        ahead = judge.ours(r2, "miou", *STRONGEST) - judge.ours(p2, "miou", *STRONGEST)
        paper = judge.theirs(2, r2, "miou", *STRONGEST) - judge.theirs(2, p2, "miou", *STRONGEST)
        rows.append(_paired(f"(3b) {r2} is ahead of {p2} in mIoU at {strongest} ({r2} minus {p2})", "noisy",
                            ahead, paper, f"{r2} minus {p2} at {strongest}"))  # fmt: skip
    return rows


def _converged_rows(judge: Judge, regularized: str) -> list[Row]:
    """Beyond the paper: the converged layer (RUnet*) against one-iteration training (RUnet)."""
    rows = []
    for index, train in ((1, "clean"), (2, "noisy")):
        one, star = f"{regularized}{index}", f"{regularized}*{index}"
        if not (judge.has(star) and judge.has(one)):
            continue
        for condition, level in (("clean", 0.0), STRONGEST, ("salt", 0.01)):
            diff = Interval.of(judge.ours(star, "miou", condition, level) - judge.ours(one, "miou", condition, level))
            rows.append(
                Row(
                    f"(extra) {star} (converged layer) beats {one} (one iteration) in mIoU at "
                    f"{column_label(condition, level)} ({star} minus {one})",
                    train,
                    diff.text(" mIoU"),
                    "— (beyond the paper)",
                    diff.verdict,
                    Evidence.of(diff),
                )  # fmt: skip
            )
    return rows


def claims_report(metrics: pd.DataFrame) -> str:
    paper = load_paper()
    parts = [
        "## The paper's claims at this scale\n",
        "Generated by `tvseg claims` from `metrics.csv`. Each claim is a difference paired per seed",
        "(plain and regularized networks of one seed start from the same weights); positive numbers",
        "agree with the paper. Ours: the mean over seeds and its 95 % Student-t confidence interval;",
        "p: the same paired t test's two-sided p-value. *95 % CI alone*: *holds* when the interval lies",
        "above 0, *fails* when below 0, *undecided* when it spans 0 or there is only one seed. The",
        "verdict is family-wise: Holm's correction over the claims of one section (one dataset, one",
        "reading of sigma), so *holds* means the claim holds with the whole section's error rate at 5 %;",
        "a claim made at every condition (2) holds when it holds at each (its largest p). The paper",
        "column is the same difference computed from the paper's tables (one run each, no interval).\n",
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
        judge = Judge(metrics, load_paper(), dataset, reading)
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
