"""Photo stylisation with a ported generator, folder in, folder out.

A generator is used through one function, `generate`: float32 RGB in [-1, 1]
`[batch, height, width, 3]` -> the same, of the same size (the `generate`
signature of a `pp_tf.export.StylizerModule`, which pads to a multiple of 4
and handles BGR generators). `load_generator` returns a `Generator`: that
function, plus the module's `run_stage` function for seamless tiles.

Photos whose sides both fit in `tile_size` go through whole, batched with
photos of the same size. Larger photos are processed tile by tile (a
4000x3000 photo at full resolution would need several GiB per activation).
The image is first reflect-padded to a multiple of 4 so that every tile starts
on the generators' 4-pixel grid.

**Seamless tiles** (`stylize_seamless`, the default for a `Generator` with
stages: every generator built here or exported since `run_stage` exists). Both
CycleGAN and CartoonGAN normalise each channel by its mean and variance over
the whole input (instance norm), so a tile run alone is normalised by the
wrong statistics. `pp_tf.seamless` cuts the generator into stages at its 1/4
resolution trunk; each stage runs over the whole photo tile by tile, tiles
having a halo of context as wide as the stage's receptive field, with one
pass per norm summing that norm's input statistics over the tiles (the
earlier norms being given theirs), then one pass writing the stage's output
with every statistic given. The result is the whole-photo result (to float
rounding), at about 2.5 forward passes (`docs/notes/perf.md`). A photo of
H x W holds two 1/4-resolution trunk activations (for the published models
256 channels: 2 x 0.77 GB at 12 MP).

**Blended tiles** (`stylize_tiled`, for a plain `Generate` function, or an
old SavedModel without the `run_stage` function, with a warning): tiles of
`tile_size` overlapping by `overlap` pixels, each output weighted by a linear
ramp over its `overlap` pixels at every side that borders another tile, the
weighted outputs summed and divided by the summed weights. Exact away from
the seams for a generator without instance norm; with instance norm each tile
is normalised by its own statistics, so the result differs from a whole-image
one everywhere, mostly in tone.

Folder runs follow the batch policy of `pp_tf.batch` (the runner `protect` and
`evaluate` use too): a file that fails is reported (stderr, and `errors.json`
in the output folder) and the run goes on; existing outputs are kept unless
`overwrite`; the manifest is `stylize.json`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from pp_tf import batch, seamless, winograd
from pp_tf.gan.precision import policy_scope

MIN_SIDE = 8  # two halvings, then a reflection pad of 1 needs 2 pixels; smaller photos are enlarged
GRID = 4  # the generators' total stride

Generate = Callable[[np.ndarray], np.ndarray]

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


# ------------------------------------------------------------------ generators
@dataclasses.dataclass(frozen=True)
class StageInfo(seamless.StageGeometry):
    """One row of a stylizer's `stage_table`: a stage's geometry and the `run_stage`
    branch of its first pass."""

    first_branch: int


class Generator:
    """A stylizer's functions (float32 RGB in [-1, 1], NHWC).

    Calling it is `generate` (a `Generate`). `stages` describe its
    `run_stage` function (`pp_tf.export.StylizerModule`), or are None for an
    export that lacks it; then large photos fall back to blended tiles.
    """

    def __init__(self, generate, run_stage=None, stages=None, keep=None):
        self._generate = generate
        self._run_stage = run_stage
        self.stages = stages
        self.keep = keep  # the module or SavedModel holding the variables

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._generate(images=tf.constant(images, tf.float32))["images"].numpy()

    @property
    def seamless(self) -> bool:
        return self.stages is not None

    def run_stage(self, images, branch, means, variances, window) -> dict[str, np.ndarray]:
        outputs = self._run_stage(
            images=tf.constant(images, tf.float32), branch=tf.constant(branch, tf.int32),
            means=tf.constant(means, tf.float32), variances=tf.constant(variances, tf.float32),
            window=tf.constant(window, tf.int32))
        return {key: value.numpy() for key, value in outputs.items()}

    @classmethod
    def from_module(cls, module) -> "Generator":
        """From a `StylizerModule` or a loaded stylizer SavedModel."""
        signatures = module.signatures
        if callable(signatures):  # a StylizerModule: signatures() is a method
            signatures = signatures()
        if "generate" not in signatures:
            raise ValueError(f"not a stylizer (no 'generate' signature; it has "
                             f"{sorted(signatures)})")
        if not hasattr(module, "run_stage"):
            return cls(signatures["generate"], keep=module)
        channels = [int(c) for c in module.norm_channels.numpy()]
        stages = []
        for first, norms, halo, grid, up, down, tile_scale in module.stage_table.numpy().tolist():
            stages.append(StageInfo(norm_channels=tuple(channels[:norms]), halo=halo, grid=grid,
                                    up=up, down=down, tile_scale=tile_scale / 1e6,
                                    first_branch=first))
            channels = channels[norms:]
        return cls(signatures["generate"], module.run_stage, stages, module)


PRECISIONS = ("float32", "bfloat16")
CONVOLUTIONS = ("auto", "winograd", "direct")


def _resolve(convolutions: str) -> str:
    """`winograd` or `direct` for a `convolutions` setting (`auto`: Winograd without a GPU)."""
    if convolutions not in CONVOLUTIONS:
        raise ValueError(f"convolutions must be one of {CONVOLUTIONS}, got {convolutions!r}")
    if convolutions == "auto":
        return "direct" if tf.config.list_physical_devices("GPU") else "winograd"
    return convolutions


def rebuild_saved_generator(folder: str) -> tuple[keras.Model, str] | None:
    """(the Keras generator, its channel order) inside a stylizer SavedModel, or None.

    A `port_weights` export holds its generator's variables under `model/`,
    in the layout of the architecture's builder: the generator is rebuilt by
    the stylizer architecture whose variables are the same in number and
    shape, and restored from the folder. None when no architecture fits (a
    generator trained with other widths, or an older layout).
    """
    from pp_tf import models

    checkpoint = os.path.join(folder, "variables", "variables")
    try:
        saved = [name for name, _ in tf.train.list_variables(checkpoint)
                 if name.startswith("model/")]
        channel_order = tf.train.load_variable(
            checkpoint, "channel_order/.ATTRIBUTES/VARIABLE_VALUE").decode()
    except (tf.errors.OpError, ValueError):
        return None
    for arch in models.ARCHITECTURES.values():
        if arch.kind != "stylizer" or arch.channel_order != channel_order:
            continue
        model = arch.build()
        if len(model.weights) != len(saved):
            continue
        try:
            tf.train.Checkpoint(model=model).read(checkpoint).assert_existing_objects_matched()
        except (AssertionError, ValueError):
            continue
        return model, channel_order
    return None


def build_generator_model(build: Callable[[], keras.Model], precision: str = "float32",
                          convolutions: str = "auto"):
    """`build()` under a compute precision, with its 3x3 convolutions for inference.

    Args:
        build: returns the generator, weights loaded.
        precision: float32, or bfloat16 (variables and instance norms stay
            float32; the output is bfloat16, so cast it).
        convolutions: `winograd` computes the float32 3x3 stride-1 convolutions
            of 128 channels or more (the residual blocks) by Winograd F(4, 3)
            (`pp_tf.winograd`: about 1.6x faster generators on a CPU, within a
            grey level); `direct` keeps
            TensorFlow's; `auto` is `winograd` unless a GPU is visible (cuDNN
            picks its own algorithms there). bfloat16 layers stay direct.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    convolutions = _resolve(convolutions)
    if precision == "float32":
        model = build()
    else:
        with policy_scope("mixed_bfloat16"):
            model = build()
    return winograd.for_inference(model) if convolutions == "winograd" else model


def load_generator(generator: str, weights: str | None = None,
                   precision: str = "float32", convolutions: str = "auto") -> Generator:
    """The functions of a port_weights SavedModel folder or of an architecture.

    Args:
        generator: a SavedModel folder written by `port_weights` for a stylizer
            architecture, or the name of one (`cyclegan_resnet9`, `cartoongan`).
        weights: with an architecture name, its published weight file.
        precision: with an architecture name, `float32` or `bfloat16`
            (convolutions in bfloat16, norms and outputs in float32: about
            1.6x faster on a CPU with AVX512-BF16, within a few grey levels;
            `docs/notes/perf.md`). A SavedModel runs in the precision it was
            saved in.
        convolutions: `auto`, `winograd` or `direct` (`build_generator_model`).
            With Winograd, a SavedModel folder written by `port_weights` is
            rebuilt by its architecture and restored from the folder
            (`rebuild_saved_generator`); other SavedModels run as saved
            (`auto`) or are refused (`winograd`).
    """
    from pp_tf.export import StylizerModule

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if os.path.isdir(generator):
        if weights:
            raise ValueError("--weights goes with an architecture name, not a SavedModel folder")
        if precision != "float32":
            raise ValueError("--precision goes with an architecture name; a SavedModel runs "
                             "in the precision it was saved in")
        if _resolve(convolutions) == "winograd":
            rebuilt = rebuild_saved_generator(generator)
            if rebuilt:
                model, channel_order = rebuilt
                return Generator.from_module(
                    StylizerModule(winograd.for_inference(model), channel_order))
            if convolutions == "winograd":
                raise ValueError(f"{generator}: not the export of a stylizer architecture, so "
                                 "its convolutions cannot be swapped; use --convolutions=auto "
                                 "or direct")
            logging.info("%s: not a stylizer architecture's export; direct convolutions",
                         generator)
        loaded = tf.saved_model.load(generator)
        try:
            return Generator.from_module(loaded)
        except ValueError as error:
            raise ValueError(f"{generator}: {error}") from None

    from pp_tf import models

    arch = models.get(generator)
    if arch.kind != "stylizer":
        raise ValueError(f"{generator} is a {arch.kind}, not a stylizer")
    if not weights:
        raise ValueError(f"{generator}: pass its weight file with --weights=FILE "
                         f"(published at {arch.preset.url if arch.preset else 'its source'})")
    model = build_generator_model(lambda: models.build_ported(generator, weights), precision,
                                  convolutions)
    return Generator.from_module(StylizerModule(model, arch.channel_order))


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [-1, 1]."""
    return pixels.astype(np.float32) / 127.5 - 1.0


def to_uint8(values: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> uint8, rounded and clipped."""
    return np.clip(np.round((values + 1.0) * 127.5), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ geometry
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


def _pad_to_grid(values: np.ndarray) -> np.ndarray:
    height, width = values.shape[:2]
    return np.pad(values, [(0, -height % GRID), (0, -width % GRID), (0, 0)], mode="reflect")


def stylize_tiled(generate: Generate, pixels: np.ndarray, tile_size: int, overlap: int,
                  batch_size: int = 1) -> np.ndarray:
    """Stylises one uint8 RGB photo `[height, width, 3]` tile by tile (see the module doc).

    Returns:
        uint8 RGB of the input's size.
    """
    height, width = pixels.shape[:2]
    values = _pad_to_grid(to_unit(pixels))
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


def _run_stage(generator: Generator, stage: StageInfo, values: np.ndarray, tile_size: int,
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
    values = _pad_to_grid(to_unit(pixels))
    for stage in generator.stages:
        values = _run_stage(generator, stage, values, tile_size, batch_size)
    return to_uint8(values[:height, :width])


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


# ------------------------------------------------------------------ folders
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
