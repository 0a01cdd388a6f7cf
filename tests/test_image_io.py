"""Photo decoding and safe writing, on a generated hostile corpus."""

import os

import numpy as np
import pytest
from PIL import Image

from hostile_corpus import GPS_TAG, gradient, write_corpus
from pp_tf import image_io


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    good, bad = write_corpus(str(folder))
    return str(folder), good, bad


def test_good_files_decode_to_rgb_uint8(corpus):
    folder, good, _ = corpus
    for name in good:
        pixels = image_io.read_image(os.path.join(folder, name))
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[-1] == 3, name


def test_bad_files_raise_errors_naming_file_and_reason(corpus):
    folder, _, bad = corpus
    for name, reason in bad.items():
        with pytest.raises(image_io.ImageError) as info:
            image_io.read_image(os.path.join(folder, name))
        assert name in str(info.value) and reason in str(info.value), str(info.value)


def test_exif_orientation_is_applied(corpus):
    folder, _, _ = corpus
    upright = gradient(320, 240).astype(np.int16)
    for name in ("exif_orientation_6.jpg", "exif_orientation_8.jpg"):
        pixels = image_io.read_image(os.path.join(folder, name))
        assert pixels.shape == (320, 240, 3), name
        assert np.abs(pixels.astype(np.int16) - upright).mean() < 3, name


def test_conversions(corpus):
    folder, _, _ = corpus
    sixteen = image_io.read_image(os.path.join(folder, "sixteen_bit.png"))
    np.testing.assert_array_equal(sixteen[..., 0], gradient(64, 80)[..., 0])
    palette = image_io.read_image(os.path.join(folder, "palette_alpha.png"))
    source = Image.open(os.path.join(folder, "palette_alpha.png"))
    transparent = np.asarray(source) == 0
    assert (palette[transparent] == 255).all()  # transparent pixels composited on white
    gif = image_io.read_image(os.path.join(folder, "animated.gif"))
    assert abs(int(gif.mean()) - 30) <= 2  # the first frame
    cmyk = image_io.read_image(os.path.join(folder, "cmyk.jpg"))
    assert np.abs(cmyk.astype(int) - gradient(240, 320)).mean() < 8


def test_pixel_limit(corpus):
    folder, _, _ = corpus
    with pytest.raises(image_io.ImageError, match="exceeds the limit"):
        image_io.read_image(os.path.join(folder, "good photo.jpg"), max_pixels=1000)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP"])
def test_outputs_carry_no_metadata(tmp_path, fmt):
    data = image_io.encode_image(gradient(40, 50), fmt)
    path = tmp_path / "out"
    path.write_bytes(data)
    with Image.open(path) as image:
        assert image.format == fmt
        exif = image.getexif()
        if fmt == "TIFF":  # TIFF keeps its structural tags (size, strips); nothing else
            assert not {GPS_TAG, 0x8769, 0x010F, 0x0110, 0x0131, 0x0132} & set(exif)
        else:
            assert len(exif) == 0
        assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp"} & set(image.info)


def test_gps_photo_round_trip_strips_gps(corpus, tmp_path):
    folder, _, _ = corpus
    source = os.path.join(folder, "gps.jpg")
    assert GPS_TAG in Image.open(source).getexif()
    out = tmp_path / "gps.jpg"
    image_io.write_image(image_io.read_image(source), out)
    assert len(Image.open(out).getexif()) == 0


def test_atomic_write_never_clobbers(tmp_path):
    target = tmp_path / "a.png"
    image_io.write_image(gradient(8, 8), target)
    before = target.read_bytes()
    with pytest.raises(image_io.ImageError, match="output exists"):
        image_io.write_image(np.zeros((8, 8, 3), np.uint8), target)
    assert target.read_bytes() == before
    with pytest.raises(image_io.ImageError, match="refusing to overwrite an input"):
        image_io.write_image(gradient(8, 8), target, overwrite=True, protected=[str(target)])
    image_io.write_image(np.zeros((8, 8, 3), np.uint8), target, overwrite=True)
    assert target.read_bytes() != before
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_output_dir_inside_input_is_refused(tmp_path):
    with pytest.raises(image_io.ImageError, match="inside the input"):
        image_io.check_output_dir([str(tmp_path)], str(tmp_path / "out"))
    with pytest.raises(image_io.ImageError, match="inside the input"):
        image_io.check_output_dir([str(tmp_path)], str(tmp_path))
    image_io.check_output_dir([str(tmp_path / "in")], str(tmp_path / "out"))


def test_output_names_keep_the_format():
    assert image_io.output_name("a/b.JPG") == "b.JPG"
    assert image_io.output_name("x.gif") == "x.png"
    assert image_io.output_name("x.tiff") == "x.tiff"


@pytest.mark.parametrize("fmt, strip_rows", [("JPEG", 512), ("JPEG", 16), ("WEBP", 512),
                                             ("PNG", 512)])
def test_as_saved_is_what_a_reader_of_the_written_file_gets(tmp_path, monkeypatch, fmt,
                                                            strip_rows):
    """A JPEG coded in strips (16 rows: a strip boundary every two block rows, and a last
    strip of 3 rows) decodes to the pixels of the whole file as written."""
    monkeypatch.setattr(image_io, "JPEG_STRIP_ROWS", strip_rows)
    rng = np.random.default_rng(0)
    pixels = np.clip(gradient(99, 128).astype(np.int16)
                     + rng.integers(-20, 21, (99, 128, 3)), 0, 255).astype(np.uint8)
    path = tmp_path / image_io.output_name("photo.png", fmt)
    image_io.write_image(pixels, path, fmt)
    with Image.open(path) as written:  # PIL's own decoder, not image_io's
        expected = np.asarray(written.convert("RGB"))
    np.testing.assert_array_equal(image_io.as_saved(pixels, fmt), expected)
