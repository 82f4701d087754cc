"""Whether a recipe's validation curve has levelled off: the plain clean net's validation mIoU at the
end of the configured schedule (every seed) against the same seeds trained ``factor`` times as long
(``datasets.<name>.curve.longer``). Levelled off where the longer schedule gains no more than one seed's
spread at the configured one; a table and a figure of the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from tvseg.core.paper import DATASET_NAMES  # noqa: E402
from tvseg.reporting.figures import save_figure  # noqa: E402


@dataclass(frozen=True)
class Levelling:
    """One dataset's check: each seed's final validation mIoU after both schedules."""

    run: str  # the plain clean net's run id (segnet_camvid_clean)
    dataset: str
    method: str  # the paper's name of the net (Segnet1)
    iterations: int  # the configured schedule's
    longer_iterations: int
    finals: pd.DataFrame  # seed, configured (every seed), longer (the check's seeds, else NaN)

    @property
    def paired(self) -> pd.DataFrame:
        return self.finals.dropna(subset=["longer"])

    @property
    def gain(self) -> float:
        """The longer schedule's mean gain over the configured one, seed for seed."""
        return float((self.paired["longer"] - self.paired["configured"]).mean())

    @property
    def spread(self) -> float:
        """One seed's spread: the sample sd of the configured schedule's final mIoU over its seeds
        (NaN with one seed)."""
        return float(self.finals["configured"].std(ddof=1)) if len(self.finals) > 1 else float("nan")

    @property
    def verdict(self) -> str:
        if len(self.finals) < 2:
            return "undecided"
        return "levelled off" if self.gain <= self.spread else "still rising"

    def sentence(self) -> str:
        seeds = ", ".join(str(s) for s in self.paired["seed"])
        gain = (
            f"{self.longer_iterations} iterations instead of {self.iterations} gain {self.gain:+.2f} validation mIoU "
            f"(seed{'s' if len(self.paired) > 1 else ''} {seeds})"
        )
        if self.verdict == "undecided":
            return f"**undecided**: {gain}; one seed at {self.iterations} iterations gives no spread to set it against"
        spread = (
            f"one seed's spread at {self.iterations} iterations (sd {self.spread:.2f} over {len(self.finals)} seeds)"
        )
        relation = "no more than" if self.verdict == "levelled off" else "more than"
        return f"**{self.verdict}**: {gain}, {relation} {spread}"


def _finals(curves: pd.DataFrame) -> pd.DataFrame:
    """seed, iteration, val_miou at each seed's last point."""
    last = curves.sort_values("iteration").groupby("seed", as_index=False).last()
    return last[["seed", "iteration", "val_miou"]]


def levelling(curves: pd.DataFrame, longer: pd.DataFrame, run: str) -> Levelling:
    """The check of ``run`` (the plain clean net) from the collected curves of the profile's runs and
    the curves of its longer runs (:func:`tvseg.reporting.results.validation_curves`)."""
    configured, extended = _finals(curves[curves["run"] == run]), _finals(longer[longer["run"] == run])
    if configured.empty or extended.empty:
        raise ValueError(f"the levelling check needs curves of {run} after both schedules; got "
                         f"{len(configured)} seeds at the configured one and {len(extended)} at the longer")  # fmt: skip
    unpaired = sorted(set(extended["seed"]) - set(configured["seed"]))
    if unpaired:
        raise ValueError(f"seeds {unpaired} of the longer schedule have no curve of {run} at the configured one")
    for name, frame in (("configured", configured), ("longer", extended)):
        if frame["iteration"].nunique() != 1:
            raise ValueError(f"the {name} schedule's curves of {run} end at different iterations: "
                             f"{sorted(frame['iteration'].unique())}")  # fmt: skip
    finals = configured.rename(columns={"val_miou": "configured"}).merge(
        extended.rename(columns={"val_miou": "longer"})[["seed", "longer"]], on="seed", how="left"
    )
    row = curves[curves["run"] == run].iloc[0]
    return Levelling(
        run=run,
        dataset=row["dataset"], method=row["method"], iterations=int(configured["iteration"].iloc[0]),
        longer_iterations=int(extended["iteration"].iloc[0]), finals=finals[["seed", "configured", "longer"]],
    )  # fmt: skip


def levelling_markdown(check: Levelling, note: str | None = None) -> str:
    """The table: each seed's final validation mIoU after both schedules, the gain, the spread and the verdict."""
    a, b = check.iterations, check.longer_iterations
    lines = [
        f"# {DATASET_NAMES[check.dataset]}: has {check.method}'s validation curve levelled off?",
        "",
        f"Validation mIoU (%) at the end of each schedule ({check.method}, the plain net trained on clean "
        "data; the published validation split, never the test set).",
        *([f"Ours: {note}."] if note else []),
        "",
        f"| seed | {a} iterations | {b} iterations | gain |",
        "|---:|---:|---:|---:|",
    ]
    for row in check.finals.itertuples():
        longer = "" if pd.isna(row.longer) else f"{row.longer:.2f}"
        gain = "" if pd.isna(row.longer) else f"{row.longer - row.configured:+.2f}"
        lines.append(f"| {row.seed} | {row.configured:.2f} | {longer} | {gain} |")
    paired = check.paired
    lines.append(
        f"| mean of the seeds with both | {paired['configured'].mean():.2f} | {paired['longer'].mean():.2f} "
        f"| {check.gain:+.2f} |"
    )
    lines += ["", check.sentence() + ".", ""]
    return "\n".join(lines)


def plot_levelling(
    curves: pd.DataFrame, longer: pd.DataFrame, check: Levelling, out_png, note: str | None = None
) -> None:
    """Each seed's validation curve after the configured schedule (solid) and after the longer one
    (dashed, the same colour), with the verdict in the title."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    seeds = sorted(check.finals["seed"])
    colours = dict(zip(seeds, sns.color_palette("colorblind", len(seeds)), strict=True))
    for seed in seeds:
        own = curves[(curves["run"] == check.run) & (curves["seed"] == seed)]
        ax.plot(own["iteration"], own["val_miou"], color=colours[seed], marker="o", markersize=3, linewidth=1.2,
                label=f"seed {seed}, {check.iterations} iterations")  # fmt: skip
        extended = longer[(longer["run"] == check.run) & (longer["seed"] == seed)]
        if not extended.empty:
            ax.plot(extended["iteration"], extended["val_miou"], color=colours[seed], linestyle="--", marker="s",
                    markersize=3, linewidth=1.2, label=f"seed {seed}, {check.longer_iterations} iterations")  # fmt: skip
    ax.set_title(f"{DATASET_NAMES[check.dataset]}, {check.method}: {check.verdict} "
                 f"({check.gain:+.2f} mIoU from the longer schedule)", fontsize=9)  # fmt: skip
    ax.set_xlabel("training iteration")
    ax.set_ylabel("validation mIoU (%)")
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    caption = (f"ours: {note}\n" if note else "") + check.sentence().replace("**", "")
    fig.text(0.01, 0.01, caption, ha="left", va="bottom", fontsize=6, wrap=True)
    fig.tight_layout(rect=(0.0, 0.12, 1.0, 1.0))
    save_figure(fig, out_png, None)
