"""A UAP training run: verified checkpoints every pass, resume, outputs, TensorBoard.

Outputs, for `output="out/uap.npy"`:
* `out/uap.npy`: the perturbation, float32 `[crop, crop, 3]` on the 0-255 scale;
* `out/uap.png`: a visualisation (scaled to the full 0-255 range around grey);
* `out/uap.json`: settings, the attacker's name and view (``"view"``:
  `pp_tf.models.preprocessing.View.to_dict`, what `protect` needs to place the
  perturbation), image count, per-pass fooling rates (training and held-out), the
  saved pass, changes accepted on resume. For an ensemble, ``"attacker"`` is the
  members' names comma-joined (``"attackers"``: the list), ``"view"`` the placement
  view (the first member's) and ``"member_views"`` every member's;
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
from pp_tf.attacker import Attacker, Ensemble, views_and_logits
from pp_tf.attacks import uap
from pp_tf.models import preprocessing

# Settings that cannot change the perturbation: they may differ on --resume.
FREE_SETTINGS = frozenset({"output", "logdir", "resume", "allow_changed", "show_progress"})
KEEP_CHECKPOINTS = 2


def checkpoint_folder(output: str) -> verified_checkpoints.CheckpointFolder:
    return verified_checkpoints.CheckpointFolder(output + ".ckpt", KEEP_CHECKPOINTS, name="pass")


def as_attackers(attacker) -> tuple[Attacker, ...]:
    """An `Attacker`, an `Ensemble` or a sequence of attackers -> a tuple of attackers."""
    if isinstance(attacker, Attacker):
        return (attacker,)
    if isinstance(attacker, Ensemble):
        return attacker.attackers
    attackers = tuple(attacker)
    if not attackers:
        raise ValueError("no attacker")
    return attackers


def placement_view(attacker) -> preprocessing.View:
    """The view `v` is made in and placed by (recorded in the .json): the first member's."""
    return as_attackers(attacker)[0].view


def training_size(attacker) -> tuple[int, int]:
    """(resize, crop) of the training images `train_uap` expects for `attacker`.

    One attacker: its own view (`v` is trained on exactly what it sees). An ensemble:
    the common photo space, each photo's shorter side resized to the placement view's
    `resize_size` and its centred square kept (every member's view of a photo lies in
    that square)."""
    view = placement_view(attacker)
    if len(as_attackers(attacker)) == 1:
        return view.resize_size, view.crop_size
    return view.resize_size, view.resize_size


def attacker_name(attacker) -> str:
    """The attacker's name; an ensemble's members comma-joined (`split_attacker_spec`
    splits it back)."""
    return ",".join(a.name for a in as_attackers(attacker))


def settings_record(attacker, images, config: uap.UAPConfig,
                    data_source: dict | None = None, holdout=None) -> dict:
    """What the perturbation depends on, flat: the config's fields, attacker, view, images."""
    record = {**dataclasses.asdict(config), "attacker": attacker_name(attacker),
              "view": placement_view(attacker).to_dict(), "data_source": data_source,
              "training_images": run_settings.array_identity(np.asarray(images)),
              "pp_tf_version": run_settings.version()}
    members = as_attackers(attacker)
    if len(members) > 1:
        record["member_views"] = [a.view.to_dict() for a in members]
    if holdout is not None:
        record["holdout_images"] = run_settings.array_identity(np.asarray(holdout))
    return record


def finished_record(report_path: str) -> dict | None:
    """The settings a finished run recorded in its report (`resume_point`'s `finished`),
    or None when there is no report."""
    if not os.path.exists(report_path):
        return None
    try:
        with open(report_path, encoding="utf-8") as handle:
            recorded = json.load(handle)["run_settings"]
    except (OSError, ValueError, KeyError, TypeError):
        raise run_settings.SettingsChangedError(
            f"{report_path}: a finished run whose settings are not recorded (an older pp_tf, "
            "or not a train_uap report); --resume cannot tell whether it matches: write the "
            "new run elsewhere") from None
    return {"settings": recorded, "where": report_path}


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


def make_trainer(attacker, config: uap.UAPConfig) -> uap.UAP:
    """The algorithm for `attacker` (one, or an ensemble) on images of `training_size`.

    One attacker: `v` is trained in its view, on its views of the photos. An ensemble
    (sgd mode): `v` lives in the placement view (the first member's); each training
    image is a photo in the common photo space (`training_size`), `v` is tiled on it as
    `pp_tf.perturbation.apply_perturbation(placement="tile", view=placement view)` tiles
    it on a photo, and each member then takes its own view of the sum (resize + centre
    crop, differentiable): the loss is the mean of the members' clipped CE, so the one
    pattern the protection places is what every member is trained against.
    """
    members = as_attackers(attacker)
    view = placement_view(attacker)
    if len(members) == 1:
        shape = (view.crop_size, view.crop_size, 3)
        logits = tf.function(members[0].logits,
                             input_signature=[tf.TensorSpec([None, *shape], tf.float32)])
        return uap.make(config, logits, shape)
    side = training_size(attacker)[1]
    shape = (side, side, 3)

    def ensemble_logits(photos):
        return tuple(logits for _, logits in views_and_logits(members, photos))

    logits = tf.function(ensemble_logits,
                         input_signature=[tf.TensorSpec([None, *shape], tf.float32)])
    return uap.make(config, logits, shape, (view.crop_size, view.crop_size, 3),
                    uap.tile_placement(view, side), len(members))


def train_uap(attacker, images: np.ndarray, config: uap.UAPConfig, output: str,
              resume: bool = False, logdir: str | None = None, show_progress: bool = True,
              allow_changed=(), data_source: dict | None = None, holdout=None) -> dict:
    """Computes a UAP for `attacker` on `images` and writes the outputs.

    `attacker`: an `Attacker`, or an ensemble (`Ensemble` or a sequence of attackers).
    `images`: `[n, s, s, 3]` in the space `training_size(attacker)` names (one
    attacker: its view; an ensemble: the common photo space, see `make_trainer`).
    `holdout`: images of photos kept out of training in the same space; their fooling
    rate picks the saved pass and decides the stop.

    Args:
        allow_changed: with `resume`, settings allowed to differ from the checkpoint's.
        data_source: where `images` came from (recorded and compared on resume).

    Raises:
        ValueError: `output` is not a .npy.
        pp_tf.verified_checkpoints.RunExistsError: checkpoints exist and `resume` is False.
        pp_tf.run_settings.SettingsChangedError: `resume` with settings that change the
            result, of an interrupted run or of the finished one at `output`.
        pp_tf.verified_checkpoints.CheckpointError: a checkpoint cannot be written, or
            `resume` finds checkpoints but none valid.
    """
    if not output.endswith(".npy"):
        raise ValueError(f"the output must be a .npy file, got {output}")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    if os.path.exists(output + ".ckpt.npz"):
        raise ValueError(f"{output}.ckpt.npz: a checkpoint in the format of an older pp_tf "
                         "(without settings or checksums); delete it to start again")
    folder = checkpoint_folder(output)
    settings = settings_record(attacker, images, config, data_source, holdout)
    report_path = output[: -len(".npy")] + ".json"
    point = verified_checkpoints.resume_point(
        folder, resume, settings, free=FREE_SETTINGS, allow_changed=allow_changed,
        finished=lambda: finished_record(report_path),
        old_defaults=dataclasses.asdict(uap.UAPConfig()))
    if point.finished:
        logging.info("%s: finished with these settings; nothing to do", output)
        with open(report_path, encoding="utf-8") as handle:
            return json.load(handle)
    restored, skipped, changes, state = point.entry, point.skipped, point.changes, None
    if restored is not None:
        state = load_state(restored.prefix + ".npz")
        logging.info("resumed from %s after pass %d", restored.prefix, state.passes_done)

    expected = training_size(attacker)[1]
    if np.shape(images)[1:3] != (expected, expected):
        raise ValueError(f"training images are {np.shape(images)[1:3]}, {attacker_name(attacker)} "
                         f"trains on {expected}x{expected} (uap_run.training_size)")
    trainer = make_trainer(attacker, config)
    labels = uap.predict_labels(trainer.logits_fn, images)
    use_holdout = holdout is not None and len(holdout) > 0
    holdout_labels = uap.predict_labels(trainer.logits_fn, holdout) if use_holdout else None
    writer = tf.summary.create_file_writer(logdir) if logdir else None
    bar = None
    if show_progress:
        from tqdm import tqdm

        done_passes = state.passes_done if state else 0
        bar = tqdm(total=trainer.total_passes(len(images)) * len(images),
                   initial=done_passes * len(images),
                   unit="img", desc="UAP", dynamic_ncols=True)

    def on_pass(current: uap.UAPState) -> None:
        content = state_bytes(current)
        folder.save(current.passes_done,
                    lambda prefix: image_io.write_bytes_atomic(content, prefix + ".npz",
                                                               overwrite=True),
                    {"settings": settings, "changes": changes})
        rate = current.history[-1]["fooling_rate"]
        heldout = current.history[-1].get("heldout_fooling_rate")
        if writer:
            with writer.as_default():
                tf.summary.scalar("fooling_rate", rate, step=current.passes_done)
                if heldout is not None:
                    tf.summary.scalar("heldout_fooling_rate", heldout, step=current.passes_done)
                tf.summary.scalar("perturbation_linf", float(np.abs(current.perturbation).max()),
                                  step=current.passes_done)
            writer.flush()
        if bar:
            bar.set_postfix(fooling_rate=f"{rate:.3f}",
                            **({"heldout": f"{heldout:.3f}"} if heldout is not None else {}))

    start = time.perf_counter()
    try:
        state = trainer.fit(images, labels, state, on_pass, bar.update if bar else None,
                            holdout=holdout, holdout_labels=holdout_labels)
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
    best = uap.best_entry(state.history, use_holdout)
    report = {
        "attacker": attacker_name(attacker),
        "attackers": [a.name for a in as_attackers(attacker)],
        "view": placement_view(attacker).to_dict(),
        "member_views": [a.view.to_dict() for a in as_attackers(attacker)],
        "training_space": ("attacker view" if len(as_attackers(attacker)) == 1 else
                           f"photo: shorter side {expected}, centred square, v tiled"),
        "settings": dataclasses.asdict(config),
        "images": int(len(images)),
        "heldout_images": int(len(holdout)) if holdout is not None else 0,
        "data_source": data_source,
        "fooling_rate_per_pass": state.history,
        # of the saved (best) pass: held-out when there are held-out images
        "fooling_rate": state.best_fooling_rate,
        "selected_by": "heldout_fooling_rate" if use_holdout else "fooling_rate",
        "best_pass": best["pass"] if best else None,
        "linf": float(np.abs(result).max()),
        "l2": float(np.linalg.norm(result)),
        "resumed_from": restored.prefix if restored else None,
        "skipped_checkpoints": skipped,
        "allowed_changes": changes,
        "run_settings": settings,  # what a later --resume onto this finished run is held to
        "pp_tf_version": run_settings.version(),
        "seconds_this_run": round(seconds, 2),
    }
    image_io.write_bytes_atomic(json.dumps(report, indent=2).encode(), stem + ".json",
                                overwrite=True)
    shutil.rmtree(folder.folder, ignore_errors=True)
    return report
