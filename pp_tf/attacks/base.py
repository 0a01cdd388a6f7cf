"""What a per-photo attack is: `PhotoAttack`, the interface PGD, the colour filter and the
colour grade share (the foolbox 3 and torchattacks shape: configured once with its models
and settings, then run on batches), and `AttackResult`, what a run returns.

A per-photo attack is built with `attackers` (`pp_tf.attacker.Attacker`, each seeing a
photo through its own view) and a frozen `config`; `attack(photos, labels, seed)` returns
its parameters (a perturbation, tone curves, a colour lattice: what the manifest records
and what is applied at full resolution), `attack.render(photos, parameters)` the attacked
photos, and `attack.run(photos, labels, seed)` both. `labels` are each attacker's clean
labels to leave (default: its own top-1, or top 5 for the `top5_set` objective); `seed`
an int pair for the stateless random draws.

The universal perturbation is not one of them: it is trained over a data set, pass by
pass, with checkpoints (`pp_tf.attacks.uap`, `pp_tf.uap_run`), and its DeepFool mode takes
one model's logits function, whose per-class gradients it needs.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Sequence

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class AttackResult:
    """A run's parameters, and the photos with them applied (float32 0-255, the inputs'
    size)."""

    parameters: Any
    photos: tf.Tensor


class PhotoAttack(abc.ABC):
    """A per-photo attack against `attackers` with settings `config` (module docstring)."""

    attackers: tuple
    config: Any

    @abc.abstractmethod
    def __call__(self, photos, labels: Sequence | None = None, seed=None, **kwargs):
        """The attack's parameters for float or uint8 `photos` `[b, h, w, 3]` (0-255)."""

    @abc.abstractmethod
    def render(self, photos, parameters) -> tf.Tensor:
        """Float `photos` (0-255) with `parameters` applied, 0-255."""

    def run(self, photos, labels: Sequence | None = None, seed=None, **kwargs) -> AttackResult:
        """`self(photos, ...)` and the photos it makes."""
        photos = tf.cast(tf.convert_to_tensor(photos), tf.float32)
        parameters = self(photos, labels, seed, **kwargs)
        return AttackResult(parameters, self.render(photos, parameters))

    def __repr__(self) -> str:
        """`Name(setting=value, ...; attackers=[...])`: what the manifest records of it."""
        fields = ", ".join(f"{f.name}={getattr(self.config, f.name)!r}"
                           for f in dataclasses.fields(self.config))
        return f"{type(self).__name__}({fields}; attackers={[a.name for a in self.attackers]})"
