"""Adversarial colour grade: one smooth 3-D colour lookup table that fools an ensemble.

The colour filter (`tone_curves`; ACE, Zhao, Liu & Larson, BMVC 2020) moves each
channel through its own tone curve, so it cannot change one colour without changing
every colour that shares a level with it in some channel. A colour grade, the 3-D
lookup table of photo editors and film emulation (the lattice of a `.cube` file), maps
every RGB colour to an RGB colour: `lattice`^3 output colours on a regular lattice over
the RGB cube, trilinearly interpolated between its nodes. It is still one global map
(two pixels of the same colour get the same colour, anywhere in the photo), it is
applied exactly at any resolution, and it starts at the look's table (for `natural`,
the identity).

The nodes are optimised with Adam to raise each attacker's capped cross-entropy of its
clean top-1 through EOT and input diversity (`fooling.member_losses`), against three
penalties:
- the mean squared distance, pixel by pixel, between the graded photo and the photo
  through the look's curve (the colour filter's `photo` distance);
- roughness: the squared second differences of the nodes along each lattice axis (zero
  for any affine colour map), so the grade bends smoothly;
- slope bounds: along each axis of the cube, the matching output channel must rise
  with a slope in [0, `max_gain`] (monotone: no inverted tones; no steep gain that
  turns sensor noise and JPEG blocks into speckle and bands), and the other two
  channels must move with a slope within +-`max_cross` (bounded cross-talk: no
  colour casts that flip between neighbouring tones). A table with a slope out of
  bounds pays the squared excess, times `bound_weight`.
Without the bounds the optimiser finds such high-gain grades: they fool well and look
like noise (BUILD_NOTES, "Rejected experiments": `color_lut` without slope bounds). By
default each attacker also sees its plain view of the graded photo at every step, beside
the EOT draw (`plain_view`, the colour filter's option), which raised the trained
attackers' rate on the tuning photos; and the members' losses combine as a soft minimum
(`ensemble_loss="softmin"`), so that the attacker fooled least gets the most weight: with
the sum, Lite1 lagged behind Lite0 (BUILD_NOTES, "Protections": `color_lut`). Through
`protect`, each attacker sees its own view of the full-resolution photo, graded
(`color_attack.fooling_and_appeal`). And the steps see the
attackers as ghosts (`ghost`, `skip_erosion` 0.22, Li et al., AAAI 2020): every residual
shortcut scaled by a fresh random factor, so the grade fits a family of perturbed copies
of the trained attackers rather than their quirks; it moved the unseen attacker's label
further down on the tuning photos (BUILD_NOTES, "Protections": ghost surrogates).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf

from pp_tf.attacker import Attacker
from pp_tf.attacks import color_attack, fooling, ghost, tone_curves
from pp_tf.attacks.base import PhotoAttack
from pp_tf.settings import setting, setting_with_default

# The pieces of the look's per-channel curve that the distance is measured against.
_LOOK_PIECES = 64


def identity_table(size: int) -> np.ndarray:
    """The lattice `[size, size, size, 3]` (indexed [r, g, b]) of the identity grade."""
    return look_table("natural", size)


def look_table(look: str, size: int) -> np.ndarray:
    """The lattice of a look: each channel through the look's curve (`tone_curves`)."""
    curve = color_attack.look_curve(look, np.linspace(0.0, 1.0, size))  # [size, 3]
    r, g, b = np.meshgrid(curve[:, 0], curve[:, 1], curve[:, 2], indexing="ij")
    return np.stack([r, g, b], -1).astype(np.float32)


def apply_grade(images, table):
    """Float photos `[..., 3]` in [0, 1] through the lattice `table` `[L, L, L, 3]`
    (indexed [r, g, b]) by trilinear interpolation; differentiable in both."""
    table = tf.convert_to_tensor(table, tf.float32)
    size = table.shape[0]
    images = tf.convert_to_tensor(images, tf.float32)
    nodes = tf.reshape(table, [-1, 3])
    position = tf.reshape(tf.clip_by_value(images, 0.0, 1.0), [-1, 3]) * (size - 1)
    low = tf.clip_by_value(tf.floor(position), 0.0, size - 2.0)
    fraction = position - low
    low = tf.cast(low, tf.int32)
    out = tf.zeros_like(position)
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                index = ((low[:, 0] + dr) * size + low[:, 1] + dg) * size + low[:, 2] + db
                weight = ((fraction[:, 0] if dr else 1 - fraction[:, 0])
                          * (fraction[:, 1] if dg else 1 - fraction[:, 1])
                          * (fraction[:, 2] if db else 1 - fraction[:, 2]))
                out += weight[:, None] * tf.gather(nodes, index)
    return tf.reshape(out, tf.shape(images))


def grade_pixels(pixels, table) -> tf.Tensor:
    """uint8 pixels `[..., 3]` (a tensor of any shape) through `table`, rounded to uint8."""
    graded = apply_grade(tf.cast(pixels, tf.float32) / 255.0, table) * 255.0
    return tf.cast(tf.clip_by_value(tf.round(graded), 0.0, 255.0), tf.uint8)


def grade_photo(photo: np.ndarray, table: np.ndarray, chunk: int = 1 << 21) -> np.ndarray:
    """A uint8 photo `[h, w, 3]` through `table`, rounded to uint8 (`chunk` pixels at a
    time, so that a 12 MP photo needs no more than a few hundred MB)."""
    pixels = photo.reshape(-1, 3)
    out = np.empty_like(pixels)
    for start in range(0, len(pixels), chunk):
        out[start:start + chunk] = grade_pixels(pixels[start:start + chunk], table).numpy()
    return out.reshape(photo.shape)


def roughness(table):
    """The mean squared second difference of the nodes along each lattice axis, summed."""
    total = 0.0
    for axis in range(3):
        second = tf.experimental.numpy.diff(table, n=2, axis=axis)
        total += tf.reduce_mean(tf.square(second))
    return total


def slope_excess(table, max_gain: float, max_cross: float):
    """How far the grade's slopes leave their bounds: along axis c of the cube, channel c's
    slope (1 for the identity) outside [0, `max_gain`] and each other channel's outside
    +-`max_cross`, squared and averaged over the lattice's edges, summed over the axes."""
    size = table.shape[0]
    total = 0.0
    for axis in range(3):
        slope = tf.experimental.numpy.diff(table, axis=axis) * (size - 1)
        own = slope[..., axis]
        total += tf.reduce_mean(tf.square(tf.nn.relu(-own)) +
                                tf.square(tf.nn.relu(own - max_gain)))
        others = tf.concat([slope[..., :axis], slope[..., axis + 1:]], -1)
        total += tf.reduce_mean(tf.square(tf.nn.relu(tf.abs(others) - max_cross)))
    return total


def tuned(name: str, default):
    """A shared colour-attack setting with the table's own default (the help is shared)."""
    return setting_with_default(color_attack.ColorAttackConfig, name, default)


@dataclasses.dataclass(frozen=True)
class ColorLUTConfig(color_attack.ColorAttackConfig):
    """Settings of a colour-lookup-table run: the colour attacks' shared settings, six of them
    tuned for the table, and the table's own."""

    steps: int = tuned("steps", 120)
    learning_rate: float = tuned("learning_rate", 0.01)  # Adam's step on the nodes (0-1)
    look_weight: float = tuned("look_weight", 70.0)
    ensemble_loss: color_attack.EnsembleLoss = tuned("ensemble_loss", "softmin")
    plain_view: bool = tuned("plain_view", True)
    skip_erosion: float = tuned("skip_erosion", 0.22)
    lattice: int = setting(9, "Nodes per axis of the grade's RGB lattice.")
    smoothness: float = setting(10.0, "Weight of the grade's roughness (squared second "
                                      "differences of its lattice, `roughness`).")
    max_gain: float = setting(2.0, "Steepest a channel may rise with itself in the grade (1: "
                                   "the identity).")
    max_cross: float = setting(0.5, "Steepest a channel may move with another in the grade "
                                    "(0: none).")
    bound_weight: float = setting(1000.0, "Weight of the grade's slopes beyond --max_gain and "
                                          "--max_cross (`slope_excess`).")

    def __post_init__(self):
        super().__post_init__()
        if self.lattice < 2:
            raise ValueError(f"need lattice >= 2: {self}")
        if min(self.smoothness, self.bound_weight, self.max_cross) < 0 or self.max_gain <= 0:
            raise ValueError(f"smoothness, bound_weight and max_cross must be >= 0 and "
                             f"max_gain > 0: {self}")


class ColorLUT(PhotoAttack):
    """An adversarial grade against `attackers`: `ColorLUT(attackers, config)(photos)`
    -> the lattice `[L, L, L, 3]` (L = `config.lattice`), one grade for the whole batch `photos`
    `[b, h, w, 3]` (0-255; call it with one photo for a per-photo grade). `appeal`, if
    given, maps float photos to a score to raise (NIMA's mean)."""

    def __init__(self, attackers: Sequence[Attacker],
                 config: ColorLUTConfig = ColorLUTConfig(),
                 appeal: color_attack.AppealFn | None = None):
        if not attackers:
            raise ValueError("the colour grade needs at least one attacker")
        self.attackers = tuple(attackers)
        self.config = config
        self.ghosts = ghost.eroded_ensemble(self.attackers, config.skip_erosion)
        self.appeal = appeal
        self.start = tf.constant(look_table(config.look, config.lattice))
        self.look_theta = tf.constant(tone_curves.look_theta(config.look, _LOOK_PIECES))
        photos = tf.TensorSpec([None, None, None, 3], tf.float32)
        table = tf.TensorSpec([config.lattice] * 3 + [3], tf.float32)
        labels = tuple(fooling.label_spec(config.objective) for _ in self.attackers)
        self.step = tf.function(self._step, input_signature=[
            photos, photos, color_attack.view_specs(self.attackers), table, table, table,
            labels, tf.TensorSpec([2], tf.int32), tf.TensorSpec([], tf.float32)])

    def looked(self, photos):
        """`photos` (0-255) through the look's per-channel curve, on the 0-1 scale."""
        return tone_curves.apply_curve(photos / 255.0, self.look_theta)

    def render(self, photos, table):
        """Float photos or views (0-255) through the grade, 0-255."""
        return apply_grade(photos / 255.0, table) * 255.0

    def objective(self, photos, table, labels, seed, looked=None, views=None):
        """-> (total to minimise, per-attacker losses to raise, look distance, appeal);
        `looked` and `views` as in `tone_curves.ToneCurves.objective`."""
        config = self.config
        graded = self.render(photos, table)
        losses, fooling_term, appeal = color_attack.fooling_and_appeal(
            self, photos, graded, table, labels, seed, views)
        looked = self.looked(photos) if looked is None else looked
        distance = tf.reduce_mean(tf.square(graded / 255.0 - looked))
        total = (-fooling_term + config.look_weight * distance - config.appeal_weight * appeal
                 + config.smoothness * roughness(table)
                 + config.bound_weight * slope_excess(table, config.max_gain, config.max_cross))
        return total, losses, distance, appeal

    def _step(self, photos, looked, views, table, first, second, labels, seed, count):
        """One Adam step on the nodes, kept inside the RGB cube:
        -> (table, first, second, total)."""
        with tf.GradientTape() as tape:
            tape.watch(table)
            total = self.objective(photos, table, labels, seed, looked, views)[0]
        table, first, second = color_attack.adam_update(
            table, tape.gradient(total, table), first, second, count, self.config.learning_rate)
        return tf.clip_by_value(table, 0.0, 1.0), first, second, total

    def __call__(self, photos, labels: Sequence | None = None, seed=None,
                 views: Sequence | None = None) -> np.ndarray:
        return color_attack.optimise(self, photos, self.start, labels, seed, views)
