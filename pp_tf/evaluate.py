"""Evaluating protection runs like MediaEval 2018 Pixel Privacy, and beyond.

For the originals and each protected run (photos matched by file name), with
the attacker's predictions on each photo:

* with ground-truth labels: top-1 / top-5 accuracy over all the attacker's
  classes, and, for a Places365 attacker, over the 60 MEPP18 sensitive
  categories (the prediction restricted to those 60);
* always: how often the attacker's top-1 changed, and how often the original
  top-1 is still in the top 5;
* NIMA mean score (mean +- std over photos), when a NIMA SavedModel is given;
* PSNR and SSIM to the original (photos whose size changed, e.g. crops, have
  none).
"""

from __future__ import annotations

import csv
import dataclasses
import os

import numpy as np
import tensorflow as tf

from pp_tf import image_io, labels as labels_lib, metrics
from pp_tf.attacker import Attacker
from pp_tf.models import DEFAULT_ATTACKER

ORIGINAL = "original"


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    original_dir: str
    protected_dirs: tuple[str, ...]
    attacker: str = DEFAULT_ATTACKER
    nima: str | None = None
    labels: str | None = None
    output_dir: str = "report"
    run_names: tuple[str, ...] | None = None


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


@dataclasses.dataclass
class PhotoResult:
    run: str
    name: str  # the original's file name
    path: str
    size: tuple[int, int]
    probabilities: np.ndarray
    nima_mean: float | None = None
    nima_std: float | None = None
    psnr: float | None = None
    ssim: float | None = None


def load_nima(path: str):
    """A function photo -> (mean score, std) from a NIMA SavedModel of port_weights."""
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures["serving_default"]

    def score(photo, _owner=loaded):
        out = serve(images=tf.constant(photo[None]))
        return float(out["mean_score"][0]), float(out["std_score"][0])

    return score


def _score_photo(run, name, path, photo, attacker, nima, original=None):
    view = attacker.view(photo[None])
    probabilities = attacker.predict(view.numpy())[0]
    result = PhotoResult(run, name, path, photo.shape[:2], probabilities)
    if nima is not None:
        result.nima_mean, result.nima_std = nima(photo)
    if original is not None and original.shape == photo.shape:
        result.psnr = metrics.psnr(original, photo)
        result.ssim = metrics.ssim(original, photo) if min(photo.shape[:2]) >= 11 else None
    return result


def match_protected(original_paths, protected_dir):
    """{original name: protected path} by file stem (formats may differ, e.g. GIF -> PNG)."""
    by_stem = {os.path.splitext(os.path.basename(p))[0]: p for p in image_io.list_images(protected_dir)}
    return {os.path.basename(p): by_stem[os.path.splitext(os.path.basename(p))[0]]
            for p in original_paths if os.path.splitext(os.path.basename(p))[0] in by_stem}


def evaluate_runs(config: EvaluateConfig, attacker: Attacker, nima=None, errors=None):
    """Scores the originals and every run; returns `{run: [PhotoResult]}` in original order."""
    errors = [] if errors is None else errors
    names = config.run_names or tuple(os.path.basename(os.path.normpath(d))
                                      for d in config.protected_dirs)
    if len(set(names)) != len(names) or ORIGINAL in names:
        raise ValueError(f"run names must be distinct and not {ORIGINAL!r}: {names}")
    originals = {}
    results = {ORIGINAL: []}
    for path in image_io.list_images(config.original_dir):
        try:
            photo = image_io.read_image(path)
        except image_io.ImageError as error:
            errors.append({"file": path, "reason": error.reason})
            continue
        name = os.path.basename(path)
        originals[name] = photo
        results[ORIGINAL].append(_score_photo(ORIGINAL, name, path, photo, attacker, nima))
    original_paths = [os.path.join(config.original_dir, name) for name in originals]
    for run, folder in zip(names, config.protected_dirs):
        results[run] = []
        matched = match_protected(original_paths, folder)
        for name in originals:
            if name not in matched:
                errors.append({"file": os.path.join(folder, name), "reason": "no protected version"})
                continue
            try:
                photo = image_io.read_image(matched[name])
            except image_io.ImageError as error:
                errors.append({"file": matched[name], "reason": error.reason})
                continue
            results[run].append(_score_photo(run, name, matched[name], photo, attacker, nima,
                                             originals[name]))
    return results


def _mean(values):
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else None


def summarise(results: dict, attacker: Attacker, ground_truth: dict | None = None) -> list[dict]:
    """One row per run (the originals first) with every metric that applies."""
    originals = {r.name: r for r in results[ORIGINAL]}
    sensitive = labels_lib.mepp18_sensitive_indices() if attacker.view.label_space == "places365" else None
    rows = []
    for run, photos in results.items():
        row = {"run": run, "photos": len(photos)}
        probs = np.stack([r.probabilities for r in photos]) if photos else np.zeros((0, 1))
        if ground_truth is not None:
            labelled = [i for i, r in enumerate(photos) if r.name in ground_truth]
            y = np.array([ground_truth[photos[i].name] for i in labelled], np.int64)
            p = probs[labelled] if labelled else np.zeros((0, probs.shape[-1]))
            row["labelled"] = len(labelled)
            row["top1_all"] = metrics.top_k_accuracy(p, y, 1)
            row["top5_all"] = metrics.top_k_accuracy(p, y, 5)
            if sensitive is not None and len(p):
                in_task = np.isin(y, sensitive)
                p_task = metrics.restrict(p[in_task], sensitive)
                row["top1_sensitive"] = metrics.top_k_accuracy(p_task, y[in_task], 1)
                row["top5_sensitive"] = metrics.top_k_accuracy(p_task, y[in_task], 5)
        if run != ORIGINAL and photos:
            before = np.stack([originals[r.name].probabilities for r in photos])
            row["top1_changed"] = metrics.top1_change_rate(before, probs)
            row["original_top1_in_top5"] = metrics.original_top1_in_top_k(before, probs, 5)
        scores = [r.nima_mean for r in photos if r.nima_mean is not None]
        if scores:
            row["nima_mean"] = float(np.mean(scores))
            row["nima_std"] = float(np.std(scores))
        if run != ORIGINAL:
            row["psnr"] = _mean([r.psnr for r in photos])
            row["ssim"] = _mean([r.ssim for r in photos])
        rows.append(row)
    return rows


def run_evaluation(config: EvaluateConfig, attacker: Attacker | None = None) -> dict:
    """Scores every run and writes the report; returns the summary, paths and errors."""
    from pp_tf import report
    from pp_tf.attacker import load_attacker

    attacker = attacker or load_attacker(config.attacker)
    nima = load_nima(config.nima) if config.nima else None
    ground_truth = read_labels_csv(config.labels) if config.labels else None
    errors = []
    results = evaluate_runs(config, attacker, nima, errors)
    rows = summarise(results, attacker, ground_truth)
    paths = report.write_report(config.output_dir, rows, results, attacker.class_names,
                                attacker.name, errors)
    return {"summary": rows, "paths": paths, "errors": errors, "results": results}
