"""`noise`: random +-xi per pixel and channel at full resolution, the control run.

A protection should beat noise of its own strength; this is that noise (the
same L-inf norm as an L-inf UAP or PGD of budget `xi`), seeded per file.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pp_tf.protections.base import PhotoContext, Prepared, Protection, file_rng, register


@dataclasses.dataclass(frozen=True)
class NoiseSettings:
    xi: float = dataclasses.field(
        default=10.0, metadata={"help": "L-inf budget on the 0-255 scale (noise, per-photo "
                                        "attacks)."})
    seed: int = 0

    def __post_init__(self):
        if not 0 < self.xi <= 255:
            raise ValueError(f"xi must be in (0, 255], got {self.xi}")


def sign_noise(photo: np.ndarray, xi: float, rng: np.random.Generator) -> np.ndarray:
    signs = rng.integers(0, 2, photo.shape, dtype=np.int8) * 2 - 1
    return np.clip(np.rint(photo.astype(np.float32) + xi * signs), 0, 255).astype(np.uint8)


def build(settings: NoiseSettings) -> Prepared:
    def apply(photo: np.ndarray, context: PhotoContext) -> np.ndarray:
        return sign_noise(photo, settings.xi, file_rng(settings.seed, context.name))

    return Prepared(apply)


PROTECTION = register(Protection("noise", "random +-xi per pixel (the control a protection "
                                 "must beat)", NoiseSettings, build))
