"""Winograd F(4, 3) convolutions against float64 direct convolutions and the plain generators."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pp_tf import stylize, winograd
from pp_tf.export import StylizerModule
from pp_tf.gan.precision import policy_scope
from pp_tf.models import cartoongan, cyclegan


def _correlate_valid(x, kernel):
    """float64 'valid' 3x3 cross-correlation, NHWC, as nine shifted products."""
    height, width = x.shape[1] - 2, x.shape[2] - 2
    return sum(np.einsum("nhwc,co->nhwo", x[:, i:i + height, j:j + width], kernel[i, j])
               for i in range(3) for j in range(3))


def test_f43_matrices_give_the_1d_correlation():
    """A^T [(G g) * (B^T d)] is the 4-output 'valid' correlation of a 6-sample d with g."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, g = rng.standard_normal(6), rng.standard_normal(3)
        expected = np.correlate(d, g, mode="valid")
        np.testing.assert_allclose(winograd.A_T @ ((winograd.G @ g) * (winograd.B_T @ d)),
                                   expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 6, 6, 3), (2, 9, 11, 5), (1, 7, 30, 16), (1, 3, 3, 2)])
def test_conv3x3_valid_equals_float64_correlation(shape):
    """Any size (tiles cut at the bottom and right edges), batch, channel counts."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    kernel = rng.standard_normal((3, 3, shape[-1], 7)) / np.sqrt(9 * shape[-1])
    bias = rng.standard_normal(7)
    expected = _correlate_valid(x, kernel) + bias
    got = winograd.conv3x3_valid(tf.constant(x, tf.float32),
                                 winograd.transform_kernel(tf.constant(kernel, tf.float32)),
                                 tf.constant(bias, tf.float32)).numpy()
    assert got.shape == expected.shape
    # float32 rounding through the transforms: a few 1e-6 of the scale (values are ~1).
    assert np.abs(got - expected).max() <= 2e-5 * np.abs(expected).max()


def test_layer_accepts_only_what_it_computes():
    with pytest.raises(ValueError, match="kernel_size"):
        winograd.WinogradConv2D(8, kernel_size=5)
    with pytest.raises(ValueError, match="strides"):
        winograd.WinogradConv2D(8, strides=2)
    with pytest.raises(ValueError, match="padding"):
        winograd.WinogradConv2D(8, padding="same")
    layer = winograd.WinogradConv2D(8, name="conv")
    layer.build((None, None, None, 16))
    copy = winograd.WinogradConv2D.from_config(layer.get_config())  # config as JSON gives lists
    assert copy.kernel_size == (3, 3) and not copy.trainable


def _random_norm_free_generator():
    keras.utils.set_random_seed(3)
    return cyclegan.ResnetGenerator(n_blocks=2, ngf=8)


def test_for_inference_swaps_the_block_convolutions_and_keeps_the_rest():
    model = _random_norm_free_generator()
    fast = winograd.for_inference(model)
    swapped = sorted(layer.name for layer in fast.layers
                     if isinstance(layer, winograd.WinogradConv2D))
    # ngf 8: the trunk has 32 channels; the 7x7, stride-2 and transposed ones stay.
    assert swapped == ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"]
    assert [layer.name for layer in fast.layers] == [layer.name for layer in model.layers]
    for layer in model.layers:
        for ours, theirs in zip(fast.get_layer(layer.name).get_weights()[:2], layer.get_weights()):
            np.testing.assert_array_equal(ours, theirs)

    x = np.random.default_rng(4).uniform(-1, 1, (2, 44, 36, 3)).astype(np.float32)
    expected, got = model(x, training=False).numpy(), fast(x, training=False).numpy()
    assert np.abs(got - expected).max() <= 1e-4  # tanh outputs in [-1, 1]

    with policy_scope("mixed_bfloat16"):
        half = cyclegan.ResnetGenerator(n_blocks=1, ngf=8)
    assert winograd.for_inference(half) is half


def test_cartoongan_paired_convolutions_are_swapped():
    """CartoonGAN's blocks zero-pad before 'valid' 3x3s: the same layers, same results."""
    keras.utils.set_random_seed(5)
    model = cartoongan.CartoonGANGenerator()
    fast = winograd.for_inference(model)
    swapped = [layer.name for layer in fast.layers if isinstance(layer, winograd.WinogradConv2D)]
    assert len(swapped) == 20 and "conv02_2" in swapped and "conv01_1" not in swapped
    x = np.random.default_rng(5).uniform(-1, 1, (1, 40, 48, 3)).astype(np.float32)
    assert np.abs(fast(x, training=False).numpy() - model(x, training=False).numpy()).max() <= 1e-4


def test_seamless_tiles_with_winograd_equal_the_direct_whole_photo():
    """The stylize default on a CPU: Winograd blocks, seamless tiles, against one
    whole-photo forward of the plain model."""
    keras.utils.set_random_seed(8)
    model = cyclegan.ResnetGenerator(n_blocks=3, ngf=8)
    fast = stylize.build_generator_model(lambda: model, convolutions="winograd")
    assert any(isinstance(layer, winograd.WinogradConv2D) for layer in fast.layers)
    generator = stylize.Generator.from_module(StylizerModule(fast))
    photo = np.random.default_rng(8).integers(0, 256, (300, 412, 3), dtype=np.uint8)
    tiled = stylize.stylize_image(generator, photo, stylize.StylizeConfig(tile_size=128))
    x = photo[None].astype(np.float32) / 127.5 - 1.0
    whole = np.clip(np.round((model(x, training=False).numpy()[0] + 1.0) * 127.5), 0, 255)
    assert np.abs(tiled.astype(int) - whole).max() <= 2


def test_build_generator_model_choices():
    model = _random_norm_free_generator()
    assert stylize.build_generator_model(lambda: model, convolutions="direct") is model
    with pytest.raises(ValueError, match="convolutions"):
        stylize.build_generator_model(lambda: model, convolutions="fft")
