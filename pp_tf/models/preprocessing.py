"""How a classifier sees a photo: shorter side to `resize_size`, centre crop
`crop_size` (256 and 224 for most; 272/240 and 292/260 for EfficientNet-Lite1 and Lite2).

Kept apart from the normalisation (which lives inside each Keras model) so that
attacks can work in the classifier's pixel space: `classifier_view` maps a
photo of any size to the float `[crop, crop, 3]` pixels (0-255) the model takes.
A `View` names that geometry together with the normalisation inside the model
and the label space of its outputs; it lives on each classifier architecture,
travels with every attacker, and is recorded beside every perturbation.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import tensorflow as tf

RESIZE_SIZE = 256
CROP_SIZE = 224

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

LabelSpace = Literal["imagenet", "places365", "custom"]


@dataclasses.dataclass(frozen=True)
class View:
    """A classifier's view of a photo.

    Attributes:
        resize_size: the shorter side is resized to this (bilinear, antialiased).
        crop_size: then the centred square of this side is what the model takes.
        normalization: what the model does to 0-255 pixels inside itself
            (informational: the Keras models normalise in their first layer).
        label_space: the classes of the outputs; `places365` enables the
            MEPP18 sensitive-category metrics.
    """

    resize_size: int = RESIZE_SIZE
    crop_size: int = CROP_SIZE
    normalization: str = "imagenet_mean_std"
    label_space: LabelSpace = "imagenet"

    def __post_init__(self):
        if not 0 < self.crop_size <= self.resize_size:
            raise ValueError(f"need 0 < crop_size <= resize_size, got {self.crop_size}, "
                             f"{self.resize_size}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "View":
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})

    def __call__(self, images):
        """uint8 or float photos `[b, h, w, 3]` -> float32 `[b, crop, crop, 3]` in 0-255."""
        return classifier_view(images, self.resize_size, self.crop_size)


DEFAULT_VIEW = View()


def resize_shorter_side(images, size: int = RESIZE_SIZE):
    """Bilinear (antialiased) resize of a batch so that its shorter side is `size`."""
    images = tf.convert_to_tensor(images)
    shape = tf.shape(images)
    height = tf.cast(shape[1], tf.float32)
    width = tf.cast(shape[2], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(height, width)
    # Same rounding as torchvision's Resize(int): the long side is truncated.
    new_height = tf.maximum(tf.cast(tf.floor(height * scale + 1e-4), tf.int32), 1)
    new_width = tf.maximum(tf.cast(tf.floor(width * scale + 1e-4), tf.int32), 1)
    new_height = tf.where(height <= width, size, new_height)
    new_width = tf.where(width < height, size, new_width)
    return tf.image.resize(tf.cast(images, tf.float32), tf.stack([new_height, new_width]),
                           method="bilinear", antialias=True)


def center_crop_box(height, width, size: int = CROP_SIZE):
    """Top-left corner of the centred `size` square (torchvision's rounding)."""
    top = tf.cast(tf.round((height - size) / 2), tf.int32)
    left = tf.cast(tf.round((width - size) / 2), tf.int32)
    return top, left


def center_crop(images, size: int = CROP_SIZE):
    shape = tf.shape(images)
    top, left = center_crop_box(tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32), size)
    return images[:, top:top + size, left:left + size, :]


def classifier_view(images, resize_size: int = RESIZE_SIZE, crop_size: int = CROP_SIZE):
    """uint8 or float photos `[b, h, w, 3]` -> float32 pixels `[b, crop, crop, 3]` in 0-255
    (that shape also when the photos' size is known only when it runs)."""
    view = center_crop(resize_shorter_side(images, resize_size), crop_size)
    return tf.ensure_shape(view, [None, crop_size, crop_size, 3])
