"""Fixtures shared by the test files."""

import pytest


@pytest.fixture
def device_path(monkeypatch):
    """A GPU's path on the CPU: the layer keeps lambda, step and its checks on the device (as
    where a reading would make the host wait), and the CPU's C kernel is not used."""
    import tvseg.layers._fused as fused
    import tvseg.layers._operators as operators

    monkeypatch.setattr(operators, "READ_AT_ONCE", ())
    monkeypatch.setattr(fused, "native_usable", lambda x: False)
