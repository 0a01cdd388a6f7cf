"""What attackers and platforms do to a photo, as differentiable batch transforms.

Used for expectation over transformation (EOT; Athalye et al., "Synthesizing
robust adversarial examples", ICML 2018): the UAP is optimised through random
rescales, crops and JPEG re-encoding so that it survives them. All randomness
is stateless, drawn from an explicit `[2]` int32 seed, so a run is reproducible
and resumable.
"""

from __future__ import annotations

import tensorflow as tf


def _uniform(seed, low, high, salt):
    return tf.random.stateless_uniform([], seed + tf.constant([0, salt]), low, high)


def random_rescale_crop(images, seed, zoom=(1.0, 1.25), resolution=(0.5, 1.0)):
    """Zooms in by a random factor and crops at a random offset (the attacker's
    resize + crop, off-centre), after a random down- and up-sampling (a platform
    serving a smaller copy). One draw per batch; gradients flow through."""
    size = tf.shape(images)[1]
    size_f = tf.cast(size, tf.float32)
    low = tf.cast(tf.round(size_f * _uniform(seed, resolution[0], resolution[1], 1)), tf.int32)
    images = tf.image.resize(images, [low, low], antialias=True)
    images = tf.image.resize(images, [size, size])
    zoomed = tf.cast(tf.round(size_f * _uniform(seed, zoom[0], zoom[1], 2)), tf.int32)
    images = tf.image.resize(images, [zoomed, zoomed])
    slack = zoomed - size + 1
    top = tf.random.stateless_uniform([], seed + tf.constant([0, 3]), 0, slack, tf.int32)
    left = tf.random.stateless_uniform([], seed + tf.constant([0, 4]), 0, slack, tf.int32)
    return images[:, top:top + size, left:left + size, :]


def jpeg_straight_through(images, seed, quality=(60, 90)):
    """JPEG re-encoding at a random quality; the backward pass is the identity
    (the straight-through estimator), since JPEG itself has no gradient."""
    q = tf.random.stateless_uniform([], seed + tf.constant([0, 5]), quality[0], quality[1] + 1,
                                    tf.int32)
    encoded = tf.map_fn(
        lambda image: tf.image.adjust_jpeg_quality(image / 255.0, q) * 255.0,
        tf.clip_by_value(images, 0.0, 255.0))
    return images + tf.stop_gradient(encoded - images)


def photo_pipeline(images, seed):
    """Rescale and crop, then JPEG: the default EOT distribution."""
    return jpeg_straight_through(random_rescale_crop(images, seed), seed)
