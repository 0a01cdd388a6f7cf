"""What `pp_tf.gan.loop` needs of a GAN trainer (`CycleGANTrainer`, `CartoonGANTrainer`)."""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import keras
import tensorflow as tf


@runtime_checkable
class Trainer(Protocol):
    """Models, optimizers and per-replica steps built under one strategy."""

    name: str
    # tf.data transform of the `(a, b)` image pairs before batching, or None.
    data_transform: Callable | None

    def checkpoint_objects(self) -> dict:
        """Trackables for `tf.train.Checkpoint` (this worker's per-replica state included)."""

    def models(self) -> dict[str, keras.Model]:
        """Every network, by name."""

    def generators(self) -> dict[str, keras.Model]:
        """The networks a run's result is (saved as ``<name>.weights.h5``)."""

    def phase(self, step: int) -> str:
        """The training phase of global step `step` (its losses are logged under this name)."""

    def replica_step_fn(self, phase: str) -> Callable[[tuple, tf.Tensor], dict]:
        """`(replica batch, step) -> {loss name: this replica's share of the mean}`."""

    def preview(self, batch) -> dict[str, tf.Tensor]:
        """RGB [-1, 1] images for TensorBoard."""
