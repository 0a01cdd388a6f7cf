"""Regenerates docs/tone_curves_looks.jpg: what `tone_curves` and `color_lut` do to a photo.

One row per photo (six bundled photos), one column per setting: the original, then one
column per argument, `method:{JSON settings}` or `{JSON settings}` for `tone_curves`
(default: `tone_curves` at its defaults, with `--max_change=40`, and with the strong
recipe `--plain_view --look_weight=15 --steps=120`; then `color_lut` at its defaults),
each photo's centre in a 225 x 168 cell. Prints each cell's PSNR and mean CIEDE2000
against the original.

  python docs/make_tone_curves_looks.py
  python docs/make_tone_curves_looks.py '{}' 'color_lut:{"look_weight": 200}'
"""

import json
import os
import sys

import numpy as np
from PIL import Image

from pp_tf import image_io, metrics, protections

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = ("china_temple.jpg", "coffee.png", "flower.jpg", "fruits.jpg", "leuven_street.jpg",
          "squirrel.jpg")
CELL = (225, 168)  # width, height


def fit(photo: np.ndarray) -> np.ndarray:
    """The centre of `photo` at the cell's aspect, resized to the cell."""
    height, width = photo.shape[:2]
    crop_w = min(width, round(height * CELL[0] / CELL[1]))
    crop_h = min(height, round(width * CELL[1] / CELL[0]))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    cell = Image.fromarray(photo[top:top + crop_h, left:left + crop_w])
    return np.asarray(cell.resize(CELL, Image.Resampling.LANCZOS))


def build(column: str):
    """The per-photo function of a column `method:{settings}` (or `{settings}`)."""
    name, _, settings = column.partition(":") if not column.startswith("{") else ("", "", column)
    method = protections.get(name or "tone_curves")
    return method.build(method.make_settings(json.loads(settings))).apply


def main(columns: list[str]) -> None:
    applies = [build(column) for column in columns]
    rows = []
    for name in PHOTOS:
        photo = image_io.read_image(os.path.join(REPO, "examples", name))
        cells = [photo]
        for column, apply in zip(columns, applies):
            out = apply(photo, protections.PhotoContext(name))
            print(f"{name} {column}: PSNR {metrics.psnr(photo, out):.2f} dB, mean CIEDE2000 "
                  f"{metrics.mean_ciede2000(photo, out):.2f}", flush=True)
            cells.append(out)
        rows.append(np.concatenate([fit(cell) for cell in cells], 1))
    sheet = np.concatenate(rows, 0)
    Image.fromarray(sheet).save(os.path.join(REPO, "docs", "tone_curves_looks.jpg"), quality=88)


if __name__ == "__main__":
    main(sys.argv[1:] or ["{}", '{"max_change": 40}',
                          '{"plain_view": true, "look_weight": 15, "steps": 120}',
                          "color_lut:{}"])
