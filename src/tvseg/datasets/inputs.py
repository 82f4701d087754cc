"""Prepared images as the networks' input tensors, normalised on the device that runs the network,
and host tensors moved to that device without stalling it."""

from __future__ import annotations

import numpy as np
import torch

# Encoders expect ImageNet-normalised input, pretrained or not.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def to_device(tensor: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``tensor`` (on the host) on ``device``; to a GPU through pinned memory without waiting,
    so the host goes on queueing work while the copy runs (a plain copy from pageable memory
    waits for the device to finish everything queued before it)."""
    device = torch.device(device)
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def to_input(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(B, H, W, 3) uint8, or float in [0, 1] -> normalised (B, 3, H, W) float32 on ``device``.

    The pixels travel as they are (uint8: a quarter of the bytes of float32) and are converted
    there: on a GPU the host's share of a training step is then a copy, not four passes of numpy
    arithmetic over the batch (which took longer than the step itself at 300x300). Every
    operation is elementwise and correctly rounded in float32, so the values are bit for bit
    those of converting on the host first."""
    images = np.ascontiguousarray(images)
    pixels = to_device(torch.from_numpy(images if images.flags.writeable else images.copy()), device)
    scaled = pixels.float() / 255.0 if pixels.dtype == torch.uint8 else pixels.float()
    mean = to_device(torch.tensor(MEAN, dtype=torch.float32), scaled.device)
    std = to_device(torch.tensor(STD, dtype=torch.float32), scaled.device)
    # the arithmetic in the pixels' own layout (contiguous), then one copy into channels-first
    return ((scaled - mean) / std).permute(0, 3, 1, 2).contiguous()
