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


def original_top1_gone_from_top_k(original: np.ndarray, protected: np.ndarray, k: int = 5) -> float:
    """Fraction of photos whose original top-1 class left the protected top k
    (1 - `original_top1_in_top_k`)."""
    if len(original) == 0:
        return float("nan")
    return float((top_k(protected, k) != original.argmax(-1)[:, None]).all(-1).mean())


def photo_verdict(original: np.ndarray, protected: np.ndarray, k: int = 5) -> tuple[bool, bool]:
    """One photo's verdict from its `[1, classes]` probabilities before and after: (the
    top-1 class changed, the original's top-1 class left the top k)."""
    return (top1_change_rate(original, protected) == 1.0,
            original_top1_gone_from_top_k(original, protected, k) == 1.0)


# sRGB (IEC 61966-2-1) primaries with the D65 white, linear RGB -> XYZ (Y of white = 1).
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def _srgb_decode(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.0) + 0.055) / 1.055) ** 2.4)


_SRGB_DECODED = _srgb_decode(np.arange(256) / 255.0)


def srgb_to_lab(pixels: np.ndarray) -> np.ndarray:
    """sRGB pixels `[..., 3]` in 0-255 -> CIELAB `[..., 3]` (D65 white, 2 degree observer).

    sRGB decoding (linear below 0.04045), then XYZ with the sRGB matrix, then
    L* a* b* with the CIE 1976 cube root (linear below (6/29)^3).
    """
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:  # a table of the 256 decoded values (same numbers, faster)
        linear = _SRGB_DECODED[pixels]
    else:
        linear = _srgb_decode(pixels.astype(np.float64) / 255.0)
    xyz = linear @ (SRGB_TO_XYZ.T / D65_WHITE)
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1) of Lab arrays `[..., 3]`, elementwise.

    The formula as written out by Sharma, Wu & Dalal (2005), eqs. 1-15, with their
    conventions: hue 0 where a' = b = 0, and the mean hue of a pair with a zero
    chroma is the plain sum.
    """
    lab1, lab2 = np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_bar7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2.0) ** 7
    g = 0.5 * (1.0 - np.sqrt(c_bar7 / (c_bar7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, h1p)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, h2p)
    chroma_zero = c1p * c2p == 0

    d_lp = l2 - l1
    d_cp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(chroma_zero, 0.0, dh)
    d_hp = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2.0)

    l_bar = (l1 + l2) / 2.0
    c_barp = (c1p + c2p) / 2.0
    h_sum = h1p + h2p
    h_bar = np.where(np.abs(h1p - h2p) <= 180.0, h_sum / 2.0,
                     np.where(h_sum < 360.0, (h_sum + 360.0) / 2.0, (h_sum - 360.0) / 2.0))
    h_bar = np.where(chroma_zero, h_sum, h_bar)

    t = (1.0 - 0.17 * np.cos(np.radians(h_bar - 30.0)) + 0.24 * np.cos(np.radians(2.0 * h_bar))
         + 0.32 * np.cos(np.radians(3.0 * h_bar + 6.0))
         - 0.20 * np.cos(np.radians(4.0 * h_bar - 63.0)))
    d_theta = 30.0 * np.exp(-(((h_bar - 275.0) / 25.0) ** 2))
    c_barp7 = c_barp**7
    r_c = 2.0 * np.sqrt(c_barp7 / (c_barp7 + 25.0**7))
    s_l = 1.0 + 0.015 * (l_bar - 50.0) ** 2 / np.sqrt(20.0 + (l_bar - 50.0) ** 2)
    s_c = 1.0 + 0.045 * c_barp
    s_h = 1.0 + 0.015 * c_barp * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c
    terms = ((d_lp / s_l) ** 2 + (d_cp / s_c) ** 2 + (d_hp / s_h) ** 2
             + r_t * (d_cp / s_c) * (d_hp / s_h))
    return np.sqrt(np.maximum(terms, 0.0))


def mean_ciede2000(a: np.ndarray, b: np.ndarray, chunk: int = 1 << 18) -> float:
    """Mean CIEDE2000 over the pixels of two sRGB images of one shape `[h, w, 3]`.

    Computed `chunk` pixels at a time, so a 50-megapixel photo needs no more
    than about 100 MB of temporaries.
    """
    a = np.asarray(a).reshape(-1, 3)
    b = np.asarray(b).reshape(-1, 3)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    if not len(a):
        return float("nan")
    total = 0.0
    for start in range(0, len(a), chunk):
        total += float(ciede2000(srgb_to_lab(a[start:start + chunk]),
                                 srgb_to_lab(b[start:start + chunk])).sum())
    return total / len(a)
