"""Per-photo PGD (pp_tf.attacks.pgd, method `pgd`) and input diversity, on tiny models."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import tiny_models
from pp_tf import attacker as attacker_lib
from pp_tf.attacks import fooling, pgd, transforms
from pp_tf.models import preprocessing
from pp_tf.protect import ProtectConfig, protect_folder

CLASSES = [f"class_{i}" for i in range(tiny_models.CLASSES)]


def tiny_attacker(resize=32):
    view = preprocessing.View(resize, tiny_models.SIZE, "model", "custom")
    return attacker_lib.from_keras(tiny_models.trained_cnn(), CLASSES, "tiny_cnn", view)


def other_attacker():
    """An untrained second member with another view (crop 24 of 28)."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((24, 24, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(x)))
    view = preprocessing.View(28, 24, "model", "custom")
    return attacker_lib.from_keras(model, [f"k{i}" for i in range(5)], "other", view)


def protect_noise_photos(tmp_path, rng, method: str, values: dict, models: dict | None = None):
    """`protect --method=method` with the tiny trained CNN as `--attacker` (and any other
    `models`: {flag: keras model}, saved beside it) on two 40x60 noise photos written to
    tmp_path/photos; -> ({name: photo}, the run's log, its manifest)."""
    model_path = str(tmp_path / "tiny.keras")
    tiny_models.trained_cnn().save(model_path)
    paths = {"attacker": model_path}
    for flag, model in (models or {}).items():
        paths[flag] = str(tmp_path / f"{flag}.keras")
        model.save(paths[flag])
    keras.utils.set_random_seed(5)
    (tmp_path / "photos").mkdir()
    photos = {}
    for i in range(2):
        photos[f"p{i}.png"] = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
        Image.fromarray(photos[f"p{i}.png"]).save(tmp_path / "photos" / f"p{i}.png")
    config = ProtectConfig.from_values((method,), {**paths, **values})
    log = protect_folder(str(tmp_path / "photos"), str(tmp_path / "out"), config,
                         show_progress=False)
    with open(tmp_path / "out" / "protect.json") as manifest:
        return photos, log, json.load(manifest)


@pytest.mark.parametrize("objective, delta_scale, drop",
                         [("ce", 1.0, 0.3), ("top5", 0.5, 0.2), ("top5_set", 1.0, 0.3)])
def test_pgd_lowers_the_clean_label_probability(objective, delta_scale, drop):
    attacker = tiny_attacker()
    images, labels = tiny_models.synthetic_images(8, seed=5)
    model = tiny_models.trained_cnn()
    config = pgd.PGDConfig(xi=24.0, steps=10, eot_samples=0, diversity=0.0,
                           delta_scale=delta_scale, objective=objective)
    delta = pgd.PGD([attacker], config)(images)
    assert np.abs(delta.numpy()).max() <= 24.0 + 1e-4
    delta = pgd.resize_delta(delta, images.shape[1:3]).numpy()
    rows = np.arange(len(labels))
    before = tf.nn.softmax(model(images)).numpy()[rows, labels]
    after = tf.nn.softmax(model(np.clip(images + delta, 0, 255))).numpy()[rows, labels]
    assert before.mean() > 0.9
    assert after.mean() < before.mean() - drop
    assert (after < before).mean() >= 0.75


def test_rms_step_follows_the_gradient_at_the_given_root_mean_square():
    """One rms step from zero (no momentum history, no EOT or DI) is alpha * g / rms(g),
    per photo, with g the gradient of the ensemble loss taken here by a tape of our own;
    the sign step moves every pixel by alpha."""
    attacker = tiny_attacker()
    images, _ = tiny_models.synthetic_images(3, seed=7)
    images = tf.constant(images, tf.float32)
    labels = fooling.clean_labels([attacker], images)
    zeros = tf.zeros_like(images)
    with tf.GradientTape() as tape:
        tape.watch(zeros)
        logits = attacker.logits(attacker.view(tf.clip_by_value(images + zeros, 0.0, 255.0)))
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels[0], logits))
    g = tape.gradient(loss, zeros).numpy()
    expected = 0.5 * g / np.sqrt((g ** 2).mean(axis=(1, 2, 3), keepdims=True))
    steps = {}
    for norm in ("rms", "sign"):
        config = pgd.PGDConfig(xi=100.0, steps=1, step_size=0.5, eot_samples=0, diversity=0.0,
                               objective="ce", confidence=0.0, step_norm=norm)
        attack = pgd.PGD([attacker], config)
        steps[norm] = attack.step(images, zeros, zeros, labels, tf.constant([0, 0]))[0].numpy()
    np.testing.assert_allclose(steps["rms"], expected, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(np.sqrt((steps["rms"] ** 2).mean(axis=(1, 2, 3))), 0.5, rtol=1e-4)
    np.testing.assert_array_equal(np.abs(steps["sign"])[g != 0], 0.5)
    with pytest.raises(ValueError, match="step_norm"):
        pgd.PGDConfig(step_norm="l2")


@pytest.mark.parametrize("xi", [8.0, 5.5])
def test_full_resolution_output_is_within_xi_everywhere(rng, xi):
    """The working-size delta, upsampled onto a larger photo and rounded, stays within xi."""
    photo = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    photo[:10] = 255  # saturated rows: clipping must not break the bound
    photo[-10:] = 0
    attacker = tiny_attacker()
    work = pgd.working_photo(photo, pgd.working_size([attacker]))
    assert work.shape[1:3] == (32, 41)
    attack = pgd.PGD([attacker], pgd.PGDConfig(xi=xi, steps=3, eot_samples=1, delta_scale=0.5,
                                               random_start=True))
    delta = attack(work)
    out = pgd.add_delta(photo, delta, xi).numpy()
    assert out.dtype == np.uint8 and out.shape == photo.shape
    change = np.abs(out.astype(np.int16) - photo)
    assert change.max() <= np.floor(xi) and change.max() > 0


def test_eot_and_ensemble_gradients_reach_the_photo_through_each_member(rng):
    attackers = (tiny_attacker(), other_attacker())
    photos = tf.constant(rng.uniform(0, 255, (2, 40, 50, 3)), tf.float32)
    for objective in ("ce", "top5", "top5_set"):
        labels = fooling.clean_labels(attackers, photos, fooling.labels_per_photo(objective))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(photos)
            losses = fooling.member_losses(attackers, photos, labels, tf.constant([1, 2]),
                                       eot_samples=2, diversity=1.0, objective=objective,
                                       confidence=100.0)
        assert [loss.shape for loss in losses] == [(2,), (2,)]
        for loss in losses:
            gradient = tape.gradient(loss, photos).numpy()
            assert np.isfinite(gradient).all()
            assert all(np.abs(g).max() > 0 for g in gradient)


def test_the_plain_view_counts_as_one_more_draw_beside_the_eot_draws(rng):
    attackers = (tiny_attacker(), other_attacker())
    photos = tf.constant(rng.uniform(0, 255, (2, 40, 50, 3)), tf.float32)
    labels = fooling.clean_labels(attackers, photos)
    seed = tf.constant([4, 5])
    draws = fooling.member_losses(attackers, photos, labels, seed, eot_samples=2)
    both = fooling.member_losses(attackers, photos, labels, seed, eot_samples=2, plain_view=True)
    for attacker, label, on_draws, on_both in zip(attackers, labels, draws, both):
        # The plain view's cross-entropy, by hand from the logits of the view.
        logits = attacker.logits(attacker.view(photos)).numpy().astype(np.float64)
        log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        plain = -log_softmax[np.arange(2), label.numpy()]
        np.testing.assert_allclose(on_both.numpy(), (2 * on_draws.numpy() + plain) / 3,
                                   rtol=1e-4, atol=1e-5)
    without_eot = fooling.member_losses(attackers, photos, labels, seed, eot_samples=0,
                                    plain_view=True)
    plain_only = fooling.member_losses(attackers, photos, labels, seed, eot_samples=0)
    for a, b in zip(without_eot, plain_only):  # no EOT: the plain view once, as before
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_set_cross_entropy_is_minus_log_of_the_sets_probability(rng):
    logits = rng.normal(0, 3, (4, 10))
    sets = np.array([[1, 2, 3, 4, 5], [0, 0, 0, 0, 0], [9, 8, 7, 6, 5], [2, 3, 2, 3, 2]])
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = [-np.log(probabilities[row, sorted(set(s))].sum()) for row, s in enumerate(sets)]
    got = fooling.set_cross_entropy(tf.constant(logits, tf.float32), tf.constant(sets))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


def test_clean_label_sets_are_each_attackers_best_classes_leaving_one_out(rng):
    attackers = (tiny_attacker(), other_attacker())  # 4 and 5 classes
    photos = tf.constant(rng.uniform(0, 255, (3, 40, 50, 3)), tf.float32)
    top1 = fooling.clean_labels(attackers, photos)
    sets = fooling.clean_labels(attackers, photos, fooling.labels_per_photo("top5_set"))
    assert [s.shape for s in sets] == [(3, 3), (3, 4)]
    for attacker, label, label_set in zip(attackers, top1, sets):
        np.testing.assert_array_equal(label_set[:, 0], label)
        logits = attacker.logits(attacker.view(photos)).numpy()
        np.testing.assert_array_equal(label_set, np.argsort(-logits, 1)[:, :label_set.shape[1]])


def test_input_diversity_shrinks_and_pads_with_gradients(rng):
    images = tf.constant(rng.uniform(1, 255, (2, 32, 32, 3)), tf.float32)
    seeds = [tf.constant([s, 0]) for s in range(12)]
    with tf.GradientTape() as tape:
        tape.watch(images)
        outs = [transforms.input_diversity(images, s, shrink=(0.5, 0.8), probability=0.5)
                for s in seeds]
        total = tf.add_n([tf.reduce_sum(o) for o in outs])
    assert all(o.shape == images.shape for o in outs)
    changed = [not np.array_equal(o.numpy(), images.numpy()) for o in outs]
    assert 0 < sum(changed) < len(changed)  # some draws pad, some pass through
    padded = outs[changed.index(True)].numpy()
    assert (padded == 0).all(-1).any()  # a zero border
    assert np.abs(tape.gradient(total, images).numpy()).max() > 0
    np.testing.assert_array_equal(
        transforms.input_diversity(images, seeds[3]).numpy(),
        transforms.input_diversity(images, seeds[3]).numpy())  # stateless: reproducible


def test_protect_with_pgd_writes_outputs_and_records(tmp_path, rng):
    photos, log, manifest = protect_noise_photos(tmp_path, rng, "pgd", {
        "steps": 2, "xi": 6.0, "eot_samples": 1})
    assert log.ok and len(log.written) == 2
    for name, photo in photos.items():
        out = np.asarray(Image.open(tmp_path / "out" / name))
        assert out.shape == photo.shape
        assert np.abs(out.astype(np.int16) - photo).max() <= 6
    assert manifest["settings"]["attackers"] == ["tiny"]
    record = manifest["photos"]["p0.png"]["pgd"]
    assert record["clean_top1"]["tiny"].startswith("class_")
    assert 0 < record["max_change"] <= 6


def test_per_photo_attacks_aim_at_the_top1_of_the_photo_not_of_its_working_copy(rng):
    """`attack_working_photo` hands the attack each attacker's top-1 on the full photo.
    The attacker here reads one pixel of its view: a noise photo's two-stage resize (the
    working copy, then the view) gives that pixel another value than the one-stage view
    of the photo, and the threshold between them makes the two top-1s differ."""
    from types import SimpleNamespace

    from pp_tf.protections import pgd as pgd_protection

    photo = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    view = preprocessing.View(40, 32, "model", "custom")
    full_value = float(view(photo[None].astype(np.float32))[0, 5, 5, 0])
    work = pgd.working_photo(photo, 60)
    work_value = float(view(work)[0, 5, 5, 0])
    assert abs(full_value - work_value) > 1.0  # the two paths see that pixel differently
    threshold = (full_value + work_value) / 2

    def logits(x):  # class 1 iff the pixel is above the threshold
        above = x[:, 5, 5, 0] - threshold
        return tf.stack([tf.zeros_like(above), 100.0 * above], -1)

    attacker = attacker_lib.Attacker("pixel", logits, ("below", "above"), view)
    expected = int(full_value > threshold)
    assert expected != int(work_value > threshold)

    class RecordingAttack:
        config = SimpleNamespace(objective="ce")

        def __call__(self, work, labels, seed):
            self.work_shape, self.labels = tuple(work.shape), labels
            return "parameters"

    attack = RecordingAttack()
    result, record = pgd_protection.attack_working_photo(attack, [attacker], photo, 60, 0,
                                                         "p.png")
    assert result == "parameters" and attack.work_shape == (1, 60, 80, 3)
    assert [int(label[0]) for label in attack.labels] == [expected]
    assert record == {"working_shape": [60, 80],
                      "clean_top1": {"pixel": ("below", "above")[expected]}}


def test_texture_mask_keeps_the_budget_off_smooth_areas():
    """Half flat, half noise: the mask is the floor on the flat half and 1 on the noise, and
    PGD's perturbation stays within xi times the mask at every pixel."""
    rng = np.random.default_rng(0)
    photos = np.full((2, 32, 32, 3), 128.0, np.float32)
    photos[:, :, 16:] = rng.uniform(0, 255, (2, 32, 16, 3))
    mask = pgd.texture_mask(tf.constant(photos), (32, 32), 0.25).numpy()[..., 0]
    radius = pgd.MASK_RADIUS
    assert np.allclose(mask[:, :, :16 - radius - 1], 0.25)
    assert np.allclose(mask[:, :, 16 + radius + 1:-radius - 1], 1.0)
    config = pgd.PGDConfig(xi=16.0, steps=5, eot_samples=0, diversity=0.0, mask_floor=0.25)
    delta = pgd.PGD([tiny_attacker()], config)(photos).numpy()
    assert np.all(np.abs(delta) <= 16.0 * mask[..., None] + 1e-4)
    assert np.abs(delta[:, :, 20:]).max() > 4.0 + 1e-3  # the noisy half uses more than 4
    with pytest.raises(ValueError, match="mask_floor"):
        pgd.PGDConfig(mask_floor=0.0)
