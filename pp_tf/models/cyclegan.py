"""CycleGAN's ResNet generator and 70x70 PatchGAN discriminator (junyanz layout).

Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017; the graph is junyanz/pytorch-CycleGAN-and-pix2pix
`ResnetGenerator` / `NLayerDiscriminator` with `norm='instance'`:

* instance norm without affine parameters, per-example statistics (never
  running ones), biased variance, epsilon 1e-5; every convolution has a bias
  (upstream sets `use_bias` because the norm is an instance norm);
* reflection padding at the 7x7 convolutions and inside the residual blocks,
  zero padding (1, symmetric) in the stride-2 convolutions;
* `ConvTranspose2d(3, stride=2, padding=1, output_padding=1)` is
  `Conv2DTranspose(3, 2, 'valid')` followed by dropping the first row and
  column (`Cropping2D(((1, 0), (1, 0)))`): the full transposed convolution is
  2H+1 long, torch's `padding=1` removes one at each end, `output_padding=1`
  gives the last one back.

Input and output: RGB in [-1, 1] (`preprocess`, `postprocess`), any height and
width divisible by 4 (`pp_tf.export.StylizerModule` pads other sizes).

The checkpoint is an `nn.Sequential`, so its keys are positions
(`model.10.conv_block.1.weight`); the layers here have plain names
(`block1_conv1`) and `generator_torch_keys` is the table between the two.
Published files from old PyTorch versions also carry instance-norm
`running_mean`/`running_var` buffers that the model never used (upstream's
loader deletes them too): the porter drops those, and only those.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from pp_tf.layers import InstanceNormalization, ReflectionPadding2D
from pp_tf.models import porting
from pp_tf.weights import WeightPreset

IN_EPSILON = 1e-5
CHANNEL_ORDER = "RGB"
N_DOWNSAMPLING = 2

_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{}.pth"
WEIGHTS = {
    style: WeightPreset(
        url=_URL.format(style), filename=f"{style}.pth",
        sha256=None,  # not pinned: no copy could be hashed offline
        licence="BSD (junyanz/pytorch-CycleGAN-and-pix2pix)",
    )
    for style in ("style_ukiyoe", "style_monet", "style_cezanne", "style_vangogh")
}
# Instance-norm buffers an old checkpoint may hold; the model never reads them.
STALE_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def preprocess(images):
    """uint8 RGB `[..., 3]` -> float32 RGB in [-1, 1] (upstream: ToTensor, Normalize(0.5, 0.5))."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def postprocess(outputs):
    """float RGB in [-1, 1] -> uint8, rounded and clipped.

    Upstream's `tensor2im` truncates instead of rounding, so it is up to one
    grey level darker.
    """
    pixels = (tf.convert_to_tensor(outputs, tf.float32) + 1.0) * 127.5
    return tf.cast(tf.clip_by_value(tf.round(pixels), 0.0, 255.0), tf.uint8)


def _conv_in_relu(x, filters, kernel, stride, name, pad):
    if pad == "reflect":
        x = ReflectionPadding2D(kernel // 2, name=f"{name}_pad")(x)
    else:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    x = keras.layers.Conv2D(filters, kernel, strides=stride, name=f"{name}_conv")(x)
    x = InstanceNormalization(IN_EPSILON, affine=False, name=f"{name}_norm")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _resnet_block(x, name):
    filters = x.shape[-1]
    y = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    y = keras.layers.Conv2D(filters, 3, name=f"{name}_conv1")(y)
    y = InstanceNormalization(IN_EPSILON, affine=False, name=f"{name}_norm1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu")(y)
    y = ReflectionPadding2D(1, name=f"{name}_pad2")(y)
    y = keras.layers.Conv2D(filters, 3, name=f"{name}_conv2")(y)
    y = InstanceNormalization(IN_EPSILON, affine=False, name=f"{name}_norm2")(y)
    return keras.layers.Add(name=f"{name}_add")([x, y])


def ResnetGenerator(n_blocks=9, ngf=64, name=None):
    """CycleGAN's `resnet_{n_blocks}blocks` generator: RGB [-1, 1] -> RGB [-1, 1].

    Args:
        n_blocks: residual blocks at 1/4 resolution (9 for the published
            256x256 models, 6 for the 128x128 ones).
        ngf: filters of the first convolution (64 in every published model).
    """
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = _conv_in_relu(inputs, ngf, 7, 1, "stem", pad="reflect")
    for i in range(N_DOWNSAMPLING):
        x = _conv_in_relu(x, ngf * 2 ** (i + 1), 3, 2, f"down{i + 1}", pad="zero")
    for i in range(n_blocks):
        x = _resnet_block(x, f"block{i + 1}")
    for i in range(N_DOWNSAMPLING):
        filters = ngf * 2 ** (N_DOWNSAMPLING - i - 1)
        x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="valid",
                                         name=f"up{i + 1}_conv")(x)
        x = keras.layers.Cropping2D(((1, 0), (1, 0)), name=f"up{i + 1}_crop")(x)
        x = InstanceNormalization(IN_EPSILON, affine=False, name=f"up{i + 1}_norm")(x)
        x = keras.layers.ReLU(name=f"up{i + 1}_relu")(x)
    x = ReflectionPadding2D(3, name="head_pad")(x)
    x = keras.layers.Conv2D(3, 7, name="head_conv")(x)
    outputs = keras.layers.Activation("tanh", name="head_tanh")(x)
    return keras.Model(inputs, outputs, name=name or f"cyclegan_resnet{n_blocks}")


def generator_torch_keys(n_blocks: int) -> tuple[dict[str, str], set[str]]:
    """`{Keras layer: torch prefix}` for the convolutions, and the torch prefixes of the norms.

    The `nn.Sequential` positions: 0 pad, 1 conv, 2 norm, 3 ReLU; then
    (conv, norm, ReLU) at 4 and 7; the blocks at 10 .. 9 + n_blocks (inside:
    0 pad, 1 conv, 2 norm, 3 ReLU, 4 pad, 5 conv, 6 norm); (conv transpose,
    norm, ReLU) at 10 + n_blocks and 13 + n_blocks; pad, conv, tanh last.
    """
    convs = {"stem_conv": "model.1"}
    norms = {"model.2"}
    position = 4
    for i in range(N_DOWNSAMPLING):
        convs[f"down{i + 1}_conv"] = f"model.{position}"
        norms.add(f"model.{position + 1}")
        position += 3
    for i in range(n_blocks):
        convs[f"block{i + 1}_conv1"] = f"model.{position}.conv_block.1"
        convs[f"block{i + 1}_conv2"] = f"model.{position}.conv_block.5"
        norms |= {f"model.{position}.conv_block.2", f"model.{position}.conv_block.6"}
        position += 1
    for i in range(N_DOWNSAMPLING):
        convs[f"up{i + 1}_conv"] = f"model.{position}"
        norms.add(f"model.{position + 1}")
        position += 3
    convs["head_conv"] = f"model.{position + 1}"
    return convs, norms


def drop_stale_norm_buffers(state: dict, norm_prefixes) -> dict:
    """`state` without the running-statistics buffers of the instance norms (and nothing else)."""
    return {key: value for key, value in state.items()
            if not (key.rsplit(".", 1)[0] in norm_prefixes
                    and key.rsplit(".", 1)[-1] in STALE_NORM_BUFFERS)}


def _count_blocks(model: keras.Model) -> int:
    return sum(1 for layer in model.layers
               if layer.name.startswith("block") and layer.name.endswith("_conv1"))


def port(model: keras.Model, state: dict) -> keras.Model:
    """Loads a junyanz `latest_net_G.pth` / `style_*.pth` state dict into a `ResnetGenerator`.

    Raises:
        WeightsError: a tensor is missing, has the wrong shape, or is left over
            (a 9-block file does not load into a 6-block model).
    """
    convs, norms = generator_torch_keys(_count_blocks(model))
    return porting.port_torch_state(model, drop_stale_norm_buffers(state, norms), convs.__getitem__)


def NLayerDiscriminator(n_layers=3, ndf=64, name="cyclegan_patchgan"):
    """CycleGAN's PatchGAN: RGB [-1, 1] -> one logit per patch (70x70 for n_layers=3).

    Convolutions 4x4 with zero padding 1: n_layers at stride 2, one at stride 1,
    then the 1-channel one; LeakyReLU 0.2; instance norm on all but the first
    and the last. No sigmoid (upstream's LSGAN loss works on the raw output).
    """
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = inputs
    for i in range(n_layers + 1):
        filters = ndf * min(2 ** i, 8)
        x = keras.layers.ZeroPadding2D(1, name=f"layer{i}_pad")(x)
        x = keras.layers.Conv2D(filters, 4, strides=2 if i < n_layers else 1,
                                name=f"layer{i}_conv")(x)
        if i > 0:
            x = InstanceNormalization(IN_EPSILON, affine=False, name=f"layer{i}_norm")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"layer{i}_lrelu")(x)
    x = keras.layers.ZeroPadding2D(1, name="head_pad")(x)
    outputs = keras.layers.Conv2D(1, 4, name="head_conv")(x)
    return keras.Model(inputs, outputs, name=name)


def discriminator_torch_keys(n_layers: int) -> tuple[dict[str, str], set[str]]:
    """Positions: conv 0, LReLU 1; then (conv, norm, LReLU) triples from 2; the head conv last."""
    convs = {"layer0_conv": "model.0"}
    norms = set()
    position = 2
    for i in range(1, n_layers + 1):
        convs[f"layer{i}_conv"] = f"model.{position}"
        norms.add(f"model.{position + 1}")
        position += 3
    convs["head_conv"] = f"model.{position}"
    return convs, norms


def port_discriminator(model: keras.Model, state: dict) -> keras.Model:
    """Loads a junyanz `latest_net_D_A.pth`-style state dict into an `NLayerDiscriminator`."""
    n_layers = sum(1 for layer in model.layers if layer.name.endswith("_norm"))
    convs, norms = discriminator_torch_keys(n_layers)
    return porting.port_torch_state(model, drop_stale_norm_buffers(state, norms), convs.__getitem__)
