"""The quality gate: no protected photo goes out looking worse than a floor a person accepts.

The gate's measure is colour-undone SSIMULACRA2 at half size (`pp_tf.quality.measures`).
Its floor is calibrated on known distortions (BUILD_NOTES, "Quality measures"): on a
median photo, 70 (the default) lies between JPEG quality 30 and 50, Gaussian noise of
sigma 8 and 16 (0-255), posterisation to 32 and 16 levels; on the smoothest photos, where
the same damage shows most, 70 is about JPEG quality 75 and 60 about JPEG quality 50.

A method's full result that scores below `min_quality` is taken back towards the
original: the output is `original + strength * (result - original)`, with the largest
`strength` in [0, 1] that meets the floor (`search_strength`; SSIMULACRA2 falls as the
strength rises for every method here), judged on the pixels as they will be saved (a JPEG
output is scored after its re-encode). For an additive perturbation that is a smaller
perturbation; for a global colour map it is a map closer to the identity. The manifest
records each photo's strength and score, so a photo that left the gate at a small
strength, which will rarely still fool anyone, is plain to see.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

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
        search_steps: the most photos the search for a photo's strength scores (its
            bracket ends narrower than 2^-search_steps).
        tolerance: the search stops once its passing photo scores within this many points
            of `min_quality`.
    """

    min_quality: float = DEFAULT
    search_steps: int = 7
    tolerance: float = 0.5

    def __post_init__(self):
        if not 0 <= self.min_quality <= 100:
            raise ValueError(f"min_quality must be in [0, 100], got {self.min_quality}")
        if self.search_steps < 1:
            raise ValueError(f"search_steps must be >= 1, got {self.search_steps}")
        if self.tolerance <= 0:
            raise ValueError(f"tolerance must be > 0, got {self.tolerance}")

    @property
    def on(self) -> bool:
        return self.min_quality > 0


_BLEND_ROWS = 256  # rows blended at a time: float32 copies of a strip, not of the photo


def blend(original: np.ndarray, result: np.ndarray, strength: float) -> np.ndarray:
    """`original + strength * (result - original)`, rounded to uint8 (strip by strip, so
    that a 50 MP photo needs no float32 copy of itself)."""
    out = np.empty(np.shape(original), np.uint8)
    for top in range(0, len(out), _BLEND_ROWS):
        rows = slice(top, top + _BLEND_ROWS)
        below = original[rows].astype(np.float32)
        mixed = below + np.float32(strength) * (result[rows].astype(np.float32) - below)
        out[rows] = np.clip(np.rint(mixed), 0, 255)
    return out


class Held(NamedTuple):
    """What `hold` returns: the photo, the manifest's record, and the photo's pixels once
    written (`saved(photo)`, which the gate scored: no second re-encode needed)."""

    photo: np.ndarray
    record: dict
    written: np.ndarray


def hold(original: np.ndarray, result: np.ndarray, gate: QualityGate,
         saved: Callable[[np.ndarray], np.ndarray] | None = None) -> Held:
    """`result`, or `result` taken back towards `original` until it meets the gate.

    `saved(photo)` gives the pixels the photo will have once written (a JPEG re-encode:
    `image_io.AsSaved`, whose `strip_rows` lets the candidates be blended and re-encoded
    strip by strip); the gate holds for those (default: the photo itself).

    Returns the photo, the manifest's record and the written pixels (`Held`). The record
    has `ssimulacra2` and `gmsd` of the photo returned, `strength` (1: the method's result
    as it was), `full_ssimulacra2` (the result's own score) and `within_gate`. A result
    that cannot be measured (a crop, a photo under 8 px) is returned as it is, with the
    reason (`not_measured`).
    """
    saved = saved or (lambda photo: photo)
    reason = measures.not_measured(original, result)
    if reason:
        return Held(result, {"not_measured": reason}, saved(result))
    reference = measures.scored_reference(original)  # once, not at every scoring
    passing = {}  # the written pixels of the strongest passing blend scored so far
    rows = getattr(saved, "strip_rows", None)

    def written_at(strength: float) -> np.ndarray:
        """The blend at `strength` as it will be written; strip by strip where `saved`
        allows it (`image_io.AsSaved`), so that no whole-photo blend is made."""
        if strength == 1.0:
            return saved(result)
        if rows is None:
            return saved(blend(original, result, strength))
        out = np.empty(np.shape(original), np.uint8)
        for top in range(0, len(out), rows):
            strip = slice(top, top + rows)
            out[strip] = saved(blend(original[strip], result[strip], strength))
        return out

    def quality_of(written) -> measures.PhotoQuality:
        ssimulacra2, gmsd = measures.scores_against(reference, measures.at_scored_size(written))
        return measures.PhotoQuality(ssimulacra2=float(ssimulacra2[0]), gmsd=float(gmsd[0]))

    written = written_at(1.0)
    quality = quality_of(written)
    record = {"full_ssimulacra2": round(quality.ssimulacra2, 2)}
    strength, photo = 1.0, result
    if gate.on and quality.ssimulacra2 < gate.min_quality:
        del written  # not the photo returned: a full-size copy less while searching

        def score(strength):
            strength = float(strength)
            written = written_at(strength)
            scored = quality_of(written)
            passes = np.float32(scored.ssimulacra2) - np.float32(gate.min_quality) >= 0
            if passes and strength > passing.get("strength", 0):  # the search's own test
                passing.update(strength=strength, written=written)
            return scored.ssimulacra2, scored.gmsd

        strength, ssimulacra2, gmsd = (float(value) for value in search_strength(
            score, quality.ssimulacra2, gate))
        photo = blend(original, result, strength)
        if strength > 0 and passing.get("strength") == strength:  # the search's last pass
            written = passing.pop("written")
            quality = measures.PhotoQuality(ssimulacra2=ssimulacra2, gmsd=gmsd)
        else:  # the original (strength 0)
            written = written_at(strength)
            quality = quality_of(written)
    return Held(photo, {**record, "strength": round(strength, 4),
                        "ssimulacra2": round(quality.ssimulacra2, 2),
                        "gmsd": round(quality.gmsd, 5),
                        "within_gate": bool(quality.ssimulacra2 >= max(gate.min_quality,
                                                                       FLOOR))}, written)


def search_strength(score, full_quality, gate: QualityGate):
    """The largest strength in [0, 1] whose photo scores at least `gate.min_quality`, found
    by the Illinois method (regula falsi that halves a stale end's value).

    `score(strength)` gives (SSIMULACRA2, GMSD) scalar tensors of the photo blended at that
    strength exactly as it will be returned (rounded, and re-encoded if it will be);
    `full_quality` is the score at strength 1, which fails. The search starts from the
    identity (strength 0, which scores 100) and stops once the passing end is within
    `gate.tolerance` of the floor, the bracket is narrower than 2^-search_steps, or it has
    scored `search_steps` photos. It returns the passing end (strength, SSIMULACRA2, GMSD):
    always a photo that was scored as it will be returned, so no rounding or re-encode can
    take it below the floor afterwards (strength 0, the original, is the fallback).

    Tensor ops only (`tf.while_loop`), so that a SavedModel can hold the gate; eagerly,
    `score` may run NumPy code (a JPEG re-encode).
    """
    floor = tf.constant(gate.min_quality, tf.float32)
    width_wanted = 2.0 ** -gate.search_steps

    def searching(low, low_value, low_quality, high, high_value, kept, count):
        return tf.logical_and(
            tf.logical_and(count < gate.search_steps, high - low > width_wanted),
            low_quality[0] - floor > gate.tolerance)

    def step(low, low_value, low_quality, high, high_value, kept, count):
        width = high - low
        guess = low + width * low_value / (low_value - high_value)
        guess = tf.clip_by_value(guess, low + width / 16, high - width / 16)
        ssimulacra2, gmsd = score(guess)
        value = tf.cast(ssimulacra2, tf.float32) - floor
        passes = value >= 0
        # Illinois: an end kept twice running has its value halved, so the next guess
        # moves towards it.
        return (tf.where(passes, guess, low),
                tf.where(passes, value, tf.where(kept < 0, low_value / 2, low_value)),
                tf.where(passes, tf.stack([tf.cast(ssimulacra2, tf.float32),
                                           tf.cast(gmsd, tf.float32)]), low_quality),
                tf.where(passes, high, guess),
                tf.where(passes, tf.where(kept > 0, high_value / 2, high_value), value),
                tf.where(passes, 1, -1), count + 1)

    start = (tf.constant(0.0), 100.0 - floor, tf.constant([100.0, 0.0]), tf.constant(1.0),
             tf.cast(full_quality, tf.float32) - floor, tf.constant(0), tf.constant(0))
    low, _, low_quality, *_ = tf.while_loop(searching, step, start)
    return low, low_quality[0], low_quality[1]


def hold_tensor(original, result, gate: QualityGate):
    """`hold` as tensor ops, for a graph such as a TF Serving export: uint8 `[h, w, 3]` photos
    of one size, which may be known only when it runs -> (the photo, uint8 `[h, w, 3]`;
    its strength; its colour-undone SSIMULACRA2). The photo is judged as it is returned
    (a JPEG re-encode afterwards is not scored)."""
    reference = measures.scored_reference(original)

    def blend_at(strength):
        mixed = tf.cast(original, tf.float32) + strength * (
            tf.cast(result, tf.float32) - tf.cast(original, tf.float32))
        return tf.cast(tf.clip_by_value(tf.round(mixed), 0.0, 255.0), tf.uint8)

    def score(strength):
        ssimulacra2, gmsd = measures.scores_against(
            reference, measures.at_scored_size(blend_at(strength)))
        return ssimulacra2[0], gmsd[0]

    def taken_back():
        strength, quality, _ = search_strength(score, full_quality, gate)
        return blend_at(strength), strength, quality

    full_quality = score(1.0)[0]
    if not gate.on:
        return tf.convert_to_tensor(result, tf.uint8), tf.constant(1.0), full_quality
    return tf.cond(full_quality < gate.min_quality, taken_back,
                   lambda: (tf.convert_to_tensor(result, tf.uint8), tf.constant(1.0),
                            full_quality))
