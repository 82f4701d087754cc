"""Seeded image noise of the paper's section 4, on intensities in [0, 1].

Every function is deterministic given (image id, noise kind, level, seed): the random stream is
drawn from a SHA-256 of those four values, so a condition gives the same noisy image in any
process, order or machine.

``gaussian_reading`` says what the paper's sigma means: ``"std"`` (a standard deviation, as the
text says) or ``"variance"`` (MATLAB ``imnoise``'s convention, standard deviation sqrt(sigma)),
which the measurements in ``results/README.md`` suggest the paper used.
"""

from __future__ import annotations

import hashlib

import numpy as np

NOISE_KINDS = ("clean", "gaussian", "pepper", "salt", "salt_pepper")
GAUSSIAN_READINGS = ("std", "variance")


def noise_rng(image_id: str, kind: str, level: float, seed: int) -> np.random.Generator:
    key = f"{image_id}|{kind}|{float(level)!r}|{int(seed)}".encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:16], "little"))


def gaussian_std(level: float, reading: str) -> float:
    if reading not in GAUSSIAN_READINGS:
        raise ValueError(f"gaussian_reading must be one of {GAUSSIAN_READINGS}; got {reading!r}")
    return float(np.sqrt(level)) if reading == "variance" else float(level)


def add_noise(
    image: np.ndarray, image_id: str, kind: str, level: float, seed: int, gaussian_reading: str = "std"
) -> np.ndarray:
    """A noisy copy of ``image`` (H, W, C) float in [0, 1].

    * ``gaussian``: zero-mean gaussian noise, independently per pixel and channel, then clipped.
    * ``pepper`` / ``salt``: a fraction ``level`` of the pixels (all channels) set to 0 / 1.
    * ``salt_pepper``: a fraction ``level`` of the pixels changed, half to 0 and half to 1.
    * ``clean``: the image unchanged.
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"noise kind must be one of {NOISE_KINDS}; got {kind!r}")
    if level < 0:
        raise ValueError(f"noise level must be >= 0; got {level}")
    image = np.asarray(image, dtype=np.float32)
    if kind == "clean" or level == 0:
        return image.copy()
    rng = noise_rng(image_id, kind, level, seed)
    if kind == "gaussian":
        noise = rng.normal(0.0, gaussian_std(level, gaussian_reading), size=image.shape).astype(np.float32)
        return np.clip(image + noise, 0.0, 1.0)
    h, w = image.shape[:2]
    count = int(round(level * h * w))
    chosen = rng.choice(h * w, size=count, replace=False)
    noisy = image.copy().reshape(h * w, -1)
    if kind == "pepper":
        noisy[chosen] = 0.0
    elif kind == "salt":
        noisy[chosen] = 1.0
    else:
        noisy[chosen[: count // 2]] = 0.0
        noisy[chosen[count // 2 :]] = 1.0
    return noisy.reshape(image.shape)


def to_unit(image_u8: np.ndarray) -> np.ndarray:
    return np.asarray(image_u8, dtype=np.float32) / 255.0


def to_u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
