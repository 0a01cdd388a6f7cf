"""DeepFool, batched: the minimal perturbation that sends an image across the
nearest decision boundary of a locally linearised classifier.

Moosavi-Dezfooli, Fawzi & Frossard, "DeepFool: a simple and accurate method to
fool deep neural networks", CVPR 2016.

Each iteration runs one forward pass for the whole batch and K - 1 backward
passes (one per candidate class, each the gradient of the batch sum of
`logit_k - logit_label`; examples do not interact, so the sum separates). The
candidates are the K top classes of the clean logits. Examples already
misclassified are frozen by a mask; the loop ends when all are, or after
`max_iter` iterations. As in the reference implementation (and foolbox), the
accumulated step is scaled by `1 + overshoot` and the result clipped to the
pixel range.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Literal

import tensorflow as tf

LogitsFn = Callable[[tf.Tensor], tf.Tensor]


@dataclasses.dataclass(frozen=True)
class DeepFoolResult:
    adversarial: tf.Tensor  # [b, h, w, c], clipped to the bounds
    perturbation: tf.Tensor  # adversarial - images
    success: tf.Tensor  # [b] bool: the top-1 class changed
    iterations: tf.Tensor  # [b] int32: iterations until success (max_iter if none)


class DeepFool:
    """Untargeted DeepFool; subclasses choose the norm.

    Args:
        candidates: K, the number of top classes of the clean logits considered.
        overshoot: the step is scaled by 1 + overshoot to cross the boundary.
        max_iter: iterations at most.
        bounds: the pixel range the adversarial images are clipped to.
    """

    norm: Literal["2", "inf"]

    def __init__(self, *, candidates: int = 10, overshoot: float = 0.02, max_iter: int = 50,
                 bounds: tuple[float, float] = (0.0, 255.0)):
        if candidates < 2:
            raise ValueError(f"candidates must be at least 2, got {candidates}")
        self.candidates = int(candidates)
        self.overshoot = float(overshoot)
        self.max_iter = int(max_iter)
        self.bounds = (float(bounds[0]), float(bounds[1]))
        self._compiled = {}

    def __repr__(self):
        return (f"{type(self).__name__}(candidates={self.candidates}, overshoot={self.overshoot}, "
                f"max_iter={self.max_iter}, bounds={self.bounds})")

    def __call__(self, logits_fn: LogitsFn, images) -> DeepFoolResult:
        images = tf.convert_to_tensor(images, tf.float32)
        run = self.compiled(logits_fn, images.shape[1:])
        return DeepFoolResult(*run(images))

    def compiled(self, logits_fn: LogitsFn, image_shape):
        """The `tf.function` for `logits_fn` and images of `image_shape`, traced once."""
        key = (id(logits_fn), tuple(image_shape))
        if key not in self._compiled:
            signature = [tf.TensorSpec([None, *image_shape], tf.float32, name="images")]
            self._compiled[key] = (tf.function(
                lambda images: self._run(logits_fn, images), input_signature=signature),
                logits_fn)  # keep logits_fn alive so its id stays unique
        return self._compiled[key][0]

    def _distances_and_steps(self, logit_gaps, gradient_gaps):
        """Per candidate: distance to its linearised boundary, and the step reaching it.

        Args:
            logit_gaps: `[b, K-1]`, logit_k - logit_label (negative while unfooled).
            gradient_gaps: `[b, K-1, h, w, c]`, their input gradients.
        Returns:
            `[b, K-1]` distances and `[b, K-1, h, w, c]` steps.
        """
        raise NotImplementedError

    def _run(self, logits_fn, images):
        k = self.candidates
        batch = tf.shape(images)[0]
        clean_logits = logits_fn(images)
        k = min(k, clean_logits.shape[-1])
        classes = tf.math.top_k(clean_logits, k=k).indices  # [b, K]
        labels = classes[:, 0]

        def gaps_and_gradients(x):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x)
                logits = logits_fn(x)
                candidate_logits = tf.gather(logits, classes, batch_dims=1)  # [b, K]
                gaps = candidate_logits[:, 1:] - candidate_logits[:, :1]  # [b, K-1]
                sums = tf.unstack(tf.reduce_sum(gaps, axis=0))
            gradients = tf.stack([tape.gradient(s, x) for s in sums], axis=1)
            del tape
            predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
            return gaps, gradients, predicted

        total = tf.zeros_like(images)
        adversarial = images
        iterations = tf.fill([batch], self.max_iter)
        success = tf.zeros([batch], tf.bool)
        for step in tf.range(self.max_iter):
            gaps, gradients, predicted = gaps_and_gradients(adversarial)
            success = predicted != labels
            iterations = tf.where(success & (iterations == self.max_iter), step, iterations)
            if tf.reduce_all(success):
                break
            distances, steps = self._distances_and_steps(gaps, gradients)
            best = tf.argmin(distances, axis=1, output_type=tf.int32)
            step_of_best = tf.gather(steps, best, batch_dims=1)  # [b, h, w, c]
            active = tf.cast(~success, images.dtype)[:, None, None, None]
            total = total + active * step_of_best
            adversarial = tf.clip_by_value(images + (1.0 + self.overshoot) * total, *self.bounds)
        # The last step is checked by one more forward pass.
        success = tf.argmax(logits_fn(adversarial), axis=-1, output_type=tf.int32) != labels
        return adversarial, adversarial - images, success, iterations


class L2DeepFool(DeepFool):
    """DeepFool minimising the L2 norm of the perturbation."""

    norm = "2"

    def _distances_and_steps(self, logit_gaps, gradient_gaps):
        axes = [2, 3, 4]
        squared = tf.reduce_sum(tf.square(gradient_gaps), axis=axes) + 1e-12
        distances = tf.abs(logit_gaps) / tf.sqrt(squared)
        scale = (tf.abs(logit_gaps) + 1e-4) / squared
        return distances, scale[:, :, None, None, None] * gradient_gaps


class LinfDeepFool(DeepFool):
    """DeepFool minimising the L-infinity norm of the perturbation."""

    norm = "inf"

    def _distances_and_steps(self, logit_gaps, gradient_gaps):
        l1 = tf.reduce_sum(tf.abs(gradient_gaps), axis=[2, 3, 4]) + 1e-12
        distances = tf.abs(logit_gaps) / l1
        scale = (tf.abs(logit_gaps) + 1e-4) / l1
        return distances, scale[:, :, None, None, None] * tf.sign(gradient_gaps)


def deepfool(norm: Literal["2", "inf"], **kwargs) -> DeepFool:
    """`L2DeepFool` or `LinfDeepFool` with the given keyword arguments."""
    attacks = {"2": L2DeepFool, "inf": LinfDeepFool}
    if norm not in attacks:
        raise ValueError(f"norm must be '2' or 'inf', got {norm!r}")
    return attacks[norm](**kwargs)
