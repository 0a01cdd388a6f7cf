"""Adversarial colour filter: a per-channel tone curve that fools an ensemble.

Zhao, Liu & Larson, "Adversarial Color Enhancement: Generating Unrestricted
Adversarial Images by Optimizing a Color Filter", BMVC 2020 (ACE). For each
channel c, a monotone piecewise-linear curve with K pieces on [0, 1], with
non-negative parameters theta[c, 0..K-1]:

    y(x) = (K / sum_k theta[c, k]) * sum_k clip(x - k/K, 0, 1/K) * theta[c, k]

theta = 1 is the identity; y(0) = 0, y(1) = 1 and y is monotone for any
theta >= 0. theta is optimised with Adam (clamped at 0 after each step, as in
the published code) to raise each attacker's cross-entropy of its clean top-1,
capped at `confidence` (`fooling.member_losses`; the `top5` margin and `top5_set`
objectives are the alternatives), through EOT (rescale, crop, JPEG) and input
diversity, while a penalty keeps the result near a target curve (a "look": the
identity for `natural`, a contrast S-curve for `vivid`, a warm white balance
for `warm`), and an optional appeal term raises a NIMA score. With `plain_view`,
each attacker also sees its plain view of the photo at every step, which every EOT
draw re-encodes: at the same look weight it fools the trained attackers on the photo
as saved more, and the unseen one less (BUILD_NOTES). The penalty is
the mean squared distance from the look either between the two curves over the
256 levels (`look_distance="curve"`) or on the photo's own pixels (`"photo"`):
the second spends the change where the photo has its tones and only there.

The curve is resolution-independent: it is optimised on a working-size copy
of the photo and applied at full resolution as an exact 256-entry lookup
table per channel (`lookup_table`, `apply_lookup_table`).

The optimisation loop, the fooling and appeal terms and the Adam step are shared with
`color_lut` (`color_attack.optimise`, `color_attack.fooling_and_appeal`, `color_attack.adam_update`).
"""

from __future__ import annotations

import dataclasses
from typing import Literal, Sequence

import numpy as np
import tensorflow as tf

from pp_tf.attacker import Attacker
from pp_tf.attacks import color_attack, fooling, ghost
from pp_tf.attacks.base import PhotoAttack
from pp_tf.settings import setting

def curve(x, theta):
    """The paper's formula: `x` float in [0, 1] `[..., 3]`, `theta` `[3, K]` -> `y` `[..., 3]`.
    (Memory grows with K; `apply_curve` is the same function by interpolation.)"""
    theta = tf.convert_to_tensor(theta, tf.float32)
    pieces = theta.shape[-1]
    starts = tf.range(pieces, dtype=tf.float32) / pieces
    segments = tf.clip_by_value(tf.cast(x, tf.float32)[..., None] - starts, 0.0, 1.0 / pieces)
    return pieces / tf.reduce_sum(theta, -1) * tf.reduce_sum(segments * theta, -1)


def knots(theta):
    """The curve's values at k/K, k = 0..K: `[3, K + 1]`, from 0 to 1."""
    theta = tf.convert_to_tensor(theta, tf.float32)
    cumulative = tf.cumsum(theta, -1) / tf.reduce_sum(theta, -1, keepdims=True)
    return tf.concat([tf.zeros_like(cumulative[:, :1]), cumulative], -1)


def project_to_band(theta, centre, radius):
    """The parameters `[3, K]` of `theta`'s curve with each knot clipped to within `radius`
    of the knots `centre` `[3, K + 1]` (a monotone curve from 0 to 1) and to [0, 1].
    Clipping a monotone sequence between two monotone bounds keeps it monotone, and the
    ends stay at 0 and 1, so the result is again a curve of the family; between the knots
    both curves are linear, so it is within `radius` of `centre`'s curve everywhere."""
    values = tf.clip_by_value(knots(theta), centre - radius, centre + radius)
    values = tf.clip_by_value(values, 0.0, 1.0)
    return (values[:, 1:] - values[:, :-1]) * float(theta.shape[-1])


def apply_curve(images, theta):
    """The curve on float photos `[..., h, w, 3]` in [0, 1], by linear interpolation
    between the knots (equal to `curve`; memory does not grow with K); differentiable
    in `images` and `theta`."""
    theta = tf.convert_to_tensor(theta, tf.float32)
    pieces = theta.shape[-1]
    images = tf.convert_to_tensor(images, tf.float32)
    shape = tf.shape(images)
    channels_first = tf.transpose(tf.reshape(images, [-1, 3]))  # [3, n]
    position = tf.clip_by_value(channels_first, 0.0, 1.0) * pieces
    index = tf.clip_by_value(tf.floor(position), 0.0, pieces - 1.0)
    values = knots(theta)
    low = tf.gather(values, tf.cast(index, tf.int32), batch_dims=1)
    high = tf.gather(values, tf.cast(index, tf.int32) + 1, batch_dims=1)
    out = low + (position - index) * (high - low)
    return tf.reshape(tf.transpose(out), shape)


def lookup_table_tensor(theta) -> tf.Tensor:
    """uint8 `[3, 256]`: the curve at v / 255 for every 8-bit value v, on the 0-255 scale."""
    grid = tf.range(256, dtype=tf.float32) / 255.0
    values = curve(tf.tile(grid[:, None], [1, 3]), theta)  # [256, 3]
    return tf.cast(tf.clip_by_value(tf.round(tf.transpose(values) * 255.0), 0, 255), tf.uint8)


def lookup_table(theta) -> np.ndarray:
    """`lookup_table_tensor` as an array."""
    return lookup_table_tensor(theta).numpy()


def apply_lookup_table(photo: np.ndarray, table: np.ndarray) -> np.ndarray:
    """uint8 photo `[..., 3]` through a `[3, 256]` table, per channel (exact at any size)."""
    return np.stack([table[c][photo[..., c]] for c in range(3)], -1)


def curve_photo(photo, theta) -> tf.Tensor:
    """A uint8 photo tensor `[..., 3]` through the curve's lookup table, as tensor ops (what
    `apply_lookup_table(photo, lookup_table(theta))` gives)."""
    table = lookup_table_tensor(theta)
    indices = tf.cast(photo, tf.int32)
    return tf.stack([tf.gather(table[c], indices[..., c]) for c in range(3)], -1)


def look_theta(look: str, pieces: int) -> np.ndarray:
    """The `[3, K]` parameters whose curve passes through the look's curve at every k/K."""
    at_knots = color_attack.look_curve(look, np.linspace(0.0, 1.0, pieces + 1))  # [K + 1, 3]
    return (np.diff(at_knots, axis=0).T * pieces).astype(np.float32)


def identity_theta(pieces: int) -> np.ndarray:
    return np.ones([3, pieces], np.float32)


@dataclasses.dataclass(frozen=True)
class ToneCurvesConfig(color_attack.ColorAttackConfig):
    """Settings of a tone-curve run: the colour attacks' shared settings (their defaults are
    this method's), and the curve's own."""

    pieces: int = setting(32, "Pieces of each channel's tone curve.")
    look_distance: Literal["curve", "photo"] = setting(
        "photo", "Where --look_weight's distance is measured: between the curves over all "
                 "256 levels, or on the photo's pixels (the photo through the curve against "
                 "the photo through the look's curve).")
    max_change: float = setting(0.0, "Most an 8-bit value may move from the look's curve, "
                                     "0-255 scale (0: no bound); the curve is projected into "
                                     "that band after every step.")

    def __post_init__(self):
        super().__post_init__()
        if self.pieces < 2:
            raise ValueError(f"need pieces >= 2: {self}")
        if self.look_distance not in ("curve", "photo"):
            raise ValueError(f"look_distance must be 'curve' or 'photo', got "
                             f"{self.look_distance!r}")
        if self.max_change < 0:
            raise ValueError(f"max_change must be >= 0, got {self.max_change}")


class ToneCurves(PhotoAttack):
    """ACE against `attackers`; `ToneCurves(attackers, config)(photos)` -> theta `[3, K]`.

    One curve for the whole batch `photos` `[b, h, w, 3]` (0-255): call it with one
    photo for a per-photo filter. `appeal`, if given, maps float photos to a score to
    raise (NIMA's mean), weighted by `config.appeal_weight`.
    """

    def __init__(self, attackers: Sequence[Attacker],
                 config: ToneCurvesConfig = ToneCurvesConfig(),
                 appeal: color_attack.AppealFn | None = None):
        if not attackers:
            raise ValueError("the colour filter needs at least one attacker")
        self.attackers = tuple(attackers)
        self.config = config
        self.ghosts = ghost.eroded_ensemble(self.attackers, config.skip_erosion)
        self.appeal = appeal
        self.target = tf.constant(  # [256, 3]
            color_attack.look_curve(config.look, np.linspace(0, 1, 256)))
        self.target_theta = tf.constant(look_theta(config.look, config.pieces))
        self.target_knots = knots(self.target_theta)
        self.start = self.target_theta  # the optimisation starts at the look's curve
        photos = tf.TensorSpec([None, None, None, 3], tf.float32)
        theta = tf.TensorSpec([3, config.pieces], tf.float32)
        labels = tuple(fooling.label_spec(config.objective) for _ in self.attackers)
        self.step = tf.function(self._step, input_signature=[
            photos, photos, color_attack.view_specs(self.attackers), theta, theta, theta, labels,
            tf.TensorSpec([2], tf.int32), tf.TensorSpec([], tf.float32)])

    def looked(self, photos):
        """`photos` (0-255) through the look's curve, on the 0-1 scale."""
        return apply_curve(photos / 255.0, self.target_theta)

    def render(self, photos, theta):
        """Float photos or views (0-255) through the curve, 0-255."""
        return apply_curve(photos / 255.0, theta) * 255.0

    def objective(self, photos, theta, labels, seed, looked=None, views=None):
        """-> (total to minimise, per-attacker losses to raise, look distance, appeal).
        `looked`: `self.looked(photos)`, when the caller has it already; `views`: each
        attacker's view of the photo the curve is for (default: of `photos`)."""
        config = self.config
        filtered = self.render(photos, theta)
        losses, fooling_term, appeal = color_attack.fooling_and_appeal(self, photos, filtered, theta, labels,
                                                     seed, views)
        if config.look_distance == "photo":
            looked = self.looked(photos) if looked is None else looked
            distance = tf.reduce_mean(tf.square(filtered / 255.0 - looked))
        else:
            grid = tf.linspace(0.0, 1.0, 256)
            shape = apply_curve(tf.tile(grid[:, None], [1, 3]), theta)
            distance = tf.reduce_mean(tf.square(shape - self.target))
        total = -fooling_term + config.look_weight * distance - config.appeal_weight * appeal
        return total, losses, distance, appeal

    def _step(self, photos, looked, views, theta, first, second, labels, seed, count):
        """One Adam step on theta (then clamped at 0): -> (theta, first, second, total)."""
        with tf.GradientTape() as tape:
            tape.watch(theta)
            total = self.objective(photos, theta, labels, seed, looked, views)[0]
        theta, first, second = color_attack.adam_update(theta, tape.gradient(total, theta), first, second,
                                           count, self.config.learning_rate)
        theta = tf.maximum(theta, 0.0)
        # All-zero theta in a channel would make the curve undefined: keep a floor on the sum.
        theta = tf.where(tf.reduce_sum(theta, -1, keepdims=True) > 1e-3, theta, tf.ones_like(theta))
        if self.config.max_change > 0:
            theta = project_to_band(theta, self.target_knots, self.config.max_change / 255.0)
        return theta, first, second, total

    def __call__(self, photos, labels: Sequence | None = None, seed=None,
                 views: Sequence | None = None) -> np.ndarray:
        return color_attack.optimise(self, photos, self.start, labels, seed, views)


