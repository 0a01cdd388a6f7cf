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
from pp_tf import deprecation, models
from pp_tf.attacks import fooling, pgd
from pp_tf.protections._per_photo import (ATTACKER_HELP, SERVED_NAME, WORKING_SIZE_HELP,
                                          attack_working_photo,
                                          check_attacker_and_working_size, photo_seed)
from pp_tf.protections.base import PhotoContext, Prepared, Protection, Servable, register
from pp_tf.settings import config_of, setting


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


def _attack(settings: PGDSettings):
    """(the attackers, the attack, its working size): what `build` and `serving` set up
    alike."""
    attackers = attacker_lib.load_attackers(settings.attacker)
    return (attackers, pgd.PGD(attackers, settings.config()),
            pgd.working_size(attackers, settings.working_size))


def build(settings: PGDSettings) -> Prepared:
    attackers, attack, size = _attack(settings)

    def apply(photo: np.ndarray, context: PhotoContext) -> np.ndarray:
        delta, record = attack_working_photo(attack, attackers, photo, size, settings.seed,
                                             context.name)
        out = pgd.add_delta(photo, delta, settings.xi).numpy()
        context.record["pgd"] = {
            **record, "max_change": int(np.abs(out.astype(np.int16) - photo).max())}
        return out

    return Prepared(apply, tuple(a.name for a in attackers),
                    {"attack": repr(attack), "working_size": size}, models=attackers)


def serving(settings: PGDSettings) -> Servable:
    """The whole of `build`'s per-photo function as tensor ops (the attack's steps in a
    `tf.while_loop`), for any photo size: what `protect` writes for a photo named
    `SERVED_NAME`, before the quality gate."""
    attackers, attack, size = _attack(settings)
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

# The attacker list has one home, next to the architectures it names.
__getattr__ = deprecation.moved(__name__, {"DEFAULT_ATTACKERS": "pp_tf.models:TRAINED_ATTACKERS"})
