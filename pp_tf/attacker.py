"""The classifier an attack is aimed at, whichever form it comes in.

`load_attacker("efficientnet_lite0")` ports an architecture from its installed
or given weights; `load_attacker("path/to/saved_model")` loads an export of
`port_weights`. Either way the result maps float pixels `[b, crop, crop, 3]`
(0-255, the classifier's own view of a photo) to logits, differentiably, and
carries that view (`pp_tf.models.preprocessing.View`).

`load_attackers("efficientnet_lite0,places365_resnet50")` loads an ensemble,
one attacker per comma-separated entry. Since each member sees a photo through
its own view, an ensemble has no single logits tensor: `Ensemble.logits(photos)`
maps one batch of photos (any one size) through every member's view and
classifier, differentiably w.r.t. the photos, and returns one tensor per member.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from pp_tf.models import preprocessing


@dataclasses.dataclass(frozen=True)
class Attacker:
    name: str
    logits: Callable[[tf.Tensor], tf.Tensor]
    class_names: tuple[str, ...]
    view: preprocessing.View = preprocessing.DEFAULT_VIEW
    # the Keras model behind `logits`, where there is one (`from_keras`): what
    # `pp_tf.attacks.ghost` rewires; None for a SavedModel export or a plain function
    model: object = None
    # what holds the variables behind `logits` (the Keras model, or the loaded SavedModel):
    # an export that calls `logits` tracks it, so that the variables are saved with it
    owner: object = None

    @functools.cached_property
    def _probabilities(self):
        """Softmax of `logits` as one compiled function of view-sized batches (a Keras model
        called eagerly costs about 0.3 s a call on a CPU; compiled, a few milliseconds)."""
        size = self.view.crop_size
        return tf.function(lambda pixels: tf.nn.softmax(self.logits(pixels)),
                           input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])

    def predict(self, images, batch_size: int = 32) -> np.ndarray:
        """Softmax probabilities of photos already in the classifier's view, batched."""
        outputs = []
        for start in range(0, len(images), batch_size):
            batch = tf.convert_to_tensor(images[start:start + batch_size], tf.float32)
            outputs.append(self._probabilities(batch).numpy())
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
    return Attacker(name or model.name, lambda x: model(x, training=False), tuple(class_names),
                    view, model, owner=model)


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
        return Attacker(os.path.basename(os.path.normpath(spec)),
                        lambda x: signature(pixels=x)["logits"], names, view, owner=loaded)
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


def split_attacker_spec(spec: str | Sequence[str]) -> tuple[str, ...]:
    """`"a, b"` or `["a", "b,c"]` -> `("a", "b", "c")`; an existing path is never split."""
    entries = [spec] if isinstance(spec, str) else list(spec)
    names = []
    for entry in entries:
        parts = [entry] if os.path.exists(entry) else entry.split(",")
        names += [part.strip() for part in parts]
    if not names or any(not name for name in names):
        raise ValueError(f"--attacker: empty entry in {spec!r}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"--attacker: {duplicates} given more than once in {spec!r}")
    return tuple(names)


def load_attackers(spec: str | Sequence[str]) -> tuple[Attacker, ...]:
    """One attacker (`load_attacker`, installed default weights) per comma-separated entry."""
    return tuple(load_attacker(name) for name in split_attacker_spec(spec))


def views_and_logits(attackers: Sequence[Attacker],
                     photos) -> tuple[tuple[tf.Tensor, tf.Tensor], ...]:
    """Float photos `[b, h, w, 3]` (0-255, one size) -> `(view, logits)` per attacker, where
    `view = attacker.view(photos)` (resize + centre crop, differentiable) and
    `logits = attacker.logits(view)`; gradients reach `photos` through every member."""
    photos = tf.convert_to_tensor(photos, tf.float32)
    pairs = []
    for attacker in attackers:
        view = attacker.view(photos)
        pairs.append((view, attacker.logits(view)))
    return tuple(pairs)


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """Several attackers, each seeing the same photos through its own view."""

    attackers: tuple[Attacker, ...]

    def __post_init__(self):
        if not self.attackers:
            raise ValueError("an ensemble needs at least one attacker")
        object.__setattr__(self, "attackers", tuple(self.attackers))

    @classmethod
    def load(cls, spec: str | Sequence[str]) -> "Ensemble":
        return cls(load_attackers(spec))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attackers)

    def logits(self, photos) -> tuple[tf.Tensor, ...]:
        """Per-attacker logits `[b, classes_i]` of float photos `[b, h, w, 3]` in 0-255."""
        return tuple(logits for _, logits in views_and_logits(self.attackers, photos))

    def losses(self, photos, labels_per_attacker: Sequence) -> tuple[tf.Tensor, ...]:
        """Per-attacker softmax cross-entropy `[b]` of `photos` against that attacker's
        integer labels (label spaces differ, so one label array per member)."""
        if len(labels_per_attacker) != len(self.attackers):
            raise ValueError(f"{len(labels_per_attacker)} label arrays for "
                             f"{len(self.attackers)} attackers {self.names}")
        return tuple(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.cast(labels, tf.int32), logits=logits)
            for labels, logits in zip(labels_per_attacker, self.logits(photos)))
