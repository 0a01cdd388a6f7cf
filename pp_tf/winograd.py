"""Winograd F(4x4, 3x3) convolutions for inference (Lavin & Gray, CVPR 2016).

A 3x3, stride-1 convolution computes each 4x4 block of its output from the
6x6 block of input under it. Winograd's minimal filtering does that with 36
multiplications per (input channel, output channel) pair where the direct
convolution needs 144:

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A

with g the 3x3 kernel, d the 6x6 input tile and the constant matrices below.
Summed over input channels, the 36 elementwise products become 36 independent
matrix products `[tiles, C] @ [C, O]`, which is where the time goes; the
transforms of the input tiles and of the output are cheap, linear and run as
one XLA fusion each (`jit_compile`) around oneDNN's batched matrix product.

On CPUs, where oneDNN runs the direct convolution near the machine's peak,
that is the only way to be much faster at float32: the 3x3 convolutions of
CycleGAN's residual trunk run about 2x faster (BUILD_NOTES, "Stylisation
speed against PyTorch"). The price is rounding: the transforms' coefficients
(up to 8 and 1/24) make float32 results differ from the direct convolution
by up to 2e-5 of their scale (the direct convolution: 2e-6), which is far
below a grey level after the generators (`tests/test_winograd.py` bounds both).

`for_inference(model)` is the entry point: a copy of a Keras model in which
every plain float32 3x3, stride-1, 'valid' `Conv2D` with at least
`MIN_CHANNELS` (128) input channels (`eligible`: the generators' residual blocks) is
a `WinogradConv2D` holding the same weights and their transform; the 7x7,
stride-2 and transposed convolutions stay as they are. It is for inference
only (stylisation); training keeps the direct convolutions. The two
transforms are compiled by XLA once per input shape (a fraction of a second
each); a run over photos of many sizes pays that once per size.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

TILE = 4  # output pixels per tile side: F(4x4, 3x3)
WINDOW = TILE + 2  # input pixels per tile side
# Measured crossover (BUILD_NOTES): at 64 input channels the direct convolution is
# still as fast (the transforms dominate small products); from 128 Winograd is faster.
MIN_CHANNELS = 128

# Lavin & Gray's F(4, 3) matrices (their correlation form, as a CNN uses).
B_T = np.array([[4, 0, -5, 0, 1, 0],
                [0, -4, -4, 1, 1, 0],
                [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0],
                [0, 2, -1, -2, 1, 0],
                [0, 4, 0, -5, 0, 1]], np.float64)
G = np.array([[1 / 4, 0, 0],
              [-1 / 6, -1 / 6, -1 / 6],
              [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6],
              [1 / 24, -1 / 12, 1 / 6],
              [0, 0, 1]], np.float64)
A_T = np.array([[1, 1, 1, 1, 1, 0],
                [0, 1, -1, 2, -2, 0],
                [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], np.float64)


def transform_kernel(kernel: tf.Tensor) -> tf.Tensor:
    """`[3, 3, C, O]` kernel -> `[36, C, O]`, G g G^T for every channel pair (row-major 6x6)."""
    g = tf.constant(G, kernel.dtype)
    u = tf.einsum("xi,ijco,yj->xyco", g, kernel, g)
    return tf.reshape(u, [WINDOW * WINDOW, kernel.shape[2], kernel.shape[3]])


def _weighted_sum(weights: np.ndarray, terms: list[tf.Tensor]) -> tf.Tensor:
    """sum(w * t) with the 0 and +-1 weights of the F(4, 3) matrices skipped."""
    total = None
    for weight, term in zip(weights, terms):
        if weight == 0:
            continue
        term = term if weight == 1 else -term if weight == -1 else term * float(weight)
        total = term if total is None else total + term
    return total


def _tile_counts(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Tiles down and across for the 'valid' 3x3 output of `x` `[N, H + 2, W + 2, C]`."""
    shape = tf.shape(x)
    return -(-(shape[1] - 2) // TILE), -(-(shape[2] - 2) // TILE)


@tf.function(jit_compile=True)
def transform_input(x: tf.Tensor) -> tf.Tensor:
    """`[N, H + 2, W + 2, C]` -> `[36, N th tw, C]`: B^T d B of every 6x6 tile.

    Tiles start every 4 pixels (`th`, `tw` = H / 4, W / 4 rounded up; the
    input is zero-padded at the bottom and right to fill the last ones); the 36
    transformed values of each tile and channel come out position-major, the
    layout of the batched product.
    """
    shape = tf.shape(x)
    tiles_down, tiles_across = _tile_counts(x)
    x = tf.pad(x, [[0, 0], [0, TILE * tiles_down + 2 - shape[1]],
                   [0, TILE * tiles_across + 2 - shape[2]], [0, 0]])
    rows = [x[:, dy:dy + TILE * tiles_down:TILE] for dy in range(WINDOW)]
    values = []
    for row in (_weighted_sum(B_T[i], rows) for i in range(WINDOW)):
        columns = [row[:, :, dx:dx + TILE * tiles_across:TILE] for dx in range(WINDOW)]
        values += [_weighted_sum(B_T[j], columns) for j in range(WINDOW)]
    return tf.reshape(tf.stack(values), [WINDOW * WINDOW, -1, x.shape[-1]])


@tf.function(jit_compile=True)
def transform_output(products: tf.Tensor, bias: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    """`[36, N th tw, O]` -> `[N, H, W, O]`: A^T m A of every tile, plus `bias`.

    `x` is the convolution's input (only its shape is read: H, W and the tiles).
    """
    shape = tf.shape(x)
    tiles_down, tiles_across = _tile_counts(x)
    m = tf.reshape(products, [WINDOW, WINDOW, shape[0], tiles_down, tiles_across, -1])
    across = [_weighted_sum(A_T[j], [m[:, v] for v in range(WINDOW)]) for j in range(TILE)]
    blocks = tf.stack([tf.stack([_weighted_sum(A_T[i], [column[u] for u in range(WINDOW)])
                                 for column in across]) for i in range(TILE)])
    y = tf.transpose(blocks, [2, 3, 0, 4, 1, 5])  # [N, th, 4, tw, 4, O]
    y = tf.reshape(y, [shape[0], TILE * tiles_down, TILE * tiles_across, -1])
    return y[:, :shape[1] - 2, :shape[2] - 2] + bias


def conv3x3_valid(x: tf.Tensor, transformed_kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """The 'valid' 3x3 stride-1 convolution of NHWC `x`, by F(4, 3).

    Args:
        x: `[N, H + 2, W + 2, C]` float32, any H, W >= 1.
        transformed_kernel: `[36, C, O]`, `transform_kernel` of the kernel.
        bias: `[O]`.
    Returns:
        `[N, H, W, O]`.
    """
    # The calls into the compiled transforms hide their output shapes from graph
    # rewrites that need a rank (oneDNN's fused batch norm does): state them.
    transformed = tf.ensure_shape(transform_input(x), [WINDOW * WINDOW, None, x.shape[-1]])
    products = tf.matmul(transformed, transformed_kernel)
    return tf.ensure_shape(transform_output(products, bias, x),
                           [None, None, None, transformed_kernel.shape[-1]])


@keras.saving.register_keras_serializable(package="pp_tf")
class WinogradConv2D(keras.layers.Conv2D):
    """A 3x3, stride-1, 'valid' `Conv2D` computed by Winograd F(4, 3), for inference.

    It holds the convolution's `kernel` and `bias` as a `Conv2D` does (so its
    weights, config and receptive field are a `Conv2D`'s) and their transform in
    the non-trainable `transformed_kernel`, which `refresh()` recomputes after
    the kernel is set. It does not train: build with `for_inference`.
    """

    def __init__(self, filters: int, **kwargs):
        for key, value in (("kernel_size", (3, 3)), ("strides", (1, 1)), ("padding", "valid"),
                           ("dilation_rate", (1, 1)), ("groups", 1), ("activation", None),
                           ("data_format", "channels_last")):
            given = kwargs.pop(key, value)
            if key == "activation":
                normal, value = keras.activations.get(given), keras.activations.get(value)
            elif isinstance(value, tuple):
                normal = (given, given) if isinstance(given, int) else tuple(given)
            else:
                normal = given
            if normal != value:
                raise ValueError(f"WinogradConv2D is a 3x3, stride-1, 'valid', linear, "
                                 f"channels-last convolution; got {key}={given!r}")
        kwargs.setdefault("trainable", False)
        super().__init__(filters, 3, data_format="channels_last", **kwargs)
        if self.compute_dtype != "float32":
            raise ValueError(f"WinogradConv2D computes in float32, not {self.compute_dtype} "
                             "(its rounding needs float32's digits)")

    def build(self, input_shape) -> None:
        super().build(input_shape)
        self.transformed_kernel = self.add_weight(
            name="transformed_kernel", shape=(WINDOW * WINDOW, input_shape[-1], self.filters),
            initializer="zeros", trainable=False)
        self.refresh()

    def load_own_variables(self, store) -> None:
        """From a `.keras` file: `Conv2D` saves the kernel and bias only; the transform
        is recomputed from them."""
        expected = 2 if self.use_bias else 1
        if len(store.keys()) != expected:
            raise ValueError(f"layer {self.name!r} expected {expected} saved variables (kernel"
                             f"{', bias' if self.use_bias else ''}), got {len(store.keys())}")
        self.kernel.assign(store["0"])
        if self.use_bias:
            self.bias.assign(store["1"])
        self.refresh()

    def refresh(self) -> None:
        """Recomputes `transformed_kernel` from `kernel` (call it after setting the kernel)."""
        self.transformed_kernel.assign(transform_kernel(tf.cast(self.kernel, tf.float32)))

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        bias = (tf.convert_to_tensor(self.bias) if self.use_bias
                else tf.zeros([self.filters], inputs.dtype))
        kernel = tf.convert_to_tensor(self.transformed_kernel)
        # One image at a time (parallel_iterations=1): the transformed input and
        # the products are 2.25x the input each, so a batch at once would hold
        # several times its size.
        return tf.map_fn(lambda image: conv3x3_valid(image[None], kernel, bias)[0], inputs,
                         fn_output_signature=tf.TensorSpec([None, None, self.filters],
                                                           inputs.dtype),
                         parallel_iterations=1)


def eligible(layer: keras.layers.Layer, min_channels: int = MIN_CHANNELS) -> bool:
    """Whether `for_inference` swaps `layer`: a plain float32 3x3/1 'valid' Conv2D with at
    least `min_channels` input channels."""
    return (type(layer) is keras.layers.Conv2D
            and tuple(layer.kernel_size) == (3, 3) and tuple(layer.strides) == (1, 1)
            and tuple(layer.dilation_rate) == (1, 1) and layer.padding == "valid"
            and layer.groups == 1 and layer.activation is keras.activations.linear
            and layer.compute_dtype == "float32" and layer.data_format == "channels_last"
            and layer.kernel.shape[2] >= min_channels)


def for_inference(model: keras.Model, min_channels: int = MIN_CHANNELS) -> keras.Model:
    """A copy of functional `model` whose eligible convolutions are `WinogradConv2D`s.

    Same layer names, same weights; the other layers are copied as they are.
    Returns `model` itself when nothing is eligible. `min_channels` below the
    default is for tests on narrow models (slower than direct there).
    """
    swapped_names = {layer.name for layer in model.layers if eligible(layer, min_channels)}
    if not swapped_names:
        return model

    def clone(layer):
        if layer.name not in swapped_names:
            return layer.__class__.from_config(layer.get_config())
        return WinogradConv2D(layer.filters, use_bias=layer.use_bias, name=layer.name,
                              dtype=layer.dtype_policy)

    clone_model = keras.models.clone_model(model, clone_function=clone)
    for source in model.layers:
        if isinstance(source, keras.layers.InputLayer):  # no weights (and a default-named
            continue                                     # input is renamed by the copy)
        target = clone_model.get_layer(source.name)
        if source.name in swapped_names:
            target.kernel.assign(source.kernel)
            if source.use_bias:
                target.bias.assign(source.bias)
            target.refresh()
        else:
            target.set_weights(source.get_weights())
    return clone_model
