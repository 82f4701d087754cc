"""Measuring what a computation keeps for backward (used by the tests and the benchmarks)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def saved_tensor_bytes(fn: Callable[[], object]) -> int:
    """Bytes of every tensor autograd saves for backward while ``fn()`` runs (a tensor saved
    twice counts twice, as autograd holds a reference for each)."""
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        fn()
    return total
