"""`color_grade`: a per-photo adversarial colour grade (a smooth 3-D colour lookup table).

A lattice of `lattice`^3 output colours over the RGB cube (`pp_tf.attacks.color_grade`)
is optimised on a working-size copy of the photo against the attacker ensemble, through
EOT, near the look's colours and within bounds on its slopes; it is applied to the
full-resolution photo by trilinear interpolation, the same function at any size. The
lattice goes into the manifest (`protect.json`) in the node order of a `.cube` file.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from pp_tf.attacks import color_grade
from pp_tf.protections.base import OUTSIDE_GATE, Prepared, Protection, register
from pp_tf.protections.color_filter import (CONFIDENCE_HELP, ENSEMBLE_LOSS_HELP,
                                            LEARNING_RATE_HELP,
                                            LOOK_WEIGHT_HELP, PLAIN_VIEW_HELP,
                                            SKIP_EROSION_HELP, ColourAttackSettings,
                                            build_colour_attack)
from pp_tf.protections.pgd import DIVERSITY_HELP, EOT_HELP, OBJECTIVE_HELP, STEPS_HELP, setting

_DEFAULTS = color_grade.ColorGradeConfig()


@dataclasses.dataclass(frozen=True)
class ColorGradeSettings(ColourAttackSettings):
    lattice: int = setting(_DEFAULTS.lattice, "Nodes per axis of the colour grade's RGB "
                                              "lattice (color_grade).")
    steps: int = setting(_DEFAULTS.steps, STEPS_HELP)
    learning_rate: float = setting(_DEFAULTS.learning_rate, LEARNING_RATE_HELP)
    look_weight: float = setting(_DEFAULTS.look_weight, LOOK_WEIGHT_HELP)
    smoothness: float = setting(_DEFAULTS.smoothness, "Weight of the grade's roughness (squared "
                                                      "second differences of its lattice).")
    max_gain: float = setting(_DEFAULTS.max_gain, "Steepest a channel may rise with itself "
                                                  "in the grade (1: the identity).")
    max_cross: float = setting(_DEFAULTS.max_cross, "Steepest a channel may move with another "
                                                    "in the grade (0: none).")
    bound_weight: float = setting(_DEFAULTS.bound_weight, "Weight of the grade's slopes beyond "
                                                          "--max_gain and --max_cross.")
    objective: Literal["ce", "top5", "top5_set"] = setting(_DEFAULTS.objective, OBJECTIVE_HELP)
    confidence: float = setting(_DEFAULTS.confidence, CONFIDENCE_HELP)
    ensemble_loss: Literal["sum", "softmin"] = setting(_DEFAULTS.ensemble_loss,
                                                       ENSEMBLE_LOSS_HELP)
    eot_samples: int = setting(_DEFAULTS.eot_samples, EOT_HELP)
    plain_view: bool = setting(_DEFAULTS.plain_view, PLAIN_VIEW_HELP)
    diversity: float = setting(_DEFAULTS.diversity, DIVERSITY_HELP)
    skip_erosion: float = setting(_DEFAULTS.skip_erosion, SKIP_EROSION_HELP)

    def config(self) -> color_grade.ColorGradeConfig:
        return color_grade.ColorGradeConfig(
            lattice=self.lattice, steps=self.steps, learning_rate=self.learning_rate,
            look=self.look, look_weight=self.look_weight, smoothness=self.smoothness,
            max_gain=self.max_gain, max_cross=self.max_cross, bound_weight=self.bound_weight,
            objective=self.objective, confidence=self.confidence,
            ensemble_loss=self.ensemble_loss,
            appeal_weight=self.appeal_weight if self.nima else 0.0,
            eot_samples=self.eot_samples, plain_view=self.plain_view,
            diversity=self.diversity, skip_erosion=self.skip_erosion, seed=self.seed)


def grade_record(table: np.ndarray, look: str) -> dict:
    """The manifest's account of a grade: the lattice, red varying fastest (`.cube` order)."""
    lattice = table.shape[0]
    rows = np.transpose(table, (2, 1, 0, 3)).reshape(-1, 3)  # [b, g, r] order: r fastest
    return {"lattice": lattice, "look": look,
            "rgb": [[round(float(v), 5) for v in row] for row in rows],
            "interpolation": "trilinear; rows are the output colour (0-1) at input "
                             "(r, g, b) = (i, j, k) / (lattice - 1), i varying fastest"}


def build(settings: ColorGradeSettings) -> Prepared:
    return build_colour_attack(settings, "color_grade", color_grade.ColorGrade, grade_record,
                               color_grade.grade_photo)


PROTECTION = register(Protection(
    "color_grade", "per-photo adversarial colour grade (a smooth 3-D colour lookup table) "
                   "against an attacker ensemble, applied at full resolution",
    ColorGradeSettings, build,
    experiment=OUTSIDE_GATE.format(trained="22.5%", unseen="10%")))
