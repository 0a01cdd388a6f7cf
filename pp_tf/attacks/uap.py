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
from the clean top-1 (for an ensemble, the mean of the members' rates).

Small photo sets: a run on 20 photos reached `1 - delta` on its own training
images after three SGD steps (L-inf 2.7 of 10) and generalised poorly. So, in
sgd mode, a run makes at least `min_steps` steps (the pass count grows to
`ceil(min_steps / batches_per_pass)` when the data are few) and does not stop
before them; and when `fit` is given held-out images (photos of the training
folder kept out of the steps), the stopping rule and the choice of the best
pass use their fooling rate, the training rate only breaking ties.

Ensembles and placement: `logits_fn` may return one logits tensor per member (a
tuple; labels are then `[n, members]`), and `place` maps the perturbation `v`
onto training images of another size (`image_shape`), e.g. tiled over a photo
exactly as `pp_tf.perturbation.apply_perturbation` does, so that every member
sees `v` through its own view (see `pp_tf.uap_run`).
"""

from __future__ import annotations

import abc
import dataclasses
import typing
from typing import Callable, Literal

import numpy as np
import tensorflow as tf

from pp_tf.attacks import deepfool as deepfool_lib
from pp_tf.attacks import transforms
from pp_tf.attacks.deepfool import LogitsFn, Norm
from pp_tf.settings import setting

Mode = Literal["deepfool", "sgd"]


@dataclasses.dataclass(frozen=True)
class UAPConfig:
    """Settings of a UAP run; saved beside every perturbation."""

    xi: float = setting(10.0, "Norm bound on the 0-255 scale.")
    norm: Norm = setting("inf", "Norm of the bound.")
    mode: Mode = setting("sgd", "deepfool: Moosavi-Dezfooli et al. 2017; sgd: Shafahi et al. "
                                "2020.")
    delta: float = setting(0.2, "Stop at a training fooling rate of 1 - delta.")
    max_passes: int = setting(10, "Passes over the training images at most.")
    batch_size: int = setting(32, "Images per step.")
    eot: bool = setting(False, "Optimise through random rescale, crop and JPEG (sgd).")
    seed: int = setting(0, "Seed of the shuffling and of the EOT draws.")
    candidates: int = setting(10, "deepfool: classes DeepFool considers per step.")
    overshoot: float = setting(0.02, "deepfool: DeepFool's overshoot.")
    deepfool_max_iter: int = setting(10, "deepfool: DeepFool iterations per image.")
    # sgd mode: sign steps (L-inf) or normalised steps (L2) of step_fraction * xi,
    # decaying linearly to a tenth over the run; the loss is min(CE, loss_clip).
    step_fraction: float = setting(0.1, "sgd: the first step, times xi (decays linearly to a "
                                        "tenth over the run).")
    loss_clip: float = setting(9.0, "sgd: the cap of the cross-entropy.")
    # 240, not 80 or 160: fewer steps missed the 75% held-out target (BUILD_NOTES,
    # "Rejected experiments" and "UAPs from a small folder and the shipped UAPs").
    min_steps: int = setting(240, "sgd: at least this many steps (passes are added for "
                                  "small data), and no stop at 1 - delta before them.")
    # sgd mode: each step, every image (before v is added) becomes a random crop of
    # augment_scale[0]..1 of its side, resized back and mirrored with probability 1/2;
    # its label is then the model's clean top-1 of that crop. 0 turns it off.
    augment_scale: float = setting(0.6, "sgd: every step, each image is a fresh random crop "
                                        "of this to 1 of its side (mirrored half the time); "
                                        "0: off.")

    def __post_init__(self):
        if self.norm not in typing.get_args(Norm):
            raise ValueError(f"norm must be one of {typing.get_args(Norm)}, got {self.norm!r}")
        if self.mode not in typing.get_args(Mode):
            raise ValueError(f"mode must be one of {typing.get_args(Mode)}, got {self.mode!r}")
        if self.eot and self.mode != "sgd":
            raise ValueError("eot needs mode='sgd': DeepFool's minimal step is not defined "
                             "under random transformations")
        if (self.xi <= 0 or not 0 <= self.delta < 1 or self.max_passes < 1
                or self.batch_size < 1 or self.min_steps < 0
                or not 0 <= self.augment_scale <= 1):
            raise ValueError(f"invalid settings: {self}")


@dataclasses.dataclass
class UAPState:
    """Where a run stands; what a checkpoint holds.

    `perturbation` is the current `v`; `best` the `v` after the best pass: the highest
    held-out fooling rate when `fit` has held-out images (ties: the higher training
    rate), else the highest training fooling rate; `best_fooling_rate` is that
    pass's selection rate (held-out if any). Both algorithms can oscillate from pass to pass (the
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


def _top1(logits) -> tf.Tensor:
    """`[b]` top-1 of one logits tensor, or `[b, members]` of a tuple of them."""
    if isinstance(logits, (tuple, list)):
        return tf.stack([tf.argmax(l, -1, output_type=tf.int32) for l in logits], axis=-1)
    return tf.argmax(logits, -1, output_type=tf.int32)


def predict_labels(logits_fn: LogitsFn, images, batch_size: int = 64) -> np.ndarray:
    """Top-1 classes of `images` `[n, h, w, 3]` (float 0-255 or uint8): `[n]`, or
    `[n, members]` when `logits_fn` returns one logits tensor per ensemble member."""
    out = [_top1(logits_fn(tf.cast(images[i:i + batch_size], tf.float32))).numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out).astype(np.int32) if out else np.zeros([0], np.int32)


def fooling_rate(logits_fn: LogitsFn, images, labels, perturbation, batch_size: int = 64,
                 place: Callable | None = None) -> float:
    """Fraction of `images` whose top-1 under `images + place(perturbation)` is not
    `labels` (for an ensemble, `labels` `[n, members]`, the mean over members)."""
    v = tf.convert_to_tensor(perturbation, tf.float32)
    if place is not None:
        v = place(v)
    fooled = 0.0
    for i in range(0, len(images), batch_size):
        x = tf.clip_by_value(tf.cast(images[i:i + batch_size], tf.float32) + v, 0.0, 255.0)
        predicted = _top1(logits_fn(x)).numpy()
        fooled += float((predicted != labels[i:i + batch_size]).mean(axis=-1).sum()
                        if predicted.ndim > 1 else (predicted != labels[i:i + batch_size]).sum())
    return fooled / max(len(images), 1)


def random_views(images, seed, min_scale: float):
    """Each image of the batch -> a random square crop (side `min_scale`..1 of the
    image's, anywhere), resized back to the image's size, mirrored with probability
    1/2. Stateless in `seed`; one batched op, no loop over images."""
    shape = tf.shape(images)
    n = shape[0]
    salted = seed + tf.constant([0, 101])
    side = tf.random.stateless_uniform([n], salted, min_scale, 1.0)
    top = tf.random.stateless_uniform([n], salted + tf.constant([0, 1]), 0.0, 1.0) * (1 - side)
    left = tf.random.stateless_uniform([n], salted + tf.constant([0, 2]), 0.0, 1.0) * (1 - side)
    flip = tf.random.stateless_uniform([n], salted + tf.constant([0, 3]), 0.0, 1.0) < 0.5
    # mirrored: the box's x-coordinates swapped (crop_and_resize flips when x1 > x2)
    x1 = tf.where(flip, left + side, left)
    x2 = tf.where(flip, left, left + side)
    boxes = tf.stack([top, x1, top + side, x2], axis=1)
    return tf.image.crop_and_resize(images, boxes, tf.range(n), shape[1:3])


def best_entry(history: list[dict], use_holdout: bool) -> dict | None:
    """The pass of `history` that `fit` keeps as `best`: the highest held-out fooling
    rate (ties: the higher training rate) when it has held-out images, else the highest
    training rate; the earliest of equals."""
    if use_holdout:
        history = [h for h in history if h.get("heldout_fooling_rate") is not None]
        key = lambda h: (h["heldout_fooling_rate"], h["fooling_rate"])  # noqa: E731
    else:
        key = lambda h: h["fooling_rate"]  # noqa: E731
    return max(history, key=key) if history else None


class UAP(abc.ABC):
    """The pass loop both algorithms share; a subclass defines `step` and `_update`.

    Each pass visits the training images in a seeded random order, in batches of
    `config.batch_size`; after it, the training fooling rate is measured and the
    state (`UAPState`, what a checkpoint holds) handed to `on_pass`.
    """

    mode: str

    def __init__(self, config: UAPConfig, logits_fn: LogitsFn, image_shape=(224, 224, 3),
                 perturbation_shape=None, place: Callable | None = None, members: int = 1):
        """
        Args:
            logits_fn: training images `[b, *image_shape]` -> logits, or (an ensemble of
                `members`) a tuple of one logits tensor per member.
            image_shape: the shape of one training image.
            perturbation_shape: the shape of `v` (default `image_shape`).
            place: `v` -> the pattern `[*image_shape]` added to each image (default: `v`).
            members: how many logits tensors `logits_fn` returns (1: a plain tensor).
        """
        if config.mode != self.mode:
            raise ValueError(f"{type(self).__name__} runs mode={self.mode!r}, the config says "
                             f"mode={config.mode!r}; use uap.make(config, ...)")
        self.config = config
        self.logits_fn = logits_fn
        self._traced_logits = deepfool_lib.inlined(logits_fn)  # inside the compiled steps
        self.image_shape = tuple(image_shape)
        self.perturbation_shape = tuple(perturbation_shape or image_shape)
        self.place = place if place is not None else (lambda v: v)
        self.members = members
        self._batch_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        self._vector_spec = tf.TensorSpec(self.perturbation_shape, tf.float32, name="perturbation")
        self._labels_spec = tf.TensorSpec([None] if members == 1 else [None, members], tf.int32,
                                          name="labels")

    def __repr__(self):
        return f"{type(self).__name__}({self.config})"

    @abc.abstractmethod
    def _update(self, v: tf.Tensor, images: tf.Tensor, labels: tf.Tensor, step_index: int,
                total_steps: int) -> tf.Tensor:
        """`v` after the batch numbered `step_index` (of `total_steps` in the whole run)."""

    def initial_state(self) -> UAPState:
        return UAPState(np.zeros(self.perturbation_shape, np.float32))

    def total_passes(self, n: int) -> int:
        """Passes of a run on `n` images: `max_passes`, more if that makes fewer than
        `min_steps` steps (sgd mode)."""
        return max(self.config.max_passes, -(-self.min_steps // self.batches_per_pass(n)))

    def batches_per_pass(self, n: int) -> int:
        return max(-(-n // self.config.batch_size), 1)

    @property
    def min_steps(self) -> int:
        return 0

    def fit(self, images, labels=None, state: UAPState | None = None,
            on_pass: Callable[[UAPState], None] | None = None,
            progress: Callable[[int], None] | None = None, holdout=None,
            holdout_labels=None) -> UAPState:
        """Runs (or resumes) the passes over `images` `[n, h, w, 3]` (0-255).

        Args:
            images: the training images in the classifier's view.
            labels: their clean top-1 classes (computed when omitted).
            state: a checkpointed state to resume from.
            on_pass: called with the state after every pass (checkpointing).
            progress: called with the number of images of each finished batch.
            holdout: images never stepped on; when given, their fooling rate decides the
                stop (`1 - delta`) and the best pass (ties: the training rate).
            holdout_labels: their clean top-1 classes (computed when omitted).
        """
        config = self.config
        if labels is None:
            labels = predict_labels(self.logits_fn, images)
        use_holdout = holdout is not None and len(holdout) > 0
        if use_holdout and holdout_labels is None:
            holdout_labels = predict_labels(self.logits_fn, holdout)
        state = state or self.initial_state()
        v = tf.constant(state.perturbation, tf.float32)
        n = len(images)
        batches_per_pass = self.batches_per_pass(n)
        passes = self.total_passes(n)
        total_steps = passes * batches_per_pass
        while not state.done and state.passes_done < passes:
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
            rate = fooling_rate(self.logits_fn, images, labels, v, place=self.place)
            state.passes_done = pass_index + 1
            entry = {"pass": state.passes_done, "fooling_rate": rate}
            selection = rate
            if use_holdout:
                selection = fooling_rate(self.logits_fn, holdout, holdout_labels, v,
                                         place=self.place)
                entry["heldout_fooling_rate"] = selection
            state.history.append(entry)
            if best_entry(state.history, use_holdout) is entry:
                state.best, state.best_fooling_rate = state.perturbation.copy(), selection
            steps_done = state.passes_done * batches_per_pass
            state.done = steps_done >= self.min_steps and selection >= 1.0 - config.delta
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

    def __init__(self, config: UAPConfig, logits_fn: LogitsFn, image_shape=(224, 224, 3),
                 perturbation_shape=None, place: Callable | None = None, members: int = 1):
        if members != 1 or place is not None or (
                perturbation_shape is not None and tuple(perturbation_shape) != tuple(image_shape)):
            raise ValueError("mode='deepfool' trains against one classifier in its own view: "
                             "DeepFool's minimal step lives in that view (use mode='sgd' for "
                             "an ensemble)")
        super().__init__(config, logits_fn, image_shape)
        self._deepfool = deepfool_lib.L2DeepFool(
            candidates=config.candidates, overshoot=config.overshoot,
            max_iter=config.deepfool_max_iter)
        self._predict = tf.function(
            lambda v, x: tf.argmax(self._traced_logits(tf.clip_by_value(x + v, 0.0, 255.0)), -1,
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

    def __init__(self, config: UAPConfig, logits_fn: LogitsFn, image_shape=(224, 224, 3),
                 perturbation_shape=None, place: Callable | None = None, members: int = 1):
        super().__init__(config, logits_fn, image_shape, perturbation_shape, place, members)
        self.step = tf.function(self._step, input_signature=[
            self._vector_spec, self._batch_spec, self._labels_spec,
            tf.TensorSpec([], tf.float32, name="step_size"),
            tf.TensorSpec([2], tf.int32, name="seed")])

    def _step(self, v, images, labels, step_size, seed):
        """`v` after one ascent step on the batch (compiled as `step`)."""
        with tf.GradientTape() as tape:
            tape.watch(v)
            if self.config.augment_scale > 0:
                images = random_views(images, seed, self.config.augment_scale)
                labels = _top1(self._traced_logits(images))
            perturbed = tf.clip_by_value(images + self.place(v), 0.0, 255.0)
            if self.config.eot:
                perturbed = transforms.photo_pipeline(perturbed, seed)
            logits = self._traced_logits(perturbed)
            if self.members == 1:
                ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
                loss = tf.reduce_mean(tf.minimum(ce, self.config.loss_clip))
            else:  # the mean over members of each member's clipped CE
                loss = tf.add_n([
                    tf.reduce_mean(tf.minimum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                        labels[:, i], member), self.config.loss_clip))
                    for i, member in enumerate(logits)]) / self.members
        gradient = tape.gradient(loss, v)
        if self.config.norm == "inf":
            update = tf.sign(gradient)
        else:
            update = gradient / tf.maximum(tf.norm(tf.reshape(gradient, [-1])), 1e-12)
        return project(v + step_size * self.config.xi * update, self.config.xi, self.config.norm)

    @property
    def min_steps(self) -> int:
        return self.config.min_steps

    def _update(self, v, images, labels, step_index, total_steps):
        done = step_index / total_steps
        size = self.config.step_fraction * (1.0 - 0.9 * done)
        return self.step(v, images, labels, tf.constant(size, tf.float32),
                         tf.constant([self.config.seed, step_index], tf.int32))


ALGORITHMS = {"deepfool": DeepFoolUAP, "sgd": SGDUAP}


def make(config: UAPConfig, logits_fn: LogitsFn, image_shape=(224, 224, 3),
         perturbation_shape=None, place: Callable | None = None, members: int = 1) -> UAP:
    """The algorithm `config.mode` names, for `logits_fn` on images of `image_shape`
    (`UAP.__init__` for the rest)."""
    return ALGORITHMS[config.mode](config, logits_fn, image_shape, perturbation_shape, place,
                                   members)


def tile_placement(view, photo_side: int) -> Callable:
    """`v` (`[crop, crop, 3]` for `view`) -> the `[photo_side, photo_side, 3]` pattern that
    `pp_tf.perturbation.apply_perturbation(..., placement="tile", view=view)` adds to a
    square photo of that side: `v` resampled to the attacker's square and tiled from it."""
    from pp_tf import perturbation as perturbation_lib

    top, left, side = perturbation_lib.attacker_square(photo_side, photo_side, view)
    rows = tf.constant((np.arange(photo_side) - top) % side, tf.int32)
    columns = tf.constant((np.arange(photo_side) - left) % side, tf.int32)

    def place(v):
        if side != view.crop_size:
            v = tf.image.resize(v[None], (side, side), method="bilinear", antialias=True)[0]
        return tf.gather(tf.gather(v, rows, axis=0), columns, axis=1)

    return place
