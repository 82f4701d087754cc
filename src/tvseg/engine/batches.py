"""What each training iteration works on, as pure functions of (seed, iteration): the learning rate's
schedule, the items of the batch (per-epoch permutations, no sampler state), the batch itself (crops
and flips from streams of their own), and a point of the validation curve, which reads no random
state, so a run with a curve trains as one without.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tvseg.datasets.inputs import to_device, to_input
from tvseg.datasets.prepare import PreparedSplit
from tvseg.datasets.specs import IGNORE_INDEX
from tvseg.engine.metrics import confusion_matrix, scores

LR_SCHEDULES = ("constant", "poly", "cosine")
POLY_POWER = 0.9  # the usual exponent of the poly schedule (DeepLab, PSPNet)


def lr_factor(schedule: str, iteration: int, iterations: int) -> float:
    """The learning rate of iteration ``iteration`` (0-based) over the initial one.

    A pure function of the iteration, so resuming from a checkpoint continues the schedule exactly.
    """
    progress = iteration / iterations
    if schedule == "constant":
        return 1.0
    if schedule == "poly":
        return (1.0 - progress) ** POLY_POWER
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}; got {schedule!r}")


def batch_indices(n: int, batch_size: int, iteration: int, seed: int) -> np.ndarray:
    """Items of iteration ``iteration``: consecutive slices of per-epoch permutations."""
    start = iteration * batch_size
    out = []
    while len(out) < batch_size:
        epoch, offset = divmod(start + len(out), n)
        permutation = np.random.default_rng([seed, epoch]).permutation(n)
        out.extend(permutation[offset : offset + batch_size - len(out)].tolist())
    return np.asarray(out)


def make_batch(
    split: PreparedSplit, items: np.ndarray, crop, iteration: int, seed: int, device="cpu", hflip: bool = False
):
    """The batch of ``items`` (randomly cropped to ``crop`` where given, each flipped left-right
    with probability 1/2 where ``hflip``) as network input and labels on ``device``; a pure
    function of (items, iteration, seed). Crops and flips draw from streams of their own, so
    turning flips on leaves the crops as they were."""
    images, labels = [], []
    rng = np.random.default_rng([seed, iteration, 1])
    flips = (
        np.random.default_rng([seed, iteration, 2]).random(len(items)) < 0.5 if hflip else np.zeros(len(items), bool)
    )
    for i, flip in zip(items, flips, strict=True):
        image, label = np.asarray(split.image(i)), np.asarray(split.label(i))
        if crop is not None:
            ch, cw = crop
            h, w = label.shape
            if h < ch or w < cw:
                raise ValueError(f"item {split.ids[i]} is {h}x{w}, smaller than the training crop {ch}x{cw}")
            top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            image, label = image[top : top + ch, left : left + cw], label[top : top + ch, left : left + cw]
        if flip:
            image, label = image[:, ::-1], label[:, ::-1]
        images.append(image)
        labels.append(label)
    shapes = {label.shape for label in labels}
    if len(shapes) > 1:
        raise ValueError(f"training items differ in size {sorted(shapes)}; set train_crop or a common size")
    return to_input(np.stack(images), device), to_device(torch.from_numpy(np.stack(labels)), device).long()


CURVE_BATCH = 8  # validation images through the network at once for a point of the curve


@torch.no_grad()
def curve_point(model, split: PreparedSplit, device) -> dict:
    """The validation curve's point now: mIoU and global accuracy (%) of ``model`` in eval mode
    (a regularized net with its evaluation iterations) on every image of ``split``; the model is
    left in train mode. Reads no random state, so a run with a curve trains as one without."""
    model.eval()
    confusion = 0
    for start in range(0, len(split), CURVE_BATCH):
        indices = range(start, min(start + CURVE_BATCH, len(split)))
        images = to_input(np.stack([np.asarray(split.image(i)) for i in indices]), device)
        predicted = model(images).argmax(dim=1).cpu().numpy()
        for row, i in enumerate(indices):
            confusion = confusion + confusion_matrix(predicted[row], split.label(i), split.num_classes, IGNORE_INDEX)
    model.train()
    result = scores(confusion)
    return {"val_miou": f"{result['miou']:.4f}", "val_accuracy": f"{result['accuracy']:.4f}"}
