"""`color_lut`: a per-photo adversarial colour grade (a smooth 3-D colour lookup table).

A lattice of `lattice`^3 output colours over the RGB cube (`pp_tf.attacks.color_lut`)
is optimised on a working-size copy of the photo against the attacker ensemble, through
EOT, near the look's colours and within bounds on its slopes; it is applied to the
full-resolution photo by trilinear interpolation, the same function at any size. The
lattice goes into the manifest (`protect.json`) in the node order of a `.cube` file.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from pp_tf.attacks import color_lut
from pp_tf.protections.base import OUTSIDE_GATE, Prepared, Protection, Servable, register
from pp_tf.protections._color import (ColorProtectionSettings, build_color_attack,
                                      serve_color_attack)


@dataclasses.dataclass(frozen=True)
class ColorLUTSettings(ColorProtectionSettings, color_lut.ColorLUTConfig):
    """`color_lut.ColorLUTConfig` (every setting of the attack, written there) and
    `_color.ColorProtectionSettings`."""

    CONFIG: ClassVar[type] = color_lut.ColorLUTConfig


def grade_record(table: np.ndarray, look: str) -> dict:
    """The manifest's account of a grade: the lattice, red varying fastest (`.cube` order)."""
    lattice = table.shape[0]
    rows = np.transpose(table, (2, 1, 0, 3)).reshape(-1, 3)  # [b, g, r] order: r fastest
    return {"lattice": lattice, "look": look,
            "rgb": [[round(float(v), 5) for v in row] for row in rows],
            "interpolation": "trilinear; rows are the output colour (0-1) at input "
                             "(r, g, b) = (i, j, k) / (lattice - 1), i varying fastest"}


def build(settings: ColorLUTSettings) -> Prepared:
    return build_color_attack(settings, "color_lut", color_lut.ColorLUT, grade_record,
                               color_lut.grade_photo)


def serving(settings: ColorLUTSettings) -> Servable:
    return serve_color_attack(settings, color_lut.ColorLUT, color_lut.grade_pixels)


PROTECTION = register(Protection(
    "color_lut", "per-photo adversarial colour grade (a smooth 3-D colour lookup table) "
                   "against an attacker ensemble, applied at full resolution",
    ColorLUTSettings, build, serving,
    experiment=OUTSIDE_GATE.format(trained="22.5%", unseen="10%")))
