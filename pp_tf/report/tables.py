"""The evaluation as text: Markdown (one table per attacker), CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import math

from pp_tf.results import (COLUMNS, ORIGINAL, Evaluation, photo_marks, shown_columns,
                           top_labels, worst_photo)


def attacker_roles(evaluation: Evaluation) -> dict[str, tuple[str, ...]]:
    """attacker name -> the runs made against it (empty: unseen by every run)."""
    return {a.name: tuple(run for run in evaluation.runs
                          if a.name in evaluation.trained_against.get(run, ()))
            for a in evaluation.attackers}


def markdown(evaluation: Evaluation) -> str:
    lines = ["# pp_tf evaluation", ""]
    if evaluation.upload_recipe:
        lines += [f"After upload: every photo {evaluation.upload_recipe}, then scored again.", ""]
    roles = attacker_roles(evaluation)
    for attacker in evaluation.attackers:
        rows = [r for r in evaluation.summary if r.attacker == attacker.name]
        columns = shown_columns(rows)
        made = roles[attacker.name]
        lines += [f"## Attacker: `{attacker.name}`", "",
                  (f"Trained against by: {', '.join(made)}; unseen by the other runs."
                   if made else "Unseen: no run was made against this attacker."), "",
                  "| Run | " + " | ".join(c.header for c in columns) + " |",
                  "|---|" + "---|" * len(columns)]
        for row in rows:
            lines.append(f"| {row.run} | "
                         + " | ".join(c.text(row.values.get(c.key)) for c in columns) + " |")
        lines.append("")
    worst = worst_photos(evaluation)
    if worst:
        lines += ["## Worst photo of each run", "",
                  "By colour-undone SSIMULACRA2 (the quality gate's measure):", ""]
        lines += [f"- {w['run']}: {w['name']} ({w['ssimulacra2']:.1f})" for w in worst]
        lines.append("")
    return "\n".join(lines)


def worst_photos(evaluation: Evaluation) -> list[dict]:
    """{run, name, ssimulacra2} of each protected run's worst photo by colour-undone
    SSIMULACRA2 (runs without the measure, e.g. crops, are left out)."""
    result = []
    for run in evaluation.runs:
        photo = worst_photo([p for p in evaluation.photos if p.run == run])
        if run != ORIGINAL and photo is not None:
            result.append({"run": run, "name": photo.name, "ssimulacra2": photo.ssimulacra2})
    return result


def _csv_text(rows: list[dict], fields: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def summary_csv(evaluation: Evaluation) -> str:
    """Every declared column, whether filled or not: one schema for every evaluation."""
    return _csv_text([row.to_dict() for row in evaluation.summary],
                     ["run", "attacker", "trained_against"] + [c.key for c in COLUMNS])


PHOTO_FIELDS = ("run", "name", "attacker", "path", "height", "width", "top1", "top1_changed",
                "gone_from_top5", "top1_upload", "top1_changed_upload", "gone_from_top5_upload",
                "top3", "psnr", "ssim", "ciede2000", "ssimulacra2", "gmsd", "brisque",
                "nima_mean", "nima_std")


def photo_records(evaluation: Evaluation) -> list[dict]:
    """One record per photo and run, with each attacker's verdict."""
    originals = evaluation.photos_of(ORIGINAL)
    records = []
    for photo in evaluation.photos:
        verdicts = {}
        for attacker in evaluation.attackers:
            saved = photo_marks(photo, originals[photo.name], attacker)
            uploaded = photo_marks(photo, originals[photo.name], attacker, uploaded=True)
            verdicts[attacker.name] = {
                "top1": saved.top1,
                "top3": [{"label": n, "probability": p} for n, p in
                         top_labels(photo.probabilities[attacker.name], attacker.class_names)],
                "top1_changed": saved.changed if photo.run != ORIGINAL else None,
                "gone_from_top5": saved.gone if photo.run != ORIGINAL else None,
                "upload": None if uploaded is None else {
                    "top1": uploaded.top1, "top1_changed": uploaded.changed,
                    "gone_from_top5": uploaded.gone}}
        records.append({"run": photo.run, "name": photo.name, "path": photo.path,
                        "height": photo.size[0], "width": photo.size[1],
                        "psnr": photo.psnr, "ssim": photo.ssim, "ciede2000": photo.ciede2000,
                        "ssimulacra2": photo.ssimulacra2, "gmsd": photo.gmsd,
                        "brisque": photo.brisque,
                        "nima_mean": photo.nima_mean, "nima_std": photo.nima_std,
                        "attackers": verdicts})
    return records


def photos_csv(records: list[dict]) -> str:
    rows = []
    for record in records:
        for attacker, verdict in record["attackers"].items():
            upload = verdict["upload"] or {}
            rows.append({**record, "attacker": attacker, "top1": verdict["top1"],
                         "top1_changed": verdict["top1_changed"],
                         "gone_from_top5": verdict["gone_from_top5"],
                         "top1_upload": upload.get("top1"),
                         "top1_changed_upload": upload.get("top1_changed"),
                         "gone_from_top5_upload": upload.get("gone_from_top5"),
                         "top3": "; ".join(f"{t['label']} {t['probability']:.4f}"
                                           for t in verdict["top3"])})
    return _csv_text(rows, list(PHOTO_FIELDS))


def results_json(evaluation: Evaluation, records: list[dict]) -> str:
    return json.dumps(_finite({
        "attackers": [{"name": a.name, "label_space": a.label_space,
                       "trained_against_by": list(runs)}
                      for a, runs in zip(evaluation.attackers,
                                         attacker_roles(evaluation).values())],
        "after_upload": evaluation.upload_recipe,
        "columns": [{"key": c.key, "header": c.header, "better": c.better,
                     "description": c.description} for c in COLUMNS],
        "summary": [row.to_dict() for row in evaluation.summary],
        "worst_photos": worst_photos(evaluation),
        "photos": records, "errors": list(evaluation.errors)}),
        indent=2, ensure_ascii=False, allow_nan=False)


def _finite(value):
    """JSON has no inf or NaN (PSNR of an unchanged photo is inf): they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
