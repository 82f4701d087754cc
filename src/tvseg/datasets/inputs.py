"""Prepared images as the networks' input tensors."""

from __future__ import annotations

import numpy as np
import torch

# Encoders expect ImageNet-normalised input, pretrained or not.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def to_input(images_u8: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 or float in [0, 1] -> normalised (B, 3, H, W) float32."""
    images = images_u8.astype(np.float32) / 255.0 if images_u8.dtype == np.uint8 else images_u8.astype(np.float32)
    return torch.from_numpy(((images - MEAN) / STD).transpose(0, 3, 1, 2).copy())
