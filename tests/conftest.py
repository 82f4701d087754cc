"""Fixtures shared by the test files (their other shared helpers: helpers.py)."""

import pytest
from helpers import MIRROR

from tvseg.datasets import NoisyTrainingSet, PrepareSettings, fetch, prepare_dataset


@pytest.fixture
def device_path(monkeypatch):
    """A GPU's path on the CPU: the layer keeps lambda, step and its checks on the device (as
    where a reading would make the host wait), and the CPU's C kernel is not used."""
    import tvseg.layers._fused as fused
    import tvseg.layers._operators as operators

    monkeypatch.setattr(operators, "READ_AT_ONCE", ())
    monkeypatch.setattr(fused, "native_usable", lambda x: False)


@pytest.fixture(scope="session")
def wbc_small(tmp_path_factory):
    """WBC from the mirror at 48x48 (4 test images): the data of the small trainings and evaluations."""
    if not MIRROR.is_dir():
        pytest.skip("the dataset mirror ../shared/datasets is not beside the repo")
    root = tmp_path_factory.mktemp("data")
    tree = fetch("wbc", root, mirror=MIRROR)
    settings = PrepareSettings(size=(48, 48), noisy=NoisyTrainingSet(20, 0.05), limit={"test": 4})
    return prepare_dataset("wbc", tree, root / "wbc48", settings, progress=False)
