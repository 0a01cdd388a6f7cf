"""NIMA aesthetic / technical quality scorer on a MobileNet (alpha 1) backbone.

Talebi & Milanfar, "NIMA: Neural Image Assessment", IEEE TIP 2018. The public
weights are Keras-2 `save_weights` HDF5 files: idealo's
`weights_mobilenet_aesthetic_0.07.hdf5` / `weights_mobilenet_technical_0.11.hdf5`
and titu1994's `mobilenet_weights.h5`. Both built MobileNet(include_top=False,
pooling='avg') -> Dropout(0.75) -> Dense(10, softmax) as one flat graph, so the
file's layer names are Keras' MobileNet names plus one dense layer whose name
varies (`dense_1`, `dense`); the porter finds it by its [1024, 10] kernel.

Input: RGB resized to 224x224, scaled to x / 127.5 - 1 (inside the model).
Score: mean = sum_i i * p_i over i = 1..10, std = sqrt(sum_i (i - mean)^2 p_i).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from pp_tf.models import porting
from pp_tf.weights import WeightPreset, WeightsError

INPUT_SIZE = 224
BACKBONE_NAME = "mobilenet"
WEIGHTS = {
    "idealo_aesthetic": WeightPreset(
        url="https://github.com/idealo/image-quality-assessment/raw/master/models/MobileNet/"
            "weights_mobilenet_aesthetic_0.07.hdf5",
        filename="weights_mobilenet_aesthetic_0.07.hdf5", sha256=None, licence="Apache-2.0"),
    "idealo_technical": WeightPreset(
        url="https://github.com/idealo/image-quality-assessment/raw/master/models/MobileNet/"
            "weights_mobilenet_technical_0.11.hdf5",
        filename="weights_mobilenet_technical_0.11.hdf5", sha256=None, licence="Apache-2.0"),
    "titu1994": WeightPreset(
        url="https://github.com/titu1994/neural-image-assessment/releases/download/v0.5/"
            "mobilenet_weights.h5",
        filename="mobilenet_weights.h5", sha256=None, licence="MIT"),
}


def NimaMobileNet(input_shape=(INPUT_SIZE, INPUT_SIZE, 3)):
    """0-255 RGB pixels -> probabilities of the scores 1..10."""
    inputs = keras.Input(shape=input_shape, name="pixels")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalize")(inputs)
    backbone = keras.applications.MobileNet(
        input_shape=input_shape, alpha=1.0, include_top=False, weights=None, pooling="avg",
        name=BACKBONE_NAME,
    )
    x = backbone(x)
    x = keras.layers.Dropout(0.75, name="dropout")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="scores")(x)
    return keras.Model(inputs, outputs, name="nima_mobilenet")


_KERAS_WEIGHT_NAMES = {
    keras.layers.DepthwiseConv2D: ("depthwise_kernel",),
    keras.layers.Conv2D: ("kernel",),
    keras.layers.BatchNormalization: ("gamma", "beta", "moving_mean", "moving_variance"),
    keras.layers.Dense: ("kernel", "bias"),
}


def _weight_names(layer):
    for layer_type, names in _KERAS_WEIGHT_NAMES.items():
        if isinstance(layer, layer_type):
            if isinstance(layer, keras.layers.Conv2D) and layer.use_bias:
                return names + ("bias",)
            return names
    raise WeightsError(f"no Keras-2 mapping for layer {layer.name}")


def port(model: keras.Model, weights: dict) -> keras.Model:
    """Loads `{"layer/weight": array}` from a Keras-2 NIMA file into `model`."""
    remaining = dict(weights)
    heads = sorted({key.split("/")[0] for key, value in remaining.items()
                    if key.endswith("/kernel") and value.shape == (1024, 10)})
    if len(heads) != 1:
        raise WeightsError(f"expected one Dense(10) head over 1024 features, found {heads}")
    backbone = model.get_layer(BACKBONE_NAME)
    for layer in backbone.layers:
        if layer.weights:
            porting.set_checked(layer, [porting.take(remaining, f"{layer.name}/{name}")
                                        for name in _weight_names(layer)])
    head = model.get_layer("scores")
    porting.set_checked(head, [porting.take(remaining, f"{heads[0]}/{name}")
                               for name in ("kernel", "bias")])
    if remaining:
        raise WeightsError(f"unused weights in the source: {sorted(remaining)[:10]}")
    return model


def nima_view(images):
    """uint8 or float photos of any size -> float 224x224 pixels (whole image, no crop)."""
    return tf.image.resize(tf.cast(images, tf.float32), (INPUT_SIZE, INPUT_SIZE),
                           method="bilinear", antialias=True)


def mean_and_std(distribution):
    """Mean score and its standard deviation of `[batch, 10]` probabilities."""
    scores = tf.range(1, 11, dtype=distribution.dtype)
    mean = tf.reduce_sum(distribution * scores, axis=-1)
    variance = tf.reduce_sum(distribution * (scores - mean[:, None]) ** 2, axis=-1)
    return mean, tf.sqrt(variance)

