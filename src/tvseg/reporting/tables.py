"""Tables 1-6 in the paper's layout, ours beside the paper's numbers (rows labelled "paper"), and
the per-class IoU table; ours are the mean and spread over seeds. Each table is written as tidy CSV,
Markdown, LaTeX and HTML.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tvseg.core.paper import DATASET_NAMES, METRIC_NAMES, TABLE_COLUMNS, TABLES
from tvseg.core.safe_io import write_atomic
from tvseg.engine.metrics import GROUND_TRUTH
from tvseg.reporting.pages import html_page
from tvseg.reporting.results import NOT_RUN, NOT_RUN_DEFAULT, NOT_RUN_WHY, column_label, load_paper, method_order


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
        methods = method_order(frame.loc[(frame["metric"] == metric) & (frame["method"] != GROUND_TRUTH), "method"])
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
    for method in method_order(rows["method"]):
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
