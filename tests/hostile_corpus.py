"""Generates the hostile-input corpus: bad files mixed with good photos."""

import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

GPS_TAG = 0x8825
ORIENTATION_TAG = 0x0112


def gradient(height, width):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                     (x + y) * 255 // max(width + height - 2, 1)], -1).astype(np.uint8)


def exif_with(orientation=None, gps=False):
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION_TAG] = orientation
    if gps:
        exif[GPS_TAG] = {1: "N", 2: (52.0, 22.0, 1.5), 3: "E", 4: (4.0, 53.0, 2.0)}
    exif[0x010F] = "CameraMaker"
    return exif


def png_bomb(width=30000, height=30000):
    """A tiny PNG whose header declares width x height pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * (1 + 3 * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def write_corpus(folder):
    """Writes the corpus; returns (good file names, {bad file name: reason fragment})."""
    os.makedirs(folder, exist_ok=True)
    p = lambda name: os.path.join(folder, name)  # noqa: E731
    good, bad = [], {}
    photo = Image.fromarray(gradient(240, 320))

    photo.save(p("good photo.jpg"), quality=92)
    good.append("good photo.jpg")
    Image.fromarray(gradient(240, 320)).convert("CMYK").save(p("cmyk.jpg"), quality=92)
    good.append("cmyk.jpg")
    Image.fromarray((gradient(64, 80)[..., 0].astype(np.uint16) * 257)).save(p("sixteen_bit.png"))
    good.append("sixteen_bit.png")
    palette = Image.fromarray(gradient(64, 80)).convert("P", palette=Image.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    palette.save(p("palette_alpha.png"), transparency=0)
    good.append("palette_alpha.png")
    Image.fromarray(gradient(64, 80)[..., 1]).save(p("grayscale.png"))
    good.append("grayscale.png")
    # Stored sideways, tagged so that viewers rotate it upright (portrait 240 wide, 320 tall).
    sideways = Image.fromarray(gradient(320, 240)).transpose(Image.Transpose.ROTATE_90)
    sideways.save(p("exif_orientation_6.jpg"), exif=exif_with(orientation=6), quality=92)
    good.append("exif_orientation_6.jpg")
    Image.fromarray(gradient(320, 240)).transpose(Image.Transpose.ROTATE_270).save(
        p("exif_orientation_8.jpg"), exif=exif_with(orientation=8), quality=92)
    good.append("exif_orientation_8.jpg")
    Image.fromarray(np.full((1, 1, 3), 128, np.uint8)).save(p("one_pixel.png"))
    good.append("one_pixel.png")
    Image.fromarray(gradient(100, 150)).save(p("smaller_than_crop.png"))
    good.append("smaller_than_crop.png")
    frames = [Image.fromarray(np.full((50, 60, 3), c, np.uint8)) for c in (30, 200)]
    frames[0].save(p("animated.gif"), save_all=True, append_images=frames[1:], duration=100)
    good.append("animated.gif")
    photo.save(p("Ünïcødé name with spaces.jpg"), quality=92)
    good.append("Ünïcødé name with spaces.jpg")
    photo.save(p("gps.jpg"), exif=exif_with(gps=True), quality=92)
    good.append("gps.jpg")

    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=92)
    open(p("truncated.jpg"), "wb").write(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    bad["truncated.jpg"] = "truncated"
    open(p("empty.jpg"), "wb").close()
    bad["empty.jpg"] = "empty file"
    open(p("text.jpg"), "w").write("this is not an image\n")
    bad["text.jpg"] = "not a recognised image"
    open(p("bomb.png"), "wb").write(png_bomb())
    bad["bomb.png"] = "decompression bomb"
    os.mkdir(p("folder.jpg"))
    bad["folder.jpg"] = "not a regular file"
    photo.save(p("unreadable.jpg"))
    os.chmod(p("unreadable.jpg"), 0)
    if os.access(p("unreadable.jpg"), os.R_OK):  # root reads anything: use a dangling link
        os.unlink(p("unreadable.jpg"))
        os.symlink(p("missing-target.jpg"), p("unreadable.jpg"))
    bad["unreadable.jpg"] = ""
    return good, bad
