"""A UAP training run: verified checkpoints every pass, resume, outputs, TensorBoard.

Outputs, for `output="out/uap.npy"`:
* `out/uap.npy`: the perturbation, float32 `[crop, crop, 3]` on the 0-255 scale;
* `out/uap.png`: a visualisation (scaled to the full 0-255 range around grey);
* `out/uap.json`: settings, the attacker's name and view (``"view"``:
  `pp_tf.models.preprocessing.View.to_dict`, what `protect` needs to place the
  perturbation), image count, per-pass fooling rate, changes accepted on resume;
* `out/uap.npy.ckpt/` while running: the state after each of the last passes
  (`pp_tf.verified_checkpoints`: SHA-256 manifests; a corrupted one is skipped),
  each with the run's settings: `resume` refuses settings that change the result
  (`pp_tf.run_settings`) unless named in `allow_changed`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import time

import numpy as np
import tensorflow as tf
from absl import logging

from pp_tf import image_io, run_settings, verified_checkpoints
from pp_tf.attacker import Attacker
from pp_tf.attacks import uap

# Settings that cannot change the perturbation: they may differ on --resume.
FREE_SETTINGS = frozenset({"output", "logdir", "resume", "allow_changed", "show_progress"})
KEEP_CHECKPOINTS = 2


def checkpoint_folder(output: str) -> verified_checkpoints.CheckpointFolder:
    return verified_checkpoints.CheckpointFolder(output + ".ckpt", KEEP_CHECKPOINTS, name="pass")


def settings_record(attacker: Attacker, images, config: uap.UAPConfig,
                    data_source: dict | None = None) -> dict:
    """What the perturbation depends on, flat: the config's fields, attacker, view, images."""
    return {**dataclasses.asdict(config), "attacker": attacker.name,
            "view": attacker.view.to_dict(), "data_source": data_source,
            "training_images": run_settings.array_identity(np.asarray(images)),
            "pp_tf_version": run_settings.version()}


def state_bytes(state: uap.UAPState) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, perturbation=state.perturbation, passes_done=state.passes_done,
             done=state.done, history=json.dumps(state.history),
             best=state.best if state.best is not None else state.perturbation,
             best_fooling_rate=state.best_fooling_rate)
    return buffer.getvalue()


def load_state(path: str) -> uap.UAPState:
    with np.load(path) as data:
        return uap.UAPState(np.array(data["perturbation"], np.float32), int(data["passes_done"]),
                            json.loads(str(data["history"])), bool(data["done"]),
                            np.array(data["best"], np.float32), float(data["best_fooling_rate"]))


def visualise(perturbation: np.ndarray) -> np.ndarray:
    """uint8 picture of `v`: grey is zero, the extremes are +-max|v|."""
    scale = max(float(np.abs(perturbation).max()), 1e-6)
    return np.clip(np.rint(127.5 + 127.5 * perturbation / scale), 0, 255).astype(np.uint8)


def train_uap(attacker: Attacker, images: np.ndarray, config: uap.UAPConfig, output: str,
              resume: bool = False, logdir: str | None = None, show_progress: bool = True,
              allow_changed=(), data_source: dict | None = None) -> dict:
    """Computes a UAP for `attacker` on `images` (its view) and writes the outputs.

    Args:
        allow_changed: with `resume`, settings allowed to differ from the checkpoint's.
        data_source: where `images` came from (recorded and compared on resume).

    Raises:
        ValueError: `output` is not a .npy, or checkpoints exist and `resume` is False.
        pp_tf.run_settings.SettingsChangedError: `resume` with settings that change the result.
        pp_tf.verified_checkpoints.CheckpointError: a checkpoint cannot be written, or
            `resume` finds checkpoints but none valid.
    """
    if not output.endswith(".npy"):
        raise ValueError(f"--output must name a .npy file, got {output}")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    if os.path.exists(output + ".ckpt.npz"):
        raise ValueError(f"{output}.ckpt.npz: a checkpoint in the format of an older pp_tf "
                         "(without settings or checksums); delete it to start again")
    folder = checkpoint_folder(output)
    settings = settings_record(attacker, images, config, data_source)
    state, restored, skipped, changes = None, None, [], []
    if folder.holds_anything() and not resume:
        raise ValueError(f"{folder.folder} holds checkpoints of an interrupted run: pass "
                         "--resume, or delete it")
    if resume and folder.holds_anything():
        valid, skipped = folder.restore_candidates()
        if not valid:
            raise verified_checkpoints.CheckpointError(
                f"{folder.folder}: no valid checkpoint to resume from "
                f"({'; '.join(skipped) or 'no complete checkpoint'})")
        restored = valid[0]
        changes = restored.record.get("changes", []) + run_settings.compare(
            restored.record.get("settings", {}), settings, free=FREE_SETTINGS,
            allowed=run_settings.parse_allowed(allow_changed), where=restored.prefix,
            step=restored.step)
        state = load_state(restored.prefix + ".npz")
        logging.info("resumed from %s after pass %d", restored.prefix, state.passes_done)

    shape = (attacker.view.crop_size, attacker.view.crop_size, 3)
    logits = tf.function(attacker.logits,
                         input_signature=[tf.TensorSpec([None, *shape], tf.float32)])
    trainer = uap.make(config, logits, shape)
    labels = uap.predict_labels(logits, images)
    writer = tf.summary.create_file_writer(logdir) if logdir else None
    bar = None
    if show_progress:
        from tqdm import tqdm

        done_passes = state.passes_done if state else 0
        bar = tqdm(total=config.max_passes * len(images), initial=done_passes * len(images),
                   unit="img", desc="UAP", dynamic_ncols=True)

    def on_pass(current: uap.UAPState) -> None:
        content = state_bytes(current)
        folder.save(current.passes_done,
                    lambda prefix: image_io.write_bytes_atomic(content, prefix + ".npz",
                                                               overwrite=True),
                    {"settings": settings, "changes": changes})
        rate = current.history[-1]["fooling_rate"]
        if writer:
            with writer.as_default():
                tf.summary.scalar("fooling_rate", rate, step=current.passes_done)
                tf.summary.scalar("perturbation_linf", float(np.abs(current.perturbation).max()),
                                  step=current.passes_done)
            writer.flush()
        if bar:
            bar.set_postfix(fooling_rate=f"{rate:.3f}")

    start = time.perf_counter()
    try:
        state = trainer.fit(images, labels, state, on_pass, bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    seconds = time.perf_counter() - start

    result = state.best if state.best is not None else state.perturbation
    buffer = io.BytesIO()
    np.save(buffer, result.astype(np.float32))
    image_io.write_bytes_atomic(buffer.getvalue(), output, overwrite=True)
    stem = output[: -len(".npy")]
    image_io.write_image(visualise(result), stem + ".png", "PNG", overwrite=True)
    report = {
        "attacker": attacker.name,
        "view": attacker.view.to_dict(),
        "settings": dataclasses.asdict(config),
        "images": int(len(images)),
        "data_source": data_source,
        "fooling_rate_per_pass": state.history,
        "fooling_rate": state.best_fooling_rate,  # of the saved (best) pass
        "linf": float(np.abs(result).max()),
        "l2": float(np.linalg.norm(result)),
        "resumed_from": restored.prefix if restored else None,
        "skipped_checkpoints": skipped,
        "allowed_changes": changes,
        "pp_tf_version": run_settings.version(),
        "seconds_this_run": round(seconds, 2),
    }
    image_io.write_bytes_atomic(json.dumps(report, indent=2).encode(), stem + ".json",
                                overwrite=True)
    shutil.rmtree(folder.folder, ignore_errors=True)
    return report
