"""Known distortions, to calibrate the quality measures and the gate against.

Each entry of `DISTORTIONS` is a named, deterministic function of a uint8 photo: JPEG
re-saves, Gaussian noise, posterisation to N levels per channel, Gaussian blur, and a strong
smooth colour grade (the reference for a change that is a choice, not damage). `table`
scores a folder's photos under each of them, as `experiments/quality_calibration` prints.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from pp_tf.quality import measures


def jpeg(quality: int):
    def distort(photo):
        buffer = io.BytesIO()
        Image.fromarray(photo).save(buffer, "JPEG", quality=quality)
        return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return distort


def noise(sigma: float):
    def distort(photo):
        rng = np.random.default_rng(0)
        return np.clip(np.rint(photo + rng.normal(0.0, sigma, photo.shape)), 0, 255).astype(np.uint8)
    return distort


def posterise(levels: int):
    def distort(photo):
        step = 255.0 / (levels - 1)
        return np.clip(np.rint(np.rint(photo / step) * step), 0, 255).astype(np.uint8)
    return distort


def blur(radius: float):
    def distort(photo):
        return np.asarray(Image.fromarray(photo).filter(ImageFilter.GaussianBlur(radius)))
    return distort


def warm_grade(photo):
    """Channel gammas 0.8 / 1.0 / 1.3, then contrast 1.15 about mid-grey."""
    x = (photo / 255.0) ** np.array([0.8, 1.0, 1.3])
    return np.clip(np.rint(((x - 0.5) * 1.15 + 0.5) * 255.0), 0, 255).astype(np.uint8)


DISTORTIONS = {
    **{f"jpeg_q{q}": jpeg(q) for q in (90, 75, 50, 30, 15)},
    **{f"noise_sigma{s}": noise(s) for s in (2, 4, 8, 16)},
    **{f"posterise_{n}": posterise(n) for n in (64, 32, 16, 8)},
    **{f"blur_{r}px": blur(r) for r in (1, 2)},
    "warm_grade": warm_grade,
}


def table(photos: dict[str, np.ndarray]) -> dict[str, dict]:
    """{distortion: {"ssimulacra2": [per photo], "gmsd": [per photo], "brisque": [per
    photo]}} over `photos`; "original" holds the undistorted photos' BRISQUE."""
    rows = {"original": {"brisque": [measures.naturalness(p) for p in photos.values()]}}
    for name, distort in DISTORTIONS.items():
        distorted = [(p, distort(p)) for p in photos.values()]
        scores = [measures.photo_quality(p, d) for p, d in distorted]
        rows[name] = {"ssimulacra2": [q.ssimulacra2 for q in scores],
                      "gmsd": [q.gmsd for q in scores],
                      "brisque": [measures.naturalness(d) for _, d in distorted]}
    return rows
