"""The two image domains as deterministic, resumable tf.data pipelines.

Each domain is an endless stream: the images (file names of a folder, or a
prepared TFDS split) shuffled with a fixed seed (reshuffled every epoch,
deterministically), repeated, numbered, then decoded and augmented with
stateless random ops seeded by (run seed, domain, image number). Upstream's
``resize_and_crop``: resize to ``image_size * 286 / 256`` square, random crop
`image_size`, random horizontal flip; pixels scaled to [-1, 1], RGB.

Resuming at step ``s`` skips the first ``s * global_batch`` images of each
stream before decoding (folders; TFDS decodes inside its reader), so the run
sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from pp_tf import image_io

LOAD_RATIO = 286 / 256


@dataclasses.dataclass(frozen=True)
class DomainSource:
    """A folder of images, or a prepared TFDS dataset and split."""

    folder: str | None = None
    tfds_name: str | None = None
    tfds_split: str | None = None
    tfds_data_dir: str | None = None

    def describe(self) -> str:
        return self.folder or f"{self.tfds_name}:{self.tfds_split}"


def _read_rgb(path: bytes) -> np.ndarray:
    return image_io.read_image(path.decode())


def _raw_stream(source: DomainSource, seed: int, shuffle_buffer: int) -> tf.data.Dataset:
    """Endless, seeded-shuffled stream of `(image number, raw element)`; raw: path or uint8."""
    if source.folder:
        files = image_io.list_images(source.folder)
        if not files:
            extensions = ", ".join(sorted(image_io.SUPPORTED_EXTENSIONS))
            raise ValueError(f"{source.folder}: no images (expected {extensions})")
        dataset = tf.data.Dataset.from_tensor_slices(files)
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    else:
        import tensorflow_datasets as tfds

        try:
            dataset = tfds.load(source.tfds_name, split=source.tfds_split,
                                data_dir=source.tfds_data_dir, download=False,
                                shuffle_files=False)
        except (AssertionError, tfds.core.registered.DatasetNotFoundError, ValueError) as error:
            raise ValueError(
                f"TFDS {source.describe()} cannot be read (this never downloads; prepare it "
                f"first, or pass --tfds_data_dir): {error}") from None
        dataset = dataset.map(lambda example: example["image"])
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return dataset.repeat().enumerate()


def _decode(element: tf.Tensor) -> tf.Tensor:
    if element.dtype == tf.string:
        image = tf.numpy_function(_read_rgb, [element], tf.uint8, stateful=False)
        image.set_shape([None, None, 3])
        return image
    return element


def augment(image: tf.Tensor, seed: tf.Tensor, image_size: int) -> tf.Tensor:
    """uint8 RGB -> float RGB [-1, 1] `[image_size]*2 + [3]`: resize, crop, flip (stateless)."""
    load = int(round(image_size * LOAD_RATIO))
    image = tf.image.resize(tf.cast(image, tf.float32), [load, load], method="bilinear")
    image = tf.image.stateless_random_crop(image, [image_size, image_size, 3], seed)
    image = tf.image.stateless_random_flip_left_right(
        image, tf.random.experimental.stateless_fold_in(seed, 1))
    return tf.clip_by_value(image, 0.0, 255.0) / 127.5 - 1.0


def domain_dataset(source: DomainSource, image_size: int, seed: int, domain: int,
                   skip_images: int = 0, shuffle_buffer: int = 256) -> tf.data.Dataset:
    """The endless stream of augmented images of one domain, after `skip_images` of them."""
    domain_seed = seed * 1009 + domain
    dataset = _raw_stream(source, domain_seed, shuffle_buffer).skip(skip_images)

    def load(number, element):
        stateless = tf.stack([tf.constant(domain_seed, tf.int64), number])
        return augment(_decode(element), stateless, image_size)

    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def paired_dataset(sources: tuple[DomainSource, DomainSource], image_size: int, seed: int,
                   global_batch: int, start_step: int = 0, shuffle_buffer: int = 256,
                   transform=None) -> tf.data.Dataset:
    """Batches `(a, b)` (or `transform(a, b)`) of `global_batch` images, from step `start_step`."""
    streams = tuple(
        domain_dataset(source, image_size, seed, domain, start_step * global_batch, shuffle_buffer)
        for domain, source in enumerate(sources))
    dataset = tf.data.Dataset.zip(streams)
    if transform is not None:
        dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(global_batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
