"""Segmentation metrics of the paper (section 4): global accuracy, mIoU and RE (Eq. 4.1)."""

from __future__ import annotations

import numpy as np
from torch import Tensor

GROUND_TRUTH = "ground truth"  # the method of the reference rows: the RE of the true label maps


def regularization_effect(labels: Tensor | np.ndarray) -> float:
    """RE of Eq. 4.1 for one label map (H, W): ``100 / (H W) * sum |grad u|``.

    ``grad`` is forward differences, zero on the last row and column (Eq. 4.2), with each
    component counting 1 where the two neighbours' labels differ and 0 where they agree, and
    ``|.|`` the Euclidean norm of the two components. Differences of the integer class ids
    would make RE depend on how the classes are numbered (on CamVid's ground truth at 360x480
    they give 24.71 against 4.83 for label changes, results/re_calibration.md; the paper's Segnet
    reports 4.10), so only whether a label changes counts: permuting the class ids leaves RE
    unchanged.
    """
    u = labels.detach().cpu().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if u.ndim != 2:
        raise ValueError(f"RE takes one label map (H, W); got shape {tuple(u.shape)}")
    d_rows = np.zeros(u.shape)
    d_cols = np.zeros(u.shape)
    d_rows[:-1, :] = u[1:, :] != u[:-1, :]
    d_cols[:, :-1] = u[:, 1:] != u[:, :-1]
    return float(100.0 * np.sqrt(d_rows + d_cols).mean())


def confusion_matrix(prediction, truth, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """C x C counts, rows = truth, columns = prediction; pixels whose truth is ``ignore_index`` are left out."""
    prediction = np.asarray(prediction).ravel().astype(np.int64)
    truth = np.asarray(truth).ravel().astype(np.int64)
    keep = truth != ignore_index
    if np.any((truth[keep] < 0) | (truth[keep] >= num_classes)):
        raise ValueError(
            f"truth holds labels outside 0..{num_classes - 1} (other than the ignore index {ignore_index})"
        )
    flat = truth[keep] * num_classes + prediction[keep]
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores(confusion: np.ndarray) -> dict:
    """Global accuracy, per-class IoU and mIoU (in %) from a confusion matrix accumulated over a test set.

    A class absent from both prediction and truth over the whole set has no IoU (NaN) and is
    left out of the mean, rather than counted as 0 or 100.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    true_positive = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - true_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, true_positive / union, np.nan)
    total = confusion.sum()
    return {
        "accuracy": 100.0 * true_positive.sum() / total if total else float("nan"),
        "miou": 100.0 * float(np.nanmean(iou)) if np.any(union > 0) else float("nan"),
        "iou": 100.0 * iou,
    }
