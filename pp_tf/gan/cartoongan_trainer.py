"""CartoonGAN training: initialization phase, then the adversarial phase.

Chen, Lai and Liu (CVPR 2018). Domain A: photos, domain B: cartoons; the
batches are `(photo, cartoon, edge-smoothed cartoon)` in RGB [-1, 1] (the
smoothing runs in tf.data, `pp_tf.gan.edges`); the generator works in BGR
[-1, 1], so the step flips channels on the way in.

* Initialization (steps < ``init_steps``): the generator alone, on the content
  loss ``content_weight * |VGG(G(p)) - VGG(p)|_1`` (VGG19 ``block4_conv4``).
* Adversarial: the discriminator, with sigmoid cross-entropy, calls real
  cartoons 1, generated images 0 and edge-smoothed cartoons 0; then the
  generator on ``adversarial + content_weight * content`` (weight 10).

Adam(2e-4, beta1 0.5) for both, with the same constant-then-linear decay as
CycleGAN (counted in each optimizer's own steps).
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from pp_tf.gan import edges, losses, schedules, vgg19
from pp_tf.gan.precision import policy_scope, scale_loss, to_float32
from pp_tf.models.cartoongan import CartoonGANDiscriminator, CartoonGANGenerator
from pp_tf.settings import setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class CartoonGANSettings(schedules.AdamSettings):
    init_steps: int = setting(2_000, "CartoonGAN initialization-phase steps.")
    content_weight: float = setting(10.0, "CartoonGAN content-loss weight.")
    vgg19_weights: str | None = setting(
        None, "CartoonGAN: vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (default: the "
              "Keras cache); 'random' = random weights, for tests only.")


def add_edge_smoothed(photo: tf.Tensor, cartoon: tf.Tensor):
    """tf.data transform: `(photo, cartoon)` -> `(photo, cartoon, smoothed cartoon)`."""
    return photo, cartoon, edges.edge_smooth(cartoon)


def _bgr(rgb: tf.Tensor) -> tf.Tensor:
    return rgb[..., ::-1]


class CartoonGANTrainer:
    """Builds the generator, discriminator, frozen VGG19 and optimizers under `strategy`."""

    name = "cartoongan"
    data_transform = staticmethod(add_edge_smoothed)

    def __init__(self, settings: CartoonGANSettings, strategy: tf.distribute.Strategy, *,
                 global_batch_size: int, feature_extractor=None, precision: str = "float32"):
        """`feature_extractor`: BGR [-1, 1] -> features; default VGG19 (`vgg19_weights`).

        `precision`: the Keras dtype policy the networks are built under
        (`pp_tf.gan.precision`); their outputs are cast to float32 in the steps.
        """
        self.settings = settings
        self.strategy = strategy
        self.global_batch_size = global_batch_size
        if feature_extractor is None:
            vgg19.resolve_weights(settings.vgg19_weights)  # fail before building anything
        self.precision = precision
        with strategy.scope(), policy_scope(precision):
            self.vgg = feature_extractor or vgg19.content_extractor(settings.vgg19_weights)
            self.generator = CartoonGANGenerator(name="generator")
            self.discriminator = CartoonGANDiscriminator(name="discriminator")
            self.opt_g = schedules.adam(settings, "opt_g", precision)
            self.opt_d = schedules.adam(settings, "opt_d", precision)
            self.opt_g.build(self.generator.trainable_variables)
            self.opt_d.build(self.discriminator.trainable_variables)

    def checkpoint_objects(self) -> dict:
        return {"generator": self.generator, "discriminator": self.discriminator,
                "opt_g": self.opt_g, "opt_d": self.opt_d}

    def models(self) -> dict[str, keras.Model]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def generators(self) -> dict[str, keras.Model]:
        return {"generator": self.generator}

    def phase(self, step: int) -> str:
        return "init" if step < self.settings.init_steps else "adversarial"

    def replica_step_fn(self, phase: str):
        return self.init_step if phase == "init" else self.adversarial_step

    def _content(self, photo_bgr: tf.Tensor, fake_bgr: tf.Tensor) -> tf.Tensor:
        return losses.l1(to_float32(self.vgg(fake_bgr, training=False)),
                         tf.stop_gradient(to_float32(self.vgg(photo_bgr, training=False))))

    def init_step(self, batch, step: tf.Tensor) -> dict[str, tf.Tensor]:
        """Generator only, on the weighted content loss."""
        del step
        photo = _bgr(batch[0])
        avg = lambda per_example: losses.average(per_example, self.global_batch_size)  # noqa: E731
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            content = self._content(photo, to_float32(self.generator(photo, training=True)))
            g_total = avg(self.settings.content_weight * content)
            g_scaled = scale_loss(self.opt_g, g_total)
        self.opt_g.apply_gradients(zip(tape.gradient(g_scaled, variables), variables))
        return {"content": avg(content), "g_total": g_total}

    def adversarial_step(self, batch, step: tf.Tensor) -> dict[str, tf.Tensor]:
        """Discriminator (real 1, generated 0, edge-smoothed 0), then generator."""
        del step
        photo, cartoon, smoothed = (_bgr(x) for x in batch)
        avg = lambda per_example: losses.average(per_example, self.global_batch_size)  # noqa: E731
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as g_tape:
            fake = to_float32(self.generator(photo, training=True))
            content = self._content(photo, fake)
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            d_real = avg(losses.bce_logits(self.discriminator(cartoon, training=True), 1.0))
            d_fake = avg(losses.bce_logits(
                self.discriminator(tf.stop_gradient(fake), training=True), 0.0))
            d_edge = avg(losses.bce_logits(self.discriminator(smoothed, training=True), 0.0))
            d_total = d_real + d_fake + d_edge
            d_scaled = scale_loss(self.opt_d, d_total)
        self.opt_d.apply_gradients(zip(tape.gradient(d_scaled, d_vars), d_vars))
        with g_tape:  # the updated discriminator judges the same generated batch
            adversarial = losses.bce_logits(self.discriminator(fake, training=True), 1.0)
            g_total = avg(adversarial + self.settings.content_weight * content)
            g_scaled = scale_loss(self.opt_g, g_total)
        self.opt_g.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        return {"g_total": g_total, "g_adversarial": avg(adversarial), "content": avg(content),
                "d_total": d_total, "d_real": d_real, "d_fake": d_fake, "d_edge": d_edge}

    def preview(self, batch) -> dict[str, tf.Tensor]:
        """RGB [-1, 1] images for TensorBoard."""
        photo, cartoon, smoothed = batch
        generated = _bgr(to_float32(self.generator(_bgr(photo), training=False)))
        return {"photo": photo, "generated": generated, "cartoon": cartoon,
                "edge_smoothed": smoothed}
