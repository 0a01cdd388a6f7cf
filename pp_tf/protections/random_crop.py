"""`random_crop`: keep a `crop_fraction` window at a random position, seeded per file."""

from __future__ import annotations

import dataclasses

import numpy as np

from pp_tf.protections import _crop
from pp_tf.protections.base import PhotoContext, Prepared, Protection, file_rng, register


@dataclasses.dataclass(frozen=True)
class RandomCropSettings:
    crop_fraction: float = 0.8
    seed: int = dataclasses.field(
        default=0, metadata={"help": "Seed of the random methods (mixed with each file name)."})

    def __post_init__(self):
        _crop.check_fraction(self.crop_fraction)


def random_crop(photo: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    height, width = photo.shape[:2]
    h, w = _crop.window_size(height, width, fraction)
    top = int(rng.integers(0, height - h + 1))
    left = int(rng.integers(0, width - w + 1))
    return photo[top:top + h, left:left + w].copy()


def build(settings: RandomCropSettings) -> Prepared:
    def apply(photo: np.ndarray, context: PhotoContext) -> np.ndarray:
        return random_crop(photo, settings.crop_fraction, file_rng(settings.seed, context.name))

    return Prepared(apply)


PROTECTION = register(Protection("random_crop", "keep a crop_fraction window at a seeded "
                                 "random position", RandomCropSettings, build))
