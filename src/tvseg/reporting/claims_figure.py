"""Each claim as its spread: the per-seed paired differences, their mean with its 95 % interval,
zero, and the paper's single run (claims_<dataset>.png).

The claims are those of ``claims.judged_rows`` that are one paired difference in mIoU (claim 2,
made at every condition in RE, has its own table row and no single value to draw). A reader sees
at a glance whether the paper's number is a typical draw of ours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tvseg.core.paper import DATASET_NAMES
from tvseg.reporting.claims import judged_rows
from tvseg.reporting.figures import plt, save_figure
from tvseg.reporting.statistics import Interval


def plot_claims(metrics: pd.DataFrame, dataset: str, reading: str, out_png: Path, out_pdf: Path | None = None) -> None:
    rows = [(row, verdict) for row, verdict in judged_rows(metrics, dataset, reading) if row.per_seed is not None]
    if not rows:
        raise ValueError(f"no claim of {dataset} has a paired difference to draw (which runs are in the metrics?)")
    fig, ax = plt.subplots(figsize=(10.5, 0.55 * len(rows) + 1.8))
    jitter = np.random.default_rng(0)  # a fixed spread of the points, so identical results give identical files
    for y, (row, verdict) in enumerate(rows):
        values = row.per_seed.dropna().to_numpy(dtype=float)
        interval = Interval.of(row.per_seed)
        offsets = jitter.uniform(-0.18, 0.18, len(values))
        ax.scatter(values, y + offsets, s=14, color="0.55", zorder=2, label="a seed" if y == 0 else None)
        if interval.seeds > 1:
            ax.errorbar(interval.mean, y, xerr=[[interval.mean - interval.low], [interval.high - interval.mean]],
                        fmt="o", color="black", capsize=4, zorder=3, label="mean, 95 % interval" if y == 0 else None)  # fmt: skip
        elif interval.seeds == 1:
            ax.plot(interval.mean, y, "o", color="black", zorder=3, label="mean, 95 % interval" if y == 0 else None)
        if not np.isnan(row.paper_value):
            shown = "the paper (one run)" in ax.get_legend_handles_labels()[1]
            ax.plot(row.paper_value, y, "D", color="#c0392b", markersize=7, zorder=4,
                    label=None if shown else "the paper (one run)")  # fmt: skip
        ax.annotate(verdict, (1.01, y), xycoords=("axes fraction", "data"), va="center", fontsize=8)
    ax.axvline(0, color="0.3", linewidth=1, zorder=1)
    ax.set_yticks(range(len(rows)), [row.label for row, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("paired difference per seed (mIoU; positive: as the paper claims)")
    seeds = metrics.loc[metrics["dataset"] == dataset, "seed"].nunique()
    sigma = "variance" if reading == "variance" else "standard deviation"
    ax.set_title(f"{DATASET_NAMES[dataset]}: each claim over {seeds} seed{'s' * (seeds != 1)} against the paper's single run\n"
                 f"(sigma read as a {sigma}; right: the verdict, Holm over the dataset's claims)", fontsize=9)  # fmt: skip
    ax.grid(axis="x", color="0.9")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.1), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    save_figure(fig, out_png, out_pdf)
