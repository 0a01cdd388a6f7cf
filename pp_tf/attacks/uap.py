"""Universal adversarial perturbations: one small image-agnostic pattern that
changes a classifier's top-1 decision on most photos.

Two algorithms with the same inputs and outputs, each a class over the shared
pass loop and checkpoint state of `UAP` (`make(config, ...)` picks by
`config.mode`):

* `DeepFoolUAP`, `mode="deepfool"`, the algorithm of Moosavi-Dezfooli et al., "Universal
  adversarial perturbations", CVPR 2017: passes over the training images; for
  those not yet fooled by `v`, DeepFool finds the minimal extra step `dr_i` on
  `x_i + v`, and `v <- P_xi(v + dr_i)`. Here the not-yet-fooled images of a
  batch are attacked together (one batched DeepFool), then their steps are
  folded into `v` one after another with the projection, as in the paper.
* `SGDUAP`, `mode="sgd"`, stochastic projected gradient ascent on a clipped
  cross-entropy over minibatches, after Shafahi et al., "Universal adversarial
  training", AAAI 2020: far fewer model evaluations per unit of fooling rate.
  With `eot=True` each step goes through random rescale, crop and JPEG
  re-encoding (`transforms.photo_pipeline`) so that `v` survives them.

Fooling rate = the fraction of images whose top-1 class under `x + v` differs
from the clean top-1. The run stops when it reaches `1 - delta` on the training
images, or after `max_passes`.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Callable, Literal

import numpy as np
import tensorflow as tf

from pp_tf.attacks import deepfool as deepfool_lib
from pp_tf.attacks import transforms
from pp_tf.attacks.deepfool import LogitsFn


@dataclasses.dataclass(frozen=True)
class UAPConfig:
    """Settings of a UAP run; saved beside every perturbation."""

    xi: float = 10.0  # on the 0-255 scale
    norm: Literal["inf", "2"] = "inf"
    mode: Literal["deepfool", "sgd"] = "sgd"
    delta: float = 0.2
    max_passes: int = 10
    batch_size: int = 32
    eot: bool = False
    seed: int = 0
    # deepfool mode
    candidates: int = 10
    overshoot: float = 0.02
    deepfool_max_iter: int = 10
    # sgd mode: sign steps (L-inf) or normalised steps (L2) of step_fraction * xi,
    # decaying linearly to a tenth over the run; the loss is min(CE, loss_clip).
    step_fraction: float = 0.1
    loss_clip: float = 9.0

    def __post_init__(self):
        if self.norm not in ("inf", "2"):
            raise ValueError(f"norm must be 'inf' or '2', got {self.norm!r}")
        if self.mode not in ("deepfool", "sgd"):
            raise ValueError(f"mode must be 'deepfool' or 'sgd', got {self.mode!r}")
        if self.eot and self.mode != "sgd":
            raise ValueError("eot needs mode='sgd': DeepFool's minimal step is not defined "
                             "under random transformations")
        if self.xi <= 0 or not 0 <= self.delta < 1 or self.max_passes < 1 or self.batch_size < 1:
            raise ValueError(f"invalid settings: {self}")


@dataclasses.dataclass
class UAPState:
    """Where a run stands; what a checkpoint holds.

    `perturbation` is the current `v`; `best` the `v` after the pass with the highest
    training fooling rate. Both algorithms can oscillate from pass to pass (the
    faithful one markedly), so a run's result is `best`, not the last `v`.
    """

    perturbation: np.ndarray  # [h, w, 3] float32
    passes_done: int = 0
    history: list = dataclasses.field(default_factory=list)  # one dict per pass
    done: bool = False
    best: np.ndarray | None = None
    best_fooling_rate: float = -1.0


def project(v, xi: float, norm: str):
    """The closest point to `v` in the xi-ball of the norm (whole-image L2 / L-inf)."""
    if norm == "inf":
        return tf.clip_by_value(v, -xi, xi)
    length = tf.norm(tf.reshape(v, [-1]))
    return v * tf.minimum(1.0, xi / tf.maximum(length, 1e-12))


def predict_labels(logits_fn: LogitsFn, images, batch_size: int = 64) -> np.ndarray:
    """Top-1 classes of `images` `[n, h, w, 3]` (float 0-255 or uint8)."""
    out = [tf.argmax(logits_fn(tf.cast(images[i:i + batch_size], tf.float32)), -1).numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out).astype(np.int32) if out else np.zeros([0], np.int32)


def fooling_rate(logits_fn: LogitsFn, images, labels, perturbation, batch_size: int = 64) -> float:
    """Fraction of `images` whose top-1 under `images + perturbation` is not `labels`."""
    v = tf.convert_to_tensor(perturbation, tf.float32)
    fooled = 0
    for i in range(0, len(images), batch_size):
        x = tf.clip_by_value(tf.cast(images[i:i + batch_size], tf.float32) + v, 0.0, 255.0)
        predicted = tf.argmax(logits_fn(x), -1, output_type=tf.int32).numpy()
        fooled += int((predicted != labels[i:i + batch_size]).sum())
    return fooled / max(len(images), 1)


class UAP(abc.ABC):
    """The pass loop both algorithms share; a subclass defines `step` and `_update`.

    Each pass visits the training images in a seeded random order, in batches of
    `config.batch_size`; after it, the training fooling rate is measured and the
    state (`UAPState`, what a checkpoint holds) handed to `on_pass`.
    """

    mode: str

    def __init__(self, config: UAPConfig, logits_fn: LogitsFn, image_shape=(224, 224, 3)):
        if config.mode != self.mode:
            raise ValueError(f"{type(self).__name__} runs mode={self.mode!r}, the config says "
                             f"mode={config.mode!r}; use uap.make(config, ...)")
        self.config = config
        self.logits_fn = logits_fn
        self.image_shape = tuple(image_shape)
        self._batch_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        self._vector_spec = tf.TensorSpec(self.image_shape, tf.float32, name="perturbation")
        self._labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

    def __repr__(self):
        return f"{type(self).__name__}({self.config})"

    @abc.abstractmethod
    def _update(self, v: tf.Tensor, images: tf.Tensor, labels: tf.Tensor, step_index: int,
                total_steps: int) -> tf.Tensor:
        """`v` after the batch numbered `step_index` (of `total_steps` in the whole run)."""

    def initial_state(self) -> UAPState:
        return UAPState(np.zeros(self.image_shape, np.float32))

    def fit(self, images, labels=None, state: UAPState | None = None,
            on_pass: Callable[[UAPState], None] | None = None,
            progress: Callable[[int], None] | None = None) -> UAPState:
        """Runs (or resumes) the passes over `images` `[n, h, w, 3]` (0-255).

        Args:
            images: the training images in the classifier's view.
            labels: their clean top-1 classes (computed when omitted).
            state: a checkpointed state to resume from.
            on_pass: called with the state after every pass (checkpointing).
            progress: called with the number of images of each finished batch.
        """
        config = self.config
        if labels is None:
            labels = predict_labels(self.logits_fn, images)
        state = state or self.initial_state()
        v = tf.constant(state.perturbation, tf.float32)
        n = len(images)
        batches_per_pass = -(-n // config.batch_size)
        total_steps = config.max_passes * batches_per_pass
        while not state.done and state.passes_done < config.max_passes:
            pass_index = state.passes_done
            order = np.random.default_rng([config.seed, pass_index]).permutation(n)
            for b in range(batches_per_pass):
                index = np.sort(order[b * config.batch_size:(b + 1) * config.batch_size])
                x = tf.constant(np.asarray(images[index], np.float32))
                y = tf.constant(labels[index])
                v = self._update(v, x, y, pass_index * batches_per_pass + b, total_steps)
                if progress:
                    progress(len(index))
            state.perturbation = v.numpy()
            rate = fooling_rate(self.logits_fn, images, labels, v)
            state.passes_done = pass_index + 1
            state.history.append({"pass": state.passes_done, "fooling_rate": rate})
            if rate > state.best_fooling_rate:
                state.best, state.best_fooling_rate = state.perturbation.copy(), rate
            state.done = rate >= 1.0 - config.delta
            if on_pass:
                on_pass(state)
        state.done = True
        return state


class DeepFoolUAP(UAP):
    """The faithful algorithm (Moosavi-Dezfooli et al. 2017), `mode="deepfool"`.

    The paper's reference code uses DeepFool's L2 step whatever the ball's norm;
    only the projection follows `norm` (L-inf DeepFool steps saturate v at the
    corners of the box and stall). Only converged DeepFool steps update v.
    """

    mode = "deepfool"

    def __init__(self, config: UAPConfig, logits_fn: LogitsFn, image_shape=(224, 224, 3)):
        super().__init__(config, logits_fn, image_shape)
        self._deepfool = deepfool_lib.L2DeepFool(
            candidates=config.candidates, overshoot=config.overshoot,
            max_iter=config.deepfool_max_iter)
        self._predict = tf.function(
            lambda v, x: tf.argmax(self.logits_fn(tf.clip_by_value(x + v, 0.0, 255.0)), -1,
                                   output_type=tf.int32),
            input_signature=[self._vector_spec, self._batch_spec])
        self._fold = tf.function(self._fold_steps,
                                 input_signature=[self._vector_spec, self._batch_spec])

    def step(self, v: tf.Tensor, images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """One batch: DeepFool on the images `v` does not fool yet, their steps folded into `v`.

        Host-side glue between compiled parts (the batch of pending images varies).
        """
        pending = tf.boolean_mask(images, self._predict(v, images) == labels)
        if int(tf.shape(pending)[0]) == 0:
            return v
        result = self._deepfool(self.logits_fn, tf.clip_by_value(pending + v, 0.0, 255.0))
        return self._fold(v, tf.boolean_mask(result.perturbation, result.success))

    def _fold_steps(self, v, steps):
        """v <- P(v + dr_i), one step after another, as the paper's sequential loop."""
        return tf.foldl(lambda acc, dr: project(acc + dr, self.config.xi, self.config.norm),
                        steps, initializer=v)

    def _update(self, v, images, labels, step_index, total_steps):
        del step_index, total_steps
        return self.step(v, images, labels)


class SGDUAP(UAP):
    """Projected stochastic gradient ascent (after Shafahi et al. 2020), `mode="sgd"`.

    Sign steps (L-inf) or normalised steps (L2) of ``step_fraction * xi``,
    decaying linearly to a tenth over the run, on ``min(CE, loss_clip)``; with
    `eot`, through `transforms.photo_pipeline` seeded per batch.
    """

    mode = "sgd"

    def __init__(self, config: UAPConfig, logits_fn: LogitsFn, image_shape=(224, 224, 3)):
        super().__init__(config, logits_fn, image_shape)
        self.step = tf.function(self._step, input_signature=[
            self._vector_spec, self._batch_spec, self._labels_spec,
            tf.TensorSpec([], tf.float32, name="step_size"),
            tf.TensorSpec([2], tf.int32, name="seed")])

    def _step(self, v, images, labels, step_size, seed):
        """`v` after one ascent step on the batch (compiled as `step`)."""
        with tf.GradientTape() as tape:
            tape.watch(v)
            perturbed = tf.clip_by_value(images + v, 0.0, 255.0)
            if self.config.eot:
                perturbed = transforms.photo_pipeline(perturbed, seed)
            logits = self.logits_fn(perturbed)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            loss = tf.reduce_mean(tf.minimum(ce, self.config.loss_clip))
        gradient = tape.gradient(loss, v)
        if self.config.norm == "inf":
            update = tf.sign(gradient)
        else:
            update = gradient / tf.maximum(tf.norm(tf.reshape(gradient, [-1])), 1e-12)
        return project(v + step_size * self.config.xi * update, self.config.xi, self.config.norm)

    def _update(self, v, images, labels, step_index, total_steps):
        done = step_index / total_steps
        size = self.config.step_fraction * (1.0 - 0.9 * done)
        return self.step(v, images, labels, tf.constant(size, tf.float32),
                         tf.constant([self.config.seed, step_index], tf.int32))


ALGORITHMS = {"deepfool": DeepFoolUAP, "sgd": SGDUAP}


def make(config: UAPConfig, logits_fn: LogitsFn, image_shape=(224, 224, 3)) -> UAP:
    """The algorithm `config.mode` names, for `logits_fn` on images of `image_shape`."""
    return ALGORITHMS[config.mode](config, logits_fn, image_shape)
