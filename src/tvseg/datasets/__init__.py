"""Datasets of the paper: WBC, CamVid and SUN-RGBD; download or mirror, preparation, noise."""

from tvseg.datasets.noise import NOISE_KINDS, add_noise
from tvseg.datasets.prepare import (
    DataError,
    NoisyTrainingSet,
    PreparedSplit,
    PrepareSettings,
    make_noisy_split,
    prepare_dataset,
    read_manifest,
)
from tvseg.datasets.sources import DataSourceError, fetch
from tvseg.datasets.specs import IGNORE_INDEX, get_spec

__all__ = [
    "IGNORE_INDEX",
    "NOISE_KINDS",
    "DataError",
    "DataSourceError",
    "NoisyTrainingSet",
    "PrepareSettings",
    "PreparedSplit",
    "add_noise",
    "fetch",
    "make_noisy_split",
    "get_spec",
    "prepare_dataset",
    "read_manifest",
]
