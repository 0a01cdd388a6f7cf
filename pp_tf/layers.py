"""The small layers tensorflow-addons used to provide (it does not work with Keras 3).

`InstanceNormalization` also supports *given statistics*: inside a
`GivenStatistics` scope each instance norm normalises by statistics passed in
from outside (the ones of a whole photo) instead of its input's own, and
reports its input's statistics over a window. That is what lets
`pp_tf.stylize` process a large photo tile by tile with the result of a
whole-photo run (`pp_tf.seamless`).
"""

from __future__ import annotations

import threading

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="pp_tf")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring, like torch's `nn.ReflectionPad2d`.

    Args:
        padding: int, the same number of pixels on every side.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        grow = lambda size: None if size is None else size + 2 * self.padding  # noqa: E731
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


_SCOPE = threading.local()


class GivenStatistics:
    """Scope in which `InstanceNormalization` layers use statistics passed in.

    The layers called inside the scope (while tracing a model call) take their
    channels' slice of `means` and `variances`, in call order, and normalise by
    them instead of their input's own. Each one also records its input's
    count, mean and biased variance over `window`, in `reports` (one
    `[batch, channels]` triple per norm, in call order), so that a caller can
    add up the statistics of a large image tile by tile.

    Args:
        means, variances: float32 `[total_channels]`, the norms' statistics
            concatenated in call order; None (both): normalise as usual, only
            report.
        window: int32 `[batch, 4]`, (top, left, bottom, right) of each
            example's region in *input* pixels; a norm whose input has `s`
            times the model input's height (`input_height`) uses the window
            times `s` (so windows should be on the model's grid).
        input_height: scalar int tensor, the model input's height.
    """

    def __init__(self, means, variances, window, input_height):
        self.means = None if means is None else tf.convert_to_tensor(means, tf.float32)
        self.variances = None if variances is None else tf.convert_to_tensor(variances,
                                                                             tf.float32)
        self.window = tf.convert_to_tensor(window, tf.int32)
        self.input_height = tf.convert_to_tensor(input_height, tf.int32)
        self.offset = 0
        self.reports: list[tuple[tf.Tensor, tf.Tensor, tf.Tensor]] = []

    def __enter__(self):
        if getattr(_SCOPE, "current", None) is not None:
            raise RuntimeError("GivenStatistics scopes do not nest")
        _SCOPE.current = self
        return self

    def __exit__(self, *exc_info):
        _SCOPE.current = None

    @property
    def channels(self) -> int:
        """Channels taken so far (after the model call: the length `means` must have)."""
        return self.offset

    def moments(self, x):
        """The (mean, variance) a norm applies to NHWC float32 `x`, `[1 or batch, 1, 1, c]`."""
        channels = x.shape[-1]
        start = self.offset
        self.offset += channels

        shape = tf.shape(x)
        window = self.window * shape[1] // self.input_height
        rows = tf.range(shape[1])[None]
        cols = tf.range(shape[2])[None]
        row_in = (rows >= window[:, 0:1]) & (rows < window[:, 2:3])
        col_in = (cols >= window[:, 1:2]) & (cols < window[:, 3:4])
        mask = tf.cast(row_in[:, :, None, None] & col_in[:, None, :, None], x.dtype)
        count = tf.reduce_sum(mask, axis=[1, 2])
        region_mean = tf.reduce_sum(x * mask, axis=[1, 2]) / count
        region_variance = tf.reduce_sum(
            tf.square((x - region_mean[:, None, None]) * mask), axis=[1, 2]) / count
        self.reports.append((tf.broadcast_to(count, tf.shape(region_mean)), region_mean,
                             region_variance))
        if self.means is None:
            return tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return (tf.reshape(self.means[start:start + channels], [1, 1, 1, channels]),
                tf.reshape(self.variances[start:start + channels], [1, 1, 1, channels]))


def current_given_statistics() -> GivenStatistics | None:
    return getattr(_SCOPE, "current", None)


def fused_batch_norm(x, scale, offset, epsilon: float, mean=None, variance=None):
    """One NHWC float32 `FusedBatchNormV3`: normalised by `mean` and `variance` `[c]`
    (inference), or with both None by the batch's own (biased) statistics."""
    training = mean is None
    empty = tf.zeros([0])
    outputs, *_ = tf.raw_ops.FusedBatchNormV3(
        x=x, scale=scale, offset=offset, mean=empty if training else mean,
        variance=empty if training else variance, epsilon=epsilon,
        exponential_avg_factor=1.0, data_format="NHWC", is_training=training)
    return outputs


@keras.saving.register_keras_serializable(package="pp_tf")
class InstanceNormalization(keras.layers.GroupNormalization):
    """Instance norm: per-example, per-channel statistics over height and width (NHWC).

    The same layer, weights and config as `GroupNormalization(groups=-1)` (one
    group per channel; biased variance, as torch's `InstanceNorm2d`), but
    computed directly, in float32 whatever the input dtype: for a batch of one
    (stylisation, CycleGAN training) a training-mode `FusedBatchNormV3`, whose
    batch statistics are then the instance's; for larger batches
    `tf.nn.moments` over height and width and one affine; with given
    statistics an inference-mode `FusedBatchNormV3`. The epsilon is always
    explicit because the ported models differ (CycleGAN 1e-5, CartoonGAN 1e-9).

    Args:
        epsilon: added to the variance inside the square root.
        affine: learn a per-channel scale and shift (`scale`/`center`).
    """

    def __init__(self, epsilon=1e-3, affine=None, **kwargs):
        if affine is not None:
            kwargs["center"] = kwargs["scale"] = bool(affine)
        kwargs["groups"] = -1
        super().__init__(epsilon=epsilon, **kwargs)

    def build(self, input_shape):
        if len(input_shape) != 4 or self.axis not in (-1, 3):
            raise ValueError(f"{self.name}: InstanceNormalization takes NHWC inputs, "
                             f"got shape {input_shape} with axis {self.axis}")
        super().build(input_shape)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        channels = x.shape[-1]
        scale = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        offset = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        scope = current_given_statistics()
        if scope is not None and scope.means is not None:
            mean, variance = scope.moments(x)
            outputs = self._fused(x, scale, offset, tf.reshape(mean, [channels]),
                                  tf.reshape(variance, [channels]))
        elif scope is not None:
            outputs = self._explicit(x, scale, offset, *scope.moments(x))
        else:
            # One example: its statistics are a batch norm's, which one fused op
            # computes and applies (2.4x faster than moments + affine on this CPU).
            outputs = tf.cond(
                tf.shape(x)[0] == 1,
                lambda: self._fused(x, scale, offset, None, None),
                lambda: self._explicit(x, scale, offset,
                                       *tf.nn.moments(x, axes=[1, 2], keepdims=True)))
        return tf.cast(outputs, self.compute_dtype)

    def _explicit(self, x, scale, offset, mean, variance):
        return (x - mean) * (tf.math.rsqrt(variance + self.epsilon) * scale) + offset

    def _fused(self, x, scale, offset, mean, variance):
        return fused_batch_norm(x, scale, offset, self.epsilon, mean, variance)


@keras.saving.register_keras_serializable(package="pp_tf")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose inference on NHWC float32 is one `FusedBatchNormV3`.

    Keras computes inference batch norm as separate multiply and add ops;
    TensorFlow's graph optimiser folds a `FusedBatchNormV3` (with
    `is_training=False`) and a following ReLU into the convolution before it
    (oneDNN `_FusedConv2D`), which saves two passes over every activation.
    Same weights, config and results (to float rounding: 1e-6 on ResNet50
    logits); training, other ranks and other dtypes use Keras' own code.
    """

    def call(self, inputs, training=None, mask=None):
        if (training or len(inputs.shape) != 4 or self.axis not in (-1, 3)
                or inputs.dtype != tf.float32 or not self.center or not self.scale):
            return super().call(inputs, training=training, mask=mask)
        return fused_batch_norm(inputs, self.gamma, self.beta, self.epsilon,
                                self.moving_mean, self.moving_variance)
