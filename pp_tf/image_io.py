"""Reading and writing photos safely.

Every photo that enters pp_tf goes through `read_image` and every photo that
leaves goes through `write_image`:

* decoding: JPEG, PNG, WebP, BMP, TIFF and GIF (first frame) become RGB uint8
  `[height, width, 3]` with the EXIF orientation applied; grayscale, CMYK,
  palette, alpha (composited on white) and 16-bit inputs are converted;
* a pixel-count limit refuses decompression bombs before any pixel is decoded;
* errors are `ImageError`s that name the file and the reason;
* encoding keeps the input's format and writes no metadata at all (no EXIF,
  so no GPS; no XMP, no ICC profile, no text chunks);
* writes are atomic (temporary file in the target folder, then rename) and an
  output never replaces an input or, unless asked, an existing file.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings

import numpy as np
from PIL import Image, ImageOps

# 12-megapixel phones are common, 50-100 MP cameras exist; 30000x30000 bombs
# (900 MP) must not be decoded. The limit is checked on the header.
DEFAULT_MAX_PIXELS = 120_000_000

SUPPORTED_EXTENSIONS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".gif": "GIF",
}

# What each format is written as: lossless inputs stay lossless; GIF output
# would quantize to 256 colours, which destroys a perturbation, so GIF input is
# written as PNG (the output name says so).
_OUTPUT_FORMAT = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "WEBP": "WEBP",
    "BMP": "BMP",
    "TIFF": "TIFF",
    "GIF": "PNG",
    "MPO": "JPEG",
}
_EXTENSION_OF = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}


class ImageError(Exception):
    """A photo that cannot be read or written; the message names file and reason."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def is_image_name(path) -> bool:
    return os.path.splitext(str(path))[1].lower() in SUPPORTED_EXTENSIONS


def list_images(folder) -> list[str]:
    """Paths of the entries of `folder` with an image extension, sorted.

    Directories and unreadable entries with such names are included on purpose:
    `read_image` then reports them as errors rather than silently skipping them.
    """
    if not os.path.isdir(folder):
        raise ImageError(folder, "not a directory")
    return sorted(
        os.path.join(folder, name) for name in os.listdir(folder) if is_image_name(name)
    )


def _to_rgb_uint8(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grayscale: scale by the nominal bit depth to 8 bits.
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        gray = np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        top = 1.0 if array.max() <= 1.0 else 255.0
        gray = np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def read_image(path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decodes `path` to RGB uint8 `[height, width, 3]`, upright.

    Raises:
        ImageError: the file is missing, not a regular file, unreadable, empty,
            not an image, truncated, or larger than `max_pixels`.
    """
    path = str(path)
    if not os.path.exists(path):
        raise ImageError(path, "no such file")
    if not os.path.isfile(path):
        raise ImageError(path, "not a regular file")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ImageError(path, f"cannot be read ({error.strerror or error})") from None
    return decode_image(data, path, max_pixels)


def decode_image(data: bytes, path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decodes a file's bytes (read from `path`, which errors name) as `read_image` does."""
    if not data:
        raise ImageError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    path,
                    f"{width}x{height} pixels exceeds the limit of {max_pixels} pixels "
                    "(possible decompression bomb)",
                )
            image.seek(0)  # animated GIF/WebP/TIFF: the first frame
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb_uint8(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(path, f"possible decompression bomb ({error})") from None
    except Image.UnidentifiedImageError:
        raise ImageError(path, "not a recognised image format") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(path, f"corrupt or truncated image ({error})") from None


def bytes_format(data: bytes) -> str | None:
    """The PIL format name of an encoded photo, from its header (None: not an image)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format or "PNG"
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def image_format(path) -> str:
    """The PIL format name of the file at `path` (read from its header)."""
    try:
        with Image.open(path) as image:
            return image.format or "PNG"
    except Image.DecompressionBombError as error:
        raise ImageError(path, f"possible decompression bomb ({error})") from None
    except (OSError, ValueError) as error:
        raise ImageError(path, f"not a recognised image format ({error})") from None


def output_name(input_path, source_format: str | None = None) -> str:
    """The file name an output of `input_path` gets (GIF input becomes PNG)."""
    base, extension = os.path.splitext(os.path.basename(str(input_path)))
    fmt = source_format or SUPPORTED_EXTENSIONS.get(extension.lower(), "PNG")
    out_format = _OUTPUT_FORMAT.get(fmt, "PNG")
    if SUPPORTED_EXTENSIONS.get(extension.lower()) == out_format:
        return base + extension
    return base + _EXTENSION_OF[out_format]


def encode_image(pixels: np.ndarray, fmt: str, jpeg_quality: int = 95,
                 optimize: bool = True) -> bytes:
    """Encodes RGB uint8 pixels in `fmt` with no metadata at all. `optimize` (JPEG) fits the
    Huffman tables to the photo: a smaller file with the same pixels, at about 0.15 s more
    for 12 MP."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"expected uint8 [h, w, 3] pixels, got {pixels.dtype} {pixels.shape}")
    out_format = _OUTPUT_FORMAT.get(fmt.upper(), fmt.upper())
    # A fresh Image from the array carries no info dict: no EXIF, XMP, ICC or text.
    image = Image.fromarray(pixels, mode="RGB")
    buffer = io.BytesIO()
    if out_format == "JPEG":
        image.save(buffer, "JPEG", quality=jpeg_quality, subsampling=0, optimize=optimize)
    elif out_format == "WEBP":
        image.save(buffer, "WEBP", quality=jpeg_quality, method=4)
    elif out_format == "TIFF":
        image.save(buffer, "TIFF", compression="tiff_deflate")
    else:
        image.save(buffer, out_format)
    return buffer.getvalue()


# `as_saved` codes a JPEG in strips of this many rows (a multiple of 8: see there).
JPEG_STRIP_ROWS = 512
assert JPEG_STRIP_ROWS % 8 == 0


def _saved_format(fmt: str | None) -> str:
    """The format a photo read as `fmt` is written in (PNG when unknown)."""
    return _OUTPUT_FORMAT.get((fmt or "PNG").upper(), (fmt or "PNG").upper())


def _decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def as_saved(pixels: np.ndarray, fmt: str | None, jpeg_quality: int = 95) -> np.ndarray:
    """The pixels a reader gets back from `encode_image(pixels, fmt, jpeg_quality)`: the
    decoded file for the lossy formats (JPEG, WebP), `pixels` themselves otherwise. The
    JPEG is encoded without Huffman optimisation, which changes the file's size, never its
    pixels.

    A JPEG is coded in strips of `JPEG_STRIP_ROWS` rows, each a JPEG of its own, into one
    output array, so that a 50 MP photo needs no whole-photo copies in PIL: with no chroma
    subsampling (`encode_image` writes 4:4:4) a baseline JPEG codes every 8x8 block on its
    own (DCT, quantisation, IDCT, colour conversion; no upsampling across blocks), so
    strips that start on multiples of 8 rows decode to exactly the whole file's pixels
    (`tests/test_image_io.py` checks it against the whole photo's round trip).
    """
    out_format = _saved_format(fmt)
    if out_format not in ("JPEG", "WEBP"):
        return pixels
    if out_format == "WEBP":  # VP8 filters across blocks: the whole photo at once
        return _decoded(encode_image(pixels, out_format, jpeg_quality, optimize=False))
    pixels = np.asarray(pixels)
    out = np.empty(pixels.shape, np.uint8)
    for top in range(0, len(pixels), JPEG_STRIP_ROWS):
        rows = slice(top, top + JPEG_STRIP_ROWS)
        out[rows] = _decoded(encode_image(np.ascontiguousarray(pixels[rows]), out_format,
                                          jpeg_quality, optimize=False))
    return out


class AsSaved:
    """`as_saved(pixels, fmt, jpeg_quality)` as a function of the pixels, which the quality
    gate calls on each candidate. `strip_rows`: a strip of that many rows starting on a
    multiple of it comes back as those rows of the whole photo's `as_saved` (every format
    but WebP, which filters across blocks: None), so the gate can blend and save its
    candidates strip by strip."""

    def __init__(self, fmt: str | None, jpeg_quality: int = 95):
        self.fmt, self.jpeg_quality = fmt, jpeg_quality
        self.strip_rows = None if _saved_format(fmt) == "WEBP" else JPEG_STRIP_ROWS

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return as_saved(pixels, self.fmt, self.jpeg_quality)


def same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(data: bytes, path, overwrite: bool = False, protected=()) -> None:
    """Writes `data` to `path` through a temporary file and a rename.

    Never writes over any path in `protected` (the inputs), and over an
    existing file only when `overwrite` is true. A crash leaves either no file
    or the complete one, and at most a `.tmp` file that `clean_temporaries`
    removes.
    """
    path = os.fspath(path)
    for original in protected:
        if same_file(original, path) or os.path.abspath(original) == os.path.abspath(path):
            raise ImageError(path, "refusing to overwrite an input file")
    if os.path.lexists(path) and not overwrite:
        raise ImageError(path, "output exists (pass --overwrite to replace it)")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".pp_tf-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file owner-only; give it the permissions open() would.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_image(pixels, path, fmt: str | None = None, overwrite: bool = False, protected=(),
                jpeg_quality: int = 95) -> None:
    """Encodes `pixels` (format from `fmt` or the extension) and writes it atomically."""
    if fmt is None:
        fmt = SUPPORTED_EXTENSIONS.get(os.path.splitext(str(path))[1].lower(), "PNG")
    write_bytes_atomic(encode_image(pixels, fmt, jpeg_quality), path, overwrite, protected)


def clean_temporaries(folder) -> int:
    """Removes temporary files an interrupted run left in `folder`; returns how many."""
    removed = 0
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith(".pp_tf-") and name.endswith(".tmp"):
                os.unlink(os.path.join(folder, name))
                removed += 1
    return removed


def check_output_dir(input_dirs, output_dir) -> None:
    """Refuses an output directory equal to, or inside, any input directory."""
    out = os.path.realpath(output_dir)
    for folder in input_dirs:
        source = os.path.realpath(folder)
        if out == source or out.startswith(source + os.sep):
            raise ImageError(output_dir, f"output directory is inside the input directory {folder}")
