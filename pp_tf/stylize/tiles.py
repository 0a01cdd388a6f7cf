"""Sizes and blended tiles: downscaling, the generators' 4-pixel grid, and tiles that
overlap and are blended by linear ramps (`stylize_tiled`), for a generator without the
seamless stages."""

from __future__ import annotations

import numpy as np
from PIL import Image

from pp_tf.stylize.generators import Generate, to_uint8, to_unit

MIN_SIDE = 8  # two halvings, then a reflection pad of 1 needs 2 pixels; smaller photos are enlarged
GRID = 4  # the generators' total stride


def downscale(pixels: np.ndarray, max_side: int | None) -> np.ndarray:
    """`pixels` with its longer side at most `max_side` (Lanczos), aspect kept."""
    height, width = pixels.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return pixels
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.LANCZOS))


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Starts of tiles of `tile` pixels covering `length`, stepping by `tile - overlap`.

    The last tile ends at `length` (it may overlap its neighbour by more).
    With `length`, `tile` and `overlap` multiples of 4, every start is one too.
    """
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile - overlap))
    return starts + [length - tile]


def ramp(size: int, overlap: int, rise: bool, fall: bool) -> np.ndarray:
    """1-D blending weight of a tile: linear over `overlap` pixels at a side that borders a tile.

    Weights are (i + 0.5) / overlap at distance i from that side, so they are
    positive everywhere and two ramps of equal overlap sum to 1.
    """
    weight = np.ones(size, np.float32)
    if overlap:
        edge = (np.arange(size, dtype=np.float32) + 0.5) / overlap
        if rise:
            weight = np.minimum(weight, edge)
        if fall:
            weight = np.minimum(weight, edge[::-1])
    return weight


def pad_to_grid(values: np.ndarray) -> np.ndarray:
    height, width = values.shape[:2]
    return np.pad(values, [(0, -height % GRID), (0, -width % GRID), (0, 0)], mode="reflect")


def stylize_tiled(generate: Generate, pixels: np.ndarray, tile_size: int, overlap: int,
                  batch_size: int = 1) -> np.ndarray:
    """Stylises one uint8 RGB photo `[height, width, 3]` tile by tile (see the module doc).

    Returns:
        uint8 RGB of the input's size.
    """
    height, width = pixels.shape[:2]
    values = pad_to_grid(to_unit(pixels))
    padded_height, padded_width = values.shape[:2]
    tile_h, tile_w = min(tile_size, padded_height), min(tile_size, padded_width)
    rows = tile_starts(padded_height, tile_h, overlap)
    cols = tile_starts(padded_width, tile_w, overlap)
    total = np.zeros(values.shape, np.float32)
    weights = np.zeros(values.shape[:2] + (1,), np.float32)
    boxes = [(top, left) for top in rows for left in cols]
    for first in range(0, len(boxes), batch_size):
        chunk = boxes[first:first + batch_size]
        tiles = np.stack([values[t:t + tile_h, l:l + tile_w] for t, l in chunk])
        outputs = generate(tiles)
        for (top, left), output in zip(chunk, outputs):
            weight = np.outer(
                ramp(tile_h, overlap, top > 0, top + tile_h < padded_height),
                ramp(tile_w, overlap, left > 0, left + tile_w < padded_width))[..., None]
            total[top:top + tile_h, left:left + tile_w] += output * weight
            weights[top:top + tile_h, left:left + tile_w] += weight
    return to_uint8(total[:height, :width] / weights[:height, :width])
