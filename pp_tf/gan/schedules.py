"""The GAN trainers' optimizer: Adam with a constant-then-linear learning-rate decay."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from pp_tf.gan import precision as precision_lib
from pp_tf.settings import setting


@keras.saving.register_keras_serializable(package="pp_tf")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`initial` for `constant_steps` optimizer steps, then linearly to 0 over `decay_steps`.

    Upstream (junyanz, `lr_policy='linear'`) decays per epoch; here per step:
    ``lr(t) = initial * clip(1 - (t - constant_steps) / decay_steps, 0, 1)``.
    """

    def __init__(self, initial: float, constant_steps: int, decay_steps: int):
        self.initial = float(initial)
        self.constant_steps = int(constant_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        if self.decay_steps <= 0:
            return tf.constant(self.initial, tf.float32)
        fraction = (step - float(self.constant_steps)) / float(self.decay_steps)
        return self.initial * tf.clip_by_value(1.0 - fraction, 0.0, 1.0)

    def get_config(self) -> dict:
        return {"initial": self.initial, "constant_steps": self.constant_steps,
                "decay_steps": self.decay_steps}


@dataclasses.dataclass(frozen=True, kw_only=True)
class AdamSettings:
    """The optimizer settings both trainers share (their settings extend these)."""

    lr: float = setting(2e-4, "Adam learning rate.")
    beta1: float = setting(0.5, "Adam beta1.")
    constant_steps: int = setting(100_000, "Steps at the initial rate.")
    decay_steps: int = setting(100_000, "Steps of linear decay to 0 after those.")


def adam(settings: AdamSettings, name: str, precision: str = "float32"
         ) -> keras.optimizers.Optimizer:
    """Adam(lr, beta1, 0.999) on `ConstantThenLinearDecay` (counted in its own steps).

    Under ``mixed_float16`` wrapped in a `keras.optimizers.LossScaleOptimizer`
    (`pp_tf.gan.precision.wrap_optimizer`).
    """
    schedule = ConstantThenLinearDecay(settings.lr, settings.constant_steps, settings.decay_steps)
    optimizer = keras.optimizers.Adam(schedule, beta_1=settings.beta1, beta_2=0.999, name=name)
    return precision_lib.wrap_optimizer(optimizer, precision, name)
