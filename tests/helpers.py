"""What the test files share beside the fixtures of conftest.py: the repository's paths, the
dataset mirror's mark, and small builders of settings, configurations and data (importable from
every test folder: pyproject's pytest pythonpath lists tests/)."""

import hashlib
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tvseg.core.config import load_config
from tvseg.core.paper import TABLE_COLUMNS
from tvseg.core.settings import TrainSettings

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DATA = ROOT / "tests" / "data"
MIRROR = ROOT.parent / "shared" / "datasets"
BIN = Path(sys.executable).parent
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo"
)


def import_blocker(packages: tuple[str, ...], message: str) -> str:
    """Python source that, run first in a process, makes importing any of ``packages`` fail with
    ``message`` (``{name}``: the module asked for)."""
    return f"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {packages!r}:
            raise ImportError({message!r}.format(name=name))
sys.meta_path.insert(0, Refuse())
"""


def small_train_settings(data_dir: Path, **overrides) -> TrainSettings:
    base = dict(
        data_dir=str(data_dir), split="train", architecture="unet", num_classes=3, encoder="resnet18",
        head="tv", lr=1e-2, lam_lr=1e-1, batch_size=4, iterations=20, checkpoint_every=5, seed=0,
    )  # fmt: skip
    return TrainSettings(**{**base, **overrides})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_sunrgbd_fixture(root: Path, n_train: int = 6, n_test: int = 4, size=(24, 32)) -> Path:
    rng = np.random.default_rng(0)
    (root / "SUNRGBD-train_images").mkdir(parents=True)
    (root / "SUNRGBD-test_images").mkdir()
    (root / "sunrgbd_train_test_labels").mkdir()
    for part, count in (("test", n_test), ("train", n_train)):
        for k in range(1, count + 1):
            image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(image).save(root / f"SUNRGBD-{part}_images" / f"img-{k:06d}.jpg")
            label_number = k if part == "test" else n_test + k
            # Encode which image a label belongs to in its first pixel, to check the pairing.
            label = rng.integers(0, 38, size, dtype=np.uint8)
            label[0, 0] = label_number
            Image.fromarray(label).save(root / "sunrgbd_train_test_labels" / f"img-{label_number:06d}.png")
    return root


def wbc_metrics() -> pd.DataFrame:
    rows = []
    for seed, (condition, level) in itertools.product(range(2), TABLE_COLUMNS):
        reading = "variance" if condition == "gaussian" else "none"
        for method, miou, re in (("Unet1", 80 - 100 * level + seed, 3.0), ("RUnet1", 82 - 50 * level + seed, 2.0)):
            for metric, value in (("miou", miou), ("accuracy", 95.0), ("re", re)):
                rows.append(dict(run="x", seed=seed, dataset="wbc", train_data="clean", method=method,
                                 condition=condition, level=level, reading=reading, metric=metric, value=value))  # fmt: skip
        rows.append(dict(run="x", seed=seed, dataset="wbc", train_data="clean", method="ground truth",
                         condition=condition, level=level, reading=reading, metric="re", value=1.25))  # fmt: skip
    return pd.DataFrame(rows)


def tiny_config(tmp_path: Path) -> dict:
    """The quick profile on WBC alone, with its paths under ``tmp_path``."""
    paths = tmp_path / "paths.yaml"
    paths.write_text(
        f"data_root: {tmp_path / 'data'}\nprepared_root: {tmp_path / 'prepared'}\nresults_dir: {tmp_path / 'results'}\n"
        "datasets: {camvid: {enabled: false}}\nconverged: {datasets: []}\n"
    )
    return load_config(ROOT / "config.yaml", ROOT / "profiles/quick/tvseg.yaml", paths)


def prepare_wbc(config: dict) -> None:
    from tvseg.core.from_config import prepare_settings
    from tvseg.datasets import fetch, make_noisy_split, prepare_dataset

    tree = fetch("wbc", Path(config["data_root"]), mirror=MIRROR)
    settings = prepare_settings(config, "wbc")
    folder = prepare_dataset("wbc", tree, Path(config["prepared_root"]) / "wbc", settings, progress=False)
    make_noisy_split(folder, settings.noisy)


def quick_config(tmp_path: Path) -> dict:
    paths = tmp_path / "paths.yaml"
    paths.write_text(f"data_root: {tmp_path}/d\nprepared_root: {tmp_path}/p\nresults_dir: {tmp_path}/r\n")
    return load_config(ROOT / "config.yaml", ROOT / "profiles/quick/tvseg.yaml", paths)
