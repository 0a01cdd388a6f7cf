"""CycleGAN and CartoonGAN ports against independent torch references; tiling; the script."""

import hashlib
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import torch_reference_gan as reference  # noqa: E402
from conftest import ROOT, relative_error  # noqa: E402
from pp_tf import image_io, stylize  # noqa: E402
from pp_tf.export import StylizerModule, export, port_to_saved_model  # noqa: E402
from pp_tf.layers import InstanceNormalization, ReflectionPadding2D  # noqa: E402
from pp_tf.models import cartoongan, cyclegan, porting  # noqa: E402
from pp_tf.weights import WeightsError  # noqa: E402

# Two photos of one size in a batch, and one whose sides are not multiples of 4.
SIZES = [(2, 64, 96), (1, 70, 50)]


def _nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1).numpy()


def _padded_forward(net, x):
    """`net` on NCHW `x` reflect-padded at the bottom/right to a multiple of 4, cropped back."""
    h, w = x.shape[-2:]
    with torch.no_grad():
        return net(F.pad(x, (0, -w % 4, 0, -h % 4), mode="reflect"))[..., :h, :w]


def _cyclegan_reference_uint8(net, photos):
    """Upstream recipe: ToTensor, Normalize(0.5, 0.5), generator, back to 0-255 (rounded)."""
    x = (_nchw(photos).float() / 255.0 - 0.5) / 0.5
    out = _padded_forward(net, x)
    return _nhwc(torch.round((out + 1) / 2 * 255).clamp(0, 255).to(torch.uint8))


def _cartoongan_reference_uint8(net, photos):
    """Upstream test.py: BGR in [-1, 1], generator, back to RGB, save_image's rounding."""
    x = -1 + 2 * (_nchw(photos)[:, [2, 1, 0]].float() / 255.0)
    out = _padded_forward(net, x)[:, [2, 1, 0]] * 0.5 + 0.5
    return _nhwc(out.mul(255).add(0.5).clamp(0, 255).to(torch.uint8))


def _check_serving(loaded, net, reference_uint8, bgr, rng):
    for batch, height, width in SIZES:
        photos = rng.integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
        served = loaded.signatures["serving_default"](images=tf.constant(photos))["images"]
        assert served.dtype == tf.uint8 and served.shape == photos.shape
        expected = reference_uint8(net, photos)
        assert np.abs(served.numpy().astype(int) - expected).max() <= 1

        # Before quantisation, through the float signature (RGB [-1, 1]).
        unit = photos.astype(np.float32) / 127.5 - 1.0
        generated = loaded.signatures["generate"](images=tf.constant(unit))["images"].numpy()
        x = _nchw(unit[..., ::-1] if bgr else unit)
        expected_float = _nhwc(_padded_forward(net, x))
        if bgr:
            expected_float = expected_float[..., ::-1]
        assert relative_error(generated, expected_float) <= 1e-4


# ------------------------------------------------------------------ ConvTranspose
@pytest.mark.parametrize("size", [(5, 7), (8, 8)])
def test_conv_transpose_k3_s2_p1_op1_equals_valid_then_crop(size):
    torch.manual_seed(0)
    layer = torch.nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
    x = np.random.default_rng(1).normal(size=(2, *size, 6)).astype(np.float32)
    inputs = keras.Input((None, None, 6))
    y = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="valid", name="up")(inputs)
    model = keras.Model(inputs, keras.layers.Cropping2D(((1, 0), (1, 0)))(y))
    # Through the shared mapping: torch [in, out, kh, kw] -> Keras [kh, kw, out, in].
    state = {f"up.{k}": v.detach().numpy() for k, v in layer.state_dict().items()}
    porting.set_checked(model.get_layer("up"),
                        porting.torch_layer_weights(model.get_layer("up"), state, "up"))
    with torch.no_grad():
        expected = _nhwc(layer(_nchw(x)))
    actual = model(x).numpy()
    assert actual.shape == expected.shape == (2, 2 * size[0], 2 * size[1], 4)
    np.testing.assert_allclose(actual, expected, atol=1e-5)


# ------------------------------------------------------------------ CycleGAN
@pytest.mark.slow
def test_cyclegan_resnet9_file_as_published_ports_exactly(tmp_path):
    """The published layout (9 blocks, ngf 64), with the stale instance-norm
    buffers old files carry, through port_weights' library call and the SavedModel."""
    torch.manual_seed(0)
    net = reference.ResnetGenerator(ngf=64, n_blocks=9).eval()
    state = dict(net.state_dict())
    for prefix in reference.instance_norm_prefixes(net):
        channels = net.get_submodule(prefix).num_features
        state[f"{prefix}.running_mean"] = torch.randn(channels)
        state[f"{prefix}.running_var"] = torch.rand(channels) + 0.5
    assert {"model.1.weight", "model.4.weight", "model.7.weight", "model.10.conv_block.1.weight",
            "model.18.conv_block.5.weight", "model.19.weight", "model.22.weight",
            "model.26.weight", "model.2.running_mean"} <= set(state)
    path = tmp_path / "style_ukiyoe.pth"
    torch.save(state, path)

    export_dir = str(tmp_path / "ukiyoe")
    port_to_saved_model("cyclegan_resnet9", str(path), export_dir)
    loaded = tf.saved_model.load(export_dir)
    assert loaded.channel_order.numpy() == b"RGB"
    _check_serving(loaded, net, _cyclegan_reference_uint8, bgr=False,
                   rng=np.random.default_rng(0))


def test_cyclegan_resnet6_positions():
    torch.manual_seed(1)
    net = reference.ResnetGenerator(ngf=8, n_blocks=6).eval()
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    convs, norms = cyclegan.generator_torch_keys(6)
    assert {convs["up1_conv"], convs["up2_conv"], convs["head_conv"]} == {
        "model.16", "model.19", "model.23"}
    assert {p + ".weight" for p in convs.values()} == {k for k in state if k.endswith(".weight")}
    assert norms == set(reference.instance_norm_prefixes(net))
    model = cyclegan.port(cyclegan.ResnetGenerator(n_blocks=6, ngf=8), state)
    x = np.random.default_rng(2).uniform(-1, 1, (1, 32, 48, 3)).astype(np.float32)
    with torch.no_grad():
        expected = _nhwc(net(_nchw(x)))
    assert relative_error(model(x).numpy(), expected) <= 1e-4


def test_cyclegan_porter_refuses_what_it_does_not_know():
    torch.manual_seed(2)
    net = reference.ResnetGenerator(ngf=8, n_blocks=9)
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    # A running mean on a convolution is not a stale norm buffer.
    stray = dict(state, **{"model.1.running_mean": np.zeros(8, np.float32)})
    with pytest.raises(WeightsError, match=r"unused weights.*model\.1\.running_mean"):
        cyclegan.port(cyclegan.ResnetGenerator(n_blocks=9, ngf=8), stray)
    # A 9-block file in a 6-block model: model.16 is a block there, not the up-convolution.
    with pytest.raises(WeightsError, match=r"model\.16"):
        cyclegan.port(cyclegan.ResnetGenerator(n_blocks=6, ngf=8), state)


def test_cyclegan_patchgan_ports_exactly():
    torch.manual_seed(3)
    net = reference.NLayerDiscriminator(ndf=8).eval()
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    assert sorted({k.rsplit(".", 1)[0] for k in state}) == [
        "model.0", "model.11", "model.2", "model.5", "model.8"]
    model = cyclegan.port_discriminator(cyclegan.NLayerDiscriminator(ndf=8), state)
    x = np.random.default_rng(3).uniform(-1, 1, (2, 70, 70, 3)).astype(np.float32)
    with torch.no_grad():
        expected = _nhwc(net(_nchw(x)))
    actual = model(x).numpy()
    assert actual.shape == expected.shape == (2, 6, 6, 1)  # one logit per 70x70 patch
    assert relative_error(actual, expected) <= 1e-4


# ------------------------------------------------------------------ CartoonGAN
def test_cartoongan_instance_norm_is_group_norm_per_channel():
    """Transformer.py's norm: biased variance (on 3x4 pixels the unbiased one is
    9% larger), epsilon 1e-9 inside the root, then scale and shift."""
    generator = torch.Generator().manual_seed(4)
    norm = reference.CartoonInstanceNorm(5)
    reference.randomize_cartoon_norms(norm, generator)
    x = (np.random.default_rng(4).normal(size=(2, 3, 4, 5)) + 2.0).astype(np.float32)
    layer = InstanceNormalization(cartoongan.IN_EPSILON, affine=True)
    layer.build(x.shape)
    layer.set_weights([norm.scale.detach().numpy(), norm.shift.detach().numpy()])
    with torch.no_grad():
        expected = _nhwc(norm(_nchw(x)))
    assert relative_error(layer(x).numpy(), expected) <= 1e-5


@pytest.mark.slow
def test_cartoongan_file_as_published_ports_exactly(tmp_path):
    torch.manual_seed(5)
    net = reference.Transformer().eval()
    reference.randomize_cartoon_norms(net, torch.Generator().manual_seed(5))
    state = net.state_dict()
    assert {"conv01_1.weight", "in01_1.scale", "in01_1.shift", "deconv01_1.weight",
            "in13_1.shift", "deconv03_1.bias"} <= set(state)
    path = tmp_path / "Hayao_net_G_float.pth"
    torch.save(state, path)

    export_dir = str(tmp_path / "hayao")
    port_to_saved_model("cartoongan", str(path), export_dir)
    loaded = tf.saved_model.load(export_dir)
    assert loaded.channel_order.numpy() == b"BGR"
    _check_serving(loaded, net, _cartoongan_reference_uint8, bgr=True,
                   rng=np.random.default_rng(5))


def test_cartoongan_discriminator_layout():
    model = cartoongan.CartoonGANDiscriminator()
    assert [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)] == [
        32, 64, 128, 128, 256, 256, 1]
    assert model(np.zeros((1, 64, 64, 3), np.float32)).shape == (1, 16, 16, 1)


# ------------------------------------------------------------------ tiling
def _local_generator():
    """A generator without instance norm (receptive field radius < 8 px), stride 2 inside."""
    keras.utils.set_random_seed(6)
    inputs = keras.Input((None, None, 3))
    x = ReflectionPadding2D(1)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.ZeroPadding2D(1)(x)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2DTranspose(3, 3, strides=2)(x)
    x = keras.layers.Cropping2D(((1, 0), (1, 0)))(x)
    return keras.Model(inputs, keras.layers.Activation("tanh")(x))


def _generate_fn(model, channel_order="RGB"):
    module = StylizerModule(model, channel_order)
    return lambda images: module.generate(tf.constant(images))["images"].numpy()


def _far_from_seams(length, tile, overlap):
    """Positions at least `overlap` away from every tile edge inside the (grid-padded) image."""
    padded = length + (-length % 4)
    starts = stylize.tile_starts(padded, tile, overlap)
    edges = [s for s in starts if s > 0] + [s + tile for s in starts if s + tile < padded]
    distance = np.abs(np.arange(length)[:, None] - np.array(edges)[None]).min(1)
    return distance >= overlap


def test_tiled_equals_whole_away_from_seams_without_instance_norm():
    """Tiling is exact for a translation-equivariant local generator: tile starts
    sit on the 4-pixel grid, so outputs far from tile edges are bit-identical."""
    photo = np.random.default_rng(7).integers(0, 256, (298, 397, 3), dtype=np.uint8)
    generate = _generate_fn(_local_generator())
    whole = stylize.stylize_batch(generate, photo[None])[0].astype(int)
    tiled = stylize.stylize_tiled(generate, photo, tile_size=128, overlap=32, batch_size=4)
    assert tiled.shape == photo.shape and tiled.dtype == np.uint8
    far = _far_from_seams(298, 128, 32)[:, None] & _far_from_seams(397, 128, 32)[None]
    assert far.mean() > 0.05
    np.testing.assert_array_equal(tiled[far], whole[far])
    difference = np.abs(tiled - whole)
    assert difference.mean() <= 0.1 and difference.max() <= 8  # near seams: low-weight tile edges


def _street_photo(height, width, seed):
    """A real photo resized, with noise (fine detail at every scale)."""
    photo = image_io.read_image(os.path.join(ROOT, "examples", "leuven_street.jpg"))
    photo = np.asarray(Image.fromarray(photo).resize((width, height))).astype(int)
    noise = np.random.default_rng(seed).integers(-20, 21, photo.shape)
    return np.clip(photo + noise, 0, 255).astype(np.uint8)


def _whole_uint8(model, photo, bgr=False):
    """Independent reference: one forward of the Keras model on the whole photo."""
    x = photo[None].astype(np.float32) / 127.5 - 1.0
    y = model(x[..., ::-1] if bgr else x, training=False).numpy()[0]
    y = y[..., ::-1] if bgr else y
    return np.clip(np.round((y + 1.0) * 127.5), 0, 255).astype(int)


@pytest.mark.slow
def test_seamless_tiles_equal_the_whole_photo_cyclegan():
    """1536x2048 in 512 tiles: every pixel within 2 grey levels of one whole-photo
    forward. The blended tiles (each normalised by its own statistics) are far
    from it on the same photo, so the bound is not loose."""
    keras.utils.set_random_seed(8)
    model = cyclegan.ResnetGenerator(n_blocks=3, ngf=8)
    generator = stylize.Generator.from_module(StylizerModule(model))
    assert generator.seamless and len(generator.stages) == 5  # down, 3 blocks, up
    photo = _street_photo(1536, 2048, seed=8)
    whole = _whole_uint8(model, photo)

    tiled = stylize.stylize_image(generator, photo, stylize.StylizeConfig(tile_size=512))
    assert tiled.shape == photo.shape and tiled.dtype == np.uint8
    difference = np.abs(tiled.astype(int) - whole)
    assert difference.max() <= 2 and difference.mean() < 0.05

    blended = stylize.stylize_tiled(generator, photo, tile_size=512, overlap=32, batch_size=4)
    assert np.abs(blended.astype(int) - whole).max() > 20


def test_seamless_tiles_equal_the_whole_photo_cartoongan():
    """CartoonGAN: BGR, affine norms (random scales and shifts), zero padding between
    its paired convolutions."""
    keras.utils.set_random_seed(9)
    model = cartoongan.CartoonGANGenerator()
    rng = np.random.default_rng(9)
    for layer in model.layers:
        if isinstance(layer, InstanceNormalization):
            scale, shift = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, scale.shape).astype(np.float32),
                               rng.normal(0, 0.3, shift.shape).astype(np.float32)])
    generator = stylize.Generator.from_module(StylizerModule(model, "BGR"))
    photo = _street_photo(180, 236, seed=9)
    tiled = stylize.stylize_image(generator, photo, stylize.StylizeConfig(tile_size=96,
                                                                          overlap=16))
    assert np.abs(tiled.astype(int) - _whole_uint8(model, photo, bgr=True)).max() <= 2


def test_seamless_tiles_through_a_saved_model(tmp_path, caplog):
    """The run_stage function survives export, and is no signature (TF Serving warms
    up every signature with one input); an export without it (made before it
    existed) falls back to blended tiles with a warning."""
    keras.utils.set_random_seed(11)
    model = cyclegan.ResnetGenerator(n_blocks=1, ngf=8)
    module = StylizerModule(model)
    photo = _street_photo(300, 404, seed=11)
    whole = _whole_uint8(model, photo)
    config = stylize.StylizeConfig(tile_size=128, overlap=16)

    path = export(module, str(tmp_path / "new"))
    assert sorted(tf.saved_model.load(path).signatures) == ["generate", "serving_default"]
    generator = stylize.load_generator(path)
    assert generator.seamless
    assert np.abs(stylize.stylize_image(generator, photo, config).astype(int) - whole).max() <= 2

    old = str(tmp_path / "old")
    before = tf.Module()  # what StylizerModule saved before run_stage existed
    before.model, before.channel_order = module.model, module.channel_order
    before.serve, before.generate = module.serve, module.generate
    tf.saved_model.save(before, old, signatures=module.signatures())
    generator = stylize.load_generator(old)
    assert not generator.seamless
    with caplog.at_level("WARNING"):
        blended = stylize.stylize_image(generator, photo, config)
    assert "no 'run_stage' function" in caplog.text
    assert np.abs(blended.astype(int) - whole).max() > 2


def test_seamless_without_instance_norm_is_one_pass_and_exact():
    generator = stylize.Generator.from_module(StylizerModule(_local_generator()))
    assert [stage.norm_channels for stage in generator.stages] == [()]
    photo = np.random.default_rng(10).integers(0, 256, (298, 397, 3), dtype=np.uint8)
    whole = stylize.stylize_batch(generator, photo[None])[0].astype(int)
    tiled = stylize.stylize_seamless(generator, photo, tile_size=64, batch_size=3)
    assert np.abs(tiled.astype(int) - whole).max() <= 1


def test_seamless_boxes_partition_and_keep_their_halo():
    for length, tile, halo in ((2048, 512, 8), (300, 128, 16), (100, 128, 8), (37, 8, 3)):
        boxes = stylize.seamless_boxes(length, tile, halo)
        size = min(tile + 2 * halo, length)
        assert [start for _, start, _ in boxes] == list(range(0, length, tile))
        assert boxes[-1][2] == length
        for top, start, end in boxes:
            assert 0 <= top and top + size <= length
            assert start - top >= halo or top == 0
            assert top + size - end >= halo or top + size == length


def test_tile_starts_cover_and_stay_on_grid():
    for length in (8, 128, 300, 4000):
        starts = stylize.tile_starts(length, min(512, length), 32)
        assert starts[0] == 0 and starts[-1] + min(512, length) == length
        assert all(s % 4 == 0 for s in starts)
        assert all(b - a <= 480 for a, b in zip(starts, starts[1:]))


# ------------------------------------------------------------------ folders and the script
def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def photo_folder(tmp_path):
    rng = np.random.default_rng(9)
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, shape in (("good1.png", (40, 56, 3)), ("good2.png", (40, 56, 3)),
                        ("large.jpg", (150, 202, 3))):
        image_io.write_image(rng.integers(0, 256, shape, dtype=np.uint8), folder / name)
    jpeg = image_io.encode_image(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "JPEG")
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "notes.jpg").write_text("not a photo\n")
    return folder


@pytest.fixture
def small_saved_generator(tmp_path):
    keras.utils.set_random_seed(10)
    return export(StylizerModule(cyclegan.ResnetGenerator(n_blocks=2, ngf=8)),
                  str(tmp_path / "generator"))


def test_stylize_script_reports_bad_files_and_goes_on(tmp_path, photo_folder,
                                                      small_saved_generator):
    before = {p.name: _digest(p) for p in photo_folder.iterdir()}
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pp_tf.scripts.stylize",
               f"--generator={small_saved_generator}", f"--input_dir={photo_folder}",
               f"--output_dir={out}", "--tile_size=64", "--overlap=16", "--noprogress"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=300)
    assert result.returncode == 1, result.stderr
    for bad in ("truncated.jpg", "notes.jpg"):
        assert bad in result.stderr
    assert sorted(os.listdir(out)) == ["errors.json", "good1.png", "good2.png", "large.jpg",
                                       "stylize.json"]
    errors = json.load(open(out / "errors.json"))
    assert sorted(os.path.basename(e["file"]) for e in errors) == ["notes.jpg", "truncated.jpg"]
    assert all(e["reason"] for e in errors)
    assert image_io.read_image(out / "good1.png").shape == (40, 56, 3)
    assert image_io.read_image(out / "large.jpg").shape == (150, 202, 3)
    assert image_io.image_format(out / "large.jpg") == "JPEG"
    assert {p.name: _digest(p) for p in photo_folder.iterdir()} == before

    # Without --overwrite nothing is replaced: the outputs are kept (the batch policy of
    # protect), and the bad files are errors again.
    written = _digest(out / "good1.png")
    log = stylize.stylize_folder(stylize.load_generator(small_saved_generator),
                                 str(photo_folder), str(out), stylize.StylizeConfig(
                                     tile_size=64, overlap=16), progress=False)
    assert log.written == [] and len(log.kept) == 3 and len(log.errors) == 2
    assert _digest(out / "good1.png") == written


def test_stylize_refuses_output_inside_input_and_bad_tiles(photo_folder):
    with pytest.raises(image_io.ImageError, match="inside the input directory"):
        stylize.stylize_folder(lambda x: x, str(photo_folder), str(photo_folder / "out"),
                               stylize.StylizeConfig(), progress=False)
    assert not (photo_folder / "out").exists()
    with pytest.raises(ValueError, match="overlap"):
        stylize.StylizeConfig(tile_size=64, overlap=32)
    with pytest.raises(ValueError, match="tile_size"):
        stylize.StylizeConfig(tile_size=510)
