"""Evaluation metrics against hand-computed cases, and the report files."""

import csv
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pp_tf import image_io, labels, metrics
from pp_tf.attacker import Attacker
from pp_tf.quality import measures
from pp_tf.evaluate import EvaluateConfig, read_labels_csv, run_evaluation
from pp_tf.results import AttackerInfo, PhotoRecord, summarise

PROBS = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])


def test_top_k_accuracy_by_hand():
    y = np.array([1, 2, 2, 1])
    assert metrics.top_k_accuracy(PROBS, y, 1) == 0.5  # argmax 1,0,2,0
    assert metrics.top_k_accuracy(PROBS, y, 2) == 1.0  # {1,2},{0,2},{2,1},{0,1}
    assert metrics.top_k_accuracy(PROBS, np.array([0, 0, 0, 2]), 2) == 0.25  # only row 1


def test_change_and_stay_rates_by_hand():
    protected = PROBS[[1, 1, 2, 2]]  # top-1: 0, 0, 2, 2 against 1, 0, 2, 0
    assert metrics.top1_change_rate(PROBS, protected) == 0.5
    # Original top-1 (1,0,2,0) in protected top-1 only (k=1): no, yes, yes, no.
    assert metrics.original_top1_in_top_k(PROBS, protected, 1) == 0.5
    assert metrics.original_top1_in_top_k(PROBS, protected, 3) == 1.0


def test_restrict_renormalises_over_the_subset():
    np.testing.assert_allclose(metrics.restrict(np.array([[0.1, 0.2, 0.3, 0.4]]), [1, 3]),
                               [[0, 1 / 3, 0, 2 / 3]])


def test_psnr_and_ssim_by_hand():
    a = np.full((32, 32, 3), 100, np.uint8)
    assert metrics.psnr(a, a + 5) == pytest.approx(10 * np.log10(255**2 / 25))
    assert metrics.psnr(a, a) == float("inf")
    assert metrics.ssim(a, a) == pytest.approx(1.0)


def test_sensitive_categories_restrict_a_places_attacker():
    """Photo A (label 7, amusement_park, sensitive): best class 3 overall, 7 among
    the 60. Photo B (label 0, airfield, not sensitive): counted over all classes only."""
    assert 7 in labels.mepp18_sensitive_indices() and 3 not in labels.mepp18_sensitive_indices()
    a, b = np.full(365, 1e-4), np.full(365, 1e-4)
    a[3], a[7] = 0.6, 0.3
    b[0] = 0.9
    attacker = AttackerInfo(name="places", class_names=labels.places365_class_names(),
                            label_space="places365")
    pixels = np.zeros((9, 9, 3), np.uint8)

    def record(name, probabilities):
        return PhotoRecord(run="original", name=name, path=name, size=(9, 9), thumbnail=pixels,
                           crop=pixels, uploaded={},
                           probabilities={"places": probabilities / probabilities.sum()})

    photos = (record("a.jpg", a), record("b.jpg", b))
    row, = summarise(photos, (attacker,), ("original",), {"a.jpg": 7, "b.jpg": 0})
    row = row.values
    assert row["top1_all"] == 0.5 and row["top1_sensitive"] == 1.0 and row["top5_all"] == 1.0
    # The labels are Places365 indices: an ImageNet attacker gets no accuracy from them.
    imagenet = AttackerInfo(name="places", class_names=labels.places365_class_names(),
                            label_space="imagenet")
    row, = summarise(photos, (imagenet,), ("original",), {"a.jpg": 7, "b.jpg": 0})
    assert row.values["top1_all"] is None and row.values["top5_all"] is None
    row, = summarise(photos, (imagenet,), ("original",), {"a.jpg": 7, "b.jpg": 0},
                     labels_space="imagenet")
    assert row.values["top1_all"] == 0.5
    with pytest.raises(ValueError, match="labels_space"):
        EvaluateConfig("originals", ("run",), labels_space="places")


def test_labels_csv_in_the_mepp18_format(tmp_path):
    path = tmp_path / "MEPP18val.csv"
    path.write_text('"Places365_val_00000013.jpg","49"\n"Places365_val_00000015.jpg","70"\n')
    assert read_labels_csv(str(path)) == {"Places365_val_00000013.jpg": 49,
                                          "Places365_val_00000015.jpg": 70}


def _colour_attacker():
    """Predicts the dominant colour channel: red, green or blue."""
    return Attacker("colour", lambda x: tf.reduce_mean(x, axis=[1, 2]) / 10.0,
                    ("red", "green", "blue"))


def _solid(path, rgb, size=(40, 30)):
    Image.new("RGB", size, rgb).save(path)


def test_run_evaluation_end_to_end_by_hand(tmp_path):
    originals, run = tmp_path / "originals", tmp_path / "recolour"
    originals.mkdir()
    run.mkdir()
    for name, rgb in [("r.png", (200, 10, 10)), ("g.png", (10, 200, 10)), ("b.png", (10, 10, 200))]:
        _solid(originals / name, rgb)
    _solid(run / "r.png", (10, 200, 10))  # red turned green: the top-1 changes
    _solid(run / "g.png", (10, 190, 10))
    _solid(run / "b.png", (10, 10, 200))
    (tmp_path / "labels.csv").write_text("file,label\nr.png,0\ng.png,1\nb.png,2\n")
    attacker = _colour_attacker()
    config = EvaluateConfig(str(originals), (str(run),), labels=str(tmp_path / "labels.csv"),
                            labels_space=attacker.view.label_space,
                            output_dir=str(tmp_path / "report"))
    result = run_evaluation(config, [attacker])
    original_row, run_row = (row.values for row in result.summary)
    assert original_row["top1_all"] == 1.0
    assert run_row["top1_all"] == pytest.approx(2 / 3)
    assert run_row["top1_changed"] == pytest.approx(1 / 3)
    assert run_row["gone_from_top5"] == 0.0  # only 3 classes: the original top-1 stays in the top 5
    assert run_row["psnr"] is not None and run_row["ssim"] < 1.0
    # PSNR by hand: r differs by (190, 190, 0), g by (0, 10, 0); b is identical (inf, left out).
    psnr_r, psnr_g = (10 * np.log10(255**2 / mse) for mse in (2 * 190**2 / 3, 10**2 / 3))
    assert run_row["psnr"] == pytest.approx((psnr_r + psnr_g) / 2)
    # Solid photos keep their dominant colour after the simulated upload: as saved.
    assert original_row["top1_changed_upload"] == 0.0
    assert run_row["top1_changed_upload"] == pytest.approx(1 / 3)

    paths = result.paths
    for path in paths.values():
        assert os.path.getsize(path) > 0, path
    assert json.load(open(paths["errors.json"])) == []
    # Every photo, originals too, has its no-reference naturalness, in the summary's
    # median and worst columns and in each photo's record.
    photos = json.load(open(paths["results.json"]))["photos"]
    assert len(photos) == 6
    for photo in photos:
        assert photo["brisque"] == pytest.approx(measures.naturalness(
            image_io.read_image(photo["path"])), abs=1e-6)
    run_scores = [p["brisque"] for p in photos if p["run"] == "recolour"]
    assert run_row["brisque_worst"] == pytest.approx(max(run_scores))
    assert run_row["brisque"] == pytest.approx(np.median(run_scores))
    assert "brisque_worst" in open(paths["summary.csv"]).readline().split(",")
    page = open(paths["report.html"], encoding="utf-8").read()
    for folder in ("original", "recolour"):
        for name in ("r", "g", "b"):
            thumb = f"thumbs/{folder}/{name}.jpg"
            assert thumb in page and os.path.exists(tmp_path / "report" / thumb)
    sheet = Image.open(paths["contact_sheet.png"])
    assert sheet.format == "PNG" and sheet.width >= 2 * 200 and sheet.height >= 3 * 200
    assert np.asarray(sheet).std() > 10  # thumbnails and text, not a blank page
    summary = list(csv.DictReader(open(paths["summary.csv"])))
    assert [row["run"] for row in summary] == ["original", "recolour"]
    # b.png sorts first
    first = json.load(open(paths["results.json"]))["photos"][0]
    assert first["attackers"]["colour"]["top1"] == "blue"
    assert "| recolour |" in open(paths["report.md"]).read()
