"""What the colour protections (`tone_curves`, `color_lut`) share: the settings they add to
their attacks' (the attackers, NIMA, the working size), NIMA's appeal as a differentiable
function, and one `build` and one `serving` for an attack that returns colour-map
parameters."""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from pp_tf import attacker as attacker_lib
from pp_tf import models
from pp_tf.attacks import color_attack, fooling, pgd
from pp_tf.protections._per_photo import (ATTACKER_HELP, SERVED_NAME, WORKING_SIZE_HELP,
                                          attack_working_photo,
                                          check_attacker_and_working_size, photo_seed)
from pp_tf.protections.base import PhotoContext, Prepared, Servable
from pp_tf.settings import config_of, setting

NIMA_HELP = "NIMA SavedModel (port_weights) or .keras scorer: adds an appeal term."


@dataclasses.dataclass(frozen=True)
class ColorProtectionSettings:
    """What the colour protections add to their attack's settings (a mixin before the
    attack's Config): the attackers, the NIMA model, the working size, and an appeal
    weight of 1 (it counts only with --nima)."""

    attacker: str = setting(models.TRAINED_ATTACKERS, ATTACKER_HELP)
    nima: str | None = setting(None, NIMA_HELP)
    appeal_weight: float = setting(1.0, color_attack.APPEAL_WEIGHT_HELP)
    working_size: int = setting(0, WORKING_SIZE_HELP)

    def __post_init__(self):
        super().__post_init__()  # the attack's Config: its own checks
        check_attacker_and_working_size(self)
        if self.nima is not None and not os.path.exists(self.nima):
            raise ValueError(f"nima: no such SavedModel folder or .keras file {self.nima!r}")

    def config(self):
        """The attack's Config (`CONFIG`, which each method names), from these settings."""
        return config_of(self.CONFIG, self,
                         appeal_weight=self.appeal_weight if self.nima else 0.0)


def load_appeal(path: str, build: Callable | None = None) -> color_attack.AppealFn:
    """NIMA's mean score as a differentiable function of float photos (0-255, any size).

    `path` is a `.keras` model (0-255 pixels at 224 -> 10 score probabilities; loaded
    with safe_mode) or a NIMA SavedModel from `port_weights`, whose uint8 signature has
    no gradient: its variables are copied by name into a fresh `build()` model
    (default: `pp_tf.models.nima.NimaMobileNet`).
    """
    import keras

    from pp_tf.models import nima

    if path.endswith(".keras"):
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    else:
        loaded = tf.saved_model.load(path)  # kept alive while its variables are read
        saved = {v.name.split(":")[0]: v
                 for v in loaded.signatures["serving_default"].variables}
        model = (build or nima.NimaMobileNet)()
        for weight in model.weights:
            if weight.path in saved and tuple(saved[weight.path].shape) == tuple(weight.shape):
                weight.assign(saved[weight.path])
            elif "seed_generator" not in weight.path:
                raise ValueError(f"{path}: not a NIMA export of this architecture (no "
                                 f"variable {weight.path} {tuple(weight.shape)})")

    def appeal(photos):
        return nima.mean_and_std(model(nima.nima_view(photos), training=False))[0]

    appeal.model = model  # what an export of a protection using it must save
    return appeal


# The colour attacks' working copy: the attackers see their views of the full photo
# (`attack_working_photo(full_views=True)`), so the copy only measures the look distance, a
# mean over its pixels that a small copy estimates well, and feeds NIMA its input size.
LOOK_WORKING_SIZE = 128


def color_working_size(settings: ColorProtectionSettings) -> int:
    """The shorter side of a colour attack's working copy: `working_size` if set, else
    `LOOK_WORKING_SIZE`, or NIMA's input size when a NIMA model is given."""
    from pp_tf.models import nima

    if settings.working_size:
        return settings.working_size
    return nima.INPUT_SIZE if settings.nima else LOOK_WORKING_SIZE


def _color_attack(settings: ColorProtectionSettings, attack_class: Callable):
    """(the attackers, the appeal function or None, the attack, its working size): what
    `build_color_attack` and `serve_color_attack` set up alike."""
    attackers = attacker_lib.load_attackers(settings.attacker)
    appeal = load_appeal(settings.nima) if settings.nima else None
    return (attackers, appeal, attack_class(attackers, settings.config(), appeal),
            color_working_size(settings))


def build_color_attack(settings: ColorProtectionSettings, name: str, attack_class: Callable,
                        describe: Callable, render: Callable) -> Prepared:
    """The `build` of tone_curves and color_lut: `attack_class(attackers, config,
    appeal)` on each photo's working copy returns parameters; `describe(parameters, look)`
    goes into the manifest under `name`, and `render(photo, parameters)` is the output."""
    attackers, _, attack, size = _color_attack(settings, attack_class)

    def apply(photo: np.ndarray, context: PhotoContext) -> np.ndarray:
        parameters, record = attack_working_photo(attack, attackers, photo, size,
                                                  settings.seed, context.name, full_views=True)
        context.record[name] = {**describe(parameters, settings.look), **record}
        return render(photo, parameters)

    return Prepared(apply, tuple(a.name for a in attackers),
                    {"attack": repr(attack), "working_size": size,
                     "eroded_adds": {member.attacker.name: member.eroded_adds
                                     for member in attack.ghosts}}, models=attackers)


def serve_color_attack(settings: ColorProtectionSettings, attack_class: Callable,
                       render: Callable) -> Servable:
    """The `serving` of tone_curves and color_lut: `build_color_attack`'s per-photo function
    as tensor ops (`color_attack.optimise_in_graph`), for any photo size; `render(photo,
    parameters)` maps a uint8 photo tensor. What `protect` writes for a photo named
    `SERVED_NAME`, before the quality gate."""
    attackers, appeal, attack, size = _color_attack(settings, attack_class)
    seed = photo_seed(settings.seed, SERVED_NAME)
    top = fooling.labels_per_photo(attack.config.objective)

    def protect_photo(photo):
        views = tuple(attacker.view(photo[None]) for attacker in attackers)
        labels = fooling.view_labels(attackers, views, top)
        parameters = color_attack.optimise_in_graph(
            attack, pgd.working_photo(photo, size), attack.start, labels, seed, views)
        return render(photo, parameters)

    owned = tuple(a.owner for a in attackers) + ((appeal.model,) if appeal else ())
    return Servable(lambda images: tf.map_fn(protect_photo, images), owned=owned)
