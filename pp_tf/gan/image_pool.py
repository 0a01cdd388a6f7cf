"""CycleGAN's image pool (Shrivastava et al. 2017): a history of generated images per replica.

Design: the buffer and its fill count are `tf.Variable`s created under the
strategy's scope with ``synchronization=ON_READ, aggregation=NONE``, so every
replica owns an independent copy (a `SyncOnReadVariable`) that its own step
reads and writes; nothing is all-reduced. The per-replica components (plain
variables, `component_variables`) are what the checkpoint tracks, so each
replica's history is saved and restored exactly (under MultiWorkerMirrored,
every worker restores the chief's local components).

`query` follows upstream's `ImagePool.query` image by image: while the pool is
not full, store and return the new image; afterwards, with probability 0.5
return a random stored image and store the new one in its place, otherwise
return the new image. The draws are stateless, from a seed the caller derives
from (run seed, step, replica, pool), so a resumed run repeats them.
"""

from __future__ import annotations

import tensorflow as tf


class ImagePool:
    """A per-replica history buffer of `size` images of `image_shape`."""

    def __init__(self, strategy: tf.distribute.Strategy, size: int, image_shape, name: str):
        self.size = int(size)
        self.strategy = strategy
        with strategy.scope():
            self.images = tf.Variable(
                tf.zeros([max(self.size, 1), *image_shape], tf.float32), trainable=False,
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.NONE, name=f"{name}_images")
            self.count = tf.Variable(
                0, dtype=tf.int32, trainable=False,
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.NONE, name=f"{name}_count")

    def component_variables(self) -> list[tf.Variable]:
        """The replicas' own variables (images, count per local replica), for checkpoints."""
        return [*self.strategy.experimental_local_results(self.images),
                *self.strategy.experimental_local_results(self.count)]

    def query(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Replica context: the images the discriminator sees in place of `images` `[n, ...]`.

        Args:
            seed: int64 `[2]` stateless seed, distinct per (step, replica, pool).
        """
        images = tf.stop_gradient(tf.cast(images, tf.float32))  # the pool is float32
        if self.size == 0:
            return images
        n = tf.shape(images)[0]
        coins = tf.random.stateless_uniform([n], seed)
        picks = tf.random.stateless_uniform(
            [n], tf.random.experimental.stateless_fold_in(seed, 1), minval=0,
            maxval=self.size, dtype=tf.int32)
        outputs = tf.TensorArray(tf.float32, size=n, element_shape=images.shape[1:])

        def body(i, pool, count, outputs):
            image = images[i]

            def fill():
                return (tf.tensor_scatter_nd_update(pool, [[count]], image[None]), count + 1,
                        image)

            def swap():
                stored = pool[picks[i]]
                return tf.tensor_scatter_nd_update(pool, [[picks[i]]], image[None]), count, stored

            def keep():
                return pool, count, image

            pool, count, out = tf.cond(
                count < self.size, fill,
                lambda: tf.cond(coins[i] > 0.5, swap, keep))
            return i + 1, pool, count, outputs.write(i, out)

        _, pool, count, outputs = tf.while_loop(
            lambda i, *_: i < n, body,
            (tf.constant(0), self.images.read_value(), self.count.read_value(), outputs))
        self.images.assign(pool)
        self.count.assign(count)
        return outputs.stack()
