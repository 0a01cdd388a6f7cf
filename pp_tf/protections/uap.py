"""`uap`: add a universal adversarial perturbation (`train_uap`'s `.npy`).

The perturbation was made in one attacker's view (`View`: resize, crop); its
`.json` beside the `.npy` records that view and the attacker, and the pattern
is placed on each photo so that the same view sees it (`pp_tf.perturbation`).
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from pp_tf import perturbation as perturbation_lib
from pp_tf.attacker import split_attacker_spec
from pp_tf.models import preprocessing
from pp_tf.protections.base import Prepared, Protection, Servable, register


@dataclasses.dataclass(frozen=True)
class UAPSettings:
    perturbation: str | None = dataclasses.field(
        default=None, metadata={"help": "UAP .npy from train_uap (its .json beside it names "
                                        "the attacker and view)."})
    placement: perturbation_lib.Placement = dataclasses.field(
        default="tile", metadata={"help": "UAP over the whole photo (tile) or only the "
                                          "attacker's crop (crop)."})
    strength: float = dataclasses.field(
        default=1.0, metadata={"help": "Multiplier of the perturbation."})

    def __post_init__(self):
        if not self.perturbation:
            raise ValueError("method uap needs a perturbation (.npy from train_uap)")
        if self.placement not in perturbation_lib.PLACEMENTS:
            raise ValueError(f"placement must be one of {perturbation_lib.PLACEMENTS}, "
                             f"got {self.placement!r}")


@dataclasses.dataclass(frozen=True)
class LoadedPerturbation:
    values: np.ndarray  # float32 [h, w, 3], 0-255 scale
    view: preprocessing.View
    attackers: tuple[str, ...]  # the attacker(s) it was made against; empty when unknown


def load_perturbation(path: str) -> LoadedPerturbation:
    """The `.npy` and what its `.json` says of it (the view and the attacker it was made for).

    A perturbation without a `.json` (or an older `.json` without a view) is taken to be
    made in the default view, 256 then 224.
    """
    values = np.load(path, allow_pickle=False).astype(np.float32)
    if values.ndim != 3 or values.shape[-1] != 3:
        raise ValueError(f"{path}: expected a [h, w, 3] perturbation, got {values.shape}")
    sidecar = os.path.splitext(path)[0] + ".json"
    facts = {}
    if os.path.exists(sidecar):
        with open(sidecar, encoding="utf-8") as handle:
            facts = json.load(handle)
    view = (preprocessing.View.from_dict(facts["view"]) if "view" in facts
            else dataclasses.replace(preprocessing.DEFAULT_VIEW, crop_size=values.shape[0]))
    if view.crop_size != values.shape[0]:
        raise ValueError(f"{path}: a {values.shape[0]}-pixel perturbation, but {sidecar} says "
                         f"it was made for a {view.crop_size}-pixel view")
    attackers = tuple(facts.get("attackers") or (split_attacker_spec(facts["attacker"])
                                                 if facts.get("attacker") else ()))
    return LoadedPerturbation(values, view, attackers)


def build(settings: UAPSettings) -> Prepared:
    loaded = load_perturbation(settings.perturbation)

    def apply(photo, _):
        return perturbation_lib.apply_perturbation(photo, loaded.values, settings.placement,
                                                   settings.strength, loaded.view)

    return Prepared(apply, loaded.attackers, {"view": loaded.view.to_dict()})


def serving(settings: UAPSettings) -> Servable:
    import tensorflow as tf

    loaded = load_perturbation(settings.perturbation)
    v = tf.Variable(loaded.values, trainable=False, name="perturbation")
    return Servable(lambda images: perturbation_lib.perturb(images, v, settings.placement,
                                                            settings.strength, loaded.view), owned=v)


PROTECTION = register(Protection("uap", "add a universal adversarial perturbation (train_uap)",
                                 UAPSettings, build, serving))
