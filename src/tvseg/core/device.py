"""The configured device's name (``auto``, ``cpu``, ``cuda``, ``cuda:N``) read as a torch device."""

from __future__ import annotations

import torch


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """The configured device as a torch device; one resolved already is returned as it is (an entry
    point resolves it once and passes it on)."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was asked for, but CUDA is not available here; use device: auto or cpu")
    return device
