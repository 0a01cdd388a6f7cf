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


def input_diversity(images, seed, shrink=(0.9, 1.0), probability=0.5):
    """A random resize-and-pad of square `images` `[b, s, s, 3]`, back to `s` x `s`.

    Input diversity (DI-FGSM; Xie et al., "Improving transferability of
    adversarial examples with input diversity", CVPR 2019): with
    `probability`, shrink by a random factor in `shrink` and pad with zeros
    at a random offset to the original size (the fixed-input-size form of
    the paper's enlarge-and-pad); otherwise return `images`. One draw per
    batch; gradients flow through.
    """
    size = tf.shape(images)[1]
    size_f = tf.cast(size, tf.float32)
    inner = tf.cast(tf.round(size_f * _uniform(seed, shrink[0], shrink[1], 6)), tf.int32)
    inner = tf.clip_by_value(inner, 1, size)
    shrunk = tf.image.resize(images, [inner, inner], antialias=True)
    slack = size - inner + 1
    top = tf.random.stateless_uniform([], seed + tf.constant([0, 7]), 0, slack, tf.int32)
    left = tf.random.stateless_uniform([], seed + tf.constant([0, 8]), 0, slack, tf.int32)
    padded = tf.pad(shrunk, [[0, 0], [top, size - inner - top], [left, size - inner - left],
                             [0, 0]])
    padded = tf.reshape(padded, tf.shape(images))
    padded.set_shape(images.shape)
    return tf.cond(_uniform(seed, 0.0, 1.0, 9) < probability, lambda: padded, lambda: images)
