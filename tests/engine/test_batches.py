import numpy as np
import pytest
import torch

from tvseg.engine.batches import batch_indices, lr_factor


def test_batches_depend_only_on_seed_and_iteration():
    n, b = 10, 4
    first_epoch = np.concatenate([batch_indices(n, b, t, seed=3) for t in range(3)])[:10]
    assert sorted(first_epoch.tolist()) == list(range(10))  # each item once per epoch
    assert np.array_equal(batch_indices(n, b, 7, 3), batch_indices(n, b, 7, 3))
    assert not np.array_equal(batch_indices(n, b, 7, 3), batch_indices(n, b, 7, 4))


def test_learning_rate_schedules():
    assert [lr_factor("constant", t, 10) for t in (0, 5, 9)] == [1.0, 1.0, 1.0]
    assert lr_factor("poly", 0, 10) == 1.0 and lr_factor("poly", 5, 10) == pytest.approx(0.5**0.9)
    assert lr_factor("cosine", 5, 10) == pytest.approx(0.5) and lr_factor("cosine", 9, 10) > 0
    poly = [lr_factor("poly", t, 100) for t in range(100)]
    assert all(a > b > 0 for a, b in zip(poly, poly[1:], strict=False))  # decays, never reaches 0 in training
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        lr_factor("step", 0, 10)


def test_flips_are_drawn_from_seed_and_iteration_and_leave_crops_alone(wbc_small):
    from tvseg.datasets.prepare import PreparedSplit
    from tvseg.engine.batches import make_batch

    split = PreparedSplit(wbc_small, "train")
    items = np.arange(8)
    plain_images, plain_labels = make_batch(split, items, (32, 32), 3, 0)
    images, labels = make_batch(split, items, (32, 32), 3, 0, hflip=True)
    again_images, again_labels = make_batch(split, items, (32, 32), 3, 0, hflip=True)
    assert torch.equal(images, again_images) and torch.equal(labels, again_labels)
    flipped = [not torch.equal(images[k], plain_images[k]) for k in range(len(items))]
    assert 0 < sum(flipped) < len(items)  # some items flipped, some not
    for k, was_flipped in enumerate(flipped):  # the same crop, mirrored where flipped
        expected = plain_labels[k].flip(-1) if was_flipped else plain_labels[k]
        assert torch.equal(labels[k], expected)
        assert torch.equal(images[k], plain_images[k].flip(-1) if was_flipped else plain_images[k])
