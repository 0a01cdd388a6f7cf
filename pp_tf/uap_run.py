"""A UAP training run: checkpoints every pass, resume, outputs, TensorBoard.

Outputs, for `output="out/uap.npy"`:
* `out/uap.npy`: the perturbation, float32 `[224, 224, 3]` on the 0-255 scale;
* `out/uap.png`: a visualisation (scaled to the full 0-255 range around grey);
* `out/uap.json`: settings, attacker, image count and per-pass fooling rate;
* `out/uap.npy.ckpt.npz` while running: the state after the last finished pass.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import time

import numpy as np
import tensorflow as tf

from pp_tf import image_io
from pp_tf.attacker import Attacker
from pp_tf.attacks import uap


def checkpoint_path(output: str) -> str:
    return output + ".ckpt.npz"


def save_checkpoint(path: str, state: uap.UAPState, config: uap.UAPConfig) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, perturbation=state.perturbation, passes_done=state.passes_done,
             done=state.done, history=json.dumps(state.history),
             config=json.dumps(dataclasses.asdict(config)),
             best=state.best if state.best is not None else state.perturbation,
             best_fooling_rate=state.best_fooling_rate)
    image_io.write_bytes_atomic(buffer.getvalue(), path, overwrite=True)


def load_checkpoint(path: str, config: uap.UAPConfig) -> uap.UAPState:
    with np.load(path) as data:
        saved = json.loads(str(data["config"]))
        if saved != dataclasses.asdict(config):
            raise ValueError(f"{path}: checkpoint settings differ from this run's: {saved}")
        return uap.UAPState(np.array(data["perturbation"], np.float32), int(data["passes_done"]),
                            json.loads(str(data["history"])), bool(data["done"]),
                            np.array(data["best"], np.float32), float(data["best_fooling_rate"]))


def visualise(perturbation: np.ndarray) -> np.ndarray:
    """uint8 picture of `v`: grey is zero, the extremes are +-max|v|."""
    scale = max(float(np.abs(perturbation).max()), 1e-6)
    return np.clip(np.rint(127.5 + 127.5 * perturbation / scale), 0, 255).astype(np.uint8)


def train_uap(attacker: Attacker, images: np.ndarray, config: uap.UAPConfig, output: str,
              resume: bool = False, logdir: str | None = None, show_progress: bool = True) -> dict:
    """Computes a UAP for `attacker` on `images` (its view) and writes the outputs."""
    if not output.endswith(".npy"):
        raise ValueError(f"--output must name a .npy file, got {output}")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    ckpt = checkpoint_path(output)
    state = None
    if resume and os.path.exists(ckpt):
        state = load_checkpoint(ckpt, config)
    elif os.path.exists(ckpt) and not resume:
        raise ValueError(f"{ckpt} exists from an interrupted run: pass --resume, or delete it")

    shape = (attacker.view.crop_size, attacker.view.crop_size, 3)
    logits = tf.function(attacker.logits, input_signature=[tf.TensorSpec([None, *shape], tf.float32)])
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
        save_checkpoint(ckpt, current, config)
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
    state = trainer.fit(images, labels, state, on_pass, bar.update if bar else None)
    seconds = time.perf_counter() - start
    if bar:
        bar.close()

    result = state.best if state.best is not None else state.perturbation
    buffer = io.BytesIO()
    np.save(buffer, result.astype(np.float32))
    image_io.write_bytes_atomic(buffer.getvalue(), output, overwrite=True)
    stem = output[: -len(".npy")]
    image_io.write_image(visualise(result), stem + ".png", "PNG", overwrite=True)
    report = {
        "attacker": attacker.name,
        "settings": dataclasses.asdict(config),
        "images": int(len(images)),
        "fooling_rate_per_pass": state.history,
        "fooling_rate": state.best_fooling_rate,  # of the saved (best) pass
        "linf": float(np.abs(result).max()),
        "l2": float(np.linalg.norm(result)),
        "seconds_this_run": round(seconds, 2),
    }
    image_io.write_bytes_atomic(json.dumps(report, indent=2).encode(), stem + ".json",
                                overwrite=True)
    os.unlink(ckpt)
    return report
