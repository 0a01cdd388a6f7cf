"""ResNet50 trained on Places365 (CSAILVision), in the torchvision layout.

torchvision's ResNet50 is "v1.5": the stride of a downsampling bottleneck sits
in its 3x3 convolution, convolutions have no biases, and torch pads
symmetrically. `keras.applications.ResNet50` differs on all three, so it is not
weight-compatible; this builder reproduces the torch graph with BatchNorm
epsilon 1e-5 and torch's padding:

* stride-1 3x3 convolutions use `'same'`, which pads 1 on every side there,
  as torch does (an explicit `ZeroPadding2D` + `'valid'` pair computes the
  same numbers but copies every activation once more: it made the model run
  at about half the speed of `keras.applications.ResNet50`);
* the stride-2 convolutions (the 7x7 stem, and the 3x3 of each stage's first
  block) and the max pool keep an explicit `ZeroPadding2D` + `'valid'`: at
  stride 2 Keras `'same'` pads at the bottom/right, torch at the top/left;
* batch norm is `pp_tf.layers.BatchNormalization`, whose inference is one
  fused op that TensorFlow folds into the convolution before it.

Layer names mirror the checkpoint's module path with `_` for `.`
(`layer2_0_downsample_0` <- `module.layer2.0.downsample.0`), so the porter is a
name-to-name table.

Reference: Zhou et al., "Places: A 10 Million Image Database for Scene
Recognition", TPAMI 2017.
"""

from __future__ import annotations

import keras

from pp_tf.layers import BatchNormalization
from pp_tf.models import porting, preprocessing
from pp_tf.weights import WeightPreset

BN_EPSILON = 1e-5
WEIGHTS = WeightPreset(
    url="http://places2.csail.mit.edu/models_places365/resnet50_places365.pth.tar",
    filename="resnet50_places365.pth.tar",
    sha256=None,  # not pinned: no copy could be hashed offline (BUILD_NOTES.md)
    licence="CC BY (Places365 models, MIT CSAIL)",
)


def normalization_layer(name="normalize"):
    """0-255 RGB pixels -> ImageNet mean/std normalised input (torchvision recipe)."""
    return keras.layers.Normalization(
        mean=[255.0 * m for m in preprocessing.IMAGENET_MEAN],
        variance=[(255.0 * s) ** 2 for s in preprocessing.IMAGENET_STD],
        name=name,
    )


def _conv_bn(x, filters, kernel, stride, name, relu=True):
    padding = "same"  # no padding for 1x1; symmetric for an odd kernel at stride 1
    if kernel > 1 and stride > 1:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        padding = "valid"
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False,
                            name=name)(x)
    x = BatchNormalization(epsilon=BN_EPSILON, name=name.replace("conv", "bn"))(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _bottleneck(x, width, stride, name):
    shortcut = x
    out = _conv_bn(x, width, 1, 1, f"{name}_conv1")
    out = _conv_bn(out, width, 3, stride, f"{name}_conv2")
    out = _conv_bn(out, width * 4, 1, 1, f"{name}_conv3", relu=False)
    if stride != 1 or x.shape[-1] != width * 4:
        shortcut = keras.layers.Conv2D(width * 4, 1, strides=stride, use_bias=False,
                                       name=f"{name}_downsample_0")(x)
        shortcut = BatchNormalization(epsilon=BN_EPSILON,
                                                   name=f"{name}_downsample_1")(shortcut)
    out = keras.layers.Add(name=f"{name}_add")([out, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(out)


def ResNet(stage_blocks, classes=365, input_shape=(224, 224, 3), name="resnet"):
    """A torchvision-layout bottleneck ResNet taking 0-255 RGB pixels, returning logits."""
    inputs = keras.Input(shape=input_shape, name="pixels")
    x = normalization_layer()(inputs)
    x = keras.layers.ZeroPadding2D(3, name="conv1_pad")(x)
    x = keras.layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1")(x)
    x = BatchNormalization(epsilon=BN_EPSILON, name="bn1")(x)
    x = keras.layers.ReLU(name="relu")(x)
    # MaxPool2d(3, 2, padding=1) after a ReLU: zero padding equals -inf padding.
    x = keras.layers.ZeroPadding2D(1, name="maxpool_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    for stage, blocks in enumerate(stage_blocks):
        width = 64 * 2**stage
        for block in range(blocks):
            stride = 2 if (block == 0 and stage > 0) else 1
            x = _bottleneck(x, width, stride, f"layer{stage + 1}_{block}")
    x = keras.layers.GlobalAveragePooling2D(name="avgpool")(x)
    logits = keras.layers.Dense(classes, name="fc")(x)
    return keras.Model(inputs, logits, name=name)


def ResNet50Places365(classes=365, input_shape=(224, 224, 3)):
    return ResNet((3, 4, 6, 3), classes, input_shape, name="resnet50_places365")


def torch_key(layer_name: str) -> str:
    """`layer2_0_conv1` -> `layer2.0.conv1` (torch keys have no underscores)."""
    return layer_name.replace("_", ".")


def port(model: keras.Model, state: dict) -> keras.Model:
    """Loads a torchvision ResNet state dict (keys without `module.`) into `model`."""
    return porting.port_torch_state(model, state, torch_key)
