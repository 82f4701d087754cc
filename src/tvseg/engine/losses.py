"""The loss shared by both heads: NLL on the log of the head's probabilities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# SegNet's median-frequency class weights, copied from the SegNet-Tutorial prototxt files
# (tests check them against the files): Models/segnet_train.prototxt (CamVid, 11 classes;
# label 11 ignored) and Example_Models/train_segnet_sun.prototxt (SUN-RGBD: 38 values for labels
# 0-37, where label 0, unlabelled, is ignored; here the 37 classes 1-37).
CAMVID_CLASS_WEIGHTS = (0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614)
SUNRGBD_PROTOTXT_WEIGHTS = (
    0.351185, 0.382592, 0.447844, 0.634237, 0.375678, 0.582794, 0.476692, 0.776787, 0.980661, 1.020118,
    0.623396, 2.596563, 0.974491, 0.920240, 0.663878, 1.173357, 0.861062, 0.919955, 2.147320, 1.190958,
    1.164314, 1.854754, 1.446550, 2.853078, 0.768276, 1.651721, 4.456313, 2.205633, 1.116695, 2.781543,
    0.705917, 4.005834, 2.208329, 0.967071, 1.475710, 5.347752, 0.745528, 4.017548,
)  # fmt: skip
SUNRGBD_CLASS_WEIGHTS = SUNRGBD_PROTOTXT_WEIGHTS[1:]


def nll_on_probabilities(
    probs: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100
) -> Tensor:
    """Mean NLL of ``target`` (B, H, W) under ``probs`` (B, C, H, W).

    Probabilities are clamped at the dtype's smallest normal number before the log, so a
    saturated softmax never gives log 0 (the loss stays finite, about 87 per pixel at worst).
    """
    log_probs = torch.log(probs.clamp_min(torch.finfo(probs.dtype).tiny))
    return F.nll_loss(log_probs, target, weight=weight, ignore_index=ignore_index)
