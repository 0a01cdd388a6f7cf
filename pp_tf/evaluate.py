"""Evaluating protection runs like MediaEval 2018 Pixel Privacy, and beyond:
will it still work after I post it, and against someone else's model?

For the originals and each protected run (photos matched by file stem), each
photo is decoded once and scored by every attacker, on the photo as saved and,
by default, after a simulated upload (`simulate_upload`). The columns of the
summary (one row per run x attacker) are declared in `pp_tf.results.COLUMNS`:

* with ground-truth labels (class indices of `labels_space`, Places365 by
  default; attackers of another label space get no accuracy): top-1 / top-5
  accuracy over all the attacker's classes (as saved and after upload), and,
  for a Places365 attacker, over the 60 MEPP18 sensitive categories;
* always: how often the attacker's top-1 changed from the original's, and how
  often the original top-1 is gone from the top 5, as saved and after upload;
* PSNR, SSIM and mean CIEDE2000 to the original, and what a person sees of the change:
  colour-undone SSIMULACRA2 (median, worst photo, share within the quality gate) and
  GMSD (`pp_tf.quality.measures`); photos whose size changed, e.g. crops, have none;
* NIMA mean score, its spread and its change from the original, when a NIMA
  SavedModel is given.

A run's `protect.json` (written by `protect`) names in `settings["attackers"]`
the attackers its methods were made against; every other attacker is unseen
for that run.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import typing
from typing import Sequence

import numpy as np
import tensorflow as tf
from PIL import Image

from pp_tf import batch, deprecation, image_io, metrics, report, results
from pp_tf.attacker import Attacker, load_attackers
from pp_tf.models import EVALUATED_ATTACKERS, preprocessing
from pp_tf.quality import measures, regions
from pp_tf.results import ORIGINAL

UPLOAD_SCALE = 0.75
UPLOAD_JPEG_QUALITY = 75
UPLOAD_RECIPE = (f"resized to {UPLOAD_SCALE:g}x (Pillow Lanczos, each side rounded to the nearest "
                 f"pixel) and saved as JPEG quality {UPLOAD_JPEG_QUALITY} (Pillow/libjpeg, 4:2:0 "
                 "chroma subsampling, baseline), as a photo-sharing site does")


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    original_dir: str
    protected_dirs: tuple[str, ...]
    attacker: str = EVALUATED_ATTACKERS  # one attacker spec, or several separated by commas
    nima: str | None = None
    labels: str | None = None
    labels_space: preprocessing.LabelSpace = "places365"  # of `labels`' class indices
    output_dir: str = "report"
    run_names: tuple[str, ...] | None = None
    after_upload: bool = True
    progress: bool = True
    # Runs may cover a subset of the originals (the demo's per-photo methods): a photo
    # without a protected version is then left out of that run, not an error.
    partial_runs: bool = False

    def __post_init__(self):
        spaces = typing.get_args(preprocessing.LabelSpace)
        if self.labels_space not in spaces:
            raise ValueError(f"labels_space must be one of {spaces}, got {self.labels_space!r}")


def simulate_upload(photo: np.ndarray) -> np.ndarray:
    """What a photo-sharing site makes of a photo: `UPLOAD_RECIPE`. Pure and deterministic.

    uint8 `[h, w, 3]` -> uint8 `[round(0.75 h), round(0.75 w), 3]` (at least 1 px a side).
    """
    image = Image.fromarray(np.asarray(photo, np.uint8))
    size = (max(int(round(image.width * UPLOAD_SCALE)), 1),
            max(int(round(image.height * UPLOAD_SCALE)), 1))
    image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=UPLOAD_JPEG_QUALITY, subsampling="4:2:0", optimize=False,
               progressive=False)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def thumbnail(photo: np.ndarray, size: int = results.THUMB) -> np.ndarray:
    """The photo with its longest side at most `size` (Pillow's antialiased thumbnail)."""
    image = Image.fromarray(photo)
    image.thumbnail((size, size))
    return np.asarray(image)


def center_crop(photo: np.ndarray, size: int = results.CROP) -> np.ndarray:
    """The centred `size` x `size` pixels (the whole side when smaller), unresampled."""
    height, width = photo.shape[:2]
    h, w = min(size, height), min(size, width)
    top, left = (height - h) // 2, (width - w) // 2
    return photo[top:top + h, left:left + w].copy()


def read_labels_csv(path: str) -> dict[str, int]:
    """`filename,label` rows (MEPP18 CSV; quotes and a header line are accepted)."""
    result = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or not row[1].strip().lstrip("-").isdigit():
                continue  # a header or a blank line
            result[os.path.basename(row[0].strip())] = int(row[1])
    if not result:
        raise ValueError(f"{path}: no filename,label rows")
    return result


def load_nima(path: str):
    """A function photo -> (mean score, std) from a NIMA SavedModel of port_weights."""
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures["serving_default"]

    def score(photo, _owner=loaded):
        out = serve(images=tf.constant(photo[None]))
        return float(out["mean_score"][0]), float(out["std_score"][0])

    return score


def trained_against(protected_dir: str) -> tuple[str, ...]:
    """The attacker names a run was made against, from its `protect.json` (none without one).

    `protect` writes them as `settings["attackers"]`, a list of attacker specs (an
    architecture name or a SavedModel folder, named here by its folder's name).
    """
    path = os.path.join(protected_dir, "protect.json")
    if not os.path.isfile(path):
        return ()
    with open(path, encoding="utf-8") as handle:
        listed = (json.load(handle).get("settings") or {}).get("attackers") or ()
    return tuple(dict.fromkeys(os.path.basename(os.path.normpath(name)) for name in listed))


def match_protected(original_paths, protected_dir):
    """{original name: protected path} by file stem (formats may differ, e.g. GIF -> PNG)."""
    by_stem = {os.path.splitext(os.path.basename(p))[0]: p for p in image_io.list_images(protected_dir)}
    return {os.path.basename(p): by_stem[os.path.splitext(os.path.basename(p))[0]]
            for p in original_paths if os.path.splitext(os.path.basename(p))[0] in by_stem}


def score_photo(run, name, path, photo, attackers, nima=None, after_upload=True,
                original=None) -> results.PhotoRecord:
    """Every measure of one decoded photo (and what the report shows of it)."""
    uploaded_photo = simulate_upload(photo) if after_upload else None
    probabilities, uploaded = {}, {}
    for attacker in attackers:
        probabilities[attacker.name] = attacker.predict(attacker.view(photo[None]).numpy())[0]
        if uploaded_photo is not None:
            uploaded[attacker.name] = attacker.predict(
                attacker.view(uploaded_photo[None]).numpy())[0]
    nima_mean = nima_std = psnr = ssim = ciede = quality = None
    if nima is not None:
        nima_mean, nima_std = nima(photo)
    if original is not None and original.shape == photo.shape:
        psnr = metrics.psnr(original, photo)
        ssim = metrics.ssim(original, photo) if min(photo.shape[:2]) >= 11 else None
        ciede = metrics.mean_ciede2000(original, photo)
        quality = measures.photo_quality(original, photo)
    naturalness = measures.naturalness(photo)
    reference = photo if original is None else original
    detail_crops = {}
    if reference.shape == photo.shape:
        corners = regions.smooth_and_textured(reference, results.DETAIL_CROP)
        detail_crops = {name: regions.crop_at(photo, corner, results.DETAIL_CROP)
                        for name, corner in corners.items()}
    return results.PhotoRecord(
        run=run, name=name, path=path, size=tuple(int(s) for s in photo.shape[:2]),
        thumbnail=thumbnail(photo), crop=center_crop(photo), probabilities=probabilities,
        uploaded=uploaded, nima_mean=nima_mean, nima_std=nima_std, psnr=psnr, ssim=ssim,
        ciede2000=ciede, ssimulacra2=quality and quality.ssimulacra2,
        gmsd=quality and quality.gmsd, brisque=naturalness, detail_crops=detail_crops)


def run_names(config: EvaluateConfig) -> tuple[str, ...]:
    names = config.run_names or tuple(os.path.basename(os.path.normpath(d))
                                      for d in config.protected_dirs)
    if len(names) != len(config.protected_dirs):
        raise ValueError(f"{len(names)} run names for {len(config.protected_dirs)} folders")
    if len(set(names)) != len(names) or ORIGINAL in names:
        raise ValueError(f"run names must be distinct and not {ORIGINAL!r}: {names}")
    return names


def evaluate(config: EvaluateConfig, attackers: Sequence[Attacker], nima=None,
             ground_truth: dict | None = None, log: batch.BatchLog | None = None
             ) -> results.Evaluation:
    """Scores the originals and every run with every attacker; writes nothing."""
    attackers = tuple(attackers)
    if not attackers or len({a.name for a in attackers}) != len(attackers):
        raise ValueError(f"need one or more attackers with distinct names: "
                         f"{[a.name for a in attackers]}")
    names = run_names(config)
    log = log or batch.BatchLog()
    original_paths = image_io.list_images(config.original_dir)
    matched = {run: match_protected(original_paths, folder)
               for run, folder in zip(names, config.protected_dirs)}
    by_run = {run: [] for run in (ORIGINAL,) + names}
    for path in log.progress(original_paths, "evaluate", config.progress, len(original_paths)):
        name = os.path.basename(path)
        try:
            photo = image_io.read_image(path)
            by_run[ORIGINAL].append(score_photo(ORIGINAL, name, path, photo, attackers, nima,
                                                config.after_upload))
        except Exception as error:  # noqa: BLE001 - one bad photo must not stop the batch
            log.fail(path, batch.describe_error(error))
            continue
        for run, folder in zip(names, config.protected_dirs):
            if name not in matched[run]:
                if not config.partial_runs:
                    log.fail(os.path.join(folder, name), "no protected version")
                continue
            try:
                protected = image_io.read_image(matched[run][name])
                by_run[run].append(score_photo(run, name, matched[run][name], protected,
                                               attackers, nima, config.after_upload, photo))
            except Exception as error:  # noqa: BLE001
                log.fail(matched[run][name], batch.describe_error(error))
    photos = tuple(p for run in by_run for p in by_run[run])
    infos = tuple(results.AttackerInfo(name=a.name, class_names=tuple(a.class_names),
                                       label_space=a.view.label_space) for a in attackers)
    made_against = {run: trained_against(folder)
                    for run, folder in zip(names, config.protected_dirs)}
    runs = (ORIGINAL,) + names
    return results.Evaluation(
        attackers=infos, runs=runs, photos=photos,
        summary=results.summarise(photos, infos, runs, ground_truth, made_against,
                                  config.labels_space),
        trained_against=made_against, errors=tuple(log.errors),
        upload_recipe=UPLOAD_RECIPE if config.after_upload else None,
        labelled=ground_truth is not None)


def run_evaluation(config: EvaluateConfig, attackers: Sequence[Attacker] | None = None,
                   nima=None) -> results.Evaluation:
    """Scores every run and writes the report (`report.write_report`); returns the
    evaluation with `paths` filled. `attackers` and `nima` default to those of `config`."""
    attackers = attackers or load_attackers(config.attacker)
    if nima is None and config.nima:
        nima = load_nima(config.nima)
    ground_truth = read_labels_csv(config.labels) if config.labels else None
    evaluation = evaluate(config, attackers, nima, ground_truth)
    paths = report.write_report(config.output_dir, evaluation)
    return dataclasses.replace(evaluation, paths=paths)


# Spelled `center_crop`, as Keras and TensorFlow spell it, since the vocabulary was made one.
__getattr__ = deprecation.moved(__name__, {"centre_crop": "pp_tf.evaluate:center_crop"})
