"""A GAN training run: strategy, data, distributed steps, checkpoints, TensorBoard, outputs.

`train_gan(config)` runs `config.steps` steps of the chosen trainer:

* the step is ``strategy.run(trainer.replica_step_fn(phase), (batch, step))``
  inside a `tf.function`, on batches from
  ``strategy.experimental_distribute_dataset``; the replicas' losses (each a
  `tf.nn.compute_average_loss` share) are summed into the global means;
* every ``checkpoint_every`` steps (and at the end) a `tf.train.Checkpoint` of
  the models, optimizers, image pools and step goes to
  ``output_dir/checkpoints`` (`tf.train.CheckpointManager`, whose index file is
  replaced atomically, so a kill leaves the previous checkpoint usable); under
  MultiWorkerMirrored only the chief writes there, the other workers write to
  a temporary folder they delete;
* ``resume`` restores the latest checkpoint and continues at its step with the
  data an uninterrupted run would have seen; an existing checkpoint without
  ``resume`` is an error;
* every ``summary_every`` steps: every loss as a scalar, and a few inputs and
  outputs as images, to ``logdir`` (chief only);
* at the end the generators go to ``output_dir/<name>.weights.h5`` (chief only),
  each written to a temporary name and renamed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from pp_tf import image_io
from pp_tf.gan import data, distribute
from pp_tf.gan.cartoongan_trainer import CartoonGANSettings, CartoonGANTrainer
from pp_tf.gan.cyclegan_trainer import CycleGANSettings, CycleGANTrainer

CHECKPOINT_DIR = "checkpoints"
MODELS = ("cyclegan", "cartoongan")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; `pp_tf.scripts.train_gan` fills it from flags."""

    model: str
    output_dir: str
    domain_a: str | None = None
    domain_b: str | None = None
    tfds: str | None = None
    tfds_split_a: str = "trainA"
    tfds_split_b: str = "trainB"
    tfds_data_dir: str | None = None
    shuffle_buffer: int = 256
    logdir: str | None = None
    steps: int = 200_000
    batch_size: int = 1  # global
    image_size: int = 256
    seed: int = 0
    resume: bool = False
    checkpoint_every: int = 1_000
    max_checkpoints: int = 3
    summary_every: int = 100
    lr: float = 2e-4
    beta1: float = 0.5
    constant_steps: int = 100_000
    decay_steps: int = 100_000
    n_blocks: int = 9
    ngf: int = 64
    ndf: int = 64
    n_layers: int = 3
    pool_size: int = 50
    cycle_weight: float = 10.0
    identity_weight: float = 0.5
    init_steps: int = 2_000
    content_weight: float = 10.0
    vgg19_weights: str | None = None
    deterministic: bool = False


@dataclasses.dataclass
class TrainResult:
    """What a run leaves in memory (the files are in `config.output_dir`)."""

    history: list[dict[str, float]]
    start_step: int
    step: int
    trainer: object
    strategy: tf.distribute.Strategy
    weights: dict[str, str]


def _sources(config: TrainConfig) -> tuple[data.DomainSource, data.DomainSource]:
    if config.tfds:
        if config.domain_a or config.domain_b:
            raise ValueError("give either --tfds or --domain_a/--domain_b, not both")
        return tuple(data.DomainSource(tfds_name=config.tfds, tfds_split=split,
                                       tfds_data_dir=config.tfds_data_dir)
                     for split in (config.tfds_split_a, config.tfds_split_b))
    if not (config.domain_a and config.domain_b):
        raise ValueError("give --domain_a and --domain_b (folders of images), or --tfds")
    return data.DomainSource(folder=config.domain_a), data.DomainSource(folder=config.domain_b)


def build_trainer(config: TrainConfig, strategy: tf.distribute.Strategy, feature_extractor=None):
    """The trainer `config.model` names, its networks built under `strategy`."""
    schedule = dict(lr=config.lr, beta1=config.beta1, constant_steps=config.constant_steps,
                    decay_steps=config.decay_steps)
    if config.model == "cyclegan":
        settings = CycleGANSettings(
            image_size=config.image_size, n_blocks=config.n_blocks, ngf=config.ngf,
            ndf=config.ndf, n_layers=config.n_layers, pool_size=config.pool_size,
            cycle_weight=config.cycle_weight, identity_weight=config.identity_weight,
            seed=config.seed, **schedule)
        return CycleGANTrainer(settings, strategy, config.batch_size)
    if config.model == "cartoongan":
        settings = CartoonGANSettings(init_steps=config.init_steps,
                                      content_weight=config.content_weight,
                                      vgg19_weights=config.vgg19_weights, **schedule)
        return CartoonGANTrainer(settings, strategy, config.batch_size, feature_extractor)
    raise ValueError(f"unknown model {config.model!r}; choose one of {', '.join(MODELS)}")


def _to_unit(images: tf.Tensor) -> tf.Tensor:
    return tf.clip_by_value((images + 1.0) / 2.0, 0.0, 1.0)


def _save_weights_atomic(model: keras.Model, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".weights.h5", dir=folder)
    os.close(handle)
    os.unlink(temporary)  # only the unique name is wanted: h5py creates the file itself
    try:
        model.save_weights(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def train_gan(config: TrainConfig, strategy: tf.distribute.Strategy | None = None,
              feature_extractor=None) -> TrainResult:
    """Trains `config.model` for `config.steps` steps (see the module docstring).

    Args:
        strategy: default `distribute.make_strategy()`.
        feature_extractor: CartoonGAN only: replaces the VGG19 content features.

    Raises:
        FileExistsError: a checkpoint exists in `output_dir` and `resume` is False.
        pp_tf.gan.vgg19.VGG19WeightsError: CartoonGAN without VGG19 weights.
    """
    strategy = strategy or distribute.make_strategy()
    chief = distribute.is_chief(strategy)
    if config.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"--batch_size={config.batch_size} (global) is not divisible by the "
                         f"{strategy.num_replicas_in_sync} replicas")
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)

    os.makedirs(config.output_dir, exist_ok=True)
    checkpoint_dir = os.path.join(config.output_dir, CHECKPOINT_DIR)
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    if latest and not config.resume:
        raise FileExistsError(
            f"{checkpoint_dir} holds a checkpoint of an earlier run ({os.path.basename(latest)}): "
            "pass --resume to continue it, or choose another --output_dir")
    sources = _sources(config)

    trainer = build_trainer(config, strategy, feature_extractor)
    with strategy.scope():
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(step=step_var, **trainer.checkpoint_objects())
    if chief:
        save_dir, scratch = checkpoint_dir, None
    else:
        scratch = tempfile.mkdtemp(prefix=f"worker{distribute.worker_id(strategy)}-")
        save_dir = scratch
    manager = tf.train.CheckpointManager(checkpoint, save_dir, max_to_keep=config.max_checkpoints)
    if latest and config.resume:
        checkpoint.restore(latest).assert_existing_objects_matched()
        logging.info("resumed from %s at step %d", latest, step_var.numpy())
    start = int(step_var.numpy())

    transform = getattr(trainer, "data_transform", None)
    dataset = data.paired_dataset(sources, config.image_size, config.seed, config.batch_size,
                                  start, config.shuffle_buffer, transform)
    preview_batch = next(iter(data.paired_dataset(
        sources, config.image_size, config.seed, config.batch_size, 0, config.shuffle_buffer,
        transform).take(1)))
    preview_batch = tuple(x[:3] for x in preview_batch)
    iterator = iter(strategy.experimental_distribute_dataset(dataset))

    compiled = {}

    def distributed_step(phase: str):
        if phase not in compiled:
            replica_fn = trainer.replica_step_fn(phase)

            @tf.function(autograph=False)  # explicit tf.while_loop/tf.cond only
            def run(batch, step):
                per_replica = strategy.run(replica_fn, args=(batch, step))
                return {name: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                        for name, value in per_replica.items()}

            compiled[phase] = run
        return compiled[phase]

    writer = tf.summary.create_file_writer(config.logdir) if (config.logdir and chief) else None
    history: list[dict[str, float]] = []
    began = time.perf_counter()
    step = start
    for step in range(start, config.steps):
        phase = trainer.phase(step)
        losses = distributed_step(phase)(next(iterator), tf.constant(step, tf.int64))
        losses = {name: float(value.numpy()) for name, value in losses.items()}
        history.append({"step": step + 1, "phase": phase, **losses})
        step_var.assign(step + 1)
        done = step + 1
        if done % config.summary_every == 0 or done == config.steps:
            if writer:
                with writer.as_default(step=done):
                    for name, value in losses.items():
                        tf.summary.scalar(f"{phase}/{name}", value)
                    for name, images in trainer.preview(preview_batch).items():
                        tf.summary.image(name, _to_unit(images), max_outputs=3)
                writer.flush()
            if chief:
                rate = (done - start) / max(time.perf_counter() - began, 1e-9)
                logging.info("step %d/%d (%s, %.2f steps/s): %s", done, config.steps, phase, rate,
                             ", ".join(f"{k}={v:.4f}" for k, v in losses.items()))
        if done % config.checkpoint_every == 0:
            manager.save(checkpoint_number=done)
    final = int(step_var.numpy())
    if manager.latest_checkpoint is None or not manager.latest_checkpoint.endswith(f"-{final}"):
        manager.save(checkpoint_number=final)

    weights = {}
    for name, model in trainer.generators().items():
        path = os.path.join(config.output_dir, f"{name}.weights.h5")
        if chief:
            _save_weights_atomic(model, path)
        weights[name] = path
    if chief:
        report = {"config": dataclasses.asdict(config), "start_step": start, "final_step": final,
                  "replicas": strategy.num_replicas_in_sync,
                  "last_losses": history[-1] if history else None,
                  "seconds_this_run": round(time.perf_counter() - began, 2)}
        image_io.write_bytes_atomic(json.dumps(report, indent=2).encode(),
                                    os.path.join(config.output_dir, "train_gan.json"),
                                    overwrite=True)
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    return TrainResult(history, start, final, trainer, strategy, weights)


def replica_values(strategy: tf.distribute.Strategy, variable) -> list[np.ndarray]:
    """The values of `variable` (Keras or tf) on each local replica."""
    variable = getattr(variable, "_value", variable)  # a Keras variable wraps the tf one
    return [np.asarray(v.numpy()) for v in strategy.experimental_local_results(variable)]


def replica_values_equal(strategy: tf.distribute.Strategy, variables) -> list[str]:
    """Names of the variables whose per-replica values differ (empty: replicas identical).

    Raises:
        ValueError: a variable does not have one value per local replica.
    """
    differing = []
    replicas = len(strategy.extended.worker_devices)
    for variable in variables:
        values = replica_values(strategy, variable)
        name = getattr(variable, "path", None) or variable.name
        if len(values) != replicas:
            raise ValueError(f"{name}: {len(values)} local values for {replicas} replicas")
        if any(not np.array_equal(values[0], other) for other in values[1:]):
            differing.append(name)
    return differing
