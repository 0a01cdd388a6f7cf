"""Winograd F(4, 3) convolutions against float64 direct convolutions and the plain generators."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from pp_tf import stylize, winograd
from pp_tf.export import StylizerModule, export, module_for
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
    # float32 rounding through the transforms: up to 2e-5 of the scale (direct: 2e-6).
    assert np.abs(got - expected).max() <= 2e-5 * np.abs(expected).max()


def test_layer_accepts_only_what_it_computes():
    with pytest.raises(ValueError, match="kernel_size"):
        winograd.WinogradConv2D(8, kernel_size=5)
    with pytest.raises(ValueError, match="strides"):
        winograd.WinogradConv2D(8, strides=2)
    with pytest.raises(ValueError, match="padding"):
        winograd.WinogradConv2D(8, padding="same")
    with pytest.raises(ValueError, match="activation"):
        winograd.WinogradConv2D(8, activation="relu")
    with pytest.raises(ValueError, match="dilation_rate"):
        winograd.WinogradConv2D(8, dilation_rate=2)
    with pytest.raises(ValueError, match="float32"):
        winograd.WinogradConv2D(8, dtype="mixed_bfloat16")
    layer = winograd.WinogradConv2D(8, name="conv")
    layer.build((None, None, None, 16))
    config = json.loads(json.dumps(layer.get_config()))  # tuples come back as lists
    assert config["kernel_size"] == [3, 3]
    restored = winograd.WinogradConv2D.from_config(config)
    assert restored.name == "conv" and not restored.trainable


def test_eligible_layers():
    def conv(channels, **kwargs):
        inputs = keras.Input((None, None, channels))
        layer = keras.layers.Conv2D(4, kwargs.pop("kernel_size", 3), **kwargs)
        layer(inputs)
        return layer

    assert winograd.eligible(conv(winograd.MIN_CHANNELS))
    assert not winograd.eligible(conv(winograd.MIN_CHANNELS - 1))
    assert winograd.eligible(conv(32), min_channels=32)
    for kwargs in ({"strides": 2}, {"padding": "same"}, {"kernel_size": 5},
                   {"activation": "relu"}, {"dilation_rate": 2}):
        assert not winograd.eligible(conv(32, **kwargs), min_channels=32), kwargs
    assert not winograd.eligible(keras.layers.Conv2DTranspose(4, 3))


def _small_generator():
    keras.utils.set_random_seed(3)
    return cyclegan.ResnetGenerator(n_blocks=2, ngf=8)


def test_for_inference_swaps_the_block_convolutions_and_keeps_the_rest():
    model = _small_generator()
    winograd_model = winograd.for_inference(model, min_channels=32)
    swapped = sorted(layer.name for layer in winograd_model.layers
                     if isinstance(layer, winograd.WinogradConv2D))
    # ngf 8: the trunk has 32 channels; the 7x7, stride-2 and transposed ones stay.
    assert winograd.for_inference(model) is model  # 32 < MIN_CHANNELS
    assert swapped == ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"]
    assert [layer.name for layer in winograd_model.layers] == [layer.name for layer in model.layers]
    for layer in model.layers[1:]:
        copied = winograd_model.get_layer(layer.name)
        assert len(copied.get_weights()) == len(layer.get_weights()) + (layer.name in swapped)
        for ours, theirs in zip(copied.get_weights(), layer.get_weights()):  # kernel, bias first
            np.testing.assert_array_equal(ours, theirs)

    x = np.random.default_rng(4).uniform(-1, 1, (2, 44, 36, 3)).astype(np.float32)
    expected, got = model(x, training=False).numpy(), winograd_model(x, training=False).numpy()
    assert np.abs(got - expected).max() <= 1e-4  # tanh outputs in [-1, 1]

    with policy_scope("mixed_bfloat16"):
        bfloat16_model = cyclegan.ResnetGenerator(n_blocks=1, ngf=8)
    assert winograd.for_inference(bfloat16_model, min_channels=1) is bfloat16_model


def test_cartoongan_paired_convolutions_are_swapped():
    """CartoonGAN: its blocks and the stride-1 convolutions beside its resampling that
    have 128 channels or more (the last, 64 channels at full resolution, stays)."""
    keras.utils.set_random_seed(5)
    model = cartoongan.CartoonGANGenerator()
    winograd_model = winograd.for_inference(model)
    swapped = [layer.name for layer in winograd_model.layers
               if isinstance(layer, winograd.WinogradConv2D)]
    assert len(swapped) == 19 and "conv02_2" in swapped and "deconv01_2" in swapped
    assert "deconv02_2" not in swapped and "conv01_1" not in swapped
    x = np.random.default_rng(5).uniform(-1, 1, (1, 40, 48, 3)).astype(np.float32)
    difference = winograd_model(x, training=False).numpy() - model(x, training=False).numpy()
    assert np.abs(difference).max() <= 1e-4


def test_seamless_tiles_with_winograd_equal_the_direct_whole_photo():
    """Winograd blocks (min_channels lowered for this narrow model), seamless tiles, against one
    whole-photo forward of the plain model."""
    keras.utils.set_random_seed(8)
    model = cyclegan.ResnetGenerator(n_blocks=3, ngf=8)
    winograd_model = winograd.for_inference(model, min_channels=32)
    assert any(isinstance(layer, winograd.WinogradConv2D) for layer in winograd_model.layers)
    generator = stylize.Generator.from_module(StylizerModule(winograd_model))
    photo = np.random.default_rng(8).integers(0, 256, (300, 412, 3), dtype=np.uint8)
    tiled = stylize.stylize_image(generator, photo, stylize.StylizeConfig(tile_size=128))
    x = photo[None].astype(np.float32) / 127.5 - 1.0
    whole = np.clip(np.round((model(x, training=False).numpy()[0] + 1.0) * 127.5), 0, 255)
    assert np.abs(tiled.astype(int) - whole).max() <= 2


def test_build_generator_model_choices():
    keras.utils.set_random_seed(12)
    model = cyclegan.ResnetGenerator(n_blocks=1, ngf=32)  # a trunk of 128 channels
    assert stylize.build_generator_model(lambda: model, convolutions="direct") is model
    auto = stylize.build_generator_model(lambda: model)  # no GPU here: Winograd
    assert any(isinstance(layer, winograd.WinogradConv2D) for layer in auto.layers)
    with pytest.raises(ValueError, match="convolutions"):
        stylize.build_generator_model(lambda: model, convolutions="fft")


@pytest.mark.slow
def test_a_port_weights_export_runs_with_winograd(tmp_path):
    """`stylize --generator=FOLDER` (the README's path): an architecture's export is
    rebuilt and swapped; its outputs match the SavedModel run as saved."""
    keras.utils.set_random_seed(11)
    folder = export(module_for("cyclegan_resnet6", cyclegan.ResnetGenerator(n_blocks=6)),
                    str(tmp_path / "cyclegan"))
    winograd_generator = stylize.load_generator(folder)
    layers = winograd_generator.keep.model.layers
    assert sum(isinstance(layer, winograd.WinogradConv2D) for layer in layers) == 12
    as_saved = stylize.load_generator(folder, convolutions="direct")
    assert not hasattr(as_saved.keep.model, "layers")  # the restored SavedModel itself
    x = np.random.default_rng(11).uniform(-1, 1, (1, 40, 52, 3)).astype(np.float32)
    assert np.abs(winograd_generator(x) - as_saved(x)).max() <= 1e-4

    # A generator of no registered architecture runs as saved, or is refused.
    other = export(StylizerModule(cyclegan.ResnetGenerator(n_blocks=1, ngf=8)),
                   str(tmp_path / "other"))
    assert stylize.rebuild_saved_generator(other) is None
    assert stylize.load_generator(other).seamless
    with pytest.raises(ValueError, match="not the export of a stylizer architecture"):
        stylize.load_generator(other, convolutions="winograd")


def test_a_winograd_model_saves_and_loads_as_keras(tmp_path):
    """`WinogradConv2D` is a registered Keras layer: a `.keras` round trip keeps the
    transformed kernels, and the outputs."""
    keras.utils.set_random_seed(13)
    model = winograd.for_inference(cyclegan.ResnetGenerator(n_blocks=1, ngf=8), min_channels=32)
    model.save(tmp_path / "generator.keras")
    loaded = keras.models.load_model(tmp_path / "generator.keras")
    assert isinstance(loaded.get_layer("block1_conv1"), winograd.WinogradConv2D)
    x = np.random.default_rng(13).uniform(-1, 1, (1, 20, 28, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x, training=False).numpy(),
                                  model(x, training=False).numpy())
