"""The image-cost measures of a protected photo against its original, as `evaluate`, the
report, `protect.json` and the quality gate use them.

Both are scored at half size (antialiased bilinear; never below 256 px on the shorter side,
so that SSIMULACRA2 has its six scales, nor above 3 MP, a 12 MP photo's half size), where a
person looks at a photo on a screen, after `color_undo` has taken away the best global colour
map:

* `ssimulacra2`: colour-undone SSIMULACRA2 (90 visually lossless, 70 high quality, 50
  medium; the gate's measure);
* `gmsd`: colour-undone GMSD (0 for a copy; structure lost or added);

Both are None for a photo whose size changed (a crop has no pixel-aligned original) and
for one under 8 px a side. `naturalness` needs no original: BRISQUE (lower is more
natural) for originals and protected photos alike, at the photo's own pixels (`naturalness`
says why).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from pp_tf.quality import brisque
from pp_tf.quality.color_undo import undo_color
from pp_tf.quality.gmsd import gmsd
from pp_tf.quality.ssimulacra2 import NUM_SCALES, reference_scales, ssimulacra2_against

SCALE = 0.5  # the size photos are scored at, relative to the original
MIN_SIDE = 256  # SSIMULACRA2's six scales need a shorter side of 256 px
# Larger photos are scored at this many pixels, as a screen shows them: the scoring's memory
# (colour undo, SSIMULACRA2's maps) grows with them, 6.3 GiB for a 50 MP photo at half size.
MAX_PIXELS = 3_000_000


def scored_size(shape) -> tuple[int, int]:
    """(h, w) a photo of `shape` is scored at: half size, at most `MAX_PIXELS`, but the
    shorter side no less than `MIN_SIDE` (nor more than the photo's own), so every photo of
    256 px or more gets all six SSIMULACRA2 scales."""
    height, width = shape[:2]
    scale = min(SCALE, (MAX_PIXELS / (height * width)) ** 0.5)
    scale = min(1.0, max(scale, MIN_SIDE / min(height, width)))
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


def at_scored_size(photo) -> tf.Tensor:
    """uint8 or float `[h, w, 3]` -> float32 `[1, h', w', 3]` at `scored_size` (0-255); the
    size may be known only when it runs (a TF Serving graph)."""
    # Resized as it is (a uint8 photo is not first copied as float32: 600 MB at 50 MP);
    # the resize returns float32 either way.
    image = tf.convert_to_tensor(photo)[None]
    if image.shape[1:3].is_fully_defined():
        size = scored_size(image.shape[1:3])
        if size == tuple(image.shape[1:3]):
            return tf.cast(image, tf.float32)
        return tf.image.resize(image, size, method="bilinear", antialias=True)
    shape = tf.cast(tf.shape(image)[1:3], tf.float64)
    one, half = tf.constant(1.0, tf.float64), tf.constant(SCALE, tf.float64)
    scale = tf.minimum(half, tf.sqrt(MAX_PIXELS / tf.reduce_prod(shape)))
    scale = tf.minimum(one, tf.maximum(scale, MIN_SIDE / tf.reduce_min(shape)))
    size = tf.maximum(1, tf.cast(tf.round(shape * scale), tf.int32))
    return tf.image.resize(image, size, method="bilinear", antialias=True)


_IMAGES = tf.TensorSpec([None, None, None, 3], tf.float32)
_SCALES = ((_IMAGES,) * 3,) * NUM_SCALES


@dataclasses.dataclass(frozen=True)
class ScoredReference:
    """An original at the scored size (float `[1, h, w, 3]`, 0-255) and its part of every
    SSIMULACRA2 scale: made once (`scored_reference`), it scores any number of candidates
    (`scores_against`), as the quality gate's search does; about a third of a scoring's
    SSIMULACRA2 time is the reference's."""

    image: tf.Tensor
    scales: tuple


@tf.function(input_signature=[_IMAGES])
def _reference_scales(reference):
    return reference_scales(reference)


def scored_reference(original) -> ScoredReference:
    """`original` (uint8 or float `[h, w, 3]`) at `scored_size`, ready to score against."""
    image = at_scored_size(original)
    return ScoredReference(image, _reference_scales(image))


@tf.function(input_signature=[_IMAGES, _SCALES, _IMAGES])
def _scores(reference, scales, distorted):
    reference = tf.broadcast_to(reference, tf.shape(distorted))
    undone = undo_color(reference, distorted)
    return ssimulacra2_against(scales, undone), gmsd(reference, undone)


def scores_against(reference: ScoredReference, distorted):
    """Colour-undone (SSIMULACRA2, GMSD) `([b], [b])` of float `[b, h, w, 3]` images (0-255)
    already at the scored size, against `reference`."""
    return _scores(reference.image, reference.scales, distorted)


@dataclasses.dataclass(frozen=True)
class PhotoQuality:
    """What a person would see of the change: colour-undone SSIMULACRA2 and GMSD."""

    ssimulacra2: float
    gmsd: float


def not_measured(original: np.ndarray, protected: np.ndarray) -> str | None:
    """Why `protected` cannot be scored against `original`, or None when it can."""
    if np.shape(original) != np.shape(protected):
        return "its size differs from the original's"
    if min(np.shape(original)[:2]) < 8:
        return "smaller than 8 px"
    return None


def photo_quality(original: np.ndarray, protected: np.ndarray) -> PhotoQuality | None:
    """The quality of `protected` against `original` (uint8 `[h, w, 3]`), or None when it
    cannot be measured (`not_measured`)."""
    if not_measured(original, protected):
        return None
    score, structure = scores_against(scored_reference(original), at_scored_size(protected))
    return PhotoQuality(ssimulacra2=float(score[0]), gmsd=float(structure[0]))


# BRISQUE reads a photo's own pixels: at half size, Gaussian noise of sigma 4-16 added at full
# size lowered its median on the calibration photos (read as texture once averaged), where at
# full size it rises with sigma (BUILD_NOTES, "Quality measures"). A photo of more than this
# many pixels is scored as the mean of `NATURALNESS_TILES` tiles of `NATURALNESS_TILE` px
# at its own resolution, spread over it (2.4 MP scored, about 0.6 s).
NATURALNESS_PIXELS = 2_000_000
NATURALNESS_TILE = 512
NATURALNESS_TILES = 3  # a side: 3 x 3 tiles


def naturalness_tiles(shape) -> list[tuple[int, int]]:
    """Top-left corners of the tiles `naturalness` scores a photo of `shape` by (none when
    the whole photo is scored)."""
    height, width = shape[:2]
    if height * width <= NATURALNESS_PIXELS:
        return []
    tile = NATURALNESS_TILE
    rows = np.linspace(0, max(height - tile, 0), NATURALNESS_TILES).round().astype(int)
    columns = np.linspace(0, max(width - tile, 0), NATURALNESS_TILES).round().astype(int)
    return [(int(y), int(x)) for y in rows for x in columns]


def naturalness(photo: np.ndarray) -> float | None:
    """BRISQUE of a uint8 `[h, w, 3]` photo at its own resolution (lower: more natural): of
    the whole photo up to `NATURALNESS_PIXELS`, else the mean over `naturalness_tiles`.
    None for a photo under `brisque.MIN_SIDE` a side or one without contrast."""
    if min(np.shape(photo)[:2]) < brisque.MIN_SIDE:
        return None
    tile = NATURALNESS_TILE
    parts = [photo[y:y + tile, x:x + tile] for y, x in naturalness_tiles(photo.shape)]
    try:
        return float(np.mean([brisque.brisque(part) for part in parts or [photo]]))
    except ValueError:  # flat: nothing to fit
        return None
