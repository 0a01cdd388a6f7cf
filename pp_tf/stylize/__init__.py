"""Photo stylisation with a ported generator, folder in, folder out.

One module per job: `generators` (loading a SavedModel or an architecture, its precision
and convolutions), `tiles` (sizes and blended tiles), `seamless_tiles` (the seamless
driver, stage by stage), `photos` (one photo, and the folder run).

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


from pp_tf import deprecation
from pp_tf.gan.precision import PRECISIONS
from pp_tf.stylize.generators import (CONVOLUTIONS, Generate, Generator,
                                      build_generator_model, load_generator,
                                      rebuild_saved_generator, to_uint8, to_unit)
from pp_tf.stylize.photos import (StylizeConfig, stylize_batch, stylize_folder, stylize_image,
                                  stylize_small)
from pp_tf.stylize.seamless_tiles import seamless_boxes, stylize_seamless
from pp_tf.stylize.tiles import GRID, MIN_SIDE, downscale, ramp, stylize_tiled, tile_starts

__all__ = ["CONVOLUTIONS", "GRID", "MIN_SIDE", "PRECISIONS", "Generate", "Generator",
           "StylizeConfig", "build_generator_model", "downscale", "load_generator", "ramp",
           "rebuild_saved_generator", "seamless_boxes", "stylize_batch", "stylize_folder",
           "stylize_image", "stylize_seamless", "stylize_small", "stylize_tiled", "tile_starts",
           "to_uint8", "to_unit"]


# A stylizer's stage row is the one stage geometry `pp_tf.seamless` owns.
__getattr__ = deprecation.moved(__name__, {"StageInfo": "pp_tf.seamless:StageGeometry"})
