"""CycleGAN's learning-rate policy: constant, then linear decay to zero."""

from __future__ import annotations

import keras
import tensorflow as tf


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
