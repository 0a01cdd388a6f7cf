"""The quality measures (pp_tf.quality) against independent references, their order on known
distortions, and the quality gate of `protect`."""

import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import EXAMPLES
from pp_tf import image_io, protections
from pp_tf.protect import ProtectConfig, protect_folder
from pp_tf.quality import calibration, color_undo, gate, gmsd, measures, ssimulacra2

reference_ssimulacra2 = pytest.importorskip("ssimulacra2")


def bundled(name: str, size: int | None = None) -> np.ndarray:
    photo = image_io.read_image(os.path.join(EXAMPLES, name))
    if size:
        image = Image.fromarray(photo)
        image.thumbnail((size, size))
        photo = np.asarray(image)
    return photo


def package_score(tmp_path, reference: np.ndarray, distorted: np.ndarray) -> float:
    """The `ssimulacra2` package (PyPI, NumPy/SciPy) on the same two images, through PNG files."""
    Image.fromarray(reference).save(tmp_path / "reference.png")
    Image.fromarray(distorted).save(tmp_path / "distorted.png")
    return reference_ssimulacra2.compute_ssimulacra2(str(tmp_path / "reference.png"),
                                                     str(tmp_path / "distorted.png"))


@pytest.mark.parametrize("name, size, distortion", [
    ("baboon.jpg", None, "jpeg_q50"),  # 512 x 512: all six scales
    ("building.jpg", 400, "noise_sigma8"),  # 277 x 400, odd sides at every scale
    ("coffee.png", 300, "posterise_16"),
    ("butterfly.jpg", 90, "blur_1px"),  # 65 x 90: four scales, so shifted weights
])
def test_ssimulacra2_matches_the_python_package(tmp_path, name, size, distortion):
    photo = bundled(name, size)
    distorted = calibration.DISTORTIONS[distortion](photo)
    expected = package_score(tmp_path, photo, distorted)
    got = float(ssimulacra2.ssimulacra2(photo[None], distorted[None])[0])
    assert got == pytest.approx(expected, abs=0.02)


def test_ssimulacra2_of_a_copy_is_100_and_batches_are_independent():
    photo = bundled("astronaut.png", 256)
    noisy = calibration.noise(8)(photo)
    scores = ssimulacra2.ssimulacra2(np.stack([photo, photo]), np.stack([photo, noisy])).numpy()
    assert scores[0] == pytest.approx(100.0, abs=1e-3)
    alone = float(ssimulacra2.ssimulacra2(photo[None], noisy[None])[0])
    assert scores[1] == pytest.approx(alone, abs=1e-3) and alone < 90


def test_a_scored_reference_scores_many_candidates_as_each_alone():
    """The gate's search prepares the original once (`scored_reference`) and scores a batch
    of candidates against it: the scores of each photo scored alone."""
    photo = bundled("astronaut.png", 300)
    candidates = [calibration.noise(8)(photo), calibration.jpeg(30)(photo), photo]
    reference = measures.scored_reference(photo)
    ssimulacra2_scores, gmsd_scores = measures.scores_against(
        reference, tf.concat([measures.at_scored_size(c) for c in candidates], 0))
    for candidate, score, structure in zip(candidates, ssimulacra2_scores.numpy(),
                                           gmsd_scores.numpy()):
        alone = measures.photo_quality(photo, candidate)
        assert score == pytest.approx(alone.ssimulacra2, abs=1e-3)
        assert structure == pytest.approx(alone.gmsd, abs=1e-6)


def matlab_gmsd(reference: np.ndarray, distorted: np.ndarray) -> float:
    """GMSD as the authors' MATLAB code computes it, written out with explicit loops."""
    def luma(image):
        return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])

    def conv2_same(image, kernel):  # MATLAB conv2(image, kernel, 'same'), zeros outside
        kh, kw = kernel.shape
        top, left = (kh - 1) - (kh - 1) // 2, (kw - 1) - (kw - 1) // 2  # MATLAB's centre
        full = np.zeros((image.shape[0] + kh - 1, image.shape[1] + kw - 1))
        for i in range(kh):
            for j in range(kw):
                full[i:i + image.shape[0], j:j + image.shape[1]] += kernel[i, j] * image
        return full[top:top + image.shape[0], left:left + image.shape[1]]

    def halved(image):
        return conv2_same(luma(image), np.full((2, 2), 0.25))[::2, ::2]

    dx = np.array([[1, 0, -1]] * 3) / 3.0
    y1, y2 = halved(reference), halved(distorted)
    m1 = np.hypot(conv2_same(y1, dx), conv2_same(y1, dx.T))
    m2 = np.hypot(conv2_same(y2, dx), conv2_same(y2, dx.T))
    gms = (2 * m1 * m2 + 170.0) / (m1 ** 2 + m2 ** 2 + 170.0)
    return float(np.std(gms, ddof=1))


@pytest.mark.parametrize("name, distortion", [("baboon.jpg", "jpeg_q15"),
                                              ("coffee.png", "posterise_8"),
                                              ("building.jpg", "blur_2px")])
def test_gmsd_matches_the_authors_formula(name, distortion):
    photo = bundled(name, 121)  # odd sides: the halving's last row and column
    distorted = calibration.DISTORTIONS[distortion](photo)
    got = float(gmsd.gmsd(photo[None], distorted[None])[0])
    assert got == pytest.approx(matlab_gmsd(photo, distorted), rel=1e-4, abs=1e-6)
    assert float(gmsd.gmsd(photo[None], photo[None])[0]) == pytest.approx(0.0, abs=1e-6)


def test_color_undo_takes_back_a_smooth_grade_but_not_posterisation():
    photo = bundled("china_temple.jpg", 320)
    graded = np.clip(np.rint(255.0 * (photo / 255.0) ** np.array([0.7, 1.0, 1.4])), 0, 255
                     ).astype(np.uint8)
    raw = float(ssimulacra2.ssimulacra2(photo[None], graded[None])[0])
    undone = color_undo.undo_color(photo[None], graded[None])
    assert raw < 60
    assert float(ssimulacra2.ssimulacra2(photo[None], undone)[0]) > 85
    posterised = calibration.posterise(6)(photo)
    assert measures.photo_quality(photo, posterised).ssimulacra2 < 40


def test_color_undo_handles_a_grey_photo():
    grey = np.repeat(bundled("cameraman.png", 256)[..., :1], 3, axis=-1)
    quality = measures.photo_quality(grey, calibration.jpeg(75)(grey))
    assert np.isfinite(quality.ssimulacra2) and 70 < quality.ssimulacra2 < 100
    assert np.isfinite(quality.gmsd)


@pytest.mark.parametrize("family", [("jpeg_q90", "jpeg_q50", "jpeg_q15"),
                                    ("noise_sigma2", "noise_sigma8", "noise_sigma16"),
                                    ("posterise_64", "posterise_16", "posterise_8"),
                                    ("blur_1px", "blur_2px")])
def test_known_distortions_rank_in_order(family):
    """Each family from mild to strong: SSIMULACRA2 falls, GMSD rises, on every photo."""
    for name in ("baboon.jpg", "china_temple.jpg", "cameraman.png"):
        photo = bundled(name, 400)
        scores = [measures.photo_quality(photo, calibration.DISTORTIONS[d](photo))
                  for d in family]
        assert all(a.ssimulacra2 > b.ssimulacra2 for a, b in zip(scores, scores[1:])), name
        assert all(a.gmsd < b.gmsd for a, b in zip(scores, scores[1:])), name


def smooth_gradient(height: int = 72, width: int = 96) -> np.ndarray:
    """A sky-like photo: a smooth diagonal blue-to-orange gradient, nothing else."""
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    t = (0.6 * x + 0.4 * y)[..., None]
    sky, sunset = np.array([70.0, 120.0, 200.0]), np.array([230.0, 160.0, 90.0])
    return np.rint(sky + t * (sunset - sky)).astype(np.uint8)


def test_gate_takes_a_strong_attack_on_a_smooth_gradient_back_and_reports_it(tmp_path, capsys):
    """A strong PGD (many sign steps, a large budget) fills a smooth gradient with visible
    noise; `protect` must take it back to the gate and say so in the manifest."""
    import tiny_models

    model_path = str(tmp_path / "tiny.keras")
    tiny_models.trained_cnn().save(model_path)
    (tmp_path / "photos").mkdir()
    photo = smooth_gradient()
    Image.fromarray(photo).save(tmp_path / "photos" / "sky.png")
    strong = {"attacker": model_path, "xi": 48.0, "steps": 30, "step_norm": "sign",
              "random_start": True, "eot_samples": 0, "diversity": 0.0}
    runs = {}
    for name, min_quality in (("ungated", 0.0), ("gated", gate.DEFAULT)):
        config = ProtectConfig.from_values(("pgd",), strong, min_quality=min_quality)
        log = protect_folder(str(tmp_path / "photos"), str(tmp_path / name), config,
                             show_progress=False)
        assert not log.errors
        with open(tmp_path / name / "protect.json") as handle:
            record = json.load(handle)["photos"]["sky.png"]["quality"]
        runs[name] = (image_io.read_image(str(tmp_path / name / "sky.png")), record)
    ungated, ungated_record = runs["ungated"]
    gated, record = runs["gated"]
    # The attack alone breaks the gate by far, and nothing takes it back when it is off.
    assert ungated_record["strength"] == 1.0 and ungated_record["ssimulacra2"] < 40
    assert measures.photo_quality(photo, ungated).ssimulacra2 < 40
    # With the gate: taken back, the photo as written meets it, and the record says so.
    assert 0.0 <= record["strength"] < 1.0
    assert record["full_ssimulacra2"] == pytest.approx(ungated_record["ssimulacra2"], abs=0.5)
    written = measures.photo_quality(photo, gated)
    assert written.ssimulacra2 >= gate.DEFAULT
    assert record["ssimulacra2"] == pytest.approx(written.ssimulacra2, abs=0.01)
    assert record["within_gate"] is True
    # Naturalness of the output as written and of the original (a synthetic gradient is
    # far from a natural photo's statistics, so no order between them is asserted here).
    assert record["brisque"] == pytest.approx(measures.naturalness(gated), abs=1e-6)
    assert record["brisque_original"] == pytest.approx(measures.naturalness(photo), abs=1e-6)
    assert set(record["fooled"]) == {"tiny"}
    if not record["fooled"]["tiny"]:
        assert "sky.png" in capsys.readouterr().err
    # The gated photo is the blend at the recorded strength (within rounding).
    expected = gate.blend(photo, ungated, record["strength"])
    assert np.abs(gated.astype(int) - expected).max() <= 1


def test_gate_finds_nearly_the_largest_strength_a_grid_allows():
    """The strength search against brute force: every strength on a grid of 1/64 scored as
    the photo will be written (JPEG q95); the gate's strength passes, and no grid strength
    more than 1/32 above it does."""
    photo = bundled("baboon.jpg", 320)
    noisy = calibration.noise(24)(photo)
    saved = calibration.jpeg(95)
    quality_gate = gate.QualityGate(gate.DEFAULT)
    out, record, written = gate.hold(photo, noisy, quality_gate, saved)
    np.testing.assert_array_equal(written, saved(out))  # the pixels as written, scored once
    grid = np.arange(65) / 64
    scores = np.array([measures.photo_quality(photo, saved(gate.blend(photo, noisy, s)))
                       .ssimulacra2 for s in grid])
    assert scores[-1] < gate.DEFAULT < scores[0]
    assert measures.photo_quality(photo, saved(out)).ssimulacra2 >= gate.DEFAULT
    assert record["ssimulacra2"] < gate.DEFAULT + 3
    assert not np.any(scores[grid > record["strength"] + 1 / 32] >= gate.DEFAULT)
    assert 0 < record["strength"] < 1


def test_gate_blends_and_saves_in_strips_as_the_whole_photo_would_be(monkeypatch):
    """With a JPEG saver (`image_io.AsSaved`) the gate blends and re-encodes its candidates
    16 rows at a time here (a 300-row photo: 18 full strips and a short one); what it returns
    as written is what PIL reads back from the returned photo written whole."""
    monkeypatch.setattr(image_io, "JPEG_STRIP_ROWS", 16)
    photo = bundled("baboon.jpg", 320)[:300]
    noisy = calibration.noise(24)(photo)
    held = gate.hold(photo, noisy, gate.QualityGate(gate.DEFAULT), image_io.AsSaved("JPEG"))
    assert 0 < held.record["strength"] < 1
    data = io.BytesIO()
    Image.fromarray(held.photo).save(data, "JPEG", quality=95, subsampling=0)
    with Image.open(data) as read_back:
        np.testing.assert_array_equal(held.written, np.asarray(read_back.convert("RGB")))
    assert measures.photo_quality(photo, held.written).ssimulacra2 == pytest.approx(
        held.record["ssimulacra2"], abs=0.01)


def test_gate_passes_a_gentle_change_untouched_and_skips_a_crop():
    photo = bundled("baboon.jpg", 300)
    gentle = calibration.jpeg(90)(photo)
    out, record, written = gate.hold(photo, gentle, gate.QualityGate())
    assert out is gentle and written is gentle and record["strength"] == 1.0
    assert record["within_gate"]
    crop = photo[10:-10, 10:-10]
    out, record, _ = gate.hold(photo, crop, gate.QualityGate())
    assert out is crop and record == {"not_measured": "its size differs from the original's"}
    tiny = photo[:4, :4]
    assert gate.hold(tiny, tiny // 2, gate.QualityGate())[1] == {
        "not_measured": "smaller than 8 px"}


def test_gate_settings_are_checked():
    with pytest.raises(ValueError, match="min_quality"):
        gate.QualityGate(min_quality=120)
    with pytest.raises(ValueError, match="min_quality"):
        ProtectConfig(("noise",), min_quality=-1)
    assert "noise" in protections.names()


def test_regions_find_the_flat_sky_and_the_busy_ground():
    from pp_tf.quality import regions

    rng = np.random.default_rng(0)
    photo = np.zeros((200, 300, 3), np.uint8)
    photo[:100] = smooth_gradient(100, 300)  # a sky on top
    photo[100:] = rng.integers(0, 256, (100, 300, 3))  # grass below
    corners = regions.smooth_and_textured(photo, 64)
    assert corners["smooth"][0] + 64 <= 100  # wholly in the sky
    assert corners["textured"][0] >= 100  # wholly in the grass
    crop = regions.crop_at(photo, corners["smooth"], 64)
    assert crop.shape == (64, 64, 3)
    # A photo smaller than the window: the whole photo, at the corner.
    assert regions.smooth_and_textured(photo[:40, :50], 64) == {"smooth": (0, 0),
                                                                 "textured": (0, 0)}


@pytest.mark.parametrize("shape", [(3000, 4000), (5773, 8660), (300, 400), (200, 200),
                                   (100, 5000), (20000, 300)])
def test_scored_size_by_hand_and_in_a_graph(shape):
    """Half size, at most 3 MP (a 12 MP photo's half size), the shorter side at least 256 px
    and at most the photo's own; the graph's size, known only when it runs, is the same."""
    expected = {(3000, 4000): (1500, 2000), (5773, 8660): (1414, 2121),
                (300, 400): (256, 341), (200, 200): (200, 200), (100, 5000): (100, 5000),
                (20000, 300): (17067, 256)}[shape]
    assert measures.scored_size(shape) == expected
    in_graph = tf.function(lambda photo: tf.shape(measures.at_scored_size(photo))[1:3],
                           input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
    assert tuple(in_graph(tf.zeros((*shape, 3), tf.uint8)).numpy()) == expected
