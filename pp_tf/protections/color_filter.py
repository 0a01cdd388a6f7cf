"""`color_filter`: a per-photo adversarial tone curve (ACE, Zhao, Liu & Larson, BMVC 2020).

Per channel, a monotone piecewise-linear curve of `pieces` pieces is optimised
(`pp_tf.attacks.color_filter`) on a working-size copy of the photo against the
attacker ensemble, through EOT, while staying near the curve of a `look`
(`natural`: the identity); with `nima`, an appeal term raises NIMA's score.
The curve is applied to the full-resolution photo as an exact 256-entry lookup
table per channel; its parameters go into the manifest (`protect.json`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Literal

import numpy as np
import tensorflow as tf

from pp_tf import attacker as attacker_lib
from pp_tf.attacks import color_filter, pgd
from pp_tf.protections.base import PhotoContext, Prepared, Protection, register
from pp_tf.protections.pgd import DEFAULT_ATTACKERS, photo_seed


@dataclasses.dataclass(frozen=True)
class ColorFilterSettings:
    attacker: str = dataclasses.field(
        default=DEFAULT_ATTACKERS, metadata={"help": "Attackers to fool (comma list of "
                                                     "architectures, exports or .keras files)."})
    pieces: int = dataclasses.field(
        default=32, metadata={"help": "Pieces of each channel's tone curve (color_filter)."})
    steps: int = dataclasses.field(
        default=40, metadata={"help": "Optimisation steps per photo (pgd, color_filter)."})
    learning_rate: float = dataclasses.field(
        default=0.02, metadata={"help": "Adam learning rate of the curve parameters "
                                        "(color_filter)."})
    look: Literal["natural", "vivid", "warm"] = dataclasses.field(
        default="natural", metadata={"help": "Curve the filter stays near: natural (the "
                                             "identity), vivid (contrast S-curve), warm."})
    look_weight: float = dataclasses.field(
        default=20.0, metadata={"help": "Weight of the mean squared distance from the look's "
                                        "curve (color_filter)."})
    confidence: float = dataclasses.field(
        default=3.0, metadata={"help": "Logits below the fifth class at which the fooling "
                                       "loss stops rising (color_filter)."})
    nima: str | None = dataclasses.field(
        default=None, metadata={"help": "NIMA SavedModel (port_weights) or .keras scorer: "
                                        "adds an appeal term (color_filter)."})
    appeal_weight: float = dataclasses.field(
        default=1.0, metadata={"help": "Weight of NIMA's mean score when --nima is given."})
    eot_samples: int = dataclasses.field(
        default=2, metadata={"help": "Random rescale+crop+JPEG draws averaged per step "
                                     "(EOT; 0: off)."})
    diversity: float = dataclasses.field(
        default=0.5, metadata={"help": "Probability of a random resize-and-pad of each "
                                       "attacker input per step (input diversity; 0: off)."})
    working_size: int = dataclasses.field(
        default=0, metadata={"help": "Shorter side at which a per-photo attack is optimised "
                                     "(0: the largest attacker view's resize size)."})
    seed: int = 0

    def __post_init__(self):
        attacker_lib.split_attacker_spec(self.attacker)
        if self.working_size < 0:
            raise ValueError(f"working_size must be >= 0, got {self.working_size}")
        if self.nima is not None and not os.path.exists(self.nima):
            raise ValueError(f"nima: no such SavedModel folder or .keras file {self.nima!r}")
        self.config()

    def config(self) -> color_filter.ColorFilterConfig:
        return color_filter.ColorFilterConfig(
            pieces=self.pieces, steps=self.steps, learning_rate=self.learning_rate,
            look=self.look, look_weight=self.look_weight, confidence=self.confidence,
            appeal_weight=self.appeal_weight if self.nima else 0.0,
            eot_samples=self.eot_samples, diversity=self.diversity, seed=self.seed)


def load_appeal(path: str, build: Callable | None = None) -> color_filter.AppealFn:
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

    return appeal


def curve_record(theta: np.ndarray, look: str) -> dict:
    """The manifest's account of a curve: enough to rebuild the lookup table."""
    return {"pieces": int(theta.shape[-1]), "look": look,
            "theta": [[round(float(v), 6) for v in channel] for channel in theta],
            "formula": "y = K / sum(theta_c) * sum_k clip(x - k/K, 0, 1/K) * theta_c[k], "
                       "x and y in [0, 1], channels RGB"}


def build(settings: ColorFilterSettings) -> Prepared:
    attackers = attacker_lib.load_attackers(settings.attacker)
    appeal = load_appeal(settings.nima) if settings.nima else None
    attack = color_filter.ColorFilter(attackers, settings.config(), appeal)
    size = pgd.working_size(attackers, settings.working_size)

    def apply(photo: np.ndarray, context: PhotoContext) -> np.ndarray:
        work = pgd.working_photo(photo, size)
        labels = pgd.clean_labels(attackers, work)
        theta = attack(work, labels, photo_seed(settings.seed, context.name))
        context.record["color_filter"] = {
            **curve_record(theta, settings.look),
            "working_shape": [int(n) for n in work.shape[1:3]],
            "clean_top1": {a.name: a.class_names[int(label[0])]
                           for a, label in zip(attackers, labels)},
        }
        return color_filter.apply_lookup_table(photo, color_filter.lookup_table(theta))

    return Prepared(apply, tuple(a.name for a in attackers),
                    {"attack": repr(attack), "working_size": size})


PROTECTION = register(Protection(
    "color_filter", "per-photo adversarial tone curve (ACE) against an attacker ensemble, "
                    "applied as a lookup table at full resolution", ColorFilterSettings, build))
