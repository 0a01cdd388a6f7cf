"""Training and evaluation images in a classifier's view, from photos or TFDS."""

from __future__ import annotations

import os
import sys

import numpy as np
import tensorflow as tf

from pp_tf import image_io
from pp_tf.models import preprocessing


def photo_paths(source: str) -> list[str]:
    """The photos of a folder, or those listed (one path a line, relative to the list) in a .txt."""
    if source.endswith(".txt") and os.path.isfile(source):
        base = os.path.dirname(os.path.abspath(source))
        with open(source, encoding="utf-8") as handle:
            return [os.path.join(base, line.strip()) for line in handle
                    if line.strip() and not line.startswith("#")]
    return image_io.list_images(source)


def random_crop_views(photo, count, rng, crop_size=preprocessing.CROP_SIZE, scale=(0.35, 1.0)):
    """`count` views of random square crops (side a random fraction of the shorter
    side), each mirrored with probability 1/2: cheap diversity for small photo sets."""
    height, width = photo.shape[:2]
    views = []
    for _ in range(count):
        side = max(int(min(height, width) * rng.uniform(*scale)), 1)
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        crop = photo[top:top + side, left:left + side].astype(np.float32)
        view = tf.image.resize(crop[None], (crop_size, crop_size), antialias=True).numpy()[0]
        views.append(view[:, ::-1] if rng.random() < 0.5 else view)
    return views


def load_photo_views(source: str, resize_size=preprocessing.RESIZE_SIZE,
                     crop_size=preprocessing.CROP_SIZE, crops_per_photo=0, seed=0, errors=None):
    """Every readable photo of `source` as float32 `[n, crop, crop, 3]` (0-255).

    Each photo gives its classifier view, plus `crops_per_photo` random crops.
    Unreadable files are reported on stderr (and appended to `errors` as
    `(path, reason)`) and skipped. Returns the views and the paths they came from.
    """
    rng = np.random.default_rng(seed)
    views, paths = [], []
    for path in photo_paths(source):
        try:
            photo = image_io.read_image(path)
        except image_io.ImageError as error:
            print(f"skipped: {error}", file=sys.stderr)
            if errors is not None:
                errors.append((path, error.reason))
            continue
        views.append(preprocessing.classifier_view(photo[None], resize_size, crop_size).numpy()[0])
        views += random_crop_views(photo, crops_per_photo, rng, crop_size)
        paths += [path] * (1 + crops_per_photo)
    if not views:
        raise image_io.ImageError(source, "no readable photos")
    return np.stack(views).astype(np.float32), paths


def split_holdout(images, paths, fraction: float, seed: int = 0):
    """Keeps whole photos out of training: `round(fraction * photos)` of the distinct
    `paths` (at least one when `fraction > 0` and there are two photos or more, never
    all), drawn with `seed`. Each held-out photo keeps only its first view (the plain
    classifier view of `load_photo_views`; its random crops are dropped).

    Returns `(train_images, train_paths, holdout_images, holdout_paths)`.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"holdout fraction must be in [0, 1), got {fraction}")
    photos = list(dict.fromkeys(paths))
    count = int(round(fraction * len(photos)))
    if fraction > 0 and len(photos) >= 2:
        count = min(max(count, 1), len(photos) - 1)
    else:
        count = 0
    chosen = set(np.random.default_rng([seed, 7919]).choice(len(photos), count, replace=False)
                 .tolist()) if count else set()
    held = {photos[i] for i in chosen}
    train = [i for i, p in enumerate(paths) if p not in held]
    first = {}
    for i, p in enumerate(paths):
        if p in held:
            first.setdefault(p, i)
    hold = sorted(first.values())
    images = np.asarray(images)
    return (images[train], [paths[i] for i in train], images[hold] if hold else images[:0],
            [paths[i] for i in hold])


def load_tfds_views(spec: str, resize_size=preprocessing.RESIZE_SIZE,
                    crop_size=preprocessing.CROP_SIZE, data_dir=None, limit=None):
    """`dataset:split` of a prepared TFDS dataset (never downloads) in the classifier's view."""
    import tensorflow_datasets as tfds

    name, _, split = spec.partition(":")
    dataset = tfds.load(name, split=split or "validation", data_dir=data_dir, download=False)
    views, keys = [], []
    for index, example in enumerate(tfds.as_numpy(dataset)):
        if limit is not None and index >= limit:
            break
        views.append(preprocessing.classifier_view(example["image"][None], resize_size,
                                                   crop_size).numpy()[0])
        filename = example.get("filename", str(index))
        keys.append(filename.decode() if isinstance(filename, bytes) else str(filename))
    return np.stack(views).astype(np.float32), keys
