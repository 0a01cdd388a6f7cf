"""The fooling objective every per-photo attack shares (PGD, the colour filter, the
colour grade): the loss each attacker of an ensemble should stop seeing its clean label
with, through EOT draws and input diversity, and the clean labels themselves.

* `ce`: the cross-entropy of the clean top-1 (capped at `confidence`);
* `top5`: the top-1's margin below the fifth other class (`top5_margin`), aimed
  `confidence` logits below zero, since the measure that matters is the label leaving
  the top 5;
* `top5_set`: the cross-entropy of the clean top 5 together (`set_cross_entropy`).

The shared help texts of these settings (`protect`'s flags) are here too, written once.
"""

from __future__ import annotations

import typing
from typing import Literal, Sequence

import tensorflow as tf

from pp_tf.attacker import Attacker
from pp_tf.attacks import transforms

OBJECTIVE_HELP = ("What the attack raises per attacker: ce (cross-entropy of its clean top-1, "
                  "capped), top5 (that label's margin below the fifth other class), top5_set "
                  "(cross-entropy of its clean top 5 together, capped).")
CONFIDENCE_HELP = ("Aim of the fooling loss: its cap (ce, top5_set), or the logits below the "
                   "fifth other class to aim for (top5).")
STEPS_HELP = "Optimisation steps per photo."
EOT_HELP = "Random rescale+crop+JPEG draws averaged per step (EOT; 0: off)."
DIVERSITY_HELP = ("Probability of a random resize-and-pad of each attacker input per step "
                  "(input diversity; 0: off).")
SEED_HELP = "Seed of the random draws (with each file's name)."

Objective = Literal["ce", "top5", "top5_set"]


def top5_margin(logits, labels, k: int = 5):
    """`logits[label]` minus the k-th largest other logit, `[b]`: negative iff the label
    is out of the top k."""
    classes = tf.shape(logits)[-1]
    is_label = tf.one_hot(labels, classes, on_value=True, off_value=False)
    label_logit = tf.reduce_sum(tf.where(is_label, logits, 0.0), -1)
    others = tf.where(is_label, tf.fill(tf.shape(logits), -1e9), logits)
    k = tf.minimum(k, classes - 1)
    kth = tf.math.top_k(others, k).values[:, -1]
    return label_logit - kth


def labels_per_photo(objective: Objective) -> int:
    """How many clean classes of each attacker an objective needs per photo: its top-1
    (`ce`, `top5`; labels `[b]`) or its top 5 (`top5_set`; labels `[b, 5]`, see
    `clean_labels`)."""
    return 5 if objective == "top5_set" else 1


def set_cross_entropy(logits, label_sets):
    """-log of the probability of any class of `label_sets` `[b, k]`, `[b]`: the
    cross-entropy of the set (for k = 1, of the label)."""
    classes = tf.shape(logits)[-1]
    in_set = tf.reduce_max(tf.one_hot(label_sets, classes, on_value=1, off_value=0), 1) > 0
    log_probabilities = tf.nn.log_softmax(logits)
    return -tf.reduce_logsumexp(tf.where(in_set, log_probabilities, -1e9), -1)


def member_losses(attackers: Sequence[Attacker], photos, labels: Sequence, seed, *,
                  eot_samples: int = 1, diversity: float = 0.0, plain_view: bool = False,
                  objective: Objective = "ce", confidence: float = 0.0) -> tuple[tf.Tensor, ...]:
    """`view_losses` on each attacker's view of `photos` (float `[b, h, w, 3]`, 0-255,
    differentiable): the loss each attacker should stop seeing the clean label with."""
    return view_losses(attackers, tuple(attacker.view(photos) for attacker in attackers),
                       labels, seed, eot_samples=eot_samples, diversity=diversity,
                       plain_view=plain_view, objective=objective, confidence=confidence)


def view_losses(attackers: Sequence[Attacker], views: Sequence, labels: Sequence, seed, *,
                eot_samples: int = 1, diversity: float = 0.0, plain_view: bool = False,
                objective: Objective = "ce", confidence: float = 0.0) -> tuple[tf.Tensor, ...]:
    """The loss each attacker should stop seeing the clean label with, `[b]` per attacker.

    Args:
        attackers: the ensemble.
        views: one float `[b, crop, crop, 3]` (0-255, differentiable) per attacker: the
            photos as that attacker sees them (`attacker.view`; `member_losses` takes
            them from photos).
        labels: one int `[b]` per attacker, its clean top-1; `[b, 5]`, its clean top 5,
            for `top5_set` (`labels_per_photo`).
        seed: int32 `[2]` for the stateless random transforms.
        eot_samples: random rescale + crop + JPEG draws averaged (0: none, the
            plain view).
        diversity: probability of a random resize-and-pad of each input.
        plain_view: with EOT draws, also the plain view itself (no transform, no input
            diversity), weighted as one more draw: the view the photo is judged in as
            saved, which every EOT draw re-encodes.
        objective: `ce`, the cross-entropy of the label, capped at `confidence`
            when that is > 0; or `top5`, `-max(top5_margin, -confidence)`, which stops
            rising once the label is `confidence` logits below the fifth other class; or
            `top5_set`, the cross-entropy of the clean top-5 classes together
            (`set_cross_entropy`), capped like `ce`: it pushes the photo away from all
            of them, not only to the nearest of them.
    Returns:
        One `[b]` tensor per attacker, averaged over the EOT draws; ascending it fools.
    """
    seed = tf.convert_to_tensor(seed, tf.int32)
    losses = []
    for index, (attacker, view, label) in enumerate(zip(attackers, views, labels)):
        crop = attacker.view.crop_size
        inputs = []
        for sample in range(max(eot_samples, 1)):
            draw_seed = seed + tf.constant([7919 * index + 104729 * sample, 0])
            x = transforms.photo_pipeline(view, draw_seed) if eot_samples > 0 else view
            if diversity > 0:
                x = transforms.input_diversity(x, draw_seed, probability=diversity)
            inputs.append(tf.ensure_shape(x, [None, crop, crop, 3]))
        if plain_view and eot_samples > 0:
            inputs.append(tf.ensure_shape(view, [None, crop, crop, 3]))
        draws = len(inputs)
        logits = attacker.logits(tf.concat(inputs, 0))
        label = tf.cast(label, tf.int32)
        tiled = tf.tile(label, [draws] + [1] * (label.shape.rank - 1))
        if objective in ("ce", "top5_set"):
            loss = (tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tiled, logits=logits)
                    if objective == "ce" else set_cross_entropy(logits, tiled))
            if confidence > 0:
                loss = tf.minimum(loss, confidence)
        else:
            loss = -tf.maximum(top5_margin(logits, tiled), -confidence)
        losses.append(tf.reduce_mean(tf.reshape(loss, [draws, -1]), 0))
    return tuple(losses)


def check_objective(objective: str) -> None:
    """Raises ValueError unless `objective` is one of `Objective`'s values."""
    if objective not in typing.get_args(Objective):
        raise ValueError(f"objective must be one of {typing.get_args(Objective)}, "
                         f"got {objective!r}")


def label_spec(objective: Objective) -> tf.TensorSpec:
    """The `tf.function` signature of one attacker's labels for `objective`."""
    return tf.TensorSpec([None] if labels_per_photo(objective) == 1 else [None, None], tf.int32)


def clean_labels(attackers: Sequence[Attacker], photos, top: int = 1) -> tuple[tf.Tensor, ...]:
    """Each attacker's top-1 `[b]` (int32) on its view of `photos`; with `top` > 1, its
    `top` classes `[b, top]`, best first (all classes but one for a classifier of no more
    than `top`, so that the set can be left)."""
    photos = tf.convert_to_tensor(photos, tf.float32)
    return view_labels(attackers, tuple(attacker.view(photos) for attacker in attackers), top)


def view_labels(attackers: Sequence[Attacker], views: Sequence, top: int = 1
                ) -> tuple[tf.Tensor, ...]:
    """`clean_labels` from each attacker's view of the photos (`attacker.view`)."""
    labels = []
    for attacker, view in zip(attackers, views):
        logits = attacker.logits(view)
        if top == 1:
            labels.append(tf.argmax(logits, -1, output_type=tf.int32))
        else:
            labels.append(tf.math.top_k(logits, min(top, logits.shape[-1] - 1)).indices)
    return tuple(labels)
