"""A GAN training run: strategy, data, distributed steps, checkpoints, TensorBoard, outputs.

`train_gan(config)` runs `config.run.steps` steps of the trainer `config.model` picks:

* the step is ``strategy.run(trainer.replica_step_fn(phase), (batch, step))``
  inside a `tf.function`, on batches from
  ``strategy.experimental_distribute_dataset``; the replicas' losses (each a
  `tf.nn.compute_average_loss` share) are summed into the global means;
* every ``checkpoint_every`` steps (and at the end) a `tf.train.Checkpoint` of
  the models, optimizers, image pools and step goes to ``output_dir/checkpoints``
  (`pp_tf.verified_checkpoints`: a SHA-256 manifest written atomically after the
  files, so a failed or killed write leaves the previous checkpoint usable; a
  failed write stops the run with `CheckpointWriteError`). Every checkpoint
  records the run's settings and the data's identity (`run_settings`). Under
  MultiWorkerMirrored each worker writes its own checkpoints (the chief to
  ``checkpoints``, the others to ``checkpoints/<task>-<index>``): the image pools
  are per replica, so each worker saves and restores its own;
* ``resume`` restores the newest checkpoint that verifies (a corrupted one is
  named and skipped; under MultiWorker, the newest step valid on every worker)
  and continues at its step with the data an uninterrupted run would have seen;
  settings that change the result must equal the checkpoint's unless named in
  ``allow_changed`` (recorded in ``train_gan.json``); an existing checkpoint
  without ``resume`` is an error;
* every ``summary_every`` steps: every loss as a scalar, and a few inputs and
  outputs as images, to ``logdir`` (chief only);
* at the end the generators go to ``output_dir/<name>.weights.h5`` (chief only),
  each written to a temporary name and renamed;
* ``precision`` (``float32``, ``mixed_float16``, ``mixed_bfloat16``): the Keras
  dtype policy the networks are built under, scoped to the building
  (`pp_tf.gan.precision`); variables, losses, image pools and the saved weights
  stay float32 (the weights load into the float32 builders); ``mixed_float16``
  adds dynamic loss scaling (`keras.optimizers.LossScaleOptimizer`, whose scale
  the checkpoints hold). A change of precision on ``resume`` is refused.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time

import keras
import tensorflow as tf
from absl import logging

from pp_tf import image_io, run_settings, verified_checkpoints
from pp_tf.gan import data, distribute
from pp_tf.gan.cartoongan_trainer import CartoonGANSettings, CartoonGANTrainer
from pp_tf.gan.config import (FREE_SETTINGS, MODELS, DataConfig, RunConfig, TrainConfig,
                              default_settings,
                              settings_record as config_settings)
from pp_tf.gan.cyclegan_trainer import CycleGANSettings, CycleGANTrainer
from pp_tf.gan.trainer import Trainer

__all__ = ["CHECKPOINT_DIR", "MODELS", "DataConfig", "RunConfig", "TrainConfig", "TrainResult",
           "build_trainer", "checkpoint_folder", "train_gan"]

CHECKPOINT_DIR = "checkpoints"


@dataclasses.dataclass
class TrainResult:
    """What a run leaves in memory (the files are in `config.run.output_dir`)."""

    history: list[dict[str, float]]
    start_step: int
    step: int
    trainer: Trainer
    strategy: tf.distribute.Strategy
    weights: dict[str, str]


def _sources(config: DataConfig) -> tuple[data.DomainSource, data.DomainSource]:
    if config.tfds:
        if config.domain_a or config.domain_b:
            raise ValueError("give either --tfds or --domain_a/--domain_b, not both")
        return tuple(data.DomainSource(tfds_name=config.tfds, tfds_split=split,
                                       tfds_data_dir=config.tfds_data_dir)
                     for split in (config.tfds_split_a, config.tfds_split_b))
    if not (config.domain_a and config.domain_b):
        raise ValueError("give --domain_a and --domain_b (folders of images), or --tfds")
    return data.DomainSource(folder=config.domain_a), data.DomainSource(folder=config.domain_b)


def _identity(source: data.DomainSource) -> dict:
    if source.folder:
        return run_settings.folder_identity(image_io.list_images(source.folder), source.folder)
    return run_settings.tfds_identity(source.tfds_name, source.tfds_split, source.tfds_data_dir)


def build_trainer(config: TrainConfig, strategy: tf.distribute.Strategy,
                  feature_extractor=None) -> Trainer:
    """The trainer `config.model` names, its networks built under `strategy`."""
    if isinstance(config.model, CycleGANSettings):
        return CycleGANTrainer(config.model, strategy, global_batch_size=config.run.batch_size,
                               image_size=config.data.image_size, seed=config.run.seed,
                               precision=config.run.precision)
    if isinstance(config.model, CartoonGANSettings):
        return CartoonGANTrainer(config.model, strategy, global_batch_size=config.run.batch_size,
                                 feature_extractor=feature_extractor,
                                 precision=config.run.precision)
    raise ValueError(f"unknown model settings {type(config.model).__name__}; "
                     f"choose one of {', '.join(MODELS)}")


def checkpoint_folder(config: TrainConfig, strategy: tf.distribute.Strategy
                      ) -> verified_checkpoints.CheckpointFolder:
    """This worker's checkpoints: the chief's in ``checkpoints``, another worker's below it."""
    folder = os.path.join(config.run.output_dir, CHECKPOINT_DIR)
    if not distribute.is_chief(strategy):
        folder = os.path.join(folder, distribute.task_name(strategy))
    return verified_checkpoints.CheckpointFolder(folder, config.run.max_checkpoints)


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
    """Trains `config.model` for `config.run.steps` steps (see the module docstring).

    Args:
        strategy: default `distribute.make_strategy()`.
        feature_extractor: CartoonGAN only: replaces the VGG19 content features.

    Raises:
        pp_tf.verified_checkpoints.RunExistsError (a FileExistsError): a checkpoint exists
            in `output_dir` and `resume` is False.
        pp_tf.run_settings.SettingsChangedError: `resume` with settings that change the result.
        pp_tf.verified_checkpoints.CheckpointError: a checkpoint cannot be written, or
            `resume` finds checkpoints but none valid.
        pp_tf.gan.vgg19.VGG19WeightsError: CartoonGAN without VGG19 weights.
    """
    run = config.run
    strategy = strategy or distribute.make_strategy()
    chief = distribute.is_chief(strategy)
    if run.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"--batch_size={run.batch_size} (global) is not divisible by the "
                         f"{strategy.num_replicas_in_sync} replicas")
    if run.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(run.seed)

    os.makedirs(run.output_dir, exist_ok=True)
    folder = checkpoint_folder(config, strategy)
    sources = _sources(config.data)
    settings = {**config_settings(config), "replicas": strategy.num_replicas_in_sync,
                "data_a": _identity(sources[0]), "data_b": _identity(sources[1]),
                "pp_tf_version": run_settings.version()}

    def newest_every_worker_holds(valid):
        common = distribute.common_values(strategy, [entry.step for entry in valid])
        return next((entry for entry in valid if entry.step in common), None)

    # a setting added since a checkpoint was written is taken at its default (a run from
    # before --precision existed was float32, its default)
    point = verified_checkpoints.resume_point(
        folder, run.resume, settings, free=FREE_SETTINGS, allow_changed=run.allow_changed,
        choose=newest_every_worker_holds, old_defaults=default_settings(config))
    restored, skipped, changes = point.entry, point.skipped, point.changes

    trainer = build_trainer(config, strategy, feature_extractor)
    with strategy.scope():
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(step=step_var, **trainer.checkpoint_objects())
    if restored is not None:
        try:
            checkpoint.read(restored.prefix).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise verified_checkpoints.CheckpointError(
                f"{restored.prefix}: does not fit this run's models ({error}); an allowed "
                "change of model, size or replicas cannot resume this checkpoint") from None
        logging.info("resumed from %s at step %d", restored.prefix, step_var.numpy())
    start = int(step_var.numpy())
    position = lambda step: {"images_per_domain": step * run.batch_size}  # noqa: E731
    if restored is not None and restored.record.get("data_position") != position(start):
        raise verified_checkpoints.CheckpointError(
            f"{restored.prefix}: data position {restored.record.get('data_position')} does not "
            f"match step {start} at batch {run.batch_size}")

    def save(step: int) -> None:
        def write(prefix):
            checkpoint.write(prefix)
            tf.train.load_checkpoint(prefix)  # the index reads back
        folder.save(step, write, {"settings": settings, "changes": changes,
                                  "worker": distribute.task_name(strategy),
                                  "data_position": position(step)})

    dataset = data.paired_dataset(sources, config.data.image_size, run.seed, run.batch_size,
                                  start, config.data.shuffle_buffer, trainer.data_transform)
    preview_batch = next(iter(data.paired_dataset(
        sources, config.data.image_size, run.seed, run.batch_size, 0,
        config.data.shuffle_buffer, trainer.data_transform).take(1)))
    preview_batch = tuple(x[:3] for x in preview_batch)
    iterator = iter(strategy.experimental_distribute_dataset(dataset))

    compiled = {}

    def distributed_step(phase: str):
        if phase not in compiled:
            replica_fn = trainer.replica_step_fn(phase)

            @tf.function(autograph=False)  # explicit tf.while_loop/tf.cond only
            def run_step(batch, step):
                per_replica = strategy.run(replica_fn, args=(batch, step))
                return {name: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                        for name, value in per_replica.items()}

            compiled[phase] = run_step
        return compiled[phase]

    writer = tf.summary.create_file_writer(run.logdir) if (run.logdir and chief) else None
    history: list[dict[str, float]] = []
    began = time.perf_counter()
    last_saved = start if restored is not None else None
    for step in range(start, run.steps):
        phase = trainer.phase(step)
        losses = distributed_step(phase)(next(iterator), tf.constant(step, tf.int64))
        losses = {name: float(value.numpy()) for name, value in losses.items()}
        history.append({"step": step + 1, "phase": phase, **losses})
        step_var.assign(step + 1)
        done = step + 1
        if done % run.summary_every == 0 or done == run.steps:
            if writer:
                with writer.as_default(step=done):
                    for name, value in losses.items():
                        tf.summary.scalar(f"{phase}/{name}", value)
                    for name, images in trainer.preview(preview_batch).items():
                        tf.summary.image(name, _to_unit(images), max_outputs=3)
                writer.flush()
            if chief:
                rate = (done - start) / max(time.perf_counter() - began, 1e-9)
                logging.info("step %d/%d (%s, %.2f steps/s): %s", done, run.steps, phase, rate,
                             ", ".join(f"{k}={v:.4f}" for k, v in losses.items()))
        if done % run.checkpoint_every == 0:
            save(done)
            last_saved = done
    final = int(step_var.numpy())
    if last_saved != final:
        save(final)

    weights = {}
    for name, model in trainer.generators().items():
        path = os.path.join(run.output_dir, f"{name}.weights.h5")
        if chief:
            _save_weights_atomic(model, path)
        weights[name] = path
    if chief:
        report = {"config": {"model": config.model_name, **dataclasses.asdict(config)},
                  "start_step": start, "final_step": final,
                  "replicas": strategy.num_replicas_in_sync,
                  "resumed_from": restored.prefix if restored else None,
                  "skipped_checkpoints": skipped, "allowed_changes": changes,
                  "settings": settings,
                  "last_losses": history[-1] if history else None,
                  "seconds_this_run": round(time.perf_counter() - began, 2)}
        image_io.write_bytes_atomic(json.dumps(report, indent=2).encode(),
                                    os.path.join(run.output_dir, "train_gan.json"),
                                    overwrite=True)
    return TrainResult(history, start, final, trainer, strategy, weights)
