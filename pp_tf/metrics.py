"""Evaluation metrics as pure, batched functions of arrays."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def restrict(probabilities: np.ndarray, classes) -> np.ndarray:
    """Probabilities renormalised over a subset of classes (others set to zero).

    MediaEval 2018 scores the attacker over the 60 privacy-sensitive Places365
    categories: its prediction is the best of those 60.
    """
    mask = np.zeros(probabilities.shape[-1], bool)
    mask[list(classes)] = True
    restricted = np.where(mask, probabilities, 0.0)
    return restricted / np.maximum(restricted.sum(-1, keepdims=True), 1e-30)


def top_k(probabilities: np.ndarray, k: int) -> np.ndarray:
    """`[n, k]` class indices, best first (ties broken by the lower index)."""
    return np.argsort(-probabilities, axis=-1, kind="stable")[:, :k]


def top_k_accuracy(probabilities: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose label is among the k most probable classes."""
    if len(labels) == 0:
        return float("nan")
    return float((top_k(probabilities, k) == np.asarray(labels)[:, None]).any(-1).mean())


def top1_change_rate(original: np.ndarray, protected: np.ndarray) -> float:
    """Fraction of photos whose top-1 class changed."""
    if len(original) == 0:
        return float("nan")
    return float((original.argmax(-1) != protected.argmax(-1)).mean())


def original_top1_in_top_k(original: np.ndarray, protected: np.ndarray, k: int = 5) -> float:
    """Fraction of photos whose original top-1 class is still in the protected top k."""
    if len(original) == 0:
        return float("nan")
    return float((top_k(protected, k) == original.argmax(-1)[:, None]).any(-1).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images of one size (inf when identical)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM (Wang et al. 2004; 11x11 Gaussian window, sigma 1.5) of two RGB uint8 images."""
    return float(tf.image.ssim(tf.constant(a[None]), tf.constant(b[None]), max_val=255)[0])
