"""The adversarial colour filter (pp_tf.attacks.tone_curves, method `tone_curves`)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import tiny_models
from pp_tf import export
from pp_tf.attacks import color_attack, fooling
from pp_tf.attacks import tone_curves as cf
from pp_tf.protect import ProtectConfig
from pp_tf.protections import _color as color_protection
from test_pgd import other_attacker, protect_noise_photos, tiny_attacker


def test_the_curve_is_the_identity_at_init_and_monotone_for_any_theta(rng):
    x = np.linspace(0, 1, 1001, dtype=np.float32)[:, None].repeat(3, 1)
    for theta in (cf.identity_theta(32), cf.look_theta("natural", 32)):
        np.testing.assert_allclose(cf.curve(x, theta).numpy(), x, atol=1e-6)
        np.testing.assert_allclose(cf.apply_curve(x, theta).numpy(), x, atol=1e-6)
    np.testing.assert_array_equal(cf.lookup_table(cf.identity_theta(32)),
                                  np.arange(256, dtype=np.uint8)[None].repeat(3, 0))
    for pieces in (2, 7, 32):
        theta = rng.uniform(0, 3, (3, pieces)).astype(np.float32)
        theta[0, ::2] = 0  # flat pieces are allowed
        y = cf.curve(x, theta).numpy()
        assert (np.diff(y, axis=0) >= -1e-6).all()
        np.testing.assert_allclose(y[0], 0, atol=1e-6)
        np.testing.assert_allclose(y[-1], 1, atol=1e-5)
        # The interpolation form is the paper's formula.
        np.testing.assert_allclose(cf.apply_curve(x, theta).numpy(), y, atol=1e-5)


def test_the_lookup_table_at_full_resolution_is_the_curve_on_every_pixel(rng):
    photo = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    theta = rng.uniform(0.1, 2, (3, 32)).astype(np.float32)
    table = cf.lookup_table(theta)
    assert table.shape == (3, 256) and table.dtype == np.uint8
    out = cf.apply_lookup_table(photo, table)
    direct = np.clip(np.rint(cf.curve(photo / 255.0, theta).numpy() * 255), 0, 255)
    np.testing.assert_array_equal(out, direct.astype(np.uint8))
    for c in range(3):  # monotone per channel
        assert (np.diff(table[c].astype(int)) >= 0).all()


@pytest.mark.parametrize("look", color_attack.LOOKS)
def test_looks_are_monotone_curves_from_0_to_1(look):
    x = np.linspace(0, 1, 256)
    y = color_attack.look_curve(look, x)
    assert (np.diff(y, axis=0) >= 0).all()
    np.testing.assert_allclose(y[0], 0, atol=1e-6)
    np.testing.assert_allclose(y[-1], 1, atol=1e-6)
    theta = cf.look_theta(look, 32)
    assert (theta >= 0).all()
    np.testing.assert_allclose(cf.curve(x[:, None].repeat(3, 1), theta).numpy(), y, atol=0.02)
    if look != "natural":
        assert np.abs(y - x[:, None]).max() > 0.03


def test_the_filter_fools_through_eot_and_keeps_the_curve_monotone():
    attackers = (tiny_attacker(), other_attacker())
    images, _ = tiny_models.synthetic_images(1, seed=7)
    config = cf.ToneCurvesConfig(steps=15, learning_rate=0.05, look_weight=1.0,
                                  eot_samples=2, confidence=5.0)
    attack = cf.ToneCurves(attackers, config)
    photos = tf.constant(images)
    labels = fooling.clean_labels(attackers, photos)
    start = cf.look_theta("natural", 32)
    theta = attack(photos, labels, seed=(1, 2))
    assert theta.shape == (3, 32) and (theta >= 0).all() and np.isfinite(theta).all()
    assert not np.allclose(theta, start)
    seed = tf.constant([5, 5])
    before = attack.objective(photos, tf.constant(start), labels, seed)[1]
    after = attack.objective(photos, tf.constant(theta), labels, seed)[1]
    assert float(tf.add_n(list(after))[0]) > float(tf.add_n(list(before))[0])


@pytest.mark.parametrize("look", ["natural", "warm"])
def test_the_photo_look_distance_is_the_mean_squared_change_from_the_look_on_the_pixels(
        rng, look):
    """With `look_distance="photo"` the penalised distance is the mean over the photo's pixels
    of (filtered - photo through the look's curve)^2 on the 0-1 scale; reference: numpy
    interpolation between the knots (cumulative theta; the look's curve at k/K)."""
    pieces = 8
    attacker = tiny_attacker()
    photos = rng.integers(0, 256, (2, 20, 30, 3)).astype(np.float32)
    theta = rng.uniform(0.2, 2.0, (3, pieces)).astype(np.float32)
    attack = cf.ToneCurves([attacker], cf.ToneCurvesConfig(
        pieces=pieces, look=look, look_distance="photo", eot_samples=0, diversity=0.0))
    labels = fooling.clean_labels([attacker], photos)
    distance = attack.objective(tf.constant(photos), tf.constant(theta), labels,
                                tf.constant([0, 0]))[2]
    grid = np.linspace(0, 1, pieces + 1)
    knots = np.concatenate([np.zeros((3, 1)), np.cumsum(theta, 1) / theta.sum(1, keepdims=True)], 1)
    target = color_attack.look_curve(look, grid)
    x = photos / 255.0
    filtered = np.stack([np.interp(x[..., c], grid, knots[c]) for c in range(3)], -1)
    looked = np.stack([np.interp(x[..., c], grid, target[:, c]) for c in range(3)], -1)
    np.testing.assert_allclose(float(distance), np.mean((filtered - looked) ** 2), rtol=1e-4)
    # the steps pass the look photo computed once: the same distance
    once = attack.objective(tf.constant(photos), tf.constant(theta), labels, tf.constant([0, 0]),
                            looked=tf.constant(looked, tf.float32))[2]
    np.testing.assert_allclose(float(once), float(distance), rtol=1e-4)
    with pytest.raises(ValueError, match="look_distance"):
        cf.ToneCurvesConfig(look_distance="histogram")
    with pytest.raises(ValueError, match="objective"):
        cf.ToneCurvesConfig(objective="margin")


def test_the_band_projection_keeps_a_monotone_curve_within_max_change_of_the_look(rng):
    pieces = 16
    centre = cf.knots(cf.look_theta("warm", pieces))
    theta = rng.uniform(0, 4, (3, pieces)).astype(np.float32)
    theta[1, :8] = 0  # a flat start: far below the look
    projected = cf.project_to_band(tf.constant(theta), centre, 0.05).numpy()
    assert (projected >= -1e-7).all()
    x = np.linspace(0, 1, 1001)
    y = cf.curve(x[:, None].repeat(3, 1).astype(np.float32), projected).numpy()
    look_knots = color_attack.look_curve("warm", np.linspace(0, 1, pieces + 1))
    look = np.stack([np.interp(x, np.linspace(0, 1, pieces + 1), look_knots[:, c])
                     for c in range(3)], -1)
    assert np.abs(y - look).max() <= 0.05 + 1e-5
    assert (np.diff(y, axis=0) >= -1e-6).all()
    # a curve already inside the band is left as it is (up to theta's scale)
    inside = cf.look_theta("warm", pieces) * rng.uniform(0.98, 1.02, (3, pieces)).astype(np.float32)
    np.testing.assert_allclose(cf.knots(cf.project_to_band(tf.constant(inside), centre, 0.05)),
                               cf.knots(inside), atol=1e-6)


def test_max_change_bounds_every_8_bit_value_of_the_lookup_table():
    attackers = (tiny_attacker(), other_attacker())
    images, _ = tiny_models.synthetic_images(1, seed=7)
    config = cf.ToneCurvesConfig(steps=15, learning_rate=0.3, look_weight=0.0, max_change=6.0,
                                  eot_samples=1)
    theta = cf.ToneCurves(attackers, config)(tf.constant(images), seed=(1, 2))
    table = cf.lookup_table(theta).astype(int)
    change = np.abs(table - np.arange(256)[None])
    assert 0 < change.max() <= 6
    with pytest.raises(ValueError, match="max_change"):
        cf.ToneCurvesConfig(max_change=-1.0)


def tiny_nima():
    """A stand-in NIMA: 0-255 pixels at 224 -> 10 probabilities, explicitly named layers."""
    inputs = keras.Input((224, 224, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="normalize")(inputs)
    x = keras.layers.Conv2D(4, 5, strides=4, activation="relu", name="stand_in_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="stand_in_pool")(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="scores")(x))


def test_nima_appeal_from_an_export_is_differentiable_and_matches_its_signature(tmp_path, rng):
    keras.utils.set_random_seed(4)
    model = tiny_nima()
    path = export.export(export.NimaModule(model), str(tmp_path / "nima"))
    appeal = color_protection.load_appeal(path, build=tiny_nima)  # fresh weights, copied by name
    photo = rng.integers(0, 256, (1, 60, 80, 3), dtype=np.uint8)
    loaded = tf.saved_model.load(path)
    served = loaded.signatures["serving_default"](images=tf.constant(photo))
    np.testing.assert_allclose(appeal(tf.constant(photo, tf.float32)).numpy(),
                               served["mean_score"].numpy(), rtol=1e-5)
    theta = tf.constant(cf.identity_theta(8))
    with tf.GradientTape() as tape:
        tape.watch(theta)
        score = appeal(cf.apply_curve(tf.constant(photo, tf.float32) / 255.0, theta) * 255.0)
    gradient = tape.gradient(score, theta).numpy()
    assert np.isfinite(gradient).all() and np.abs(gradient).max() > 0
    with pytest.raises(ValueError, match="not a NIMA export"):
        color_protection.load_appeal(path, build=lambda: keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(2, name="elsewhere")]))

    keras_path = str(tmp_path / "nima.keras")
    model.save(keras_path)
    np.testing.assert_allclose(color_protection.load_appeal(keras_path)(tf.constant(photo, tf.float32)),
                               served["mean_score"].numpy(), rtol=1e-5)


def test_protect_with_tone_curves_records_the_curve(tmp_path, rng):
    photos, log, manifest = protect_noise_photos(tmp_path, rng, "tone_curves", {
        "steps": 3, "pieces": 8, "look": "warm", "eot_samples": 1, "objective": "top5_set"},
        models={"nima": tiny_nima()})
    assert log.ok and len(log.written) == 2
    assert manifest["settings"]["attackers"] == ["tiny"]
    assert manifest["settings"]["settings"]["tone_curves"]["look"] == "warm"
    for name, photo in photos.items():
        record = manifest["photos"][name]["tone_curves"]
        theta = np.asarray(record["theta"], np.float32)
        assert theta.shape == (3, 8) and record["pieces"] == 8 and record["look"] == "warm"
        assert record["clean_top1"]["tiny"].startswith("class_")
        out = np.asarray(Image.open(tmp_path / "out" / name))
        # The output is the recorded curve's lookup table applied to the original.
        expected = cf.apply_lookup_table(photo, cf.lookup_table(theta))
        assert np.abs(out.astype(int) - expected).max() <= 1  # theta rounded to 6 decimals
    with pytest.raises(ValueError, match="look"):
        ProtectConfig.from_values(("tone_curves",), {"look": "sepia"})
