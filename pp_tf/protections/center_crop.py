"""`center_crop`: keep the centred `crop_fraction` of each side (a seed-paper baseline)."""

from __future__ import annotations

import dataclasses

import numpy as np

from pp_tf.protections import _crop
from pp_tf.protections.base import Prepared, Protection, register


@dataclasses.dataclass(frozen=True)
class CenterCropSettings:
    crop_fraction: float = dataclasses.field(
        default=0.8, metadata={"help": "Side fraction kept by the crop methods."})

    def __post_init__(self):
        _crop.check_fraction(self.crop_fraction)


def center_crop(photo: np.ndarray, fraction: float) -> np.ndarray:
    height, width = photo.shape[:2]
    h, w = _crop.window_size(height, width, fraction)
    top, left = (height - h) // 2, (width - w) // 2
    return photo[top:top + h, left:left + w].copy()


def build(settings: CenterCropSettings) -> Prepared:
    return Prepared(lambda photo, _: center_crop(photo, settings.crop_fraction))


PROTECTION = register(Protection("center_crop", "keep the centred crop_fraction of each side",
                                 CenterCropSettings, build))
