"""DeepFool and UAP against closed forms and a small trained CNN."""

import numpy as np
import pytest
import tensorflow as tf

import tiny_models
from pp_tf.attacks import uap
from pp_tf.attacks.deepfool import L2DeepFool, LinfDeepFool, deepfool


@pytest.mark.parametrize("norm", ["2", "inf"])
def test_deepfool_on_a_linear_classifier_matches_the_closed_form(norm, rng):
    """For an affine classifier the minimal perturbation is known exactly:
    min over k of |f_k - f_l| / ||w_k - w_l||_dual; DeepFool finds it in one
    step, scaled by 1 + overshoot."""
    weights = rng.normal(size=(12, 5)).astype(np.float32)
    bias = rng.normal(size=5).astype(np.float32)
    images = rng.uniform(100, 150, (8, 2, 2, 3)).astype(np.float32)
    logits = lambda x: tf.reshape(x, [-1, 12]) @ weights + bias  # noqa: E731
    result = deepfool(norm, candidates=5, overshoot=0.02)(logits, images)

    flat = images.reshape(8, -1).astype(np.float64)
    scores = flat @ weights + bias
    label = scores.argmax(1)
    dual = (lambda w: np.linalg.norm(w)) if norm == "2" else (lambda w: np.abs(w).sum())
    expected = np.array([min(abs(scores[i, k] - scores[i, label[i]]) /
                             dual(weights[:, k] - weights[:, label[i]])
                             for k in range(5) if k != label[i]) for i in range(8)])
    delta = result.perturbation.numpy().reshape(8, -1)
    found = np.linalg.norm(delta, axis=1) if norm == "2" else np.abs(delta).max(1)
    assert result.success.numpy().all()
    np.testing.assert_allclose(found / expected, 1.02, rtol=1e-3)


def test_deepfool_repr_names_its_configuration():
    assert repr(LinfDeepFool(candidates=3)) == (
        "LinfDeepFool(candidates=3, overshoot=0.02, max_iter=50, bounds=(0.0, 255.0))")
    with pytest.raises(ValueError, match="norm"):
        deepfool("1")


@pytest.mark.parametrize("attack", [L2DeepFool(), LinfDeepFool()], ids=repr)
def test_deepfool_flips_a_trained_cnn(attack):
    model = tiny_models.trained_cnn()
    images, labels = tiny_models.synthetic_images(64, seed=7)
    logits = tiny_models.logits_fn(model)
    assert (np.argmax(logits(images), -1) == labels).mean() > 0.9
    result = attack(logits, images)
    assert result.success.numpy().mean() >= 0.95
    flipped = np.argmax(logits(result.adversarial), -1) != np.argmax(logits(images), -1)
    assert flipped.mean() >= 0.95
    assert result.adversarial.numpy().min() >= 0 and result.adversarial.numpy().max() <= 255


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_projection_bounds_the_norm_exactly(norm, rng):
    v = tf.constant(rng.normal(0, 50, (32, 32, 3)), tf.float32)
    projected = uap.project(v, 10.0, norm).numpy()
    size = np.abs(projected).max() if norm == "inf" else np.linalg.norm(projected)
    assert size <= 10.0 * (1 + 1e-6)
    assert size == pytest.approx(10.0, rel=1e-5)
    small = tf.constant(rng.normal(0, 0.01, (32, 32, 3)), tf.float32)
    np.testing.assert_array_equal(uap.project(small, 10.0, norm).numpy(), small.numpy())


@pytest.mark.parametrize("mode", ["sgd", "deepfool"])
def test_uap_beats_random_noise_of_the_same_norm(mode):
    model = tiny_models.trained_cnn()
    logits = tiny_models.logits_fn(model)
    train, _ = tiny_models.synthetic_images(256, seed=3)
    held_out, _ = tiny_models.synthetic_images(256, seed=4)
    config = uap.UAPConfig(xi=40.0, norm="inf", mode=mode, max_passes=4, batch_size=32,
                           delta=0.1, step_fraction=0.2)
    state = uap.make(config, logits, (32, 32, 3)).fit(train)
    v = state.best
    assert state.best_fooling_rate == max(h["fooling_rate"] for h in state.history)
    assert np.abs(v).max() <= 40.0 + 1e-4
    labels = uap.predict_labels(logits, held_out)
    fooled = uap.fooling_rate(logits, held_out, labels, v)
    noise = np.random.default_rng(0).choice([-40.0, 40.0], size=v.shape).astype(np.float32)
    noise_fooled = uap.fooling_rate(logits, held_out, labels, noise)
    assert fooled >= noise_fooled + 0.3, (fooled, noise_fooled)


def test_uap_resume_equals_an_uninterrupted_run():
    model = tiny_models.trained_cnn()
    logits = tiny_models.logits_fn(model)
    train, _ = tiny_models.synthetic_images(96, seed=5)
    config = uap.UAPConfig(xi=12.0, mode="sgd", eot=True, max_passes=3, batch_size=32, delta=0.0)
    full = uap.make(config, logits, (32, 32, 3)).fit(train)

    class Interrupted(Exception):
        pass

    saved = {}

    def stop_after_first_pass(state):
        saved["state"] = uap.UAPState(state.perturbation.copy(), state.passes_done,
                                      list(state.history), state.done, state.best.copy(),
                                      state.best_fooling_rate)
        raise Interrupted

    with pytest.raises(Interrupted):
        uap.make(config, logits, (32, 32, 3)).fit(train, on_pass=stop_after_first_pass)
    resumed = uap.make(config, logits, (32, 32, 3)).fit(train, state=saved["state"])
    np.testing.assert_array_equal(resumed.perturbation, full.perturbation)
    np.testing.assert_array_equal(resumed.best, full.best)
    assert resumed.history == full.history


def test_eot_requires_sgd():
    with pytest.raises(ValueError, match="eot needs mode='sgd'"):
        uap.UAPConfig(mode="deepfool", eot=True)


# Computed once by the code before the two algorithms were split into classes
# (git show c6ec128:pp_tf/attacks/uap.py, `UniversalPerturbation(config, ...).fit`),
# on `fixed_mlp` (fixed seeded weights, no training) and `fixed_mlp.images(40)`.
PINNED = {
    "sgd": (dict(xi=20.0, norm="inf", mode="sgd", max_passes=3, batch_size=16, delta=0.0,
                 seed=4),
            [0.275, 0.475, 0.525], -116.00000631809235, 1268.8000218868256,
            [3.5999999046325684, -10.800000190734863, 6.800000190734863]),
    "sgd_eot_l2": (dict(xi=300.0, norm="2", mode="sgd", eot=True, max_passes=2, batch_size=16,
                        delta=0.0, seed=2),
                   [0.225, 0.25], -14.926603831350803, 563.2980449125171,
                   [-4.6568217277526855, -4.6430439949035645, 2.2714502811431885]),
    "deepfool": (dict(xi=30.0, norm="inf", mode="deepfool", max_passes=2, batch_size=16,
                      delta=0.0, seed=1, candidates=4),
                 [0.725, 0.375], -289.8832268714905, 2828.146031856537,
                 [-3.791271209716797, 13.802225112915039, 21.925048828125]),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_uap_classes_reproduce_the_single_class_numbers(name):
    import fixed_mlp

    settings, rates, total, magnitude, corner = PINNED[name]
    config = uap.UAPConfig(**settings)
    algorithm = uap.make(config, fixed_mlp.logits_fn(), (8, 8, 3))
    assert type(algorithm) is {"sgd": uap.SGDUAP, "deepfool": uap.DeepFoolUAP}[config.mode]
    state = algorithm.fit(fixed_mlp.images(40))
    assert [entry["fooling_rate"] for entry in state.history] == rates
    v = state.perturbation.astype(np.float64)
    np.testing.assert_allclose(v.sum(), total, rtol=1e-6)
    np.testing.assert_allclose(np.abs(v).sum(), magnitude, rtol=1e-6)
    np.testing.assert_allclose(v[0, :3, 0], corner, rtol=1e-6, atol=1e-6)


def test_uap_class_refuses_another_modes_config():
    import fixed_mlp

    with pytest.raises(ValueError, match="SGDUAP runs mode='sgd'"):
        uap.SGDUAP(uap.UAPConfig(mode="deepfool"), fixed_mlp.logits_fn(), (8, 8, 3))
