"""Cutting an instance-norm generator into stages, for whole-photo statistics tile by tile.

An instance norm needs its input's mean and variance over the *whole* photo,
which a tile cannot see. Given those statistics (`layers.GivenStatistics`), a
tile with a halo of context as wide as the generator's receptive field gives
exactly the whole photo's outputs on its own part. The statistics themselves
are sums over the photo, so they can be added up tile by tile -- but a norm's
input depends on the norms before it, so they must be found one norm after
the other, each from a pass over the photo in which the earlier norms already
get exact statistics.

Running the whole generator once per norm (23 for CycleGAN's 9-block
generator) would cost 23 forward passes. Instead the generator is cut at its
*trunk* tensors -- the input of the first residual block and the output of
every residual addition, all at 1/4 resolution -- into stages:

    stem and downsampling | block 1 | ... | block n | upsampling and head

Each stage's output over the whole photo is kept in memory (at 1/4
resolution, 256 channels for the published models: 0.77 GB for 12 MP), and
the next stage reads it. Within a stage of k norms, pass j < k runs the stage
up to norm j (a prefix model) to sum norm j's statistics, and pass k runs the
whole stage with all k statistics and writes its output. A residual block
(conv, norm, conv, norm) thus costs 5 convolutions instead of 2; the whole
CycleGAN generator costs about 2.5 forward passes (`docs/notes/perf.md` has
the measured figures).

`plan` finds the stages of a Keras generator; `pp_tf.export.StylizerModule`
turns them into one saved `run_stage` function and `pp_tf.stylize.stylize_seamless`
drives it.
"""

from __future__ import annotations

import dataclasses
import math

import keras

from pp_tf.layers import InstanceNormalization

_PROBE = 64  # input side used to read every layer's resolution; a multiple of the generators' grid


@dataclasses.dataclass(frozen=True)
class StageGeometry:
    """How one stage of a generator is tiled; sizes are in stage-input pixels.

    Attributes:
        norm_channels: each norm's channels, in call order.
        halo: context a tile needs on each cut side (the stage's receptive
            field, rounded up to `grid`).
        grid: tile starts and cuts are multiples of it (the stage's total
            downsampling).
        up, down: the output is `up / down` times the input's size.
        tile_scale: a tile of `tile_size * tile_scale` input pixels holds
            activations no larger than a full-resolution 64-channel
            `tile_size` square.
        first_branch: the index of the stage's first pass among the branches of
            a stylizer export's `run_stage` (each stage: one branch per norm, then
            the whole stage).
    """

    norm_channels: tuple[int, ...]
    halo: int
    grid: int
    up: int
    down: int
    tile_scale: float
    first_branch: int


def stage_table(stages) -> tuple[list[list[int]], list[int]]:
    """What a stylizer export stores of its stages (`pp_tf.export.StylizerModule`): one
    integer row per stage, (first branch, norms, halo, grid, up, down, tile_scale * 1e6),
    and every norm's channels in order. `stages_from_table` reads it back."""
    rows = [[stage.first_branch, len(stage.norm_channels), stage.halo, stage.grid, stage.up,
             stage.down, round(stage.tile_scale * 1e6)] for stage in stages]
    return rows, [channels for stage in stages for channels in stage.norm_channels]


def stages_from_table(rows, norm_channels) -> list[StageGeometry]:
    """The stages an export's `stage_table` and `norm_channels` describe."""
    channels, stages = [int(c) for c in norm_channels], []
    for first, norms, halo, grid, up, down, tile_scale in rows:
        stages.append(StageGeometry(norm_channels=tuple(channels[:norms]), halo=halo,
                                    grid=grid, up=up, down=down, tile_scale=tile_scale / 1e6,
                                    first_branch=first))
        channels = channels[norms:]
    return stages


@dataclasses.dataclass(frozen=True)
class Stage(StageGeometry):
    """One stage of a Keras generator: its geometry and its models.

    Attributes:
        model: stage input -> stage output.
        prefixes: stage input -> each norm's output, in call order.
    """

    model: keras.Model
    prefixes: tuple[keras.Model, ...]


def receptive_radius(layers, scales) -> float:
    """How far (stage-input pixels) an output of a chain of layers sees, ignoring norms.

    `scales[layer]` is the resolution of the layer's *input* relative to the
    stage input. A convolution adds its kernel radius at its input's scale.
    """
    radius = 0.0
    for layer in layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            radius += math.ceil((max(layer.kernel_size) - 1) / 2 / layer.strides[0]) / scales[layer]
        elif isinstance(layer, keras.layers.Conv2D):
            radius += (max(layer.kernel_size) - 1) // 2 * layer.dilation_rate[0] / scales[layer]
        elif isinstance(layer, keras.layers.Cropping2D):
            radius += max(max(side) for side in layer.cropping) / scales[layer]
        elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            radius += (max(layer.pool_size) - 1) // 2 / scales[layer]
    return radius


def _trunk(model: keras.Model) -> list:
    """The cut tensors: the first residual addition's skip input, and every addition's output."""
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    if not adds:
        return []
    order = {layer: index for index, layer in enumerate(model.layers)}
    skip = min(adds[0].input, key=lambda tensor: order[tensor._keras_history.operation])
    return [skip] + [add.output for add in adds]


def plan(model: keras.Model) -> list[Stage]:
    """The stages of a generator `[b, h, w, 3] -> [b, h, w, c]` built from Keras layers.

    Raises:
        ValueError: the model has a `GroupNormalization` that is not an
            `InstanceNormalization` (an old save): it cannot take given statistics.
    """
    for layer in model.layers:
        if (isinstance(layer, keras.layers.GroupNormalization)
                and not isinstance(layer, InstanceNormalization)):
            raise ValueError(f"{model.name}: layer {layer.name} is a GroupNormalization, not "
                             f"pp_tf's InstanceNormalization; rebuild the model to tile it "
                             f"seamlessly")
    layer_list = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(model.input, [layer.output for layer in layer_list])
    shapes = {layer: tuple(output.shape)
              for layer, output in zip(layer_list, probe(keras.ops.zeros((1, _PROBE, _PROBE, 3))))}

    def height(tensor):
        operation = tensor._keras_history.operation
        return _PROBE if isinstance(operation, keras.layers.InputLayer) else shapes[operation][1]

    cuts = [model.input] + _trunk(model) + [model.output]
    stages, branches = [], 0
    for start, end in zip(cuts, cuts[1:]):
        stage_model = keras.Model(start, end)
        inner = [layer for layer in stage_model.layers
                 if not isinstance(layer, keras.layers.InputLayer)]
        in_height = height(start)
        input_scales = {layer: height(layer.input if not isinstance(layer.input, list)
                                      else layer.input[0]) / in_height for layer in inner}
        norms = [layer for layer in inner if isinstance(layer, InstanceNormalization)]
        lowest = min([1.0] + [shapes[layer][1] / in_height for layer in inner])
        largest = max([3.0] + [(shapes[layer][1] / in_height) ** 2 * shapes[layer][3]
                               for layer in inner])
        grid = max(1, round(1 / lowest))
        radius = receptive_radius(inner, input_scales)
        out_ratio = height(end) / in_height
        up, down = (round(out_ratio), 1) if out_ratio >= 1 else (1, round(1 / out_ratio))
        stages.append(Stage(
            model=stage_model,
            prefixes=tuple(keras.Model(start, norm.output) for norm in norms),
            norm_channels=tuple(int(shapes[norm][3]) for norm in norms),
            halo=-(-(math.ceil(radius) + 1) // grid) * grid,
            grid=grid, up=up, down=down,
            tile_scale=min(1.0, math.sqrt(64 / largest)), first_branch=branches,
        ))
        branches += len(norms) + 1
    return stages
