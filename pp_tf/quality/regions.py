"""Where to look: a photo's smoothest and most textured regions.

Damage hides in averages: worm-like noise shows on a sky, flattened detail on foliage.
The report shows a 100% crop of each region for every method, taken at the same place in
every version of a photo (the places are found on the original).
"""

from __future__ import annotations

import numpy as np


def detail_map(photo: np.ndarray) -> np.ndarray:
    """Mean absolute luma difference to the right and below neighbours, `[h, w]`."""
    luma = photo.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    detail = np.zeros_like(luma)
    detail[:, :-1] += np.abs(np.diff(luma, axis=1))
    detail[:-1, :] += np.abs(np.diff(luma, axis=0))
    return detail


def smooth_and_textured(photo: np.ndarray, size: int) -> dict[str, tuple[int, int]]:
    """{"smooth": (top, left), "textured": (top, left)} of the `size` x `size` windows (on a
    grid of stride size / 2, clipped to the photo) with the least and the most detail."""
    height, width = photo.shape[:2]
    h, w = min(size, height), min(size, width)
    integral = np.pad(detail_map(photo), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    step = max(1, size // 2)
    tops = sorted({min(t, height - h) for t in range(0, height, step)})
    lefts = sorted({min(x, width - w) for x in range(0, width, step)})
    best = {}
    for top in tops:
        for left in lefts:
            total = (integral[top + h, left + w] - integral[top, left + w]
                     - integral[top + h, left] + integral[top, left])
            best.setdefault("smooth", (total, top, left))
            best.setdefault("textured", (total, top, left))
            if total < best["smooth"][0]:
                best["smooth"] = (total, top, left)
            if total > best["textured"][0]:
                best["textured"] = (total, top, left)
    return {name: (top, left) for name, (_, top, left) in best.items()}


def crop_at(photo: np.ndarray, corner: tuple[int, int], size: int) -> np.ndarray:
    top, left = corner
    return photo[top:top + size, left:left + size].copy()
