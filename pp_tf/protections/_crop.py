"""The crop window shared by the crop methods."""

from __future__ import annotations


def window_size(height: int, width: int, fraction: float) -> tuple[int, int]:
    """(h, w) of a crop keeping `fraction` of each side, at least one pixel."""
    return max(int(round(height * fraction)), 1), max(int(round(width * fraction)), 1)


def check_fraction(fraction: float) -> None:
    if not 0 < fraction <= 1:
        raise ValueError(f"crop_fraction must be in (0, 1], got {fraction}")
