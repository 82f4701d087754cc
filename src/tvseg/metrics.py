"""Segmentation metrics of the paper (section 4): global accuracy, mIoU and RE (Eq. 4.1)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def regularization_effect(labels: Tensor | np.ndarray) -> float:
    """RE of Eq. 4.1 for one label map (H, W): ``100 / (H W) * sum |grad u|``.

    ``grad`` is forward differences, zero on the last row and column (Eq. 4.2), and
    ``|.|`` the Euclidean norm of the two components, on the integer label values.
    """
    u = torch.as_tensor(labels).to(torch.float64)
    if u.dim() != 2:
        raise ValueError(f"RE takes one label map (H, W); got shape {tuple(u.shape)}")
    d_rows = torch.zeros_like(u)
    d_cols = torch.zeros_like(u)
    d_rows[:-1, :] = u[1:, :] - u[:-1, :]
    d_cols[:, :-1] = u[:, 1:] - u[:, :-1]
    return float(100.0 * torch.sqrt(d_rows**2 + d_cols**2).mean())
