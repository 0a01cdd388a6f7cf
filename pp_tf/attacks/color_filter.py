"""Adversarial colour filter: a per-channel tone curve that fools an ensemble.

Zhao, Liu & Larson, "Adversarial Color Enhancement: Generating Unrestricted
Adversarial Images by Optimizing a Color Filter", BMVC 2020 (ACE). For each
channel c, a monotone piecewise-linear curve with K pieces on [0, 1], with
non-negative parameters theta[c, 0..K-1]:

    y(x) = (K / sum_k theta[c, k]) * sum_k clip(x - k/K, 0, 1/K) * theta[c, k]

theta = 1 is the identity; y(0) = 0, y(1) = 1 and y is monotone for any
theta >= 0. theta is optimised with Adam (clamped at 0 after each step, as in
the published code) to raise each attacker's cross-entropy of its clean top-1,
capped at `confidence` (`pgd.member_losses`; the `top5` margin objective is the
alternative), through EOT (rescale, crop, JPEG) and input diversity, while a
penalty keeps the curve near a target curve (a
"look": the identity for `natural`, a contrast S-curve for `vivid`, a warm
white balance for `warm`), and an optional appeal term raises a NIMA score.

With `regions` R > 1 the filter is *adaptive*: an R x R grid of such curve
sets, one per region of the photo, blended at every pixel with bilinear
weights between the region centres, as CLAHE blends its tile histograms
(Zuiderveld, "Contrast Limited Adaptive Histogram Equalization", Graphics Gems
IV, 1994). Every pixel still goes through a monotone curve (a convex
combination of monotone curves), theta = 1 is still the identity, and the
change stays smooth across the photo; a region's departure from the mean curve
that differs between channels (a local colour cast) is penalised
`local_colour_weight` times more than a local tone change. R = 1 (the default)
is ACE's global filter. BUILD_NOTES compares the two: the adaptive filter fools
more on the tuning photos, at local edits a viewer sees.

The filter is resolution-independent: the curves and the blending weights are
defined on [0, 1] and on the photo's relative coordinates, so it is optimised on
a working-size copy of the photo and applied at full resolution exactly, as a
256-entry lookup table per channel and region (`lookup_table`,
`apply_filter_tables`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Literal, Sequence

import numpy as np
import tensorflow as tf

from pp_tf.attacker import Attacker
from pp_tf.attacks import pgd

Look = Literal["natural", "vivid", "warm"]
LOOKS: tuple[str, ...] = ("natural", "vivid", "warm")
AppealFn = Callable[[tf.Tensor], tf.Tensor]  # float photos [b, h, w, 3] 0-255 -> score [b]


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


def region_weights(length, regions: int):
    """Bilinear blending weights `[length, regions]` along one axis of `length` pixels.

    Region i's centre is at (i + 0.5) / regions of the axis; a pixel's weight on it
    falls linearly to 0 at the neighbouring centres, and pixels outside the outer
    centres belong to the outer region alone. Each row sums to 1.
    """
    position = (tf.range(length, dtype=tf.float32) + 0.5) / tf.cast(length, tf.float32)
    position = tf.clip_by_value(position, 0.5 / regions, 1.0 - 0.5 / regions)
    centres = (tf.range(regions, dtype=tf.float32) + 0.5) / regions
    return tf.maximum(0.0, 1.0 - tf.abs(position[:, None] - centres[None]) * regions)


def filter_basis(images, regions: int, pieces: int) -> tf.SparseTensor:
    """The filter on `images` as a linear map of its knots: a sparse matrix
    `[b * h * w * 3, R * R * 3 * (K + 1)]` (rows: pixel and channel; columns: region,
    channel and knot, the order of `knots(theta.reshape(-1, K))`).

    A value x sits between two knots of every region's curve, which it reaches with
    the linear-interpolation weights 1 - frac and frac; each region's curve counts with
    the pixel's `region_weights`. So each row has at most 8 non-zero entries (2 knots of
    4 regions). The photo is fixed during an attack: build this once, then every step
    is one sparse product (`apply_basis`).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    shape = tf.shape(images)
    position = tf.clip_by_value(images, 0.0, 1.0) * pieces  # [b, h, w, 3]
    low = tf.clip_by_value(tf.floor(position), 0.0, pieces - 1.0)
    fraction = position - low
    rows, columns = region_weights(shape[1], regions), region_weights(shape[2], regions)
    area = tf.reshape(rows[:, None, :, None] * columns[None, :, None, :],
                      [1, shape[1], shape[2], 1, regions * regions, 1])  # [.., region, .]
    knot_weight = tf.stack([1.0 - fraction, fraction], -1)[..., None, :]  # [b, h, w, 3, 1, 2]
    weight = area * knot_weight  # [b, h, w, 3, R * R, 2]
    region = tf.range(regions * regions, dtype=tf.int64)[:, None]
    channel = tf.range(3, dtype=tf.int64)[:, None, None]
    column = ((region * 3 + channel) * (pieces + 1) + tf.cast(low, tf.int64)[..., None, None]
              + tf.range(2, dtype=tf.int64))
    row = tf.reshape(tf.range(tf.size(images, out_type=tf.int64)), tf.shape(images))
    row = tf.broadcast_to(row[..., None, None], tf.shape(column))
    keep = tf.reshape(weight, [-1]) > 0  # row-major order is kept
    indices = tf.stack([tf.boolean_mask(tf.reshape(row, [-1]), keep),
                        tf.boolean_mask(tf.reshape(column, [-1]), keep)], -1)
    return tf.SparseTensor(indices, tf.boolean_mask(tf.reshape(weight, [-1]), keep),
                           [tf.size(images, out_type=tf.int64),
                            regions * regions * 3 * (pieces + 1)])


def apply_basis(basis: tf.SparseTensor, theta, shape):
    """The filter `theta` `[R, R, 3, K]` through a `filter_basis` of photos of `shape`
    -> float photos in [0, 1]; differentiable in `theta`."""
    theta = tf.convert_to_tensor(theta, tf.float32)
    values = tf.reshape(knots(tf.reshape(theta, [-1, theta.shape[-1]])), [-1, 1])
    return tf.reshape(tf.sparse.sparse_dense_matmul(basis, values), shape)


def apply_filter(images, theta):
    """The adaptive filter on float photos `[b, h, w, 3]` in [0, 1]; `theta`
    `[R, R, 3, K]` (rows, columns of regions). Differentiable in `theta`."""
    theta = tf.convert_to_tensor(theta, tf.float32)
    basis = filter_basis(images, theta.shape[0], theta.shape[-1])
    return apply_basis(basis, theta, tf.shape(images))


def lookup_table(theta) -> np.ndarray:
    """uint8 `[3, 256]`: the curve at v / 255 for every 8-bit value v, on the 0-255 scale."""
    grid = np.arange(256, dtype=np.float32) / 255.0
    values = curve(np.repeat(grid[:, None], 3, 1), theta).numpy()  # [256, 3]
    return np.clip(np.rint(values.T * 255.0), 0, 255).astype(np.uint8)


def apply_lookup_table(photo: np.ndarray, table: np.ndarray) -> np.ndarray:
    """uint8 photo `[..., 3]` through a `[3, 256]` table, per channel (exact at any size)."""
    return np.stack([table[c][photo[..., c]] for c in range(3)], -1)


def apply_filter_tables(photo: np.ndarray, theta, strip_rows: int = 256) -> np.ndarray:
    """uint8 photo `[h, w, 3]` (any size) through the filter `theta` `[R, R, 3, K]`.

    R = 1: the exact uint8 `lookup_table`. R > 1: each region's curve as a float table
    of the 256 levels, blended with `region_weights` at every pixel and rounded once;
    `strip_rows` rows at a time, so memory stays a few times one strip.
    """
    theta = np.asarray(theta, np.float32)
    regions = theta.shape[0]
    if regions == 1:
        return apply_lookup_table(photo, lookup_table(theta[0, 0]))
    grid = np.repeat((np.arange(256, dtype=np.float32) / 255.0)[:, None], 3, 1)
    tables = np.stack([[curve(grid, theta[i, j]).numpy().T * 255.0  # [3, 256] each
                        for j in range(regions)] for i in range(regions)])
    height, width = photo.shape[:2]
    rows = region_weights(height, regions).numpy()
    columns = region_weights(width, regions).numpy()
    out = np.empty_like(photo)
    for top in range(0, height, strip_rows):
        strip = photo[top:top + strip_rows]
        blended = np.zeros(strip.shape, np.float32)
        for i in range(regions):
            row_weight = rows[top:top + strip_rows, i]
            if not row_weight.any():
                continue
            for j in range(regions):
                used = np.flatnonzero(columns[:, j])  # the columns region j reaches
                left, right = used[0], used[-1] + 1
                weight = row_weight[:, None, None] * columns[None, left:right, j, None]
                part = strip[:, left:right]
                blended[:, left:right] += weight * np.stack(
                    [tables[i, j, c][part[..., c]] for c in range(3)], -1)
        out[top:top + strip_rows] = np.clip(np.rint(blended), 0, 255)
    return out


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


def look_theta(look: str, pieces: int) -> np.ndarray:
    """The `[3, K]` parameters whose curve passes through the look's curve at every k/K."""
    at_knots = look_curve(look, np.linspace(0.0, 1.0, pieces + 1))  # [K + 1, 3]
    return (np.diff(at_knots, axis=0).T * pieces).astype(np.float32)


def identity_theta(pieces: int) -> np.ndarray:
    return np.ones([3, pieces], np.float32)


@dataclasses.dataclass(frozen=True)
class ColorFilterConfig:
    """Settings of a colour-filter run."""

    pieces: int = 32
    regions: int = 1  # R: an R x R grid of curve sets, blended (1: ACE's global filter)
    steps: int = 150
    learning_rate: float = 0.1
    look: Look = "natural"
    look_weight: float = 50.0  # on the mean squared distance from the look's curve (0-1 scale)
    local_colour_weight: float = 10.0  # on the regions' colour casts, relative to look_weight
    objective: pgd.Objective = "ce"
    confidence: float = 12.0  # the cap of the fooling loss (`pgd.member_losses`)
    appeal_weight: float = 0.0  # on the NIMA mean score, when an appeal function is given
    eot_samples: int = 1
    diversity: float = 0.5
    seed: int = 0

    def __post_init__(self):
        if self.pieces < 2 or self.regions < 1 or self.steps < 1 or self.learning_rate <= 0:
            raise ValueError(f"need pieces >= 2, regions >= 1, steps >= 1, learning_rate > 0: "
                             f"{self}")
        if self.look not in LOOKS:
            raise ValueError(f"look must be one of {LOOKS}, got {self.look!r}")
        if min(self.look_weight, self.local_colour_weight, self.appeal_weight,
               self.eot_samples) < 0:
            raise ValueError(f"weights and eot_samples must be >= 0: {self}")
        if not 0 <= self.diversity <= 1:
            raise ValueError(f"diversity is a probability, got {self.diversity}")


class ColorFilter:
    """ACE against `attackers`; `ColorFilter(attackers, config)(photos)` -> theta
    `[R, R, 3, K]` (`config.regions` R).

    One filter for the whole batch `photos` `[b, h, w, 3]` (0-255): call it with one
    photo for a per-photo filter. `appeal`, if given, maps float photos to a score to
    raise (NIMA's mean), weighted by `config.appeal_weight`.
    """

    def __init__(self, attackers: Sequence[Attacker],
                 config: ColorFilterConfig = ColorFilterConfig(), appeal: AppealFn | None = None):
        if not attackers:
            raise ValueError("the colour filter needs at least one attacker")
        self.attackers = tuple(attackers)
        self.config = config
        self.appeal = appeal
        self.target = tf.constant(look_curve(config.look, np.linspace(0, 1, 256)))  # [256, 3]
        photos = tf.TensorSpec([None, None, None, 3], tf.float32)
        theta = tf.TensorSpec([config.regions, config.regions, 3, config.pieces], tf.float32)
        labels = tuple(tf.TensorSpec([None], tf.int32) for _ in self.attackers)
        basis = tf.SparseTensorSpec(
            [None, config.regions ** 2 * 3 * (config.pieces + 1)], tf.float32)
        self.step = tf.function(self._step, input_signature=[
            photos, basis, theta, theta, theta, labels, tf.TensorSpec([2], tf.int32),
            tf.TensorSpec([], tf.float32)])

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self.config, f.name)!r}"
                           for f in dataclasses.fields(self.config))
        return f"ColorFilter({fields}; attackers={[a.name for a in self.attackers]})"

    def basis(self, photos) -> tf.SparseTensor:
        """The `filter_basis` of `photos` (0-255) at this filter's regions and pieces."""
        return filter_basis(photos / 255.0, self.config.regions, self.config.pieces)

    def objective(self, photos, theta, labels, seed, basis: tf.SparseTensor | None = None):
        """-> (total to minimise, per-attacker losses to raise, look distance, appeal);
        `basis`: `self.basis(photos)`, computed here if not given."""
        config = self.config
        if basis is None:
            basis = self.basis(photos)
        filtered = apply_basis(basis, theta, tf.shape(photos)) * 255.0
        losses = pgd.member_losses(self.attackers, filtered, labels, seed,
                                   eot_samples=config.eot_samples, diversity=config.diversity,
                                   objective=config.objective, confidence=config.confidence)
        grid = tf.tile(tf.linspace(0.0, 1.0, 256)[:, None], [1, 3])
        curves = tf.stack([apply_curve(grid, c)  # [regions, 256, 3]
                           for c in tf.unstack(tf.reshape(theta, [-1, 3, config.pieces]))])
        distance = tf.reduce_mean(tf.square(curves - self.target))
        # A region's departure from the mean curve that differs between channels is a
        # local colour cast; it pays local_colour_weight times more than a local tone change.
        local = curves - tf.reduce_mean(curves, 0, keepdims=True)
        local_colour = local - tf.reduce_mean(local, -1, keepdims=True)
        distance += config.local_colour_weight * tf.reduce_mean(tf.square(local_colour))
        appeal = (tf.reduce_mean(self.appeal(filtered)) if self.appeal is not None
                  else tf.constant(0.0))
        fooling = tf.reduce_mean(tf.add_n(list(losses)))
        total = -fooling + config.look_weight * distance - config.appeal_weight * appeal
        return total, losses, distance, appeal

    def _step(self, photos, basis, theta, first, second, labels, seed, count):
        """One Adam step on theta (then clamped at 0): -> (theta, first, second, total)."""
        with tf.GradientTape() as tape:
            tape.watch(theta)
            total = self.objective(photos, theta, labels, seed, basis)[0]
        gradient = tape.gradient(total, theta)
        beta1, beta2 = 0.9, 0.999
        first = beta1 * first + (1 - beta1) * gradient
        second = beta2 * second + (1 - beta2) * tf.square(gradient)
        corrected = (first / (1 - beta1 ** count)) / (
            tf.sqrt(second / (1 - beta2 ** count)) + 1e-8)
        theta = tf.maximum(theta - self.config.learning_rate * corrected, 0.0)
        # All-zero theta in a channel would make the curve undefined: keep a floor on the sum.
        theta = tf.where(tf.reduce_sum(theta, -1, keepdims=True) > 1e-3, theta, tf.ones_like(theta))
        return theta, first, second, total

    def __call__(self, photos, labels: Sequence | None = None, seed=None) -> np.ndarray:
        photos = tf.cast(tf.convert_to_tensor(photos), tf.float32)
        if labels is None:
            labels = pgd.clean_labels(self.attackers, photos)
        labels = tuple(tf.convert_to_tensor(label, tf.int32) for label in labels)
        seed = np.asarray(seed if seed is not None else (self.config.seed, 0), np.int64)
        base = tf.constant((seed % (2 ** 31)).astype(np.int32))
        regions = self.config.regions
        theta = tf.constant(np.tile(look_theta(self.config.look, self.config.pieces),
                                    [regions, regions, 1, 1]))
        first = second = tf.zeros_like(theta)
        basis = self.basis(photos)
        for step in range(self.config.steps):
            theta, first, second, _ = self.step(
                photos, basis, theta, first, second, labels,
                base + tf.constant([0, 1000 * (step + 1)]), tf.constant(step + 1, tf.float32))
        return theta.numpy()
