"""The two small layers tensorflow-addons used to provide (it does not work with Keras 3)."""

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


def InstanceNormalization(epsilon, affine, name=None):
    """Instance norm: per-example, per-channel statistics over height and width.

    `GroupNormalization(groups=-1)` is exactly that (one group per channel),
    with the biased variance that torch's `InstanceNorm2d` uses. The epsilon is
    always explicit because the ported models differ (CycleGAN 1e-5,
    CartoonGAN 1e-9).
    """
    return keras.layers.GroupNormalization(
        groups=-1, epsilon=epsilon, center=affine, scale=affine, name=name
    )
