import numpy as np


def test_network_input_is_the_host_normalisation_bit_for_bit():
    # to_input converts on the device; the values must be those every trained run saw, which
    # were normalised on the host in numpy (float32 throughout)
    import torch

    from tvseg.datasets.inputs import MEAN, STD, to_input

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 17, 13, 3), dtype=np.uint8)
    unit = rng.random((2, 9, 11, 3))  # float64 in [0, 1], as the evaluation's noisy images
    mean, std = np.asarray(MEAN, dtype=np.float32), np.asarray(STD, dtype=np.float32)
    for images, scaled in ((pixels, pixels.astype(np.float32) / 255.0), (unit, unit.astype(np.float32))):
        host = torch.from_numpy(((scaled - mean) / std).transpose(0, 3, 1, 2).copy())
        made = to_input(images)
        assert made.dtype == torch.float32 and made.is_contiguous() and torch.equal(made, host)
    read_only = pixels.copy()
    read_only.flags.writeable = False  # a memory-mapped prepared split
    assert torch.equal(to_input(read_only), to_input(pixels))
