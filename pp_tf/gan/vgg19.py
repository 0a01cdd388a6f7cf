"""VGG19 ``block4_conv4`` (conv4_4) features for CartoonGAN's content loss.

The weights are Keras' official ImageNet file without the top,
`WEIGHTS_FILE`, loaded into ``keras.applications.VGG19(include_top=False,
weights=None)``: from an explicit path (``--vgg19_weights=FILE``) or from the
Keras cache (``$KERAS_HOME/models``, ``~/.keras/models``, ``/tmp/.keras/models``).
This module never downloads. ``"random"`` builds seeded random weights: a
test-only option, meaningless for training a real model.

Input convention: the CartoonGAN generator works in BGR [-1, 1]; Keras' VGG19
expects caffe style, BGR 0-255 minus the ImageNet mean (``caffe_input``).
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from pp_tf.weights import WeightsError

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
CONTENT_LAYER = "block4_conv4"
RANDOM = "random"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


class VGG19WeightsError(WeightsError):
    """The VGG19 weight file is absent or unusable; the message says how to get it."""


def weights_url() -> str:
    """Where Keras downloads `WEIGHTS_FILE` from (keras.src.applications.vgg19)."""
    try:
        from keras.src.applications import vgg19 as keras_vgg19
        return keras_vgg19.WEIGHTS_PATH_NO_TOP
    except (ImportError, AttributeError):  # keras layout changed
        return ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
                + WEIGHTS_FILE)


def cache_candidates() -> list[str]:
    """The places Keras' `get_file` would have cached `WEIGHTS_FILE`, in order."""
    homes = []
    if os.environ.get("KERAS_HOME"):
        homes.append(os.environ["KERAS_HOME"])
    homes += [os.path.join(os.path.expanduser("~"), ".keras"), os.path.join("/tmp", ".keras")]
    return [os.path.join(home, "models", WEIGHTS_FILE) for home in homes]


def resolve_weights(spec: str | None) -> str:
    """`RANDOM`, or the path of an existing weight file (explicit, else the Keras cache).

    Raises:
        VGG19WeightsError: no file; the message names the file, its URL and the flag.
    """
    if spec == RANDOM:
        return RANDOM
    if spec:
        if os.path.isfile(spec):
            return spec
        where = f"--vgg19_weights={spec} does not exist"
    else:
        for path in cache_candidates():
            if os.path.isfile(path):
                return path
        where = f"not in the Keras cache ({', '.join(cache_candidates())})"
    raise VGG19WeightsError(
        f"VGG19 weights {WEIGHTS_FILE} not found: {where}. CartoonGAN's content loss needs "
        f"them: download {weights_url()} and pass --vgg19_weights=/path/to/{WEIGHTS_FILE} "
        "(or put it in ~/.keras/models/). --vgg19_weights=random is for tests only.")


def caffe_input(bgr: tf.Tensor) -> tf.Tensor:
    """BGR in [-1, 1] -> what Keras' VGG19 expects: BGR 0-255 minus the ImageNet mean."""
    return (bgr + 1.0) * 127.5 - tf.constant(CAFFE_MEAN_BGR, bgr.dtype)


def content_extractor(weights: str | None, layer: str = CONTENT_LAYER) -> keras.Model:
    """A frozen model: BGR [-1, 1] images -> VGG19 `layer` features.

    Args:
        weights: a path, None (the Keras cache), or `RANDOM` (tests only).
    """
    path = resolve_weights(weights)
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    if path != RANDOM:
        try:
            vgg.load_weights(path)
        except Exception as error:  # noqa: BLE001 - h5py/keras raise many kinds
            raise VGG19WeightsError(f"{path}: cannot load as {WEIGHTS_FILE} ({error})") from None
    vgg.trainable = False
    inputs = keras.Input((None, None, 3), name="bgr")
    features = keras.Model(vgg.input, vgg.get_layer(layer).output, name=f"vgg19_{layer}")
    # float32 under every dtype policy (the mixed ones: VGG19's convolutions cast after it)
    outputs = features(keras.layers.Lambda(caffe_input, name="caffe_input",
                                           dtype="float32")(inputs))
    model = keras.Model(inputs, outputs, name="vgg19_content")
    model.trainable = False
    return model
