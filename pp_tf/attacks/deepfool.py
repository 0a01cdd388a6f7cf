"""DeepFool, batched: the minimal perturbation that sends an image across the
nearest decision boundary of a locally linearised classifier.

Moosavi-Dezfooli, Fawzi & Frossard, "DeepFool: a simple and accurate method to
fool deep neural networks", CVPR 2016.

Each iteration runs, for the examples not yet misclassified, one forward pass
and K - 1 backward passes (one per candidate class, each the gradient of the
batch sum of `logit_k - logit_label`; examples do not interact, so the sum
separates), then one forward pass at the new point that tells which are now
misclassified; each is one `tf.function` with a fixed input signature. An
example leaves the batch as soon as it is misclassified, so no gradient is
computed for it again (a masked batch spent K - 1 backward passes on every
example every iteration). The candidates are the K top classes of the clean
logits. The loop ends when every example is misclassified, or after `max_iter`
iterations. As in the reference implementation (and foolbox), the accumulated
step is scaled by `1 + overshoot` and the result clipped to the pixel range.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Literal

import numpy as np
import tensorflow as tf

LogitsFn = Callable[[tf.Tensor], tf.Tensor]  # pixels [b, h, w, 3] -> logits [b, classes]
Norm = Literal["inf", "2"]


def inlined(logits_fn: LogitsFn) -> LogitsFn:
    """The Python body of a `tf.function` (else `logits_fn` itself), to trace into another
    compiled function. Called as a nested function, the model's backward passes run
    outside the caller's optimised graph: one DeepFool iteration on EfficientNet-Lite0
    took 1.35x its lower bound that way, 1.0x inlined (benchmarks/uap_vs_art.py)."""
    return getattr(logits_fn, "python_function", logits_fn)


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

    norm: Norm

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
        start, step, fooled = self.compiled(logits_fn, images.shape[1:])
        classes = start(images)
        total = np.zeros(images.shape, np.float32)
        success = np.zeros([int(tf.shape(images)[0])], bool)
        iterations = np.full(success.shape, self.max_iter, np.int32)
        active = np.arange(success.size)  # the examples still classified as their label
        # The loop over iterations (not over images) runs on the host: a graph-level
        # while loop costs about 1.5x per iteration here (grappler does not optimise
        # inside loop bodies), and the batch shrinks as examples are fooled.
        for index in range(self.max_iter):
            if not active.size:
                break
            rows, row_classes = tf.gather(images, active), tf.gather(classes, active)
            updated = step(rows, tf.constant(total[active]), row_classes)
            total[active] = updated.numpy()
            done = fooled(rows, updated, row_classes).numpy()
            success[active[done]] = True
            iterations[active[done]] = index + 1
            active = active[~done]
        adversarial = self._adversarial(images, tf.constant(total))
        return DeepFoolResult(adversarial, adversarial - images, tf.constant(success),
                              tf.constant(iterations))

    def compiled(self, logits_fn: LogitsFn, image_shape):
        """The three `tf.function`s (start, step, fooled) for `logits_fn` and images of
        `image_shape`, each traced once with a fixed input signature."""
        key = (id(logits_fn), tuple(image_shape))
        if key not in self._compiled:
            num_classes = int(logits_fn(tf.zeros([1, *image_shape], tf.float32)).shape[-1])
            k = min(self.candidates, num_classes)
            traced = inlined(logits_fn)
            images = tf.TensorSpec([None, *image_shape], tf.float32, name="images")
            total = tf.TensorSpec([None, *image_shape], tf.float32, name="total")
            classes = tf.TensorSpec([None, k], tf.int32, name="classes")
            functions = (
                tf.function(lambda x: self._start(traced, x, k), input_signature=[images]),
                tf.function(lambda x, t, c: self._step(traced, x, t, c),
                            input_signature=[images, total, classes]),
                tf.function(lambda x, t, c: self._fooled(traced, x, t, c),
                            input_signature=[images, total, classes]),
            )
            self._compiled[key] = (functions, logits_fn)  # logits_fn kept alive: ids stay unique
        return self._compiled[key][0]

    def _dual_norm(self, gradient):
        """`[b]`: the norm, dual to the attack's, of each example's gradient `[b, h, w, c]`:
        the distance to a linearised boundary is `|logit gap| / dual norm`."""
        raise NotImplementedError

    def _minimal_step(self, gradient, logit_gap, dual_norm):
        """`[b, h, w, c]`: the smallest step reaching the linearised boundary of the chosen
        candidate, from its gradient `[b, h, w, c]`, logit gap `[b]` and dual norm `[b]`."""
        raise NotImplementedError

    def _start(self, logits_fn, images, k):
        """The k top classes of the clean logits, `[b, k]`; column 0 is the label."""
        return tf.math.top_k(logits_fn(images), k=k).indices

    def _adversarial(self, images, total):
        return tf.clip_by_value(images + (1.0 + self.overshoot) * total, *self.bounds)

    def _step(self, logits_fn, images, total, classes):
        """One iteration for a batch of examples still classified as `classes[:, 0]`:
        returns their updated total step."""
        adversarial = self._adversarial(images, total)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(adversarial)
            logits = logits_fn(adversarial)
            candidate_logits = tf.gather(logits, classes, batch_dims=1)  # [b, K]
            gaps = candidate_logits[:, 1:] - candidate_logits[:, :1]  # [b, K-1]
            sums = tf.unstack(tf.reduce_sum(gaps, axis=0))
        # K-1 backward passes; examples do not interact, so each batch sum separates.
        gradients = [tape.gradient(s, adversarial) for s in sums]
        del tape
        norms = tf.stack([self._dual_norm(g) for g in gradients], axis=1)  # [b, K-1]
        best = tf.argmin(tf.abs(gaps) / norms, axis=1, output_type=tf.int32)
        # Only the nearest candidate's step is built (not K-1 of them).
        gradient = tf.gather(tf.stack(gradients, axis=1), best, batch_dims=1)  # [b, h, w, c]
        return total + self._minimal_step(gradient, tf.gather(gaps, best, batch_dims=1),
                                          tf.gather(norms, best, batch_dims=1))

    def _fooled(self, logits_fn, images, total, classes):
        """`[b]` bool: the top-1 class at the current point is not `classes[:, 0]`."""
        logits = logits_fn(self._adversarial(images, total))
        return tf.argmax(logits, axis=-1, output_type=tf.int32) != classes[:, 0]


class L2DeepFool(DeepFool):
    """DeepFool minimising the L2 norm of the perturbation."""

    norm = "2"

    def _dual_norm(self, gradient):
        return tf.sqrt(tf.reduce_sum(tf.square(gradient), axis=[1, 2, 3]) + 1e-12)

    def _minimal_step(self, gradient, logit_gap, dual_norm):
        scale = (tf.abs(logit_gap) + 1e-4) / tf.square(dual_norm)
        return scale[:, None, None, None] * gradient


class LinfDeepFool(DeepFool):
    """DeepFool minimising the L-infinity norm of the perturbation."""

    norm = "inf"

    def _dual_norm(self, gradient):
        return tf.reduce_sum(tf.abs(gradient), axis=[1, 2, 3]) + 1e-12

    def _minimal_step(self, gradient, logit_gap, dual_norm):
        scale = (tf.abs(logit_gap) + 1e-4) / dual_norm
        return scale[:, None, None, None] * tf.sign(gradient)


def deepfool(norm: Norm, **kwargs) -> DeepFool:
    """`L2DeepFool` or `LinfDeepFool` with the given keyword arguments."""
    attacks = {"2": L2DeepFool, "inf": LinfDeepFool}
    if norm not in attacks:
        raise ValueError(f"norm must be '2' or 'inf', got {norm!r}")
    return attacks[norm](**kwargs)
