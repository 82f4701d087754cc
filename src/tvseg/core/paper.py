"""The paper's facts, in one place: its datasets, its variants' names, the layout of Tables 1-6,
its figure numbers, and where its reported numbers are stored (``reference/paper_results.csv``,
typed in once). The report, the claims, the configuration, the CLI and the workflow read them here.
"""

from __future__ import annotations

from pathlib import Path

DATASETS = ("wbc", "camvid", "sunrgbd")
DATASET_NAMES = {"wbc": "WBC", "camvid": "CamVid", "sunrgbd": "SUN-RGBD"}

# Run ids are {network}_{dataset}_{training data}; the paper names a variant by its network and
# a 1 (trained on clean data) or 2 (noisy), e.g. runet_wbc_noisy = RUnet2.
TRAIN_DATA = ("clean", "noisy")
PAPER_NAMES = {"unet": "Unet", "runet": "RUnet", "segnet": "Segnet", "rsegnet": "RSegnet"}
# Extras beyond the paper (never mixed into its eight): the TV head solved to convergence.
CONVERGED_NAMES = {"runetstar": "RUnet*", "rsegnetstar": "RSegnet*"}
NETWORK_NAMES = {**PAPER_NAMES, **CONVERGED_NAMES}

TABLE_COLUMNS = (
    ("clean", 0.0), ("gaussian", 0.01), ("gaussian", 0.03), ("gaussian", 0.05), ("gaussian", 0.07),
    ("gaussian", 0.09), ("pepper", 0.01), ("salt", 0.01),
)  # fmt: skip
TABLES = {  # table -> (dataset, training data)
    1: ("wbc", "clean"), 2: ("wbc", "noisy"), 3: ("camvid", "clean"),
    4: ("camvid", "noisy"), 5: ("sunrgbd", "clean"), 6: ("sunrgbd", "noisy"),
}  # fmt: skip
FIGURES = {"wbc": 2, "camvid": 4, "sunrgbd": 6}  # dataset -> figure of mIoU against gaussian sigma
METRIC_NAMES = {"miou": "mIoU", "accuracy": "Accuracy", "re": "RE"}

PAPER_RESULTS = Path(__file__).parent / "reference" / "paper_results.csv"
GROUND_TRUTH_RE = Path(__file__).parent / "reference" / "ground_truth_re.csv"  # at the paper's resolution
