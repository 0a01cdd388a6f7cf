"""Seamless tiles: the generator run stage by stage over the whole photo, tile by
tile, each norm given the statistics of the whole stage input (`stylize_seamless`; the
package docstring says why)."""

from __future__ import annotations

import numpy as np

from pp_tf import seamless
from pp_tf.stylize.generators import Generator, to_uint8, to_unit
from pp_tf.stylize.tiles import pad_to_grid


def seamless_boxes(length: int, tile: int, halo: int) -> list[tuple[int, int, int]]:
    """(start of the input tile, start, end of its own part) along one side of `length` pixels.

    Own parts are consecutive `tile`-pixel cuts covering `length`; input tiles
    all have `min(tile + 2 halo, length)` pixels, with at least `halo` pixels
    of context on each side of the own part that is not an image edge.
    """
    size = min(tile + 2 * halo, length)
    return [(min(max(start - halo, 0), length - size), start, min(start + tile, length))
            for start in range(0, length, tile)]


def _combine(counts, means, variances):
    """Whole-image mean and biased variance from per-region ones `[regions, channels]` (float64)."""
    counts, means, variances = (np.asarray(a, np.float64) for a in (counts, means, variances))
    total = counts.sum(0)
    mean = (counts * means).sum(0) / total
    variance = (counts * (variances + np.square(means - mean))).sum(0) / total
    return mean, variance


def _run_stage(generator: Generator, stage: seamless.StageGeometry, values: np.ndarray, tile_size: int,
               batch_size: int) -> np.ndarray:
    """One stage over a whole image `[height, width, channels]`, tile by tile, exactly."""
    height, width = values.shape[:2]
    side = max(stage.grid, int(tile_size * stage.tile_scale) // stage.grid * stage.grid)
    boxes = [(row, col) for row in seamless_boxes(height, side, stage.halo)
             for col in seamless_boxes(width, side, stage.halo)]
    size_h, size_w = min(side + 2 * stage.halo, height), min(side + 2 * stage.halo, width)
    total = sum(stage.norm_channels)
    means, variances = np.zeros(total, np.float32), np.ones(total, np.float32)
    offset, output = 0, None
    for j in range(len(stage.norm_channels) + 1):
        reports = []
        for first in range(0, len(boxes), batch_size):
            chunk = boxes[first:first + batch_size]
            tiles = np.stack([values[top:top + size_h, left:left + size_w]
                              for (top, _, _), (left, _, _) in chunk])
            window = [(row0 - top, col0 - left, row1 - top, col1 - left)
                      for (top, row0, row1), (left, col0, col1) in chunk]
            result = generator.run_stage(tiles, stage.first_branch + j, means, variances, window)
            if j < len(stage.norm_channels):
                reports.append((result["counts"], result["means"], result["variances"]))
                continue
            if output is None:
                output = np.empty((height * stage.up // stage.down, width * stage.up // stage.down,
                                   result["images"].shape[-1]), np.float32)
            scale = lambda position: position * stage.up // stage.down  # noqa: E731
            for ((top, row0, row1), (left, col0, col1)), image in zip(chunk, result["images"]):
                output[scale(row0):scale(row1), scale(col0):scale(col1)] = image[
                    scale(row0 - top):scale(row1 - top), scale(col0 - left):scale(col1 - left)]
        if j < len(stage.norm_channels):
            channels = stage.norm_channels[j]
            mean, variance = _combine(*(np.concatenate(parts) for parts in zip(*reports)))
            means[offset:offset + channels], variances[offset:offset + channels] = mean, variance
            offset += channels
    return output


def stylize_seamless(generator: Generator, pixels: np.ndarray, tile_size: int,
                     batch_size: int = 1) -> np.ndarray:
    """Stylises one uint8 RGB photo `[height, width, 3]` tile by tile, as a whole-photo
    run would (see the module doc and `pp_tf.seamless`).

    Returns:
        uint8 RGB of the input's size.
    """
    height, width = pixels.shape[:2]
    values = pad_to_grid(to_unit(pixels))
    for stage in generator.stages:
        values = _run_stage(generator, stage, values, tile_size, batch_size)
    return to_uint8(values[:height, :width])
