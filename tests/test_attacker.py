"""Attacker ensembles: comma-separated specs, and one differentiable photo -> per-member logits."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pp_tf.attacker import (Ensemble, from_keras, load_attackers, split_attacker_spec,
                            views_and_logits)
from pp_tf.models import preprocessing


def _tiny_classifier(crop, classes, seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((crop, crop, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="tanh")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes)(x), name=f"tiny{crop}")


@pytest.fixture(scope="module")
def members():
    """Two classifiers of different crops, views and label counts."""
    small = _tiny_classifier(8, 3, 0)
    large = _tiny_classifier(12, 5, 1)
    views = (preprocessing.View(10, 8, "model", "custom"),
             preprocessing.View(14, 12, "model", "custom"))
    attackers = (from_keras(small, ["a", "b", "c"], view=views[0]),
                 from_keras(large, [f"k{i}" for i in range(5)], view=views[1]))
    return (small, large), attackers


def _photos():
    return np.random.default_rng(0).uniform(0, 255, (2, 20, 32, 3)).astype(np.float32)


def test_each_member_sees_its_own_view(members):
    (small, large), attackers = members
    photos = _photos()
    # By hand: shorter side 20 -> 10 (10x16, crop 8 at 1, 4) and -> 14 (14x22, crop 12 at 1, 5).
    small_view = tf.image.resize(photos, (10, 16), antialias=True).numpy()[:, 1:9, 4:12]
    large_view = tf.image.resize(photos, (14, 22), antialias=True).numpy()[:, 1:13, 5:17]
    expected = (small(small_view).numpy(), large(large_view).numpy())

    actual = Ensemble(attackers).logits(tf.constant(photos))
    assert [a.shape for a in actual] == [(2, 3), (2, 5)]
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    pairs = views_and_logits(attackers, photos)
    np.testing.assert_allclose(pairs[0][0].numpy(), small_view, atol=1e-4)
    np.testing.assert_allclose(pairs[1][0].numpy(), large_view, atol=1e-4)


def test_gradients_reach_the_photo_through_every_member(members):
    _, attackers = members
    ensemble = Ensemble(attackers)
    photos = tf.Variable(_photos())
    labels = (np.array([0, 2]), np.array([4, 1]))
    with tf.GradientTape(persistent=True) as tape:
        losses = ensemble.losses(photos, labels)
    assert [loss.shape for loss in losses] == [(2,), (2,)]
    for loss in losses:
        gradient = tape.gradient(loss, photos).numpy()
        assert gradient.shape == photos.shape
        assert np.isfinite(gradient).all() and np.abs(gradient).max() > 0
        # Every photo in the batch gets its own gradient.
        assert all(np.abs(g).max() > 0 for g in gradient)
    with pytest.raises(ValueError, match="1 label arrays for 2 attackers"):
        ensemble.losses(photos, labels[:1])


def test_attacker_specs_split_on_commas(tmp_path):
    assert split_attacker_spec("efficientnet_lite0") == ("efficientnet_lite0",)
    assert split_attacker_spec(" a, b ") == ("a", "b")
    assert split_attacker_spec(["a", "b,c"]) == ("a", "b", "c")
    odd = tmp_path / "with,comma"
    odd.mkdir()
    assert split_attacker_spec(str(odd)) == (str(odd),)
    for bad in ("", "a,,b", [], "a,a"):
        with pytest.raises(ValueError):
            split_attacker_spec(bad)


def test_load_attackers_loads_each_entry(tmp_path):
    paths = []
    for crop, classes in ((8, 3), (12, 5)):
        path = str(tmp_path / f"tiny{crop}.keras")
        _tiny_classifier(crop, classes, crop).save(path)
        paths.append(path)
    attackers = load_attackers(",".join(paths))
    assert [a.name for a in attackers] == ["tiny8", "tiny12"]
    assert [a.view.crop_size for a in attackers] == [8, 12]
    assert [len(a.class_names) for a in attackers] == [3, 5]
    assert Ensemble.load(paths).names == ("tiny8", "tiny12")
