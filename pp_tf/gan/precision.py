"""Compute precision: one vocabulary, Keras' dtype policy names, for the GAN trainers
(`RunConfig.precision`) and the stylizers (`stylize --precision`, the style methods'
`precision`).

* `PRECISIONS`: float32, mixed_float16, mixed_bfloat16. `check_precision` also takes
  `bfloat16`, the stylizers' spelling of mixed_bfloat16 before the vocabulary was one,
  for one more release, with a FutureWarning.

* `policy_scope(name)` sets Keras' global dtype policy while the networks are
  built and restores the previous one afterwards, so the policy does not leak
  into other code of the same process (the layers keep the policy they were
  built with). Variables stay float32 under every policy; only the computation
  runs in float16 / bfloat16.
* The trainers cast every network output to float32 (`to_float32`) before the
  losses and the image pools, which are float32 throughout.
* `wrap_optimizer` wraps an optimizer in `keras.optimizers.LossScaleOptimizer`
  for ``mixed_float16`` (dynamic loss scaling); the steps call
  ``optimizer.scale_loss(loss)`` before ``tape.gradient`` and the wrapper's
  ``apply_gradients`` unscales and skips steps with non-finite gradients. Its
  scale and growth counter are optimizer variables, so checkpoints track them.
  bfloat16 has float32's exponent range and needs no loss scaling.
"""

from __future__ import annotations

import contextlib
import typing
import warnings
from typing import Literal

import keras
import tensorflow as tf

Precision = Literal["float32", "mixed_float16", "mixed_bfloat16"]
PRECISIONS = typing.get_args(Precision)
DEPRECATED_PRECISIONS = {"bfloat16": "mixed_bfloat16"}


def check_precision(precision: str, stacklevel: int = 1) -> Precision:
    """`precision` as one of `PRECISIONS` (a deprecated spelling warns and is mapped; the
    warning names the line that called this function, or with `stacklevel` n the line n - 1
    frames above that); ValueError for any other value."""
    if precision in DEPRECATED_PRECISIONS:
        warnings.warn(f"precision {precision!r} is now {DEPRECATED_PRECISIONS[precision]!r}; "
                      "the old name goes in the next release", FutureWarning,
                      stacklevel=stacklevel + 1)
        return DEPRECATED_PRECISIONS[precision]
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


@contextlib.contextmanager
def policy_scope(name: str):
    """Keras' global dtype policy is `name` inside, the previous one again after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def wrap_optimizer(optimizer: keras.optimizers.Optimizer, precision: str,
                   name: str) -> keras.optimizers.Optimizer:
    """`optimizer` itself, or under ``mixed_float16`` a `LossScaleOptimizer` around it."""
    if precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{name}_loss_scale")
    return optimizer


def to_float32(x: tf.Tensor) -> tf.Tensor:
    """`x` as float32 (the same tensor when it already is)."""
    return tf.cast(x, tf.float32)


def scale_loss(optimizer, loss: tf.Tensor) -> tf.Tensor:
    """`optimizer.scale_loss(loss)` (call it inside the tape); `loss` itself without scaling."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(loss)
    return loss
