"""The quality gate: no protected photo goes out looking worse than a floor a person accepts.

The gate's measure is colour-undone SSIMULACRA2 at half size (`pp_tf.quality.measures`).
Its floor is calibrated on known distortions (BUILD_NOTES, "Quality measures"): 60 is
about JPEG quality 40 or Gaussian noise of sigma 4 (0-255), and well above posterisation
to 32 levels; 70 (the default) is about JPEG quality 75.

A method's full result that scores below `min_quality` is taken back towards the
original: the output is `original + strength * (result - original)`, with the largest
`strength` in [0, 1] that meets the floor (bisection; SSIMULACRA2 falls as the strength
rises for every method here), judged on the pixels as they will be saved (a JPEG output is
scored after its re-encode). For an additive perturbation that is a smaller
perturbation; for a global colour map it is a map closer to the identity. The manifest
records each photo's strength and score, so a photo that left the gate at a small
strength, which will rarely still fool anyone, is plain to see.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

from pp_tf.quality import measures

FLOOR = 60.0  # the least any photo may score, whatever a user asks for
DEFAULT = 70.0


@dataclasses.dataclass(frozen=True)
class QualityGate:
    """Attributes:
        min_quality: the colour-undone SSIMULACRA2 every photo must reach (0 turns the gate
            off). Lower trades quality for protection; below `FLOOR` a run is reported as
            outside the gate.
        search_steps: bisection steps on the strength (the last strength is within
            2^-steps of the largest that meets the floor).
    """

    min_quality: float = DEFAULT
    search_steps: int = 7

    def __post_init__(self):
        if not 0 <= self.min_quality <= 100:
            raise ValueError(f"min_quality must be in [0, 100], got {self.min_quality}")
        if self.search_steps < 1:
            raise ValueError(f"search_steps must be >= 1, got {self.search_steps}")

    @property
    def on(self) -> bool:
        return self.min_quality > 0


def blend(original: np.ndarray, result: np.ndarray, strength: float) -> np.ndarray:
    """`original + strength * (result - original)`, rounded to uint8."""
    mixed = original.astype(np.float32) + strength * (result.astype(np.float32) - original)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def hold(original: np.ndarray, result: np.ndarray, gate: QualityGate,
         saved: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, dict]:
    """`result`, or `result` taken back towards `original` until it meets the gate.

    `saved(photo)` gives the pixels the photo will have once written (a JPEG re-encode:
    `image_io.as_saved`); the gate holds for those (default: the photo itself).

    Returns the photo and the manifest's record: `ssimulacra2` and `gmsd` of the photo
    returned, `strength` (1: the method's result as it was), `full_ssimulacra2` (the
    result's own score) and `within_gate`. A result that cannot be measured (a crop, a
    photo under 8 px) is returned as it is, with the reason (`not_measured`).
    """
    reason = measures.not_measured(original, result)
    if reason:
        return result, {"not_measured": reason}
    saved = saved or (lambda photo: photo)
    quality = measures.photo_quality(original, saved(result))
    record = {"full_ssimulacra2": round(quality.ssimulacra2, 2)}
    strength, photo = 1.0, result
    if gate.on and quality.ssimulacra2 < gate.min_quality:
        strength = _largest_strength(original, result, gate)
        step = 2.0 ** -gate.search_steps
        while True:  # the search scored the unrounded, unsaved blend: check the photo
            photo = blend(original, result, strength)
            quality = measures.photo_quality(original, saved(photo))
            if quality.ssimulacra2 >= gate.min_quality or strength == 0:
                break
            strength, step = max(0.0, strength - step), step * 2
    return photo, {**record, "strength": round(strength, 4),
                   "ssimulacra2": round(quality.ssimulacra2, 2),
                   "gmsd": round(quality.gmsd, 5),
                   "within_gate": bool(quality.ssimulacra2 >= max(gate.min_quality, FLOOR))}


def largest_strength(reference, change, min_quality, search_steps: int):
    """Bisection from [0, 1] for the largest strength whose blend `reference + strength *
    change` (float `[1, h, w, 3]` at the scored size, no rounding) scores at least
    `min_quality`: a scalar tensor, within 2^-search_steps of it. Tensor ops only, so
    that a SavedModel can hold the gate."""
    low, high = tf.constant(0.0), tf.constant(1.0)
    for _ in range(search_steps):
        middle = (low + high) / 2
        score, _ = measures.scores_at_size(reference, reference + middle * change)
        passes = score[0] >= min_quality
        low, high = tf.where(passes, middle, low), tf.where(passes, high, middle)
    return low


def _largest_strength(original: np.ndarray, result: np.ndarray, gate: QualityGate) -> float:
    reference = measures.at_scored_size(original)
    change = measures.at_scored_size(result) - reference
    return float(largest_strength(reference, change, gate.min_quality, gate.search_steps))


def hold_tensor(original, result, gate: QualityGate):
    """`hold` as tensor ops, for a graph such as a TF Serving export: uint8 `[h, w, 3]` photos
    of one size, which may be known only when it runs -> (the photo, uint8 `[h, w, 3]`;
    its strength; its colour-undone SSIMULACRA2). The photo is judged as it is returned
    (a JPEG re-encode afterwards is not scored)."""
    reference = measures.at_scored_size(original)

    def score(photo):
        return measures.scores_at_size(reference, measures.at_scored_size(photo))[0][0]

    def blend_at(strength):
        mixed = tf.cast(original, tf.float32) + strength * (
            tf.cast(result, tf.float32) - tf.cast(original, tf.float32))
        return tf.cast(tf.clip_by_value(tf.round(mixed), 0.0, 255.0), tf.uint8)

    def taken_back():
        change = measures.at_scored_size(result) - reference
        strength = largest_strength(reference, change, gate.min_quality, gate.search_steps)
        photo = blend_at(strength)

        def lower(strength, step, photo, quality):  # as `hold`: rounding may cost the gate
            strength = tf.maximum(0.0, strength - step)
            photo = blend_at(strength)
            return strength, step * 2, photo, score(photo)

        strength, _, photo, quality = tf.while_loop(
            lambda strength, step, photo, quality: tf.logical_and(
                quality < gate.min_quality, strength > 0),
            lower, (strength, tf.constant(2.0 ** -gate.search_steps), photo, score(photo)))
        return photo, strength, quality

    full_quality = score(result)
    if not gate.on:
        return tf.convert_to_tensor(result, tf.uint8), tf.constant(1.0), full_quality
    return tf.cond(full_quality < gate.min_quality, taken_back,
                   lambda: (tf.convert_to_tensor(result, tf.uint8), tf.constant(1.0),
                            full_quality))
