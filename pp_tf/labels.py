"""Class names shipped with pp_tf (no download needed).

* `data/imagenet_classes.txt`: the 1,000 ImageNet-1k names in index order, as
  listed in TFDS' `siscore/labels.py` (Apache-2.0).
* `data/places365_io.txt`: CSAILVision's `IO_places365.txt`: the 365 Places
  categories in index order with 1 = indoor, 2 = outdoor.
* `data/mepp18_sensitive.txt`: the 60 privacy-sensitive categories of the
  MediaEval 2018 Pixel Privacy task with their Places365 indices.
"""

from __future__ import annotations

import functools
import importlib.resources


def _lines(name: str) -> list[str]:
    text = importlib.resources.files("pp_tf").joinpath("data", name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@functools.cache
def imagenet_class_names() -> tuple[str, ...]:
    return tuple(_lines("imagenet_classes.txt"))


@functools.cache
def places365_categories() -> tuple[str, ...]:
    """Full category paths, `/a/airfield` ... `/z/zen_garden`."""
    return tuple(line.split()[0] for line in _lines("places365_io.txt"))


@functools.cache
def places365_class_names() -> tuple[str, ...]:
    """Readable names: `/a/arena/hockey` -> `arena/hockey`."""
    return tuple(path[3:] for path in places365_categories())


@functools.cache
def mepp18_sensitive_indices() -> tuple[int, ...]:
    """Places365 indices of the 60 MEPP18 privacy-sensitive categories."""
    return tuple(int(line.split()[1]) for line in _lines("mepp18_sensitive.txt"))
