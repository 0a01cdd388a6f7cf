"""A classifier with fixed weights drawn from a seeded NumPy generator (no training).

Its outputs depend only on the seed and on float32 arithmetic, so numbers
computed with it can be pinned in tests (the UAP regression values).
"""

import numpy as np
import tensorflow as tf

SIZE = 8
CLASSES = 5


def logits_fn(seed: int = 0, hidden: int = 16):
    """`[b, 8, 8, 3]` pixels (0-255) -> `[b, 5]` logits of a tanh MLP."""
    rng = np.random.default_rng(seed)
    w1 = tf.constant(rng.normal(0, 1 / np.sqrt(SIZE * SIZE * 3), (SIZE * SIZE * 3, hidden)),
                     tf.float32)
    b1 = tf.constant(rng.normal(0, 0.1, hidden), tf.float32)
    w2 = tf.constant(rng.normal(0, 1, (hidden, CLASSES)), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)])
    def logits(x):
        flat = tf.reshape(x / 127.5 - 1.0, [-1, SIZE * SIZE * 3])
        return tf.tanh(flat @ w1 + b1) @ w2

    return logits


def images(n: int, seed: int = 1) -> np.ndarray:
    """Smooth random pictures, float32 0-255, `[n, 8, 8, 3]`."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (n, 2, 2, 3))
    return np.clip(np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)
                   + rng.normal(0, 10, (n, SIZE, SIZE, 3)), 0, 255).astype(np.float32)
