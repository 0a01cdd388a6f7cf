"""PGD, the colour filter and the colour grade share one interface (`attacks.base`): each is
a `PhotoAttack`; `run` returns its parameters and the photos they make, which are
`render(photos, parameters)` and, checked independently here, the photo changed as each
attack's parameters say (within xi for PGD, through the curve or lattice for the others)."""

import numpy as np
import pytest
import tensorflow as tf

import tiny_models
from pp_tf import attacker as attacker_lib
from pp_tf.attacks import tone_curves, color_lut, pgd
from pp_tf.attacks.base import AttackResult, PhotoAttack
from pp_tf.models import preprocessing

CLASSES = ["h", "v", "bright", "dark"]


@pytest.fixture(scope="module")
def attackers():
    view = preprocessing.View(32, tiny_models.SIZE, "model", "custom")
    return (attacker_lib.from_keras(tiny_models.trained_cnn(), CLASSES, "tiny_cnn", view),)


def attacks(attackers):
    return {
        "pgd": pgd.PGD(attackers, pgd.PGDConfig(xi=16.0, steps=3, eot_samples=0)),
        "tone_curves": tone_curves.ToneCurves(
            attackers, tone_curves.ToneCurvesConfig(pieces=8, steps=3, eot_samples=0)),
        "color_lut": color_lut.ColorLUT(
            attackers, color_lut.ColorLUTConfig(lattice=3, steps=3, eot_samples=0,
                                                    skip_erosion=0.0)),
    }


@pytest.mark.parametrize("name", ["pgd", "tone_curves", "color_lut"])
def test_run_returns_the_parameters_and_the_photos_they_make(attackers, name):
    attack = attacks(attackers)[name]
    photos = tf.constant(np.random.default_rng(0).uniform(0, 255, (2, 40, 48, 3)), tf.float32)
    result = attack.run(photos, seed=(3, 0))
    assert isinstance(attack, PhotoAttack) and isinstance(result, AttackResult)
    assert repr(attack).startswith(f"{type(attack).__name__}(") and "tiny_cnn" in repr(attack)
    made = result.photos.numpy()
    assert made.shape == (2, 40, 48, 3) and made.min() >= 0 and made.max() <= 255
    np.testing.assert_allclose(made, attack.render(photos, result.parameters).numpy(), atol=1e-4)
    if name == "pgd":  # the perturbation, bilinear up, added and clipped: within xi
        assert np.abs(made - photos.numpy()).max() <= 16.0 + 1e-3
        assert np.abs(made - photos.numpy()).max() > 0
    elif name == "tone_curves":  # one curve per channel: equal inputs, equal outputs
        table = tone_curves.lookup_table(np.asarray(result.parameters))  # [3, 256]
        grey = tf.fill([1, 4, 4, 3], 128.0)
        np.testing.assert_allclose(attack.render(grey, result.parameters).numpy()[0, 0, 0],
                                   table[:, 128].astype(np.float32), atol=0.6)
    else:  # the lattice's node colours are where the grade sends the cube's corners
        table = np.asarray(result.parameters)
        corner = tf.constant([[[[255.0, 0.0, 0.0]]]])
        np.testing.assert_allclose(attack.render(corner, table).numpy()[0, 0, 0],
                                   table[-1, 0, 0] * 255.0, atol=1e-3)
