"""The classifier an attack is aimed at, whichever form it comes in.

`load_attacker("efficientnet_lite0")` ports an architecture from its installed
or given weights; `load_attacker("path/to/saved_model")` loads an export of
`port_weights`. Either way the result maps float pixels `[b, crop, crop, 3]`
(0-255, the classifier's own view of a photo) to logits, differentiably, and
carries that view (`pp_tf.models.preprocessing.View`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from pp_tf.models import preprocessing


@dataclasses.dataclass(frozen=True)
class Attacker:
    name: str
    logits: Callable[[tf.Tensor], tf.Tensor]
    class_names: tuple[str, ...]
    view: preprocessing.View = preprocessing.DEFAULT_VIEW

    def predict(self, images, batch_size: int = 32) -> np.ndarray:
        """Softmax probabilities of photos already in the classifier's view, batched."""
        outputs = []
        for start in range(0, len(images), batch_size):
            batch = tf.convert_to_tensor(images[start:start + batch_size], tf.float32)
            outputs.append(tf.nn.softmax(self.logits(batch)).numpy())
        return np.concatenate(outputs) if outputs else np.zeros((0, len(self.class_names)))


def from_keras(model, class_names, name: str | None = None,
               view: preprocessing.View | None = None) -> Attacker:
    """An attacker from a Keras classifier; its view defaults to 256/crop with custom labels."""
    crop = int(model.input_shape[1])
    if view is None:
        view = preprocessing.View(resize_size=max(preprocessing.RESIZE_SIZE, crop), crop_size=crop,
                                  normalization="model", label_space="custom")
    if view.crop_size != crop:
        raise ValueError(f"{name or model.name}: view crop {view.crop_size} != model input {crop}")
    return Attacker(name or model.name, lambda x: model(x, training=False), tuple(class_names), view)


def load_attacker(spec: str, source: str | None = None) -> Attacker:
    """An architecture name (ported from `source` or its default), a SavedModel folder
    exported by `port_weights`, or a Keras `.keras` file (loaded with safe_mode=True)."""
    from pp_tf import models

    if os.path.isdir(spec):
        loaded = tf.saved_model.load(spec)
        if "logits_from_pixels" not in loaded.signatures:
            raise ValueError(f"{spec}: not a pp_tf classifier export (no logits_from_pixels signature)")
        signature = loaded.signatures["logits_from_pixels"]
        names = tuple(n.decode("utf8") for n in loaded.class_names.numpy())
        resize, crop = (int(n) for n in loaded.view_size.numpy())
        described = {"normalization": "model", "label_space": "custom"}
        if hasattr(loaded, "view_description"):  # exports since the View (older: sizes only)
            normalization, label_space = (n.decode("utf8") for n in loaded.view_description.numpy())
            described = {"normalization": normalization, "label_space": label_space}
        view = preprocessing.View(resize_size=resize, crop_size=crop, **described)
        # The closure keeps `loaded` alive: its variables back the signature.
        return Attacker(os.path.basename(os.path.normpath(spec)),
                        lambda x, _owner=loaded: signature(pixels=x)["logits"], names, view)
    if spec.endswith(".keras"):
        import keras

        # safe_mode: a Lambda layer's pickled Python code is refused, never run.
        model = keras.saving.load_model(spec, safe_mode=True, compile=False)
        classes = int(model.output_shape[-1])
        return from_keras(model, [f"class_{i}" for i in range(classes)],
                          os.path.splitext(os.path.basename(spec))[0])
    arch = models.get(spec)
    if arch.kind != "classifier":
        raise ValueError(f"{spec} is not a classifier")
    return from_keras(models.build_ported(spec, source), arch.class_names(), spec, arch.view)
