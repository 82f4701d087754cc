"""Figures 2/4/6 (mIoU against gaussian sigma, ours with bands over seeds beside the paper's points)
and the validation curves, with the look every figure of the project shares: a colour per network,
post-TV by its dashes, bands' captions, files written without dates.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from tvseg.core.paper import DATASET_NAMES  # noqa: E402
from tvseg.core.safe_io import write_atomic  # noqa: E402
from tvseg.reporting.results import NOT_RUN, NOT_RUN_DEFAULT, NOT_RUN_WHY, load_paper, method_order, network_of  # noqa: E402


def plot_validation_curves(
    curves: pd.DataFrame, dataset: str, out_png: Path, note: str | None = None, schedule: str | None = None
) -> None:
    """Validation mIoU against training iteration per variant (mean and spread over seeds): where
    a curve has flattened, the recipe's end point is a levelled-off one. ``schedule`` (e.g. "poly
    learning rate, 0 at the end") labels the line marking the schedule's last iteration: under a
    rate that decays to 0 every curve rises to its end, which matters for reading "still rising"."""
    data = curves[curves["dataset"] == dataset]
    if data.empty:
        raise ValueError(f"no validation curve of {dataset} in the curves given")
    methods = method_order(data["method"])
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    sns.lineplot(data=data, x="iteration", y="val_miou", hue="method", hue_order=methods,
                 palette=method_colours(methods), marker="o", errorbar="sd", err_kws={"alpha": BAND_ALPHA},
                 ax=ax)  # fmt: skip
    end = int(data["iteration"].max())
    ax.axvline(end, color="0.4", linestyle=":", linewidth=1.0)
    ax.text(end, ax.get_ylim()[0], f" end of schedule ({schedule or f'iteration {end}'})", rotation=90,
            ha="right", va="bottom", fontsize=6, color="0.3")  # fmt: skip
    ax.set_title(f"{DATASET_NAMES[dataset]}: validation mIoU during training", fontsize=9)
    ax.set_xlabel("training iteration")
    ax.set_ylabel("validation mIoU (%)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    caption = (f"ours: {note}\n" if note else "") + band_caption(int(data["seed"].nunique()))
    fig.text(0.01, 0.01, caption, ha="left", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0.0, 0.1, 1.0, 1.0))
    save_figure(fig, out_png, None)


def noise_curve_frame(metrics: pd.DataFrame, dataset: str) -> pd.DataFrame:
    rows = metrics[(metrics["dataset"] == dataset) & (metrics["metric"] == "miou")]
    rows = rows[rows["condition"].isin(["clean", "gaussian"])].copy()
    clean = rows[rows["condition"] == "clean"]
    parts = [rows[rows["condition"] == "gaussian"]]
    for reading in sorted(set(rows["reading"]) - {"none"}):
        parts.append(clean.assign(reading=reading))  # sigma = 0 belongs to both readings' curves
    return pd.concat(parts, ignore_index=True).rename(columns={"level": "sigma"})


def plot_noise_curves(
    metrics: pd.DataFrame, dataset: str, out_png: Path, out_pdf: Path, note: str | None = None
) -> None:
    """mIoU against gaussian sigma for the paper's variants, one panel per reading of sigma; the
    legend beside the panels (curves run anywhere from 20 to 95 % mIoU), ``note`` (what ran)
    under them."""
    data = noise_curve_frame(metrics, dataset)
    paper = load_paper()
    paper = paper[
        (paper["dataset"] == dataset) & (paper["metric"] == "miou") & paper["condition"].isin(["clean", "gaussian"])
    ]
    if data.empty:
        _plot_paper_only(paper, dataset, out_png, out_pdf)
        return
    readings = sorted(data["reading"].unique())
    methods = method_order(data["method"])
    palette = method_colours(methods)
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, len(readings), figsize=(5.2 * len(readings) + 2.2, 4.0), sharey=True, squeeze=False)
    for ax, reading in zip(axes[0], readings, strict=True):
        part = data[data["reading"] == reading]
        trained = part["method"].map(_line_kind) == "trained"
        for subset, errorbar in ((part[trained], "sd"), (part[~trained], None)):  # post-TV: no band (see caption)
            if subset.empty:
                continue
            sns.lineplot(
                data=subset, x="sigma", y="value", hue="method", hue_order=methods, palette=palette,
                style=subset["method"].map(_line_kind), markers=LINE_MARKERS, dashes=LINE_DASHES,
                errorbar=errorbar, err_kws={"alpha": BAND_ALPHA}, legend=False, ax=ax,
            )  # fmt: skip
        for method, points in paper.groupby("method"):
            ax.scatter(points["level"], points["value"], marker="D", s=28, facecolors="none",
                       edgecolors=[palette.get(method, "black")], linewidths=1.2, zorder=5)  # fmt: skip
        label = "standard deviation" if reading == "std" else "variance (std = sqrt(sigma))"
        ax.set_title(f"{DATASET_NAMES[dataset]}: sigma read as {label}")
        ax.set_xlabel("gaussian noise sigma")
        ax.set_ylabel("mIoU (%)")
    handles = [method_handle(method, palette[method]) for method in methods]
    labels = list(methods)
    handles.append(plt.Line2D([], [], marker="D", linestyle="", markerfacecolor="none", markeredgecolor="black"))
    labels.append("paper (hollow diamonds)")
    right = 1.0 - 2.2 / fig.get_figwidth()  # the panels' share of the width; the legend takes the rest
    fig.legend(handles, labels, fontsize=7, loc="center left", bbox_to_anchor=(right, 0.5), frameon=False)
    bands = band_caption(int(data["seed"].nunique()))
    caption = (f"ours: {note}\n" if note else "") + bands + "; post-TV lines carry none (their plain net's)"
    fig.text(0.01, 0.01, caption, ha="left", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0.0, 0.09, right, 1.0))
    save_figure(fig, out_png, out_pdf)


# Okabe-Ito colours, one per network and training set; post-TV shares its plain net's colour and
# differs by its dashes, so no two curves of a figure look alike.
_NETWORK_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINE_DASHES = {"trained": "", "post-TV (fixed lambda)": (4, 2), "post-TV (lambda from validation)": (1, 1.5)}
LINE_MARKERS = {"trained": "o", "post-TV (fixed lambda)": "s", "post-TV (lambda from validation)": "^"}
BAND_ALPHA = 0.12  # light enough that three overlapping bands still show the curve under them


def band_caption(seeds: int) -> str:
    """How a figure's curves and bands read, over the ``seeds`` its data holds."""
    if seeds < 2:
        return f"lines: {seeds} seed, no band"
    return f"lines: the mean over {seeds} seeds; shaded bands: ± one standard deviation over them"


def method_handle(method: str, colour: str):
    """A legend swatch carrying the method's colour, line style and marker, as its curve is drawn."""
    kind = _line_kind(method)
    dashes = LINE_DASHES[kind]
    line = plt.Line2D([], [], color=colour, marker=LINE_MARKERS[kind], markersize=4, linewidth=1.4)
    if dashes:
        line.set_dashes(dashes)
    return line


def _line_kind(method: str) -> str:
    if "+postTV" not in method:
        return "trained"
    return "post-TV (lambda from validation)" if method.endswith("-val") else "post-TV (fixed lambda)"


def method_colours(methods) -> dict[str, str]:
    """A colour per method: distinct per network, shared by a plain net and its post-TV variants."""
    networks = method_order({network_of(m) for m in methods})
    by_network = {n: _NETWORK_COLOURS[i % len(_NETWORK_COLOURS)] for i, n in enumerate(networks)}
    return {m: by_network[network_of(m)] for m in methods}


def save_figure(fig, out_png: Path, out_pdf: Path, dpi: int = 200) -> None:
    """PNG and PDF without creation dates, so identical results give identical files."""
    import io

    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi, metadata={"Software": None})
    write_atomic(out_png, png.getvalue())
    if out_pdf is not None:
        pdf = io.BytesIO()
        fig.savefig(pdf, format="pdf", metadata={"CreationDate": None, "Producer": None, "Creator": None})
        write_atomic(out_pdf, pdf.getvalue())
    plt.close(fig)


def _plot_paper_only(paper: pd.DataFrame, dataset: str, out_png: Path, out_pdf: Path) -> None:
    """The paper's curves alone, for a dataset this run did not train on; the title says why."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    palette = method_colours(paper["method"].unique())
    for method, points in paper.groupby("method"):
        points = points.sort_values("level")
        ax.plot(points["level"], points["value"], marker="D", markerfacecolor="none", color=palette[method],
                label=f"{method} (paper)")  # fmt: skip
    why = NOT_RUN_WHY.get(dataset, NOT_RUN_DEFAULT)
    ax.set_title(f"{DATASET_NAMES[dataset]}: the paper's points only; ours {NOT_RUN}", fontsize=9)
    ax.text(0.5, -0.2, "\n".join(_wrap(why, 90)), transform=ax.transAxes, ha="center", va="top", fontsize=7)
    ax.set_xlabel("gaussian noise sigma")
    ax.set_ylabel("mIoU (%)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    save_figure(fig, out_png, out_pdf)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)
