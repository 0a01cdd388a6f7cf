"""Ghost surrogates (pp_tf.attacks.ghost): skip erosion of residual attackers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pp_tf import attacker as attacker_lib
from pp_tf.attacks import tone_curves as cf, fooling
from pp_tf.attacks import color_lut as cg
from pp_tf.attacks import ghost
from pp_tf.models import efficientnet_lite
from pp_tf.models import preprocessing
from test_pgd import tiny_attacker

EPSILON = 0.3
VIEW = preprocessing.View(16, 16, "model", "custom")  # the 16-pixel test models' view


def residual_attacker(shortcut_first: bool):
    """Pixels -> stem conv -> one residual block (its add in either input order) -> a
    non-residual add of two one-conv branches (same depth) -> logits; with models that
    give the stem's output (the shortcut) and the block's branch, as references."""
    keras.utils.set_random_seed(11)
    inputs = keras.Input((16, 16, 3))
    stem = keras.layers.Conv2D(4, 3, padding="same", name="stem")(
        keras.layers.Rescaling(1 / 255)(inputs))
    branch = keras.layers.Conv2D(4, 3, padding="same", name="branch_b")(
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="branch_a")(stem))
    pair = [stem, branch] if shortcut_first else [branch, stem]
    block = keras.layers.Add(name="residual_add")(pair)
    side = keras.layers.Add(name="two_branch_add")(
        [keras.layers.Conv2D(4, 1, name="left")(block),
         keras.layers.Conv2D(4, 1, name="right")(block)])
    logits = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(side))
    model = keras.Model(inputs, logits)
    attacker = attacker_lib.from_keras(model, ["a", "b", "c"], "residual", VIEW)
    parts = keras.Model(inputs, [stem, branch, model.get_layer("residual_add").output])
    return attacker, parts


@pytest.mark.parametrize("shortcut_first", [False, True])
def test_the_ghost_scales_the_shortcut_of_each_residual_add_by_one_factor_per_photo(
        rng, shortcut_first):
    """Reference: the original model's own shortcut and branch tensors; the ghost's block
    output minus the branch, over the shortcut, is one factor per photo in [1-e, 1+e]."""
    attacker, parts = residual_attacker(shortcut_first)
    member = ghost.eroded(attacker, EPSILON)
    assert member.eroded_adds == 1  # the residual add; the two-branch add stays an add
    ghost_parts = keras.Model(member.attacker.model.input,
                              member.attacker.model.get_layer("residual_add_eroded").output)
    photos = rng.uniform(0, 255, (6, 16, 16, 3)).astype(np.float32)
    shortcut, branch, plain = (t.numpy() for t in parts(photos))
    ghost.reseed([member], (4, 2))
    eroded = ghost_parts(photos).numpy()
    factors = (eroded - branch) / shortcut
    mask = np.abs(shortcut) > 1e-2  # away from division noise
    per_photo = np.array([np.median(f[m]) for f, m in zip(factors, mask)])
    for f, m, value in zip(factors, mask, per_photo):
        np.testing.assert_allclose(f[m], value, atol=2e-3)
    assert np.all(np.abs(per_photo - 1) <= EPSILON) and np.ptp(per_photo) > 0.05
    np.testing.assert_allclose(branch + shortcut, plain, atol=1e-5)


def test_the_ghost_shares_the_weights_and_draws_again_at_every_call_but_reseeds(rng):
    attacker, _ = residual_attacker(False)
    member = ghost.eroded(attacker, EPSILON)
    photos = tf.constant(rng.uniform(0, 255, (3, 16, 16, 3)).astype(np.float32))
    logits = tf.function(member.attacker.logits)
    ghost.reseed([member], (7, 1))
    first, second = logits(photos).numpy(), logits(photos).numpy()
    ghost.reseed([member], (7, 1))
    np.testing.assert_array_equal(logits(photos).numpy(), first)
    assert np.abs(first - second).max() > 1e-4
    # the same weights: changing the original's changes the ghost's
    dense = attacker.model.layers[-1]
    dense.kernel.assign(dense.kernel * 0)
    ghost.reseed([member], (7, 1))
    np.testing.assert_allclose(logits(photos).numpy(),
                               np.broadcast_to(dense.bias.numpy(), first.shape), atol=1e-6)


def test_erosion_zero_or_nothing_to_erode_gives_the_attacker_itself():
    attacker, _ = residual_attacker(False)
    assert ghost.eroded(attacker, 0.0).attacker is attacker
    plain_cnn = tiny_attacker()  # no adds
    assert ghost.eroded(plain_cnn, EPSILON) == ghost.Ghost(plain_cnn, 0, None)
    function_only = attacker_lib.Attacker("f", lambda x: tf.reduce_mean(x, [1, 2]), ("r", "g", "b"))
    assert ghost.eroded(function_only, EPSILON).eroded_adds == 0
    with pytest.raises(ValueError, match="erosion"):
        ghost.eroded(attacker, 1.0)
    sequential = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(),
                                   keras.layers.Dense(3)])
    as_sequential = attacker_lib.from_keras(sequential, ["a", "b", "c"], "seq", VIEW)
    assert ghost.eroded(as_sequential, EPSILON).attacker is as_sequential


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3)

    def call(self, x):
        return self.dense(keras.ops.mean(x, axis=(1, 2)))


def test_a_subclassed_attacker_is_refused_with_its_name_and_the_way_out():
    model = Subclassed()
    model(tf.zeros([1, 16, 16, 3]))
    attacker = attacker_lib.Attacker("mine", model, ("a", "b", "c"), VIEW, model)
    with pytest.raises(ValueError, match="mine: no ghost.*skip_erosion to 0"):
        ghost.eroded(attacker, EPSILON)


def test_every_residual_add_of_an_efficientnet_lite_is_eroded():
    """Reference: the stage table; a block has a residual add when its stride is 1 and
    its input has its output's channels (every repeat after a stage's first)."""
    model = efficientnet_lite.EfficientNetLite0()
    view = preprocessing.View(256, 224, "model", "custom")
    member = ghost.eroded(attacker_lib.from_keras(model, [str(i) for i in range(1000)],
                                                  "lite0", view), 0.22)
    stages = efficientnet_lite.scaled_stages(1.0, 1.0)
    residual = sum(repeats - 1 for repeats, *_ in stages)
    channels = efficientnet_lite.STEM_FILTERS
    for repeats, _, stride, _, filters in stages:  # a stage's first block, when it keeps the shape
        residual += stride == 1 and channels == filters
        channels = filters
    assert member.eroded_adds == residual > 0


def test_ghost_gradients_reach_the_colour_grade_and_the_grade_depends_on_the_erosion(rng):
    attacker, _ = residual_attacker(False)
    photos = tf.constant(rng.uniform(0, 255, (1, 24, 24, 3)).astype(np.float32))
    labels = fooling.clean_labels([attacker], photos)
    grades = {}
    for erosion in (0.0, EPSILON):
        config = cg.ColorLUTConfig(lattice=3, steps=4, learning_rate=0.05, look_weight=1.0,
                                     skip_erosion=erosion, eot_samples=1)
        attack = cg.ColorLUT([attacker], config)
        assert attack.ghosts[0].eroded_adds == (1 if erosion else 0)
        with tf.GradientTape() as tape:
            table = tf.constant(cg.identity_table(3))
            tape.watch(table)
            total = attack.objective(photos, table, labels, tf.constant([1, 2]))[0]
        assert float(tf.reduce_max(tf.abs(tape.gradient(total, table)))) > 0
        grades[erosion] = [attack(photos, labels, seed=(3, 4)) for _ in range(2)]
    np.testing.assert_array_equal(*grades[EPSILON])  # reseeded from the photo's seed
    assert np.abs(grades[EPSILON][0] - grades[0.0][0]).max() > 1e-5


def test_the_colour_configs_refuse_an_erosion_outside_0_to_1():
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="skip_erosion"):
            cg.ColorLUTConfig(skip_erosion=bad)
        with pytest.raises(ValueError, match="skip_erosion"):
            cf.ToneCurvesConfig(skip_erosion=bad)

