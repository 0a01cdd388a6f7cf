"""Undoing a photo's global colour change before its quality is judged.

A deliberate, smooth colour grade (warmer, more contrast) is a choice a photographer makes,
not damage; posterisation, banding, flattened detail and noise are damage. To score only
the damage, the best global colour map from the distorted photo back to the original is
fitted and applied first: a cubic polynomial in R, G and B (all 20 monomials of degree at
most 3, per output channel), fitted by least squares. A smooth global grade is undone
almost exactly; what no smooth global map can undo (contours where a gradient was, lost
texture, added patterns) stays and is scored.
"""

from __future__ import annotations

import itertools

import tensorflow as tf

# Exponents (r, g, b) of the 20 monomials of degree <= 3, the constant first.
MONOMIALS = tuple(e for degree in range(4)
                  for e in itertools.product(range(degree + 1), repeat=3) if sum(e) == degree)
assert len(MONOMIALS) == 20
FIT_PIXELS = 1 << 16  # pixels per photo the fit sees (an even grid over the photo)
RIDGE = 1e-6  # per pixel: keeps the normal equations of a grey or flat photo solvable


def cubic_features(rgb):
    """`[..., 3]` values in [0, 1] -> the 20 monomials `[..., 20]`."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return tf.stack([r ** i * g ** j * b ** k for i, j, k in MONOMIALS], axis=-1)


def _grid(image, count: int):
    """`[b, h, w, 3]` -> `[b, n, 3]`: every step-th pixel, so that at most `count` remain."""
    pixels = tf.shape(image)[1] * tf.shape(image)[2]
    step = tf.maximum(1, -(-pixels // count))
    return tf.reshape(image, [tf.shape(image)[0], pixels, 3])[:, ::step]


def fit_color_map(source, target):
    """The cubic map's coefficients `[b, 20, 3]` that take `source` closest to `target`
    (both `[b, h, w, 3]` in [0, 1]), in the least-squares sense.

    Solved in float64 by the normal equations with a small ridge: the monomials of a
    grey photo (R = G = B) are collinear, and float32 Cholesky fails on them.
    """
    features = tf.cast(cubic_features(_grid(source, FIT_PIXELS)), tf.float64)
    values = tf.cast(_grid(target, FIT_PIXELS), tf.float64)
    gram = tf.matmul(features, features, transpose_a=True)
    ridge = RIDGE * tf.cast(tf.shape(features)[1], tf.float64) * tf.eye(len(MONOMIALS),
                                                                         dtype=tf.float64)
    solution = tf.linalg.solve(gram + ridge, tf.matmul(features, values, transpose_a=True))
    return tf.cast(solution, tf.float32)


def undo_color(reference, distorted):
    """`distorted` after the global cubic colour map that best matches `reference`: both sRGB
    `[b, h, w, 3]` on the 0-255 scale -> float32 `[b, h, w, 3]` in 0-255 (clipped)."""
    reference = tf.cast(reference, tf.float32) / 255.0
    distorted = tf.cast(distorted, tf.float32) / 255.0
    coefficients = fit_color_map(distorted, reference)
    mapped = tf.einsum("bhwf,bfc->bhwc", cubic_features(distorted), coefficients)
    return tf.clip_by_value(mapped, 0.0, 1.0) * 255.0
