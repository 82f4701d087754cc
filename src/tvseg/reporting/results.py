"""Our results and the paper's as frames, read back as data: the collected evaluations
(``load_metrics``), the regularized runs' learned lambdas, the validation curves, the headline
``summary`` for DVC, and the paper's numbers (``load_paper``, from ``reference/paper_results.csv``);
the order methods are listed in, a condition's column label, and what a dataset not run says.

No plotting here: collecting a dataset's results needs pandas alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tvseg.core.paper import METRIC_NAMES, PAPER_RESULTS

NOT_RUN = "not run"
NOT_RUN_WHY = {  # why a table or figure may have no results of ours, and how to fill it
    "sunrgbd": "SUN-RGBD cannot be downloaded on the machine these results come from (no internet access); "
    "with internet access, enable datasets.sunrgbd (config.yaml does) and run the workflow again",
}
NOT_RUN_DEFAULT = (
    "this dataset is disabled in the profile that produced these results; enable it and run the workflow again"
)


def column_label(condition: str, level: float) -> str:
    return "clean" if condition == "clean" else f"{condition} {level:g}"


def load_metrics(paths: list[Path]) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in paths]
    if not frames:
        raise ValueError("no evaluation files to collect")
    return pd.concat(frames, ignore_index=True)


def learned_lambdas(logs: list[Path], initial: float) -> pd.DataFrame:
    """run, seed, method, initial and final lambda of each regularized run from runs/<run>/seed<k>/log.csv."""
    from tvseg.core.runs import RunId

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
    from tvseg.core.runs import RunId

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


def load_paper() -> pd.DataFrame:
    wide = pd.read_csv(PAPER_RESULTS, comment="#")
    tidy = wide.melt(
        id_vars=["table", "dataset", "method", "train_data", "metric"], var_name="column", value_name="value"
    )
    tidy["condition"] = tidy["column"].str.extract(r"^([a-z_]+)")[0]
    tidy["level"] = tidy["column"].str.extract(r"([0-9.]+)$")[0].astype(float).fillna(0.0)
    return tidy.drop(columns="column")


def method_order(methods) -> list[str]:
    def key(name: str):
        # Unet1, Unet1+postTV, RUnet1, then the converged extra RUnet*1 (beyond the paper) last.
        base = network_of(name).replace("*", "").lstrip("R")
        return (base, "*" in name, name.startswith("R"), "+postTV" in name, name)

    return sorted(set(methods), key=key)


def network_of(method: str) -> str:
    return method.split("+postTV", 1)[0]


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
