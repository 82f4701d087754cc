import numpy as np
import pytest

from tvseg.datasets import (
    add_noise,
)


def test_gaussian_noise_statistics_and_readings():
    image = np.full((200, 200, 3), 0.5, dtype=np.float32)
    for level, reading, expected_std in ((0.05, "std", 0.05), (0.01, "variance", 0.1), (0.09, "std", 0.09)):
        noise = add_noise(image, "x", "gaussian", level, seed=0, gaussian_reading=reading) - image
        assert abs(noise.std() - expected_std) < 0.05 * expected_std
        assert abs(noise.mean()) < 0.01
    clipped = add_noise(np.ones((50, 50, 3), np.float32), "x", "gaussian", 0.5, 0)
    assert clipped.max() <= 1.0 and clipped.min() >= 0.0


@pytest.mark.parametrize(("kind", "value"), [("pepper", 0.0), ("salt", 1.0)])
def test_impulse_noise_changes_one_percent_of_pixels(kind, value):
    image = np.full((100, 120, 3), 0.5, dtype=np.float32)
    noisy = add_noise(image, "img", kind, 0.01, seed=0)
    changed = np.any(noisy != image, axis=-1)
    assert changed.sum() == 120 and np.all(noisy[changed] == value)


def test_salt_and_pepper_halves():
    image = np.full((100, 100, 3), 0.5, dtype=np.float32)
    noisy = add_noise(image, "img", "salt_pepper", 0.01, seed=0)
    assert (noisy[..., 0] == 0).sum() == 50 and (noisy[..., 0] == 1).sum() == 50


def test_noise_is_deterministic_per_image_condition_and_seed():
    image = np.random.default_rng(0).random((30, 40, 3), dtype=np.float32)
    a = add_noise(image, "001", "gaussian", 0.03, seed=0)
    assert np.array_equal(a, add_noise(image, "001", "gaussian", 0.03, seed=0))
    for other in (("002", 0.03, 0), ("001", 0.05, 0), ("001", 0.03, 1)):
        assert not np.array_equal(a, add_noise(image, other[0], "gaussian", other[1], seed=other[2]))
    with pytest.raises(ValueError, match="noise kind"):
        add_noise(image, "001", "speckle", 0.1, 0)


# ---------- SUN-RGBD on a fixture in the real layout ----------
