"""CycleGAN training: two ResNet generators, two PatchGAN discriminators, one step per replica.

Naming: `g_ab` maps domain A to B, `g_ba` B to A; `d_a` judges domain A images
(real A vs. `g_ba`'s output), `d_b` domain B. Losses (junyanz defaults): LSGAN
adversarial, cycle L1 with weight lambda (10), identity L1 with 0.5 * lambda;
discriminators on 0.5 * (real + pooled fake); Adam(2e-4, beta1 0.5) with the
constant-then-linear decay, one optimizer for both generators and one for
both discriminators.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from pp_tf.gan import losses, schedules
from pp_tf.gan.precision import policy_scope, scale_loss, to_float32
from pp_tf.gan.image_pool import ImagePool
from pp_tf.models.cyclegan import NLayerDiscriminator, ResnetGenerator
from pp_tf.settings import setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class CycleGANSettings(schedules.AdamSettings):
    """The networks and losses (the image size and seed are the run's, `pp_tf.gan.config`)."""

    n_blocks: int = setting(9, "CycleGAN generator residual blocks.")
    ngf: int = setting(64, "CycleGAN generator base filters.")
    ndf: int = setting(64, "CycleGAN discriminator base filters.")
    n_layers: int = setting(3, "CycleGAN discriminator layers.")
    pool_size: int = setting(50, "CycleGAN image pool size per discriminator.")
    cycle_weight: float = setting(10.0, "CycleGAN cycle-loss weight (lambda).")
    identity_weight: float = setting(0.5, "CycleGAN identity weight, times lambda.")


class CycleGANTrainer:
    """Builds the models, optimizers and pools under `strategy` and defines the replica step."""

    name = "cyclegan"
    data_transform = None

    def __init__(self, settings: CycleGANSettings, strategy: tf.distribute.Strategy, *,
                 global_batch_size: int, image_size: int, seed: int, precision: str = "float32"):
        """`seed` seeds the pools' draws (with the step, replica and pool).

        `precision`: the Keras dtype policy the networks are built under
        (`pp_tf.gan.precision`); their outputs are cast to float32 in the step.
        """
        self.settings = settings
        self.strategy = strategy
        self.global_batch_size = global_batch_size
        self.seed = int(seed)
        self.precision = precision
        s = settings
        with strategy.scope(), policy_scope(precision):
            self.g_ab = ResnetGenerator(s.n_blocks, s.ngf, name="g_ab")
            self.g_ba = ResnetGenerator(s.n_blocks, s.ngf, name="g_ba")
            self.d_a = NLayerDiscriminator(s.n_layers, s.ndf, name="d_a")
            self.d_b = NLayerDiscriminator(s.n_layers, s.ndf, name="d_b")
            self.opt_g = schedules.adam(s, "opt_g", precision)
            self.opt_d = schedules.adam(s, "opt_d", precision)
            self.g_vars = self.g_ab.trainable_variables + self.g_ba.trainable_variables
            self.d_vars = self.d_a.trainable_variables + self.d_b.trainable_variables
            self.opt_g.build(self.g_vars)
            self.opt_d.build(self.d_vars)
        shape = (image_size, image_size, 3)
        self.pool_a = ImagePool(strategy, s.pool_size, shape, "pool_a")
        self.pool_b = ImagePool(strategy, s.pool_size, shape, "pool_b")

    def checkpoint_objects(self) -> dict:
        """What a checkpoint holds; the pools are this worker's replicas' own components."""
        return {"g_ab": self.g_ab, "g_ba": self.g_ba, "d_a": self.d_a, "d_b": self.d_b,
                "opt_g": self.opt_g, "opt_d": self.opt_d,
                "pool_a": self.pool_a.component_variables(),
                "pool_b": self.pool_b.component_variables()}

    def models(self) -> dict[str, keras.Model]:
        return {"g_ab": self.g_ab, "g_ba": self.g_ba, "d_a": self.d_a, "d_b": self.d_b}

    def generators(self) -> dict[str, keras.Model]:
        return {"g_ab": self.g_ab, "g_ba": self.g_ba}

    def phase(self, step: int) -> str:
        return "train"

    def replica_step_fn(self, phase: str):
        return self.replica_step

    def replica_step(self, batch, step: tf.Tensor) -> dict[str, tf.Tensor]:
        """One optimisation step of all four networks on this replica's share of the batch."""
        real_a, real_b = batch
        s = self.settings
        avg = lambda per_example: losses.average(per_example, self.global_batch_size)  # noqa: E731
        g_ab = lambda x: to_float32(self.g_ab(x, training=True))  # noqa: E731
        g_ba = lambda x: to_float32(self.g_ba(x, training=True))  # noqa: E731
        with tf.GradientTape() as tape:
            fake_b = g_ab(real_a)
            rec_a = g_ba(fake_b)
            fake_a = g_ba(real_b)
            rec_b = g_ab(fake_a)
            idt_b = g_ab(real_b)
            idt_a = g_ba(real_a)
            adv_ab = losses.lsgan(self.d_b(fake_b, training=True), 1.0)
            adv_ba = losses.lsgan(self.d_a(fake_a, training=True), 1.0)
            cycle = losses.l1(rec_a, real_a) + losses.l1(rec_b, real_b)
            identity = losses.l1(idt_a, real_a) + losses.l1(idt_b, real_b)
            g_total = avg(adv_ab + adv_ba + s.cycle_weight * cycle
                          + s.identity_weight * s.cycle_weight * identity)
            g_scaled = scale_loss(self.opt_g, g_total)
        self.opt_g.apply_gradients(zip(tape.gradient(g_scaled, self.g_vars), self.g_vars))

        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int64)
        seed = tf.stack([tf.constant(self.seed, tf.int64), step])
        seed = tf.random.experimental.stateless_fold_in(seed, replica)
        pooled_a = self.pool_a.query(fake_a, tf.random.experimental.stateless_fold_in(seed, 0))
        pooled_b = self.pool_b.query(fake_b, tf.random.experimental.stateless_fold_in(seed, 1))
        with tf.GradientTape() as tape:
            d_a = avg(0.5 * (losses.lsgan(self.d_a(real_a, training=True), 1.0)
                             + losses.lsgan(self.d_a(pooled_a, training=True), 0.0)))
            d_b = avg(0.5 * (losses.lsgan(self.d_b(real_b, training=True), 1.0)
                             + losses.lsgan(self.d_b(pooled_b, training=True), 0.0)))
            d_total = d_a + d_b
            d_scaled = scale_loss(self.opt_d, d_total)
        self.opt_d.apply_gradients(zip(tape.gradient(d_scaled, self.d_vars), self.d_vars))
        return {"g_total": g_total, "g_adv_ab": avg(adv_ab), "g_adv_ba": avg(adv_ba),
                "cycle": avg(cycle), "identity": avg(identity), "d_a": d_a, "d_b": d_b}

    def preview(self, batch) -> dict[str, tf.Tensor]:
        """RGB [-1, 1] images for TensorBoard: inputs and translations, both directions."""
        real_a, real_b = batch
        g_ab = lambda x: to_float32(self.g_ab(x, training=False))  # noqa: E731
        g_ba = lambda x: to_float32(self.g_ba(x, training=False))  # noqa: E731
        fake_b = g_ab(real_a)
        fake_a = g_ba(real_b)
        return {"real_a": real_a, "fake_b": fake_b, "rec_a": g_ba(fake_b),
                "real_b": real_b, "fake_a": fake_a, "rec_b": g_ab(fake_a)}
