"""Per-photo protections as TF Serving models: the whole optimisation and the quality gate
inside one graph, for any photo size, equal to what `protect` writes."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import tiny_models
from conftest import ROOT
from pp_tf import image_io, protections, serving
from pp_tf.protections import pgd as pgd_protection
from pp_tf.quality import color_undo, gate, measures, ssimulacra2
from test_quality import smooth_gradient


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """pgd against the tiny CNN, with EOT draws and input diversity (random ops the two
    paths must draw alike)."""
    path = str(tmp_path_factory.mktemp("attacker") / "tiny.keras")
    tiny_models.trained_cnn().save(path)
    return {"attacker": path, "xi": 8.0, "steps": 4, "eot_samples": 2, "diversity": 0.5}


def textured_photo(height=70, width=90, seed=0):
    """A gradient with a textured patch: the texture mask gives the two regions different
    budgets."""
    photo = smooth_gradient(height, width).astype(np.int16)
    noise = np.random.default_rng(seed).integers(-40, 40, (height // 2, width // 2, 3))
    photo[:height // 2, :width // 2] += noise
    return np.clip(photo, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(70, 90), (41, 33)])
def test_pgd_servable_equals_protect(settings, shape):
    """One photo through `protect`'s per-photo function (named `SERVED_NAME`, so that both
    draw the same random numbers) and through the servable graph: within 1 grey level."""
    photo = textured_photo(*shape)
    method = protections.get("pgd")
    expected = method.build(method.make_settings(settings)).apply(
        photo, protections.PhotoContext(pgd_protection.SERVED_NAME))
    module = serving.protect_module("pgd", settings, min_quality=0)
    served = module.serve(tf.constant(photo[None]))["images"][0].numpy()
    assert served.shape == photo.shape
    assert np.abs(expected.astype(int) - photo).max() > 0  # the attack did change it
    assert np.abs(served.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("method", ["tone_curves", "color_lut"])
def test_colour_servables_equal_protect(settings, method):
    """The colour experiments' whole optimisation (Adam steps through EOT draws and input
    diversity) in the servable graph gives `protect`'s photo, within 1 grey level."""
    colour = {"attacker": settings["attacker"], "steps": 5, "eot_samples": 2,
              "diversity": 0.5, "learning_rate": 0.3, "look_weight": 0.0}
    photo = textured_photo(58, 76, seed=3)
    protection = protections.get(method)
    expected = protection.build(protection.make_settings(colour)).apply(
        photo, protections.PhotoContext(pgd_protection.SERVED_NAME))
    module = serving.protect_module(method, colour, min_quality=0)
    served = module.serve(tf.constant(photo[None]))["images"][0].numpy()
    assert np.abs(expected.astype(int) - photo).max() > 2  # the colours did change
    assert np.abs(served.astype(int) - expected).max() <= 1


def test_gate_in_a_graph_equals_hold():
    """`hold_tensor` traced once with unknown sizes gives `hold`'s photo and strength on
    photos of two sizes (one scored at half size, one under 256 px at its own size)."""
    hold = tf.function(lambda original, result: gate.hold_tensor(
        original, result, gate.QualityGate(gate.DEFAULT)),
        input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)] * 2)
    rng = np.random.default_rng(1)
    for shape in ((72, 96), (300, 520)):
        original = smooth_gradient(*shape)
        noisy = np.clip(original + rng.normal(0, 24, original.shape), 0, 255).astype(np.uint8)
        expected, record, _ = gate.hold(original, noisy, gate.QualityGate(gate.DEFAULT))
        photo, strength, quality = hold(original, noisy)
        assert 0 < record["strength"] < 1
        assert float(strength) == pytest.approx(record["strength"], abs=1e-4)
        assert float(quality) == pytest.approx(record["ssimulacra2"], abs=0.01)
        assert np.abs(photo.numpy().astype(int) - expected).max() <= 1
    assert len(hold.get_concrete_function().graph.as_graph_def().node) > 0


def test_ssimulacra2_without_known_shapes_equals_the_eager_score():
    """The measures traced with unknown sizes score as they do eagerly (six scales, and an
    image with three)."""
    rng = np.random.default_rng(2)
    for shape in ((300, 280), (40, 36)):
        original = smooth_gradient(*shape)
        noisy = np.clip(original + rng.normal(0, 8, original.shape), 0, 255).astype(np.uint8)
        reference, distorted = measures.at_scored_size(original), measures.at_scored_size(noisy)
        eager = float(ssimulacra2.ssimulacra2(  # op by op, with the sizes known
            reference, color_undo.undo_color(reference, distorted))[0])
        graph, _ = measures.scores_against(measures.scored_reference(original), distorted)
        assert float(graph[0]) == pytest.approx(eager, abs=1e-3)


@pytest.mark.slow
def test_gated_pgd_export_protects_jpeg_bytes_in_a_fresh_process(settings, tmp_path):
    """`export_serving` writes `protect_pgd`; a fresh process loads it and sends JPEG bytes
    through `protect_bytes`: a JPEG of the same size comes back, changed, and held to the
    gate (the ungated result of a strong attack would break it)."""
    strong = {**settings, "xi": 48.0, "steps": 6, "step_norm": "sign", "random_start": True,
              "mask_floor": 1.0}
    names = serving.export_models(["protect_pgd"], str(tmp_path), 1, strong)
    assert names == ["protect_pgd"]
    photo = smooth_gradient(96, 128)
    source = tmp_path / "sky.jpg"
    Image.fromarray(photo).save(source, quality=95)
    script = (
        "import sys, tensorflow as tf\n"
        "loaded = tf.saved_model.load(sys.argv[1])\n"
        "data = open(sys.argv[2], 'rb').read()\n"
        "out = loaded.signatures['protect_bytes'](image_bytes=tf.constant([data]))\n"
        "open(sys.argv[3], 'wb').write(out['protected_bytes'][0].numpy())\n")
    output = tmp_path / "protected.jpg"
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "protect_pgd" / "1"),
                    str(source), str(output)], check=True, cwd=ROOT,
                   env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert output.read_bytes()[:2] == b"\xff\xd8"
    original = image_io.read_image(str(source))
    protected = image_io.read_image(str(output))
    assert protected.shape == original.shape
    assert np.abs(protected.astype(int) - original).max() > 2
    ungated = serving.protect_module("pgd", strong, min_quality=0).serve(
        tf.constant(original[None]))["images"][0].numpy()
    assert measures.photo_quality(original, ungated).ssimulacra2 < gate.DEFAULT - 10
    # Judged before its JPEG encode (q95), the served photo met the gate; after it, nearly.
    assert measures.photo_quality(original, protected).ssimulacra2 >= gate.DEFAULT - 3
