"""Putting a perturbation learned at the attacker's input resolution onto a photo.

A UAP `v` is `[224, 224, 3]` in the classifier's view: the photo resized so
that its shorter side is 256, then centre-cropped to 224. In the photo's own
coordinates that view is the centred square of side `224 / 256 * min(h, w)`.

Placements:
* `"crop"`: `v` is resampled to that square and added there; the rest of the
  photo is untouched. Exactly what the attacker sees, and nothing more.
* `"tile"`: `v` is resampled to that square's size and tiled over the whole
  photo, with one tile on the square. The attacker's view is identical, and a
  different crop or a re-centred resize still meets the pattern.

The photo keeps its size; the sum is rounded and clipped to 0-255. Rows are
processed in strips so that a 50-megapixel photo needs no full-size float copy.
"""

from __future__ import annotations

import typing
from typing import Literal

import numpy as np
import tensorflow as tf

from pp_tf.models import preprocessing

Placement = Literal["crop", "tile"]
PLACEMENTS = typing.get_args(Placement)
_STRIP_ROWS = 512


def attacker_square(height: int, width: int, view: preprocessing.View = preprocessing.DEFAULT_VIEW):
    """(top, left, side) of the square of the photo that the attacker's view covers."""
    side = max(int(round(view.crop_size * min(height, width) / view.resize_size)), 1)
    side = min(side, height, width)
    return (height - side) // 2, (width - side) // 2, side


def resample(perturbation: np.ndarray, side: int) -> np.ndarray:
    """`v` resized to `side x side` (bilinear; antialiased when shrinking)."""
    if perturbation.shape[0] == side and perturbation.shape[1] == side:
        return np.asarray(perturbation, np.float32)
    return tf.image.resize(np.asarray(perturbation, np.float32)[None], (side, side),
                           method="bilinear", antialias=True).numpy()[0]


def apply_perturbation(photo: np.ndarray, perturbation: np.ndarray,
                       placement: Placement = "tile", strength: float = 1.0,
                       view: preprocessing.View = preprocessing.DEFAULT_VIEW) -> np.ndarray:
    """Returns `photo` (uint8 `[h, w, 3]`) with `strength * perturbation` added, where
    `perturbation` was made for the attacker `view`."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    height, width = photo.shape[:2]
    top, left, side = attacker_square(height, width, view)
    pattern = resample(perturbation, side) * np.float32(strength)
    out = np.array(photo, dtype=np.uint8, copy=True)
    if placement == "crop":
        region = out[top:top + side, left:left + side].astype(np.float32) + pattern
        out[top:top + side, left:left + side] = np.clip(np.rint(region), 0, 255).astype(np.uint8)
        return out
    columns = (np.arange(width) - left) % side
    for start in range(0, height, _STRIP_ROWS):
        rows = (np.arange(start, min(start + _STRIP_ROWS, height)) - top) % side
        strip = out[start:start + len(rows)].astype(np.float32)
        strip += pattern[rows][:, columns]
        out[start:start + len(rows)] = np.clip(np.rint(strip), 0, 255).astype(np.uint8)
    return out


def perturb(images, perturbation, placement: str = "tile", strength: float = 1.0,
            view: preprocessing.View = preprocessing.DEFAULT_VIEW):
    """TF twin of `apply_perturbation` for a batch of one size (what serving exports)."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    shorter = tf.cast(tf.minimum(height, width), tf.float32)
    side = tf.cast(tf.round(view.crop_size * shorter / view.resize_size), tf.int32)
    side = tf.clip_by_value(side, 1, tf.minimum(height, width))
    top, left = (height - side) // 2, (width - side) // 2
    v = tf.convert_to_tensor(perturbation, tf.float32)
    pattern = tf.image.resize(v[None], tf.stack([side, side]), antialias=True)[0] * strength
    if placement == "tile":
        rows = tf.math.floormod(tf.range(height) - top, side)
        cols = tf.math.floormod(tf.range(width) - left, side)
        full = tf.gather(tf.gather(pattern, rows, axis=0), cols, axis=1)
    elif placement == "crop":
        full = tf.pad(pattern, [[top, height - top - side], [left, width - left - side], [0, 0]])
    else:
        raise ValueError(f"placement must be 'tile' or 'crop', got {placement!r}")
    out = tf.round(tf.cast(images, tf.float32) + full[None])
    return tf.cast(tf.clip_by_value(out, 0.0, 255.0), tf.uint8)
