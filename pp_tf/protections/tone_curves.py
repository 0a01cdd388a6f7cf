"""`tone_curves`: a per-photo adversarial tone curve (ACE, Zhao, Liu & Larson, BMVC 2020).

Per channel, a monotone piecewise-linear curve of `pieces` pieces is optimised
(`pp_tf.attacks.tone_curves`) on a working-size copy of the photo against the
attacker ensemble, through EOT, while staying near the curve of a `look`
(`natural`: the identity); with `nima`, an appeal term raises NIMA's score.
The curve is applied to the full-resolution photo as an exact 256-entry lookup
table per channel; its parameters go into the manifest (`protect.json`).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from pp_tf.attacks import tone_curves
from pp_tf import deprecation
from pp_tf.protections._color import (ColorProtectionSettings, build_color_attack,
                                      serve_color_attack)
from pp_tf.protections.base import OUTSIDE_GATE, Prepared, Protection, Servable, register


@dataclasses.dataclass(frozen=True)
class ToneCurvesSettings(ColorProtectionSettings, tone_curves.ToneCurvesConfig):
    """`tone_curves.ToneCurvesConfig` (every setting of the attack, written there) and
    `ColorProtectionSettings`."""

    CONFIG: ClassVar[type] = tone_curves.ToneCurvesConfig


def curve_record(theta: np.ndarray, look: str) -> dict:
    """The manifest's account of a curve: enough to rebuild the lookup table."""
    return {"pieces": int(theta.shape[-1]), "look": look,
            "theta": [[round(float(v), 6) for v in channel] for channel in theta],
            "formula": "y = K / sum(theta_c) * sum_k clip(x - k/K, 0, 1/K) * theta_c[k], "
                       "x and y in [0, 1], channels RGB"}


def build(settings: ToneCurvesSettings) -> Prepared:
    return build_color_attack(
        settings, "tone_curves", tone_curves.ToneCurves, curve_record,
        lambda photo, theta: tone_curves.apply_lookup_table(photo,
                                                             tone_curves.lookup_table(theta)))


def serving(settings: ToneCurvesSettings) -> Servable:
    return serve_color_attack(settings, tone_curves.ToneCurves, tone_curves.curve_photo)


PROTECTION = register(Protection(
    "tone_curves", "per-photo adversarial tone curve (ACE) against an attacker ensemble, "
                    "applied as a lookup table at full resolution", ToneCurvesSettings, build,
    serving, experiment=OUTSIDE_GATE.format(trained="15%", unseen="5%")))

# What this module held while it was also the colour methods' shared code (the old
# `color_filter` path answers for them too).
MOVED_NAMES = {
    **deprecation.names_in("pp_tf.protections._color", (
        "load_appeal", "color_working_size", "LOOK_WORKING_SIZE", "NIMA_HELP")),
    **deprecation.names_in("pp_tf.protections._per_photo", (
        "ATTACKER_HELP", "WORKING_SIZE_HELP", "SERVED_NAME", "photo_seed",
        "attack_working_photo", "check_attacker_and_working_size"))}
__getattr__ = deprecation.moved(__name__, MOVED_NAMES)
