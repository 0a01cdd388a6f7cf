"""SavedModels with serving signatures, and loading them back.

Classifier exports have two signatures:

* `serving_default(images: uint8 [batch, height, width, 3])` -> `logits`,
  `probabilities` `[batch, classes]`: the whole recipe (shorter side to 256,
  centre crop 224, normalisation) runs inside;
* `logits_from_pixels(pixels: float32 [batch, 224, 224, 3], 0-255)` -> `logits`:
  the differentiable part attacks need.

NIMA exports: `serving_default(images)` -> `distribution` `[batch, 10]`,
`mean_score` and `std_score` `[batch]`.

Stylizer (generator) exports have two signatures:

* `serving_default(images: uint8 [batch, height, width, 3])` -> `images`, uint8
  RGB of the same size;
* `generate(images: float32 [batch, height, width, 3], RGB in [-1, 1])` ->
  `images`, float32 RGB in [-1, 1] before quantisation;

and one more saved function, `run_stage(images, branch, means, variances,
window)`: one stage of the generator cut by `pp_tf.seamless.plan`, with given
instance-norm statistics (`StylizerModule`'s docstring; the `stage_table` and
`norm_channels` variables describe the stages). `pp_tf.stylize.stylize_seamless`
calls it (`tf.saved_model.load(path).run_stage(...)`) to run a large photo tile
by tile with the result of a whole-photo run. It is a function of the module,
not a signature, so that TF Serving and its warm-up requests see only the two
signatures above. Exports from before it existed lack it; `stylize` then blends
tiles, with a warning.

`serving_default` and `generate` take any height and width of at least 8: the
photo is reflect-padded at the bottom and right to a multiple of 4, and the
output cropped back.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from absl import logging

from pp_tf import layers, seamless
from pp_tf.models import cyclegan, nima, preprocessing

IMAGES_SPEC = tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")


class ClassifierModule(tf.Module):
    def __init__(self, model: keras.Model, class_names, view: preprocessing.View | None = None):
        super().__init__(name=model.name)
        self.model = model
        self.crop_size = int(model.input_shape[1])
        view = view or preprocessing.View(crop_size=self.crop_size, normalization="model",
                                          label_space="custom")
        if view.crop_size != self.crop_size:
            raise ValueError(f"{model.name}: view crop {view.crop_size} != model input "
                             f"{self.crop_size}")
        self.resize_size = view.resize_size
        self.class_names = tf.Variable(list(class_names), trainable=False, name="class_names")
        self.view_size = tf.Variable([self.resize_size, self.crop_size], trainable=False,
                                     name="view_size")
        self.view_description = tf.Variable([view.normalization, view.label_space],
                                            trainable=False, name="view_description")
        self.serve = tf.function(self._serve, input_signature=[IMAGES_SPEC])
        self.logits_from_pixels = tf.function(
            self._logits_from_pixels,
            input_signature=[tf.TensorSpec([None, self.crop_size, self.crop_size, 3], tf.float32,
                                           name="pixels")],
        )

    def _serve(self, images):
        pixels = preprocessing.classifier_view(images, self.resize_size, self.crop_size)
        logits = self.model(pixels, training=False)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

    def _logits_from_pixels(self, pixels):
        return {"logits": self.model(pixels, training=False)}

    def signatures(self):
        return {"serving_default": self.serve, "logits_from_pixels": self.logits_from_pixels}


class NimaModule(tf.Module):
    def __init__(self, model: keras.Model):
        super().__init__(name=model.name)
        self.model = model
        self.serve = tf.function(self._serve, input_signature=[IMAGES_SPEC])

    def _serve(self, images):
        distribution = self.model(nima.nima_view(images), training=False)
        mean, std = nima.mean_and_std(distribution)
        return {"distribution": distribution, "mean_score": mean, "std_score": std}

    def signatures(self):
        return {"serving_default": self.serve}


class StylizerModule(tf.Module):
    """A photo-to-photo generator working in RGB or BGR [-1, 1] (`channel_order`).

    `stage_table` rows are (first branch, norms, halo, grid, up, down,
    tile_scale * 1e6) for each stage of `pp_tf.seamless.plan`; `norm_channels`
    lists every norm's channels in order. `run_stage(images, branch, means,
    variances, window)` runs branch `first + j` of a stage: for j < norms, the
    stage up to its norm j (given the stage's statistics in `means` and
    `variances`, the stage's norms concatenated; norm j's own part is
    ignored), returning norm j's input statistics over `window` in `counts`,
    `means`, `variances` `[batch, channels]`; for j = norms, the whole stage,
    returning its output in `images`. Stage 0 takes RGB [-1, 1] and the last
    stage returns RGB [-1, 1] whatever the generator's channel order; no
    padding happens inside (sizes on the grid).
    """

    def __init__(self, model: keras.Model, channel_order: str = "RGB"):
        super().__init__(name=model.name)
        if channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {channel_order!r}")
        self.model = model
        self.bgr = channel_order == "BGR"
        self.channel_order = tf.Variable(channel_order, trainable=False, name="channel_order")
        float_images = tf.TensorSpec([None, None, None, 3], tf.float32, name="images")
        self.serve = tf.function(self._serve, input_signature=[IMAGES_SPEC])
        self.generate = tf.function(self._generate, input_signature=[float_images])
        try:
            self._stages = seamless.plan(model)
        except ValueError as error:
            logging.warning("%s: no run_stage function (%s)", model.name, error)
            self._stages = None
            return
        branches = []
        for index, stage in enumerate(self._stages):
            first, last = index == 0, index == len(self._stages) - 1
            branches += [(first, last, prefix, True) for prefix in stage.prefixes]
            branches.append((first, last, stage.model, False))
        self._branches = branches
        table, channels = seamless.stage_table(self._stages)
        self.stage_table = tf.Variable(table, trainable=False, name="stage_table",
                                       dtype=tf.int32)
        self.norm_channels = tf.Variable(channels or tf.zeros([0], tf.int32),
                                         trainable=False, name="norm_channels", dtype=tf.int32)
        self.run_stage = tf.function(
            self._run_stage,
            input_signature=[tf.TensorSpec([None, None, None, None], tf.float32, name="images"),
                             tf.TensorSpec([], tf.int32, name="branch"),
                             tf.TensorSpec([None], tf.float32, name="means"),
                             tf.TensorSpec([None], tf.float32, name="variances"),
                             tf.TensorSpec([None, 4], tf.int32, name="window")],
        )

    def _generate(self, images):
        shape = tf.shape(images)
        height, width = shape[1], shape[2]
        x = images[..., ::-1] if self.bgr else images
        # The generators halve the size twice and double it twice: pad to a
        # multiple of 4 by mirroring (no new edge), and crop the output back.
        x = tf.pad(x, [[0, 0], [0, -height % 4], [0, -width % 4], [0, 0]], mode="REFLECT")
        y = tf.cast(self.model(x, training=False)[:, :height, :width], tf.float32)
        return {"images": y[..., ::-1] if self.bgr else y}

    def _run_stage(self, images, branch, means, variances, window):
        batch = tf.shape(images)[0]

        def run(first, last, model, is_prefix):
            def branch_fn():
                x = images[..., ::-1] if first and self.bgr else images
                x = tf.ensure_shape(x, [None, None, None, model.input.shape[-1]])
                with layers.GivenStatistics(means, variances, window, tf.shape(x)[1]) as scope:
                    y = tf.cast(model(x, training=False), tf.float32)
                if is_prefix:
                    counts, region_means, region_variances = scope.reports[-1]
                    y = tf.zeros([batch, 0, 0, 0])
                else:
                    counts = region_means = region_variances = tf.zeros([batch, 0])
                    y = y[..., ::-1] if last and self.bgr else y
                return {"images": y, "counts": counts, "means": region_means,
                        "variances": region_variances}
            return branch_fn

        return tf.switch_case(branch, [run(*branch_spec) for branch_spec in self._branches])

    def _serve(self, images):
        # Both generator families use [-1, 1]; the channel order is handled in _generate.
        outputs = self._generate(cyclegan.preprocess(images))["images"]
        return {"images": cyclegan.postprocess(outputs)}

    def signatures(self):
        return {"serving_default": self.serve, "generate": self.generate}


def export(module: tf.Module, path: str) -> str:
    tf.saved_model.save(module, path, signatures=module.signatures())
    return path


def module_for(arch_name: str, model: keras.Model) -> tf.Module:
    from pp_tf import models

    arch = models.get(arch_name)
    if arch.kind == "classifier":
        return ClassifierModule(model, arch.class_names(), arch.view)
    if arch.kind == "stylizer":
        return StylizerModule(model, arch.channel_order)
    return NimaModule(model)


def port_to_saved_model(arch_name: str, source: str | None, output_dir: str) -> str:
    """Builds `arch_name`, loads `source` into it and writes a serving SavedModel."""
    from pp_tf import models

    return export(module_for(arch_name, models.build_ported(arch_name, source)), output_dir)
