"""CartoonGAN's generator (Yijunmaverick's PyTorch port) and the paper's discriminator.

Chen, Lai and Liu, "CartoonGAN: Generative Adversarial Networks for Photo
Cartoonization", CVPR 2018. The published generators
(`{Hayao,Hosoda,Paprika,Shinkai}_net_G_float.pth`) are state dicts of
Yijunmaverick/CartoonGAN-Test-Pytorch-Torch `network/Transformer.py`; read from
that file:

* `refpad01_1` (reflect 3) `conv01_1` 7x7 64, `in01_1`, ReLU;
* `conv02_1` 3x3 stride 2 zero-pad 1 -> 128, `conv02_2` 3x3 zero-pad 1, `in02_1`,
  ReLU -- no norm and no ReLU between `conv02_1` and `conv02_2`; the same for
  `conv03_1`/`conv03_2` (256), `in03_1`;
* eight residual blocks 04 .. 11: `refpadXX_1` (reflect 1) `convXX_1` 3x3
  `inXX_1` ReLU `refpadXX_2` `convXX_2` `inXX_2`, plus the input; no ReLU after
  the sum;
* `deconv01_1` = `ConvTranspose2d(256, 128, 3, stride 2, padding 1,
  output_padding 1)`, `deconv01_2` 3x3 zero-pad 1, `in12_1`, ReLU; the same
  with `deconv02_1`/`deconv02_2` (64), `in13_1`;
* `refpad12_1` (reflect 3) `deconv03_1` 7x7 -> 3, tanh.

Every convolution has a bias. The instance norm there is its own module:
per-example, per-channel mean and *biased* variance over height and width
(`torch.var` times (n - 1) / n), `(x - mean) / sqrt(var + 1e-9)`, then
`* scale + shift` (parameters `inXX_Y.scale` / `.shift`). That is exactly
`GroupNormalization(groups=-1, epsilon=1e-9)` (biased variance from
`tf.nn.moments`, epsilon inside the square root), so no custom layer is needed;
the porter renames `scale`/`shift` to the `weight`/`bias` the shared mapping
expects.

Input and output: BGR in [-1, 1] (upstream's test.py flips RGB to BGR, maps
[0, 1] to [-1, 1], and flips back after the tanh); height and width divisible
by 4.
"""

from __future__ import annotations

import keras

from pp_tf.layers import InstanceNormalization, ReflectionPadding2D
from pp_tf.models import porting
from pp_tf.weights import WeightPreset, WeightsError

IN_EPSILON = 1e-9
CHANNEL_ORDER = "BGR"
N_BLOCKS = 8

_URL = "http://vllab1.ucmerced.edu/~yli62/CartoonGAN/pytorch_pth/{}_net_G_float.pth"
WEIGHTS = {
    style: WeightPreset(
        url=_URL.format(style), filename=f"{style}_net_G_float.pth",
        sha256=None,  # not pinned: no copy could be hashed offline
        licence="research use (Yijunmaverick/CartoonGAN-Test-Pytorch-Torch)",
    )
    for style in ("Hayao", "Hosoda", "Paprika", "Shinkai")
}


def _norm(x, name):
    return InstanceNormalization(IN_EPSILON, affine=True, name=name)(x)


def _zero_pad_conv(x, filters, stride, name):
    x = keras.layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    return keras.layers.Conv2D(filters, 3, strides=stride, name=name)(x)


def _residual_block(x, index):
    filters = x.shape[-1]
    y = ReflectionPadding2D(1, name=f"refpad{index:02d}_1")(x)
    y = keras.layers.Conv2D(filters, 3, name=f"conv{index:02d}_1")(y)
    y = keras.layers.ReLU(name=f"relu{index:02d}_1")(_norm(y, f"in{index:02d}_1"))
    y = ReflectionPadding2D(1, name=f"refpad{index:02d}_2")(y)
    y = keras.layers.Conv2D(filters, 3, name=f"conv{index:02d}_2")(y)
    y = _norm(y, f"in{index:02d}_2")
    return keras.layers.Add(name=f"add{index:02d}")([y, x])


def _deconv(x, filters, index, norm_name):
    x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="valid",
                                     name=f"deconv{index:02d}_1")(x)
    # ConvTranspose2d(padding=1, output_padding=1): drop the first row and column.
    x = keras.layers.Cropping2D(((1, 0), (1, 0)), name=f"deconv{index:02d}_1_crop")(x)
    x = _zero_pad_conv(x, filters, 1, f"deconv{index:02d}_2")
    return keras.layers.ReLU(name=f"relu_{norm_name}")(_norm(x, norm_name))


def CartoonGANGenerator(name="cartoongan"):
    """BGR [-1, 1] -> BGR [-1, 1]; layer names are the checkpoint's module names."""
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = ReflectionPadding2D(3, name="refpad01_1")(inputs)
    x = keras.layers.Conv2D(64, 7, name="conv01_1")(x)
    x = keras.layers.ReLU(name="relu01_1")(_norm(x, "in01_1"))
    for stage, filters in ((2, 128), (3, 256)):
        x = _zero_pad_conv(x, filters, 2, f"conv{stage:02d}_1")
        x = _zero_pad_conv(x, filters, 1, f"conv{stage:02d}_2")
        x = keras.layers.ReLU(name=f"relu{stage:02d}_1")(_norm(x, f"in{stage:02d}_1"))
    for index in range(4, 4 + N_BLOCKS):
        x = _residual_block(x, index)
    x = _deconv(x, 128, 1, "in12_1")
    x = _deconv(x, 64, 2, "in13_1")
    x = ReflectionPadding2D(3, name="refpad12_1")(x)
    x = keras.layers.Conv2D(3, 7, name="deconv03_1")(x)
    outputs = keras.layers.Activation("tanh", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)


_NORM_PARAMETERS = {"scale": "weight", "shift": "bias"}


def port(model: keras.Model, state: dict) -> keras.Model:
    """Loads a `*_net_G_float.pth` state dict into a `CartoonGANGenerator`.

    Raises:
        WeightsError: a tensor is missing, has the wrong shape, or is left over.
    """
    renamed = {}
    for key, value in state.items():
        prefix, _, parameter = key.rpartition(".")
        if prefix.startswith("in") and parameter in _NORM_PARAMETERS:
            key = f"{prefix}.{_NORM_PARAMETERS[parameter]}"
        if key in renamed:
            raise WeightsError(f"two tensors map to {key!r} in the source")
        renamed[key] = value
    return porting.port_torch_state(model, renamed, lambda layer_name: layer_name)


def CartoonGANDiscriminator(name="cartoongan_discriminator"):
    """The paper's discriminator (Fig. 2; no public weights): image -> one logit per patch.

    k3n32s1 LReLU; k3n64s2 LReLU, k3n128s1 IN LReLU; k3n128s2 LReLU,
    k3n256s1 IN LReLU; k3n256s1 IN LReLU; k3n1s1. The paper gives neither the
    padding nor the norm's details: zero padding 1 (torch style, symmetric at
    stride 2), LeakyReLU 0.2, affine instance norm with epsilon 1e-5.
    """
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = inputs
    recipe = [(32, 1, False), (64, 2, False), (128, 1, True), (128, 2, False), (256, 1, True),
              (256, 1, True)]
    for i, (filters, stride, norm) in enumerate(recipe, start=1):
        x = _zero_pad_conv(x, filters, stride, f"conv{i}")
        if norm:
            x = InstanceNormalization(1e-5, affine=True, name=f"in{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu{i}")(x)
    outputs = _zero_pad_conv(x, 1, 1, "conv_out")
    return keras.Model(inputs, outputs, name=name)
