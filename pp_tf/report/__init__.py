"""Writing an evaluation (`pp_tf.results.Evaluation`) for people and programs.

`write_report(output_dir, evaluation)` writes:

* report.html: the summary table (sortable, best values marked), the
  trade-off chart (inline SVG), and every photo beside its protected versions
  with each attacker's verdict and 100% centre crops (`html`, `chart`);
* contact_sheet.png (`sheet`);
* report.md, summary.csv, photos.csv, results.json (`tables`) and errors.json
  (`pp_tf.batch.write_errors`);
* thumbs/<run>/<stem>.jpg and crops/<run>/<stem>.png, from the records: no
  photo is decoded again.
"""

from __future__ import annotations

import os

import numpy as np

from pp_tf import batch, image_io
from pp_tf.report import html, sheet, tables
from pp_tf.results import Evaluation

FILES = ("report.md", "summary.csv", "photos.csv", "results.json", "errors.json",
         "contact_sheet.png", "report.html")


def _write_text(path: str, text: str) -> None:
    image_io.write_bytes_atomic(text.encode("utf-8"), path, overwrite=True)


def _stem(name: str) -> str:
    return os.path.splitext(name)[0]


def write_images(output_dir: str, evaluation: Evaluation) -> dict:
    """Thumbnails (JPEG) and centre crops (PNG, lossless so the perturbation shows);
    returns {(run, name): {"thumb", "crop", "full"}} as paths relative to `output_dir`."""
    files = {}
    for record in evaluation.photos:
        thumb = os.path.join("thumbs", record.run, _stem(record.name) + ".jpg")
        crop = os.path.join("crops", record.run, _stem(record.name) + ".png")
        image_io.write_image(record.thumbnail, os.path.join(output_dir, thumb), "JPEG",
                             overwrite=True, jpeg_quality=88)
        image_io.write_image(record.crop, os.path.join(output_dir, crop), "PNG", overwrite=True)
        full = os.path.relpath(os.path.abspath(record.path), os.path.abspath(output_dir))
        files[(record.run, record.name)] = {"thumb": thumb.replace(os.sep, "/"),
                                            "crop": crop.replace(os.sep, "/"),
                                            "full": full.replace(os.sep, "/")}
    return files


def write_report(output_dir: str, evaluation: Evaluation) -> dict[str, str]:
    """Writes every report file; returns {file name: path}."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in FILES}
    records = tables.photo_records(evaluation)
    _write_text(paths["report.md"], tables.markdown(evaluation))
    _write_text(paths["summary.csv"], tables.summary_csv(evaluation))
    _write_text(paths["photos.csv"], tables.photos_csv(records))
    _write_text(paths["results.json"], tables.results_json(evaluation, records))
    batch.write_errors(output_dir, list(evaluation.errors))
    files = write_images(output_dir, evaluation)
    image_io.write_image(np.asarray(sheet.contact_sheet(evaluation)), paths["contact_sheet.png"],
                         "PNG", overwrite=True)
    _write_text(paths["report.html"], html.page(evaluation, files))
    return paths
