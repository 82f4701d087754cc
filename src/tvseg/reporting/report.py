"""Tables 1-6 and Figures 2/4/6 from the tidy evaluation CSVs, beside the paper's numbers.

The paper's numbers come from ``reference/paper_results.csv`` (typed in once) and appear only
in rows labelled "paper"; ours are the mean (and standard deviation) over seeds.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from tvseg.core.files import write_atomic  # noqa: E402
from tvseg.core.paper import (  # noqa: E402
    DATASET_NAMES,
    METRIC_NAMES,
    PAPER_RESULTS,
    TABLE_COLUMNS,
    TABLES,
)
from tvseg.engine.metrics import GROUND_TRUTH  # noqa: E402

NOT_RUN = "not run"
NOT_RUN_WHY = {  # why a table or figure may have no results of ours, and how to fill it
    "sunrgbd": "SUN-RGBD cannot be downloaded on the machine these results come from (no internet access); "
    "with internet access, enable datasets.sunrgbd (config.yaml does) and run the workflow again",
}
NOT_RUN_DEFAULT = (
    "this dataset is disabled in the profile that produced these results; enable it and run the workflow again"
)


_HTML_STYLE = (
    "body{font-family:sans-serif;font-size:13px;margin:1em}table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}"
    "td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}"
)


def html_page(title: str, body: str) -> str:
    """A small standalone HTML page (the report shows HTML results in the page, not as downloads)."""
    from html import escape

    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_HTML_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def markdown_html(text: str, title: str) -> str:
    """Markdown (headings, paragraphs, pipe tables) as a standalone HTML page."""
    from markdown_it import MarkdownIt

    return html_page(title, MarkdownIt("commonmark").enable("table").render(text))


def column_label(condition: str, level: float) -> str:
    return "clean" if condition == "clean" else f"{condition} {level:g}"


def load_metrics(paths: list[Path]) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in paths]
    if not frames:
        raise ValueError("no evaluation files to collect")
    return pd.concat(frames, ignore_index=True)


def learned_lambdas(logs: list[Path], initial: float) -> pd.DataFrame:
    """run, seed, method, initial and final lambda of each regularized run from runs/<run>/seed<k>/log.csv."""
    from tvseg.core.config import RunId

    records = []
    for path in logs:
        path = Path(path)
        run = RunId.parse(path.parent.parent.name)
        log = pd.read_csv(path)
        if log.empty:
            raise ValueError(f"{path} holds no iterations")
        records.append(
            {"run": str(run), "seed": int(path.parent.name.removeprefix("seed")), "dataset": run.dataset,
             "method": run.paper_name, "iterations": int(log["iteration"].iloc[-1]), "lam_initial": initial,
             "lam_final": float(log["lam"].iloc[-1])}
        )  # fmt: skip
    return pd.DataFrame.from_records(records).sort_values(["run", "seed"], ignore_index=True)


def validation_curves(logs: list[Path]) -> pd.DataFrame:
    """run, seed, dataset, method, iteration, loss, val_miou, val_accuracy at each point of the
    validation curve of runs/<run>/seed<k>/log.csv (the rows holding val_miou)."""
    from tvseg.core.config import RunId

    frames = []
    for path in logs:
        path = Path(path)
        run = RunId.parse(path.parent.parent.name)
        log = pd.read_csv(path)
        if "val_miou" not in log.columns:
            raise ValueError(f"{path} has no validation curve (no val_miou column): set datasets.<name>.curve")
        points = log.loc[log["val_miou"].notna(), ["iteration", "loss", "val_miou", "val_accuracy"]]
        frames.append(
            points.assign(
                run=str(run),
                seed=int(path.parent.name.removeprefix("seed")),
                dataset=run.dataset,
                method=run.paper_name,
            )  # fmt: skip
        )
    columns = ["run", "seed", "dataset", "method", "iteration", "loss", "val_miou", "val_accuracy"]
    return pd.concat(frames, ignore_index=True)[columns].sort_values(["run", "seed", "iteration"], ignore_index=True)


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
    methods = _method_order(data["method"])
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
    _save_figure(fig, out_png, None)


def load_paper() -> pd.DataFrame:
    wide = pd.read_csv(PAPER_RESULTS, comment="#")
    tidy = wide.melt(
        id_vars=["table", "dataset", "method", "train_data", "metric"], var_name="column", value_name="value"
    )
    tidy["condition"] = tidy["column"].str.extract(r"^([a-z_]+)")[0]
    tidy["level"] = tidy["column"].str.extract(r"([0-9.]+)$")[0].astype(float).fillna(0.0)
    return tidy.drop(columns="column")


def _ours_for_table(metrics: pd.DataFrame, dataset: str, train_data: str, reading: str) -> pd.DataFrame:
    rows = metrics[
        (metrics["dataset"] == dataset)
        & (metrics["train_data"] == train_data)
        & (metrics["metric"].isin(list(METRIC_NAMES)))
        & ((metrics["reading"] == reading) | (metrics["condition"] != "gaussian"))
    ]
    keep = np.zeros(len(rows), dtype=bool)
    for condition, level in TABLE_COLUMNS:
        keep |= (rows["condition"] == condition).to_numpy() & np.isclose(rows["level"], level)
    grouped = rows[keep].groupby(["method", "metric", "condition", "level"])["value"]
    return grouped.agg(mean="mean", std="std", low="min", high="max", seeds="count").reset_index()


def table_frame(metrics: pd.DataFrame, paper: pd.DataFrame, table: int, reading: str) -> pd.DataFrame:
    """Tidy rows of one table: method, metric, condition, level, paper, ours_mean, ours_std, seeds, difference."""
    dataset, train_data = TABLES[table]
    ours = _ours_for_table(metrics, dataset, train_data, reading)
    theirs = paper[paper["table"] == table][["method", "metric", "condition", "level", "value"]]
    merged = ours.merge(
        theirs.rename(columns={"value": "paper"}), on=["method", "metric", "condition", "level"], how="outer"
    )
    merged = merged.rename(columns={"mean": "ours_mean", "std": "ours_std", "low": "ours_min", "high": "ours_max"})
    merged["difference"] = merged["ours_mean"] - merged["paper"]
    merged.insert(0, "table", table)
    merged.insert(1, "reading", reading)
    return merged


def _method_order(methods) -> list[str]:
    def key(name: str):
        # Unet1, Unet1+postTV, RUnet1, then the converged extra RUnet*1 (beyond the paper) last.
        base = _network_of(name).replace("*", "").lstrip("R")
        return (base, "*" in name, name.startswith("R"), "+postTV" in name, name)

    return sorted(set(methods), key=key)


FEW_SEEDS = 3  # up to this many seeds a cell shows the range of the values, not a standard deviation


def _cell(mean: float, std: float, seeds: float, low: float = float("nan"), high: float = float("nan")) -> str:
    if pd.isna(mean):
        return ""
    if not seeds or seeds < 2 or pd.isna(std):
        return f"{mean:.2f}"
    if seeds <= FEW_SEEDS and not pd.isna(low):
        return f"{mean:.2f} [{low:.2f}, {high:.2f}]"
    return f"{mean:.2f} ± {std:.2f}"


def spread_words(seeds: int) -> str:
    """How a table's cells of ours read, for its caption."""
    if seeds < 2:
        return f"the value of {seeds} seed" if seeds == 1 else "no seed"
    if seeds <= FEW_SEEDS:
        return f"mean [lowest, highest] over {seeds} seeds"
    return f"mean ± standard deviation over {seeds} seeds"


RE_RATIO_OURS = "ours / truth"
RE_RATIO_PAPER = "paper / truth"


def table_layout(
    frame: pd.DataFrame, ran: bool = True, truth_re_at_paper: float | None = None, same_resolution: bool = True
) -> pd.DataFrame:
    """The paper's layout: rows metric x method x (paper | ours | ours - paper), columns the conditions.

    RE ends with the ground truth's own RE (ours only: the paper does not report it). RE grows as
    the resolution falls, so it is compared with the paper's through its ratio to the ground
    truth's RE: ours over the truth's on our images (``ours / truth``) beside the paper's over the
    truth's at the paper's resolution (``paper / truth``, ``truth_re_at_paper``); the raw
    difference ``ours - paper`` is kept for RE only where ``same_resolution``. Where ``ran`` is
    false our cells say "not run".
    """
    columns = [column_label(c, lv) for c, lv in TABLE_COLUMNS]
    truth = frame[(frame["metric"] == "re") & (frame["method"] == GROUND_TRUTH)]
    truth_cells = {column_label(r.condition, r.level): r.ours_mean for r in truth.itertuples()}
    records = []
    for metric in METRIC_NAMES:
        methods = _method_order(frame.loc[(frame["metric"] == metric) & (frame["method"] != GROUND_TRUTH), "method"])
        if metric == "re" and ran:
            methods.append(GROUND_TRUTH)
        for method in methods:
            part = frame[(frame["metric"] == metric) & (frame["method"] == method)]
            cells = {column_label(r.condition, r.level): r for r in part.itertuples()}
            for source in _sources(metric, method, ran, truth_re_at_paper, same_resolution):
                row = {"metric": METRIC_NAMES[metric], "method": method, "source": source}
                for column in columns:
                    r = cells.get(column)
                    if source == "ours" and not ran:
                        row[column] = NOT_RUN
                    elif r is None:
                        row[column] = ""
                    else:
                        row[column] = _layout_cell(source, method, r, truth_cells.get(column), truth_re_at_paper)
                if source != "ours" and all(row[c] == "" for c in columns):
                    continue  # methods the paper does not report (post-TV) have no paper row and no difference
                records.append(row)
    return pd.DataFrame.from_records(records, columns=["metric", "method", "source", *columns])


def _sources(metric: str, method: str, ran: bool, truth_re_at_paper, same_resolution: bool) -> tuple[str, ...]:
    if method == GROUND_TRUTH:
        return ("ours",)
    if metric != "re":
        return ("paper", "ours", "ours - paper")
    sources = ["paper", "ours"] + (["ours - paper"] if same_resolution else [])
    if ran:
        sources.append(RE_RATIO_OURS)
    if truth_re_at_paper:
        sources.append(RE_RATIO_PAPER)
    return tuple(sources)


def _layout_cell(source: str, method: str, r, truth: float | None, truth_re_at_paper: float | None) -> str:
    if source == "paper":
        return "" if pd.isna(r.paper) else f"{r.paper:.2f}"
    if method == GROUND_TRUTH:
        return f"{r.ours_mean:.2f}"  # the same images in every run: no spread
    if source == "ours":
        return _cell(r.ours_mean, r.ours_std, r.seeds, r.ours_min, r.ours_max)
    if source == RE_RATIO_OURS:
        return "" if truth is None or pd.isna(r.ours_mean) else f"{r.ours_mean / truth:.2f}"
    if source == RE_RATIO_PAPER:
        return "" if pd.isna(r.paper) else f"{r.paper / truth_re_at_paper:.2f}"
    return "" if pd.isna(r.difference) else f"{r.difference:+.2f}"


def truth_re_at_paper_resolution(dataset: str) -> float | None:
    """The ground truth's RE of ``dataset``'s test set at the paper's resolution (reference data)."""
    from tvseg.core.paper import GROUND_TRUTH_RE

    table = pd.read_csv(GROUND_TRUTH_RE, comment="#")
    rows = table[table["dataset"] == dataset]
    return float(rows["re"].iloc[0]) if len(rows) else None


def render_table(
    metrics: pd.DataFrame, table: int, reading: str, out_prefix: Path, note: str | None = None,
    same_resolution: bool = True,
) -> list[Path]:  # fmt: skip
    """Writes <prefix>.csv (tidy), .md, .tex and .html (the paper's layout).

    A table whose dataset was not run still gets the paper's numbers, our cells saying
    "not run", and a title that says why and how to fill them. ``note`` (what ran:
    ``experiment.recipe_note``) goes into the title; so does a reading of sigma the dataset's
    gaussian conditions were not evaluated under.
    """
    frame = table_frame(metrics, load_paper(), table, reading)
    dataset, train_data = TABLES[table]
    ran = bool(frame["ours_mean"].notna().any())
    layout = table_layout(frame, ran, truth_re_at_paper_resolution(dataset), same_resolution)
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out_prefix.with_suffix(".csv"), frame.to_csv(index=False, float_format="%.6g"))
    ours_seeds = frame.loc[frame["method"] != GROUND_TRUTH, "seeds"]
    seeds = int(ours_seeds.max()) if ours_seeds.notna().any() else 0
    what = f" ({note})" if note else ""
    ours = (
        f"Ours{what}: {spread_words(seeds)}; the ground truth's RE is the reference row. RE against the paper's: "
        f"{RE_RATIO_OURS} (ours over the ground truth's RE on our images) beside {RE_RATIO_PAPER} (the paper's "
        f"over the ground truth's RE at the paper's resolution, results/re_calibration.md)"
        + ("." if same_resolution else "; our resolution is not the paper's, so no raw RE difference.")
        if ran
        else f"Ours: {NOT_RUN}: {NOT_RUN_WHY.get(dataset, NOT_RUN_DEFAULT)}."
    )
    gaussian = metrics[(metrics["dataset"] == dataset) & (metrics["condition"] == "gaussian")]
    if ran and not (gaussian["reading"] == reading).any():
        kept = ", ".join(sorted(set(gaussian["reading"]))) or "none"
        ours += f" Our gaussian columns are empty: this dataset was evaluated with sigma read as {kept} only."
    title = (
        f"Table {table}: {DATASET_NAMES[dataset]}, trained on {train_data} data; gaussian sigma read as a "
        f"{'standard deviation' if reading == 'std' else 'variance'}. {ours}"
    )
    markdown = layout.to_markdown(index=False, disable_numparse=True)  # cells as written: 91.30, +0.97
    write_atomic(out_prefix.with_suffix(".md"), f"{title}\n\n{markdown}\n")
    latex = layout.to_latex(index=False, caption=title, label=f"tab:table{table}_{reading}").replace("±", r"$\pm$")
    write_atomic(out_prefix.with_suffix(".tex"), latex)
    from html import escape

    body = f"<p>{escape(title)}</p>\n" + layout.to_html(index=False, border=0)
    write_atomic(out_prefix.with_suffix(".html"), html_page(f"Table {table} ({reading})", body))
    return [out_prefix.with_suffix(s) for s in (".csv", ".md", ".tex", ".html")]


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
    methods = _method_order(data["method"])
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
    _save_figure(fig, out_png, out_pdf)


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


def _network_of(method: str) -> str:
    return method.split("+postTV", 1)[0]


def _line_kind(method: str) -> str:
    if "+postTV" not in method:
        return "trained"
    return "post-TV (lambda from validation)" if method.endswith("-val") else "post-TV (fixed lambda)"


def method_colours(methods) -> dict[str, str]:
    """A colour per method: distinct per network, shared by a plain net and its post-TV variants."""
    networks = _method_order({_network_of(m) for m in methods})
    by_network = {n: _NETWORK_COLOURS[i % len(_NETWORK_COLOURS)] for i, n in enumerate(networks)}
    return {m: by_network[_network_of(m)] for m in methods}


def _save_figure(fig, out_png: Path, out_pdf: Path, dpi: int = 200) -> None:
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
    _save_figure(fig, out_png, out_pdf)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


def plot_qualitative(
    panel_dirs: list[Path],
    out_png: Path,
    conditions: tuple[str, ...],
    max_images: int = 2,
    dataset: str | None = None,
) -> None:
    """Image, truth and each method's label map, rows per condition and image (Figures 1/3/5/7);
    with ``dataset``, a legend of its classes' colours below."""
    from matplotlib.patches import Patch
    from PIL import Image

    from tvseg.engine.evaluate import method_from_panel_kind

    rows = []
    for condition in conditions:
        images: dict[str, dict[str, Path]] = {}
        for folder in panel_dirs:
            for path in sorted((Path(folder) / condition).glob("*.png")):
                image_id, kind = path.stem.split("__", 1)  # ids may contain single underscores
                kind = method_from_panel_kind(kind)
                images.setdefault(image_id, {})[kind] = path
        for image_id in sorted(images)[:max_images]:
            rows.append((condition, image_id, images[image_id]))
    if not rows:
        raise ValueError(f"no predicted label maps found under {panel_dirs}")
    kinds = ["image", "truth"] + _method_order({k for _, _, found in rows for k in found} - {"image", "truth"})
    fig, axes = plt.subplots(len(rows), len(kinds), figsize=(1.9 * len(kinds), 1.9 * len(rows)), squeeze=False)
    for r, (condition, image_id, found) in enumerate(rows):
        for c, kind in enumerate(kinds):
            ax = axes[r][c]
            ax.axis("off")
            if kind in found:
                ax.imshow(np.asarray(Image.open(found[kind])))
            if r == 0:
                ax.set_title(kind, fontsize=8)
        axes[r][0].text(-0.08, 0.5, f"{condition}\n{image_id}", transform=axes[r][0].transAxes, ha="right",
                        va="center", fontsize=7)  # fmt: skip
    fig.tight_layout()
    if dataset is not None:
        from tvseg.datasets.specs import get_spec

        spec = get_spec(dataset)
        handles = [
            Patch(facecolor=np.asarray(colour) / 255, edgecolor="0.3", linewidth=0.3, label=name)
            for name, colour in zip(spec.classes, spec.colours, strict=True)
        ]
        columns = min(len(handles), max(2, len(kinds) * 2))
        legend_rows = -(-len(handles) // columns)
        height = fig.get_figheight()
        fig.set_figheight(height + 0.25 * legend_rows + 0.1)
        fig.subplots_adjust(bottom=(0.25 * legend_rows + 0.1) / fig.get_figheight())
        fig.legend(handles=handles, loc="lower center", ncol=columns, fontsize=7, frameon=False)
    _save_figure(fig, out_png, None, dpi=150)


def summary(metrics: pd.DataFrame) -> dict:
    """Headline numbers for DVC metrics: per dataset and method, mean over seeds of mIoU,
    accuracy and RE, clean and under the strongest table noise (gaussian 0.09, both readings)."""
    out: dict = {}
    picks = {"clean": ("clean", 0.0, "none"), "gaussian0.09_std": ("gaussian", 0.09, "std"),
             "gaussian0.09_variance": ("gaussian", 0.09, "variance")}  # fmt: skip
    for (dataset, method), part in metrics.groupby(["dataset", "method"]):
        for label, (condition, level, reading) in picks.items():
            rows = part[
                (part["condition"] == condition) & np.isclose(part["level"], level) & (part["reading"] == reading)
            ]
            for metric in METRIC_NAMES:
                values = rows.loc[rows["metric"] == metric, "value"]
                if len(values):
                    out.setdefault(dataset, {}).setdefault(method, {}).setdefault(label, {})[metric] = round(
                        float(values.mean()), 4
                    )
    return out


def per_class_markdown(metrics: pd.DataFrame, dataset: str, reading: str, note: str | None = None) -> str:
    """Each class's IoU per method (rows) under clean test images and the tables' strongest gaussian
    noise (columns), mean over seeds: which classes a net loses first, and which the TV head keeps."""
    rows = metrics[(metrics["dataset"] == dataset) & metrics["metric"].str.startswith("iou/")]
    columns = [("clean", 0.0), ("gaussian", 0.09)]
    if rows.empty:
        return f"Per-class IoU of {DATASET_NAMES[dataset]}: no evaluation of ours.\n"
    classes = list(dict.fromkeys(rows["metric"].str.removeprefix("iou/")))
    seeds = int(rows["seed"].nunique())
    records = []
    for method in _method_order(rows["method"]):
        for condition, level in columns:
            part = rows[
                (rows["method"] == method) & (rows["condition"] == condition) & np.isclose(rows["level"], level)
                & ((rows["reading"] == reading) | (condition != "gaussian"))
            ]  # fmt: skip
            if part.empty:
                continue
            means = part.groupby("metric")["value"].mean()
            record = {"method": method, "test images": column_label(condition, level)}
            record.update({name: f"{means.get(f'iou/{name}', float('nan')):.2f}" for name in classes})
            records.append(record)
    sigma = "a variance" if reading == "variance" else "a standard deviation"
    what = f" ({note})" if note else ""
    title = (
        f"Per-class IoU (%) of {DATASET_NAMES[dataset]}, ours{what}: the mean over {seeds} seed{'s' * (seeds != 1)}; "
        f"gaussian sigma read as {sigma}. Generated by `tvseg per-class`."
    )
    table = pd.DataFrame.from_records(records).to_markdown(index=False, disable_numparse=True)
    return f"{title}\n\n{table}\n"
