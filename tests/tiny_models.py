"""A small CNN trained in seconds on synthetic 32x32 images, for attack tests."""

import functools

import keras
import numpy as np
import tensorflow as tf

SIZE = 32
CLASSES = 4


def synthetic_images(n, seed):
    """Four classes: horizontal stripes, vertical stripes, a bright centre, a dark centre."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    centre = ((y - SIZE / 2) ** 2 + (x - SIZE / 2) ** 2 < (SIZE / 4) ** 2).astype(np.float32)
    patterns = [np.sin(y / 2.0) > 0, np.sin(x / 2.0) > 0, centre, 1 - centre]
    images = np.empty((n, SIZE, SIZE, 3), np.float32)
    for i, label in enumerate(labels):
        base = 60 + 120 * patterns[label].astype(np.float32)
        tint = rng.uniform(-30, 30, 3)
        images[i] = np.clip(base[..., None] + tint + rng.normal(0, 12, (SIZE, SIZE, 3)), 0, 255)
    return images, labels.astype(np.int32)


@functools.cache
def trained_cnn():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.Conv2D(16, 3, activation="relu", padding="same")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, activation="relu", padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(CLASSES)(x)
    model = keras.Model(inputs, outputs, name="tiny_cnn")
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    images, labels = synthetic_images(1024, seed=1)
    model.fit(images, labels, epochs=6, batch_size=64, verbose=0)
    return model


def logits_fn(model):
    return tf.function(lambda x: model(x, training=False),
                       input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)])
