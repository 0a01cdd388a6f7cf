"""One photo (whole, seamless tiles or blended tiles, by its size and the generator) and
the folder run, under the batch policy of `pp_tf.batch`."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from pp_tf import batch
from pp_tf.stylize.generators import Generate, Generator, to_uint8, to_unit
from pp_tf.stylize.seamless_tiles import stylize_seamless
from pp_tf.stylize.tiles import GRID, MIN_SIDE, downscale, stylize_tiled

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StylizeConfig:
    """How photos are sized and cut.

    Attributes:
        max_side: downscale photos whose longer side exceeds it (None: never).
        tile_size: photos with a side longer than this are tiled; a multiple of 4.
        overlap: pixels shared by neighbouring tiles; a multiple of 4, less
            than half the tile.
        batch_size: photos (or tiles) of one size per generator call.
    """

    max_side: int | None = dataclasses.field(
        default=None, metadata={"help": "Downscale photos whose longer side exceeds it."})
    tile_size: int = dataclasses.field(
        default=512, metadata={"help": "Larger photos are processed in tiles of this size "
                                       "(a multiple of 4)."})
    overlap: int = dataclasses.field(
        default=32, metadata={"help": "Pixels shared by neighbouring tiles, blended linearly, "
                                      "with a generator exported without whole-photo "
                                      "statistics (a multiple of 4)."})
    batch_size: int = dataclasses.field(
        default=2, metadata={"help": "Photos of one size (or tiles) per generator call. 2 keeps "
                                     "a 12 MP photo under 4 GiB with the Winograd "
                                     "convolutions (3.7 GiB; 4 tiles: 4.4 GiB)."})

    def __post_init__(self):
        if self.tile_size < 2 * MIN_SIDE or self.tile_size % GRID:
            raise ValueError(f"tile_size must be a multiple of {GRID} and at least "
                             f"{2 * MIN_SIDE}, got {self.tile_size}")
        if self.overlap < 0 or self.overlap % GRID or 2 * self.overlap >= self.tile_size:
            raise ValueError(f"overlap must be a multiple of {GRID} below half the tile size "
                             f"({self.tile_size}), got {self.overlap}")
        if self.max_side is not None and self.max_side < MIN_SIDE:
            raise ValueError(f"max_side must be at least {MIN_SIDE}, got {self.max_side}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")



def stylize_batch(generate: Generate, pixels: np.ndarray) -> np.ndarray:
    """Stylises uint8 RGB photos of one size `[batch, height, width, 3]`, whole."""
    return to_uint8(generate(to_unit(pixels)))


def stylize_small(generate: Generate, pixels: np.ndarray) -> np.ndarray:
    """A photo with a side under MIN_SIDE: enlarged by an integer factor (nearest),
    stylised, and averaged back down block by block to its own size."""
    height, width = pixels.shape[:2]
    factor = -(-MIN_SIDE // min(height, width))
    large = np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)
    styled = stylize_batch(generate, large[None])[0].astype(np.float32)
    blocks = styled.reshape(height, factor, width, factor, 3).mean(axis=(1, 3))
    return np.clip(np.round(blocks), 0, 255).astype(np.uint8)


def stylize_image(generate: Generate, pixels: np.ndarray, config: StylizeConfig) -> np.ndarray:
    """One uint8 RGB photo, already downscaled: whole if it fits a tile, else tiled."""
    if min(pixels.shape[:2]) < MIN_SIDE:
        return stylize_small(generate, pixels)
    if max(pixels.shape[:2]) <= config.tile_size:
        return stylize_batch(generate, pixels[None])[0]
    if isinstance(generate, Generator) and generate.seamless:
        return stylize_seamless(generate, pixels, config.tile_size, config.batch_size)
    if isinstance(generate, Generator):
        _log.warning("this generator export has no 'run_stage' function "
                     "(exported before it existed): large photos are tiled with blended "
                     "seams, each tile normalised by its own statistics; export it again "
                     "for whole-photo results")
    return stylize_tiled(generate, pixels, config.tile_size, config.overlap, config.batch_size)



def stylize_folder(generate: Generate, input_dir: str, output_dir: str, config: StylizeConfig,
                   *, overwrite: bool = False, jpeg_quality: int = 95,
                   progress: bool = True) -> batch.BatchLog:
    """Stylises every photo of `input_dir` into `output_dir`, in each input's format.

    Photos that fit a tile are batched with others of their size; larger ones
    are tiled one by one. The batch policy is `pp_tf.batch`'s.

    Raises:
        ImageError: `input_dir` is not a folder, or `output_dir` is inside it.
    """
    run = batch.FolderRun("stylize", input_dir, output_dir, overwrite=overwrite,
                          jpeg_quality=jpeg_quality, progress=progress)
    pending: dict[tuple[int, int], list[tuple[batch.Task, np.ndarray]]] = {}

    def run_group(items):
        try:
            stylized = stylize_batch(generate, np.stack([pixels for _, pixels in items]))
        except Exception as error:  # noqa: BLE001 - a failed group must not stop the batch
            for task, _ in items:
                run.log.fail(task.path, f"generator failed ({batch.describe_error(error)})")
            return
        for (task, _), image in zip(items, stylized):
            run.save(task, image)

    for task in run.pending():
        photo = run.read(task)
        if photo is None:
            continue
        pixels = downscale(photo, config.max_side)
        if max(pixels.shape[:2]) > config.tile_size or min(pixels.shape[:2]) < MIN_SIDE:
            try:
                stylized = stylize_image(generate, pixels, config)
            except Exception as error:  # noqa: BLE001 - one bad photo must not stop the batch
                run.log.fail(task.path, f"generator failed ({batch.describe_error(error)})")
                continue
            run.save(task, stylized)
            continue
        group = pending.setdefault(pixels.shape[:2], [])
        group.append((task, pixels))
        if len(group) == config.batch_size:
            run_group(pending.pop(pixels.shape[:2]))
        elif sum(map(len, pending.values())) >= 4 * config.batch_size:
            # Many sizes waiting: bound the memory held by partial batches.
            for size in list(pending):
                run_group(pending.pop(size))
    for size in list(pending):
        run_group(pending.pop(size))
    return run.finish({**dataclasses.asdict(config), "overwrite": overwrite,
                       "jpeg_quality": jpeg_quality})
