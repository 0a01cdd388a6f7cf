"""Training and evaluation images in a classifier's view, from a folder or TFDS."""

from __future__ import annotations

import sys

import numpy as np

from pp_tf import image_io
from pp_tf.models import preprocessing


def load_folder_views(folder, resize_size=preprocessing.RESIZE_SIZE,
                      crop_size=preprocessing.CROP_SIZE, errors=None):
    """Every readable photo of `folder` as float32 `[n, crop, crop, 3]` (0-255).

    Unreadable files are reported on stderr (and appended to `errors` as
    `(path, reason)`) and skipped. Returns the views and the paths they came from.
    """
    views, paths = [], []
    for path in image_io.list_images(folder):
        try:
            photo = image_io.read_image(path)
        except image_io.ImageError as error:
            print(f"skipped: {error}", file=sys.stderr)
            if errors is not None:
                errors.append((path, error.reason))
            continue
        views.append(preprocessing.classifier_view(photo[None], resize_size, crop_size).numpy()[0])
        paths.append(path)
    if not views:
        raise image_io.ImageError(folder, "no readable photos")
    return np.stack(views).astype(np.float32), paths


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
        keys.append(str(example.get("filename", index)))
    return np.stack(views).astype(np.float32), keys
