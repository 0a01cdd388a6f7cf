"""Per-example GAN losses (`[batch]`), to be reduced with `tf.nn.compute_average_loss`.

Always float32: inputs of a lower precision (mixed-precision outputs) are cast first.
"""

from __future__ import annotations

import tensorflow as tf


def _f32(x) -> tf.Tensor:
    return tf.cast(x, tf.float32)


def _per_example_mean(x: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


def lsgan(outputs: tf.Tensor, target: float) -> tf.Tensor:
    """LSGAN (MSE) against a constant target, averaged over each example's patches."""
    return _per_example_mean(tf.square(_f32(outputs) - target))


def bce_logits(logits: tf.Tensor, target: float) -> tf.Tensor:
    """Sigmoid cross-entropy against a constant label, averaged over each example's patches."""
    logits = _f32(logits)
    labels = tf.fill(tf.shape(logits), tf.constant(target, logits.dtype))
    return _per_example_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))


def l1(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference per example."""
    return _per_example_mean(tf.abs(_f32(a) - _f32(b)))


def average(per_example: tf.Tensor, global_batch_size: int) -> tf.Tensor:
    """The replica's share of the global mean (replica losses then sum to the global mean)."""
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
