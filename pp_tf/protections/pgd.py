"""`pgd`: per-photo L-inf PGD against an attacker ensemble (EOT, momentum, input diversity).

The attack (`pp_tf.attacks.pgd`) runs on a working-size copy of the photo
(shorter side = the largest attacker view's resize, unless `working_size`), each
attacker seeing it through its own view; the perturbation is then upsampled
bilinearly (smooth, no blocks) to the full photo and rounded, so the output is
within `xi` of the original at every pixel, at any resolution.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from pp_tf import attacker as attacker_lib
from pp_tf import models
from pp_tf.attacks import fooling, pgd
from pp_tf.protections.base import (PhotoContext, Prepared, Protection, Servable, file_rng,
                                   register)
from pp_tf.settings import config_of, setting

# What the per-photo protections add to their attacks' settings, with one help text each.
ATTACKER_HELP = "Attackers to fool (comma list of architectures, exports or .keras files)."
WORKING_SIZE_HELP = ("Shorter side of the working copy a per-photo attack is optimised on (0: "
                     "pgd, the largest attacker view's resize size; tone_curves and "
                     "color_lut, 128, or 224 with --nima).")


def check_attacker_and_working_size(settings) -> None:
    """Raises ValueError for an empty attacker entry or a negative working size."""
    attacker_lib.split_attacker_spec(settings.attacker)
    if settings.working_size < 0:
        raise ValueError(f"working_size must be >= 0, got {settings.working_size}")


@dataclasses.dataclass(frozen=True)
class PGDSettings(pgd.PGDConfig):
    """Every setting of the attack (`pgd.PGDConfig`: default and help written there), and
    what the protection adds: the attackers and the working size."""

    attacker: str = setting(models.TRAINED_ATTACKERS, ATTACKER_HELP)
    working_size: int = setting(0, WORKING_SIZE_HELP)

    def __post_init__(self):
        super().__post_init__()
        check_attacker_and_working_size(self)

    def config(self) -> pgd.PGDConfig:
        return config_of(pgd.PGDConfig, self)


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
    labels = fooling.view_labels(attackers, views, fooling.labels_per_photo(attack.config.objective))
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
    top = fooling.labels_per_photo(attack.config.objective)

    def protect_photo(photo):
        labels = fooling.clean_labels(attackers, tf.cast(photo[None], tf.float32), top)
        delta = attack.optimise(pgd.working_photo(photo, size), labels, seed)
        return pgd.add_delta(photo, delta, settings.xi)

    return Servable(lambda images: tf.map_fn(protect_photo, images),
                    owned=tuple(a.owner for a in attackers))


PROTECTION = register(Protection(
    "pgd", "per-photo L-inf PGD against an attacker ensemble (EOT, momentum, input "
           "diversity), within xi at full resolution", PGDSettings, build, serving))
