"""`pgd`: per-photo L-inf PGD against an attacker ensemble (EOT, momentum, input diversity).

The attack (`pp_tf.attacks.pgd`) runs on a working-size copy of the photo
(shorter side = the largest attacker view's resize, unless `working_size`), each
attacker seeing it through its own view; the perturbation is then upsampled
bilinearly (smooth, no blocks) to the full photo and rounded, so the output is
within `xi` of the original at every pixel, at any resolution.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import tensorflow as tf

from pp_tf import attacker as attacker_lib
from pp_tf import models
from pp_tf.attacks import pgd
from pp_tf.protections.base import (PhotoContext, Prepared, Protection, Servable, file_rng,
                                   register)

_DEFAULTS = pgd.PGDConfig()


def setting(default, help_text: str):
    """A settings field with its `protect` flag help (shared by the per-photo attacks)."""
    return dataclasses.field(default=default, metadata={"help": help_text})


# Settings that pgd and color_filter share have one help text.
ATTACKER_HELP = "Attackers to fool (comma list of architectures, exports or .keras files)."
STEPS_HELP = "Optimisation steps per photo (pgd, color_filter)."
EOT_HELP = "Random rescale+crop+JPEG draws averaged per step (EOT; 0: off)."
DIVERSITY_HELP = ("Probability of a random resize-and-pad of each attacker input per step "
                  "(input diversity; 0: off).")
OBJECTIVE_HELP = ("What the attack raises per attacker: ce (cross-entropy of its clean top-1, "
                  "capped), top5 (that label's margin below the fifth other class), top5_set "
                  "(cross-entropy of its clean top 5 together, capped).")
WORKING_SIZE_HELP = ("Shorter side of the working copy a per-photo attack is optimised on (0: "
                     "pgd, the largest attacker view's resize size; color_filter and "
                     "color_grade, 128, or 224 with --nima).")


@dataclasses.dataclass(frozen=True)
class PGDSettings:
    attacker: str = setting(models.TRAINED_ATTACKERS, ATTACKER_HELP)
    xi: float = setting(_DEFAULTS.xi, "L-inf budget on the 0-255 scale (noise, per-photo "
                                      "attacks).")
    steps: int = setting(_DEFAULTS.steps, STEPS_HELP)
    step_size: float = setting(0.0, "PGD step on the 0-255 scale (0: 2 * xi / steps).")
    momentum: float = setting(_DEFAULTS.momentum, "MI-FGSM momentum of the PGD step (0: plain "
                                                  "PGD).")
    eot_samples: int = setting(_DEFAULTS.eot_samples, EOT_HELP)
    diversity: float = setting(_DEFAULTS.diversity, DIVERSITY_HELP)
    random_start: bool = setting(_DEFAULTS.random_start, "Start PGD at a uniform random point "
                                                         "of the xi-ball (else at the photo).")
    delta_scale: float = setting(_DEFAULTS.delta_scale, "Size of the PGD perturbation relative "
                                                        "to the working photo (bilinear up).")
    step_norm: Literal["sign", "rms"] = setting(
        _DEFAULTS.step_norm, "PGD step: sign (every pixel moves by the step) or rms (pixels "
                             "move with their gradient; less change at the same xi).")
    objective: Literal["ce", "top5", "top5_set"] = setting(_DEFAULTS.objective, OBJECTIVE_HELP)
    mask_floor: float = setting(_DEFAULTS.mask_floor, "Texture masking: the share of xi the "
                                "smoothest areas may use (1: xi everywhere; the budget "
                                "rises with local detail).")
    working_size: int = setting(0, WORKING_SIZE_HELP)
    seed: int = 0

    def __post_init__(self):
        attacker_lib.split_attacker_spec(self.attacker)  # raises on an empty entry
        if self.step_size < 0 or self.working_size < 0:
            raise ValueError(f"step_size and working_size must be >= 0: {self}")
        self.config()  # validates the rest

    def config(self) -> pgd.PGDConfig:
        return pgd.PGDConfig(xi=self.xi, steps=self.steps, step_size=self.step_size or None,
                             momentum=self.momentum, eot_samples=self.eot_samples,
                             diversity=self.diversity, random_start=self.random_start,
                             delta_scale=self.delta_scale, step_norm=self.step_norm,
                             objective=self.objective, mask_floor=self.mask_floor,
                             seed=self.seed)


def photo_seed(seed: int, name: str) -> np.ndarray:
    """An int pair for the stateless random ops, from the run's seed and the file name."""
    return file_rng(seed, name).integers(0, 2 ** 31 - 1, 2)


def attack_working_photo(attack, attackers, photo: np.ndarray, working_side: int, seed: int,
                         name: str, full_views: bool = False):
    """Runs a per-photo attack (`attack(work, labels, seed)`: PGD, the colour filter or the
    colour grade) on the working-size copy of `photo` against each attacker's clean top-1
    (its top 5 for the `top5_set` objective) on `photo` itself, which is what an attacker
    sees and what `evaluate` judges against. The working copy's own top-1 can differ: on
    about one photo-attacker pair in ten of the tuning and bundled photos it is the photo's
    second to fifth class (BUILD_NOTES, "Protections": the photo's own label), and an
    attack aimed at it leaves the photo's top-1 in place. With `full_views`, the attack
    also gets each attacker's view of `photo` (`attack(..., views=)`): the colour attacks
    optimise a global colour map through them; a perturbation lives on the working copy
    and cannot.

    Returns:
        (what the attack returns, the manifest's record of the working shape and the
        clean top-1 of every attacker).
    """
    work = pgd.working_photo(photo, working_side)
    views = tuple(attacker.view(photo[None]) for attacker in attackers)
    labels = pgd.view_labels(attackers, views, pgd.labels_per_photo(attack.config.objective))
    extra = {"views": views} if full_views else {}
    result = attack(work, labels, photo_seed(seed, name), **extra)
    record = {"working_shape": [int(n) for n in work.shape[1:3]],
              "clean_top1": {a.name: a.class_names[int(np.ravel(label[0])[0])]
                             for a, label in zip(attackers, labels)}}
    return result, record


def build(settings: PGDSettings) -> Prepared:
    attackers = attacker_lib.load_attackers(settings.attacker)
    attack = pgd.PGD(attackers, settings.config())
    size = pgd.working_size(attackers, settings.working_size)

    def apply(photo: np.ndarray, context: PhotoContext) -> np.ndarray:
        delta, record = attack_working_photo(attack, attackers, photo, size, settings.seed,
                                             context.name)
        out = pgd.add_delta(photo, delta, settings.xi).numpy()
        context.record["pgd"] = {
            **record, "max_change": int(np.abs(out.astype(np.int16) - photo).max())}
        return out

    return Prepared(apply, tuple(a.name for a in attackers),
                    {"attack": repr(attack), "working_size": size}, models=attackers)


# A served photo has no file name: its random draws are those `protect` gives a file named "".
SERVED_NAME = ""


def serving(settings: PGDSettings) -> Servable:
    """The whole of `build`'s per-photo function as tensor ops (the attack's steps in a
    `tf.while_loop`), for any photo size: what `protect` writes for a photo named
    `SERVED_NAME`, before the quality gate."""
    attackers = attacker_lib.load_attackers(settings.attacker)
    attack = pgd.PGD(attackers, settings.config())
    size = pgd.working_size(attackers, settings.working_size)
    seed = tf.constant(photo_seed(settings.seed, SERVED_NAME), tf.int32)
    top = pgd.labels_per_photo(attack.config.objective)

    def protect_photo(photo):
        labels = pgd.clean_labels(attackers, tf.cast(photo[None], tf.float32), top)
        delta = attack.run(pgd.working_photo(photo, size), labels, seed)
        return pgd.add_delta(photo, delta, settings.xi)

    return Servable(lambda images: tf.map_fn(protect_photo, images),
                    owned=tuple(a.owner for a in attackers))


PROTECTION = register(Protection(
    "pgd", "per-photo L-inf PGD against an attacker ensemble (EOT, momentum, input "
           "diversity), within xi at full resolution", PGDSettings, build, serving))
