"""What the colour attacks share (`tone_curves.ToneCurves`, `color_lut.ColorLUT`): the
looks they stay near, their settings' checks and help texts, the fooling and appeal terms
(`fooling_and_appeal`), the Adam step and the optimisation loop (`optimise`). Each attack
brings its parameters (tone curves, a colour lattice), their rendering and its penalties.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Literal, Sequence, get_args

import numpy as np
import tensorflow as tf

from pp_tf.attacker import Attacker
from pp_tf.attacks import fooling, ghost
from pp_tf.settings import setting

Look = Literal["natural", "vivid", "warm"]
EnsembleLoss = Literal["sum", "softmin"]
LOOKS: tuple[str, ...] = get_args(Look)
AppealFn = Callable[[tf.Tensor], tf.Tensor]  # float photos [b, h, w, 3] 0-255 -> score [b]

# The settings the colour filter and the colour grade share have one help text each.
LEARNING_RATE_HELP = "Adam learning rate of the curve parameters or grade lattice nodes."
LOOK_HELP = ("Colours the filter or grade stays near: natural (the photo's own), vivid (a "
             "contrast S-curve), warm (red up, blue down).")
LOOK_WEIGHT_HELP = "Weight of the mean squared distance from the look (0-1 scale)."
ENSEMBLE_LOSS_HELP = ("How the attackers' fooling losses add up: sum, or softmin (n times their "
                      "soft minimum: the attacker fooled least gets the most weight).")
APPEAL_WEIGHT_HELP = "Weight of NIMA's mean score when an appeal model (--nima) is given."
PLAIN_VIEW_HELP = ("Also the attackers' plain view of the photo at every step, beside the "
                   "EOT draws.")
SKIP_EROSION_HELP = ("Ghost surrogates: each step sees the attackers with every residual "
                     "shortcut scaled by a random factor in [1 - e, 1 + e] (0: the attackers "
                     "as they are).")


def look_curve(look: str, x):
    """The target curve of a look at `x` `[n]` in [0, 1] -> `[n, 3]` (monotone, 0 -> 0, 1 -> 1)."""
    x = np.asarray(x, np.float64)
    if look == "natural":
        out = np.stack([x, x, x], -1)
    elif look == "vivid":  # an S-curve: slope 0.65 in the shadows and highlights, 1.35 mid-tones
        s = x - 0.35 * np.sin(2 * np.pi * x) / (2 * np.pi)
        out = np.stack([s, s, s], -1)
    elif look == "warm":  # red up, blue down: gamma curves
        out = np.stack([x ** 0.85, x ** 0.97, x ** 1.2], -1)
    else:
        raise ValueError(f"look must be one of {LOOKS}, got {look!r}")
    return out.astype(np.float32)


def adam_update(params, gradient, first, second, count, learning_rate: float):
    """One Adam step (Kingma & Ba; beta 0.9, 0.999) down `gradient`, `count` the 1-based
    step: -> (params, first moment, second moment)."""
    beta1, beta2 = 0.9, 0.999
    first = beta1 * first + (1 - beta1) * gradient
    second = beta2 * second + (1 - beta2) * tf.square(gradient)
    corrected = (first / (1 - beta1 ** count)) / (tf.sqrt(second / (1 - beta2 ** count)) + 1e-8)
    return params - learning_rate * corrected, first, second


@dataclasses.dataclass(frozen=True)
class ColorAttackConfig:
    """The settings both colour attacks have, each written once (default and help); each
    attack's Config extends it and may tune a default (`settings.setting_with_default`)."""

    steps: int = setting(150, fooling.STEPS_HELP)
    learning_rate: float = setting(0.1, LEARNING_RATE_HELP)
    look: Look = setting("natural", LOOK_HELP)
    look_weight: float = setting(50.0, LOOK_WEIGHT_HELP)
    objective: fooling.Objective = setting("ce", fooling.OBJECTIVE_HELP)
    confidence: float = setting(12.0, fooling.CONFIDENCE_HELP)
    ensemble_loss: EnsembleLoss = setting("sum", ENSEMBLE_LOSS_HELP)
    appeal_weight: float = setting(0.0, APPEAL_WEIGHT_HELP)
    eot_samples: int = setting(1, fooling.EOT_HELP)
    plain_view: bool = setting(False, PLAIN_VIEW_HELP)
    diversity: float = setting(0.5, fooling.DIVERSITY_HELP)
    skip_erosion: float = setting(0.0, SKIP_EROSION_HELP)
    seed: int = setting(0, fooling.SEED_HELP)

    def __post_init__(self):
        """Raises ValueError unless the shared settings are valid: steps >= 1, a positive
        learning rate, the look, the look and appeal weights and EOT draws (>= 0), input
        diversity (a probability), the skip erosion (in [0, 1)), the objective and the
        ensemble loss."""
        if self.steps < 1 or self.learning_rate <= 0:
            raise ValueError(f"need steps >= 1 and learning_rate > 0: {self}")
        if self.look not in LOOKS:
            raise ValueError(f"look must be one of {LOOKS}, got {self.look!r}")
        if min(self.look_weight, self.appeal_weight, self.eot_samples) < 0:
            raise ValueError(f"look_weight, appeal_weight and eot_samples must be >= 0: {self}")
        if not 0 <= self.diversity <= 1:
            raise ValueError(f"diversity is a probability, got {self.diversity}")
        ghost.check_skip_erosion(self.skip_erosion)
        fooling.check_objective(self.objective)
        if self.ensemble_loss not in get_args(EnsembleLoss):
            raise ValueError(f"ensemble_loss must be one of {get_args(EnsembleLoss)}, got "
                             f"{self.ensemble_loss!r}")


def view_specs(attackers: Sequence[Attacker]) -> tuple[tf.TensorSpec, ...]:
    """The `tf.function` signature of each attacker's views `[b, crop, crop, 3]`."""
    return tuple(tf.TensorSpec([None, a.view.crop_size, a.view.crop_size, 3], tf.float32)
                 for a in attackers)


def fooling_and_appeal(attack, photos, filtered, params, labels, seed, views=None):
    """The terms that the colour attacks (`ToneCurves`, `color_lut.ColorLUT`) share:
    -> (the loss each attacker should raise, the fooling term: their sum, or with
    `ensemble_loss="softmin"` n times their soft minimum, averaged over the photos; the
    appeal score of the `filtered` photos or 0).

    The soft minimum, -log sum_i exp(-loss_i) (a temperature of one nat), gives each
    member the gradient weight softmax(-loss)_i: the member that is fooled least gets
    the most, where the sum lets the optimiser keep raising the member that is easiest
    to fool. Times n, it equals the sum when all members' losses are equal.

    Each attacker sees `attack.render(view, params)`, through its ghost (`attack.ghosts`,
    the attacker itself without skip erosion): its view of the unfiltered photo
    (`views`, default: of `photos`), filtered. A global colour map nearly commutes with
    the view's resize, so the caller can hand in the views of the full-resolution photo
    (`fooling.view_losses`), where the filtered working copy's views would differ by a second
    resampling: on one tuning photo, a grade optimised through those views left Lite0's
    label at rank 38 there and at rank 7 on the full photo (BUILD_NOTES, "Protections":
    colour attacks grade the full photo's views).
    """
    config = attack.config
    if views is None:
        views = tuple(attacker.view(photos) for attacker in attack.attackers)
    losses = fooling.view_losses(tuple(member.attacker for member in attack.ghosts),
                             tuple(attack.render(view, params) for view in views), labels,
                             seed, eot_samples=config.eot_samples, diversity=config.diversity,
                             plain_view=config.plain_view, objective=config.objective,
                             confidence=config.confidence)
    appeal = (tf.reduce_mean(attack.appeal(filtered)) if attack.appeal is not None
              else tf.constant(0.0))
    if config.ensemble_loss == "softmin":
        members = tf.stack(losses, 0)  # [n, b]
        combined = -len(losses) * tf.reduce_logsumexp(-members, 0)
    else:
        combined = tf.add_n(list(losses))
    return losses, tf.reduce_mean(combined), appeal


def _inputs(attack, photos, labels, seed, views):
    """`optimise`'s inputs as tensors -> (photos, views, labels, the steps' base seed), the
    ghosts reseeded from `seed` (an int pair known when tracing)."""
    photos = tf.cast(tf.convert_to_tensor(photos), tf.float32)
    if views is None:
        views = tuple(attacker.view(photos) for attacker in attack.attackers)
    views = tuple(tf.cast(view, tf.float32) for view in views)
    if labels is None:
        labels = fooling.view_labels(attack.attackers, views,
                                     fooling.labels_per_photo(attack.config.objective))
    labels = tuple(tf.convert_to_tensor(label, tf.int32) for label in labels)
    seed = np.asarray(seed if seed is not None else (attack.config.seed, 0), np.int64)
    ghost.reseed(attack.ghosts, seed)
    return photos, views, labels, tf.constant((seed % (2 ** 31)).astype(np.int32))


def optimise(attack, photos, start, labels: Sequence | None = None, seed=None,
             views: Sequence | None = None) -> np.ndarray:
    """`attack.config.steps` of `attack.step` (-> parameters, Adam's moments, total) from
    the parameters `start`, on `photos` (0-255) and each attacker's `views` of them
    (default: its view of `photos`; or of the full-resolution photo that `photos` is a
    working copy of), against each attacker's clean labels on its view unless `labels`
    are given: -> the last parameters. The ghosts (`attack.ghosts`) are reseeded from
    `seed` first, so a photo gets the same grade in any run."""
    return optimise_in_graph(attack, photos, start, labels, seed, views).numpy()


def optimise_in_graph(attack, photos, start, labels: Sequence | None = None, seed=None,
                      views: Sequence | None = None) -> tf.Tensor:
    """`optimise` as tensor ops (the steps in a `tf.while_loop`, which runs them one by one
    eagerly), so that a SavedModel can hold it: `photos` and `views` may have sizes known
    only when it runs; `seed` is an int pair known when tracing."""
    photos, views, labels, base = _inputs(attack, photos, labels, seed, views)
    looked = attack.looked(photos)  # the same at every step

    def step(count, params, first, second):
        params, first, second, _ = attack.step(
            photos, looked, views, params, first, second, labels,
            base + tf.stack([0, 1000 * (count + 1)]), tf.cast(count + 1, tf.float32))
        return count + 1, params, first, second

    params = tf.convert_to_tensor(start, tf.float32)
    zeros = tf.zeros_like(params)
    return tf.while_loop(lambda count, *_: count < attack.config.steps, step,
                         (tf.constant(0), params, zeros, zeros))[1]
