"""The report: every declared column in every output, photos decoded once, the
simulated upload against TensorFlow's own resize and JPEG, and the HTML page and
contact sheet checked against numbers worked out by hand."""

import csv
import html.parser
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pp_tf import image_io, labels
from pp_tf.attacker import Attacker
from pp_tf.evaluate import EvaluateConfig, run_evaluation, simulate_upload
from pp_tf.models import preprocessing
from pp_tf.report import sheet
from pp_tf.results import COLUMNS

SENSITIVE = labels.mepp18_sensitive_indices()
RED_CLASS, GREEN_CLASS, BLUE_CLASS = 7, int(SENSITIVE[1]), 3  # 3 is not one of the 60
NAMES = ("b.png", "g.png", "r.png")


def colour_attacker():
    """3 classes: the dominant colour channel."""
    return Attacker("colour", lambda x: tf.reduce_mean(x, axis=[1, 2]) / 10.0,
                    ("red", "green", "blue"))


def places_attacker():
    """365 Places classes; a channel's class scores (that channel - the others) / 10, so a
    photo that turns from red to green drops class 7 below the 362 classes at 0."""
    weights = np.zeros((3, 365), np.float32)
    for channel, cls in enumerate((RED_CLASS, GREEN_CLASS, BLUE_CLASS)):
        weights[:, cls] = -1.0
        weights[channel, cls] = 1.0
    weights = tf.constant(weights / 10.0)
    view = preprocessing.View(resize_size=64, crop_size=32, label_space="places365")
    return Attacker("places", lambda x: tf.reduce_mean(x, axis=[1, 2]) @ weights,
                    labels.places365_class_names(), view)


def fake_nima(photo):
    """A stand-in NIMA: mean brightness on a 0-10 scale."""
    return float(photo.mean() / 25.5), 1.0


def _textured(rgb, seed, size=(48, 40)):
    noise = np.random.default_rng(seed).integers(-20, 21, (size[1], size[0], 3))
    return np.clip(np.array(rgb) + noise, 0, 255).astype(np.uint8)


def make_runs(root):
    """originals/ (r, g, b), recolour/ (r turned green; protect.json: made against colour),
    crop/ (the centre 80%, no protect.json), labels.csv."""
    folders = {name: root / name for name in ("originals", "recolour", "crop")}
    for folder in folders.values():
        folder.mkdir()
    for seed, (name, rgb) in enumerate([("r.png", (200, 30, 30)), ("g.png", (30, 200, 30)),
                                        ("b.png", (30, 30, 200))]):
        photo = _textured(rgb, seed)
        Image.fromarray(photo).save(folders["originals"] / name)
        recoloured = photo[..., [1, 0, 2]] if name == "r.png" else photo  # r: swap R and G
        if name == "g.png":
            recoloured = (photo * 0.9).astype(np.uint8)
        Image.fromarray(recoloured).save(folders["recolour"] / name)
        Image.fromarray(photo[5:-5, 4:-4]).save(folders["crop"] / name)
    (folders["recolour"] / "protect.json").write_text(json.dumps(
        {"tool": "protect", "settings": {"methods": ["recolour"], "attackers": ["colour"]}}))
    (root / "labels.csv").write_text(f"r.png,{RED_CLASS}\ng.png,{GREEN_CLASS}\n"
                                     f"b.png,{BLUE_CLASS}\n")
    return folders


def make_report(root, after_upload=True):
    folders = make_runs(root)
    config = EvaluateConfig(original_dir=str(folders["originals"]),
                            protected_dirs=(str(folders["recolour"]), str(folders["crop"])),
                            labels=str(root / "labels.csv"), output_dir=str(root / "report"),
                            after_upload=after_upload, progress=False)
    return run_evaluation(config, [places_attacker(), colour_attacker()], nima=fake_nima)


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    return make_report(tmp_path_factory.mktemp("report"))


class _Tables(html.parser.HTMLParser):
    """Header texts and body rows of `table#summary`, and links and images on the page."""

    def __init__(self):
        super().__init__()
        self.headers, self.rows, self.links, self.images = [], [], [], []
        self._in_summary = self._in_body = self._in_th = False
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._in_summary = attrs.get("id") == "summary"
        elif self._in_summary and tag == "tbody":
            self._in_body = True
        elif self._in_summary and tag == "th":
            self._in_th, self._text = True, ""
        elif self._in_summary and self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_summary and self._in_body and tag == "td":
            self.rows[-1].append(attrs.get("class") or "")
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "th" and self._in_th:
            self.headers.append(self._text.strip())
            self._in_th = False
        elif tag == "table":
            self._in_summary = self._in_body = False

    def handle_data(self, data):
        if self._in_th:
            self._text += data


def parse_page(path):
    parser = _Tables()
    parser.feed(open(path, encoding="utf-8").read())
    return parser


def test_every_declared_column_reaches_csv_markdown_and_html(evaluation):
    paths = evaluation.paths
    header = next(csv.reader(open(paths["summary.csv"], encoding="utf-8")))
    assert header == ["run", "attacker", "trained_against"] + [c.key for c in COLUMNS]
    markdown = open(paths["report.md"], encoding="utf-8").read()
    page = parse_page(paths["report.html"])
    assert page.headers[:2] == ["Run", "Attacker"]
    for column in COLUMNS:  # this evaluation fills every column: labels, NIMA, upload, places
        assert f" {column.header} |" in markdown, column.key
        assert column.header in page.headers, column.key
    assert len(page.headers) == 2 + len(COLUMNS)
    summary = json.load(open(paths["results.json"], encoding="utf-8"))["summary"]
    assert all(set(row) == set(header) for row in summary)


def test_rows_are_runs_by_attackers_with_roles_from_protect_json(evaluation):
    rows = [(r.run, r.attacker, r.trained_against) for r in evaluation.summary]
    assert rows == [("original", "places", None), ("recolour", "places", False),
                    ("crop", "places", False), ("original", "colour", None),
                    ("recolour", "colour", True), ("crop", "colour", False)]
    assert len(parse_page(evaluation.paths["report.html"]).rows) == 6


def test_summary_numbers_by_hand(evaluation):
    row = {(r.run, r.attacker): r.values for r in evaluation.summary}
    # r.png turned green: the only top-1 change, for both attackers; for places (365
    # classes) class 7 falls to -(G - R - B)/10 < 0 and leaves the top 5; for colour
    # (3 classes) it cannot.
    assert row["recolour", "places"]["top1_changed"] == pytest.approx(1 / 3)
    assert row["recolour", "places"]["gone_from_top5"] == pytest.approx(1 / 3)
    assert row["recolour", "colour"]["gone_from_top5"] == 0.0
    assert row["crop", "colour"]["top1_changed"] == 0.0
    # Uploading a photo keeps its dominant colour: the originals' baseline is 0.
    assert row["original", "colour"]["top1_changed_upload"] == 0.0
    assert row["recolour", "colour"]["top1_changed_upload"] == pytest.approx(1 / 3)
    assert row["original", "colour"]["top1_changed"] is None  # nothing to compare as saved
    # Labels r: 7, g: a sensitive class, b: 3 (not sensitive); each predicted right on the
    # originals; recolour gets r wrong. Over the 60: r and g only.
    assert row["original", "places"]["top1_all"] == 1.0
    assert row["recolour", "places"]["top1_all"] == pytest.approx(2 / 3)
    assert row["recolour", "places"]["top1_sensitive"] == pytest.approx(1 / 2)
    assert row["recolour", "places"]["labelled"] == 3
    assert row["original", "colour"]["top1_sensitive"] is None  # not a Places365 attacker
    # Crops change the size: no pixel comparison.
    assert row["crop", "colour"]["psnr"] is None and row["crop", "colour"]["ciede2000"] is None
    # fake NIMA = mean / 25.5: a channel swap keeps the mean; g.png was scaled by 0.9
    # (floor), b.png untouched.
    g = np.asarray(Image.open(evaluation.photos_of("original")["g.png"].path))
    expected = ((g * 0.9).astype(np.uint8).mean() - g.mean()) / 25.5 / 3
    assert row["recolour", "colour"]["nima_change"] == pytest.approx(expected, abs=1e-6)


def test_photos_are_decoded_once(tmp_path, monkeypatch):
    calls = []
    read_image = image_io.read_image

    def counting(path, *args, **kwargs):
        calls.append(os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path))
        return read_image(path, *args, **kwargs)

    monkeypatch.setattr(image_io, "read_image", counting)
    make_report(tmp_path)
    assert sorted(calls) == sorted(f"{folder}/{name}" for folder in ("originals", "recolour",
                                                                     "crop") for name in NAMES)


def test_simulate_upload_matches_tensorflow_resize_and_jpeg():
    """TensorFlow's Lanczos-3 (antialiased) resize and its libjpeg at quality 75, 4:2:0,
    are within rounding of the recipe; quality 95 or 50 are clearly not."""
    photo = np.asarray(Image.open(os.path.join(os.path.dirname(__file__), "..", "examples",
                                               "coffee.png")).convert("RGB"))
    uploaded = simulate_upload(photo)
    assert uploaded.shape == (300, 450, 3) and uploaded.dtype == np.uint8  # 400x600 -> 0.75
    np.testing.assert_array_equal(simulate_upload(photo), uploaded)  # deterministic
    resized = tf.image.resize(photo[None].astype(np.float32), (300, 450), method="lanczos3",
                              antialias=True)[0]
    resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)

    def error(quality):
        reference = tf.io.decode_jpeg(tf.io.encode_jpeg(resized, quality=quality,
                                                        chroma_downsampling=True)).numpy()
        return np.abs(reference.astype(int) - uploaded.astype(int)).mean()

    assert error(75) < 2.0
    assert error(95) > 3.0 and error(50) > 3.0


def test_simulate_upload_is_antialiased():
    """A one-pixel checkerboard is above the new Nyquist limit: Lanczos averages it to grey
    (a nearest-neighbour resize would keep black and white)."""
    y, x = np.mgrid[0:200, 0:240]
    board = np.repeat(np.where((x + y) % 2 == 0, 255, 0).astype(np.uint8)[..., None], 3, -1)
    uploaded = simulate_upload(board)
    assert uploaded.shape == (150, 180, 3)
    assert abs(uploaded.mean() - 127.5) < 2 and uploaded.std() < 5


def test_html_page(evaluation):
    root = os.path.dirname(evaluation.paths["report.html"])
    text = open(evaluation.paths["report.html"], encoding="utf-8").read()
    for markdown_syntax in ("|---", "`", "**"):
        assert markdown_syntax not in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text
    page = parse_page(evaluation.paths["report.html"])
    # Best of "Top-1 changed" (higher is better): recolour, 1/3, for both attackers.
    column = page.headers.index("Top-1 changed")
    best = [i for i, row in enumerate(page.rows) if row[column] == "best"]
    assert best == [1, 4]  # (recolour, places) and (recolour, colour)
    assert "<svg" in text and "<circle" in text and "<polygon" in text  # trained and unseen
    assert "trained against" in text and "unseen" in text and "After upload" in text
    for name in NAMES:
        assert name in text
    for link in page.links:  # every thumbnail opens the full-size photo
        assert os.path.isfile(os.path.join(root, link)), link
    assert len(page.links) == 9
    # The centre crop of each photo, losslessly, at native resolution (48x40 -> all of it
    # up to 160; the crop run is 40x30).
    crop = np.asarray(Image.open(os.path.join(root, "crops", "crop", "r.png")))
    original = np.asarray(Image.open(os.path.join(root, "..", "crop", "r.png")))
    np.testing.assert_array_equal(crop, original)
    assert all(os.path.isfile(os.path.join(root, src)) for src in page.images)


def test_contact_sheet_marks(evaluation):
    """places is the first attacker: r.png of recolour changed (orange frame) and left the
    top 5 (red tag); nothing else did."""
    pixels = np.asarray(Image.open(evaluation.paths["contact_sheet.png"]).convert("RGB"))
    orange = np.all(pixels == sheet.CHANGED, axis=-1)
    red = np.all(pixels == sheet.GONE, axis=-1)
    assert orange.any() and red.any()
    ys, xs = np.nonzero(orange)
    # recolour is the second column; r.png the third row (names sort b, g, r).
    column = (xs.min() - sheet.PAD) // (200 + sheet.PAD)
    assert column == 1 and xs.max() < sheet.PAD + 2 * (200 + sheet.PAD)
    assert ys.min() > pixels.shape[0] * 2 // 3


def test_markdown_has_a_table_per_attacker(evaluation):
    markdown = open(evaluation.paths["report.md"], encoding="utf-8").read()
    assert "## Attacker: `places`" in markdown and "## Attacker: `colour`" in markdown
    assert "Trained against by: recolour" in markdown
    assert markdown.count("| recolour |") == 2


def test_without_upload_the_upload_columns_are_empty(tmp_path):
    evaluation = make_report(tmp_path, after_upload=False)
    assert all(r.values["top1_changed_upload"] is None for r in evaluation.summary)
    assert "Gone from top-5 after upload" not in open(evaluation.paths["report.md"]).read()


def test_an_empty_folder_still_gives_a_report(tmp_path):
    (tmp_path / "originals").mkdir()
    (tmp_path / "run").mkdir()
    config = EvaluateConfig(original_dir=str(tmp_path / "originals"),
                            protected_dirs=(str(tmp_path / "run"),),
                            output_dir=str(tmp_path / "report"), progress=False)
    evaluation = run_evaluation(config, [colour_attacker()])
    assert [(r.run, r.values["photos"]) for r in evaluation.summary] == [("original", 0),
                                                                         ("run", 0)]
    assert evaluation.exit_status == 0
    assert "| run | 0 |" in open(evaluation.paths["report.md"]).read()
