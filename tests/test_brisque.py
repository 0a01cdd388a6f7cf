"""pp_tf.quality.brisque against the `brisque` package's own scores.

The reference numbers were printed by `brisque` 0.2.0 (with its LIVE model, the one
pp_tf ships) on the photos below, with one fix that package needs on NumPy 2: each feature
taken as `np.ravel(f)[0]` (it builds one-element arrays where it needs scalars). It was
run with OpenCV 5.1, scikit-image 0.26, SciPy 1.17 and libsvm 3.37. For the photos with
exactly flat areas (`cameraman`, the posterised one) the package's score depends on the
sign of rounding noise in those areas (grey minus its local mean, about 1e-17); the
`flat areas zero` numbers come from the package with that difference set to zero, as
pp_tf does, before dividing (its unpatched scores: 18.767 and 107.49).
"""

import numpy as np
import pytest
from PIL import Image

from pp_tf import bundled
from pp_tf.quality import brisque, measures

PACKAGE_SCORES = {  # the package as it is (but for the NumPy 2 fix)
    "astronaut": -9.820530768030295,
    "coffee": 5.150620158544115,
    "coffee_noise12": 31.722628098275635,
}
FLAT_AREAS_ZERO_SCORES = {  # the package with flat areas' rounding noise set to zero
    "cameraman": 18.768103454862484,
    "coffee_posterised4": 123.4746905538843,
}


def _example(name):
    path = f"{bundled.examples_dir()}/{name}.png"
    return np.asarray(Image.open(path).convert("RGB"))


def _photos():
    coffee = _example("coffee")[50:250, 100:357]
    noise = np.random.default_rng(3).normal(0, 12, coffee.shape)
    return {
        "astronaut": _example("astronaut")[100:261, 150:351],  # odd sizes: half size rounds
        "coffee": coffee,
        "cameraman": _example("cameraman")[:203, :190],
        "coffee_noise12": np.clip(np.rint(coffee + noise), 0, 255).astype(np.uint8),
        "coffee_posterised4": (coffee // 64 * 64 + 32).astype(np.uint8),
    }


@pytest.mark.parametrize("name", [*PACKAGE_SCORES, *FLAT_AREAS_ZERO_SCORES])
def test_scores_equal_the_brisque_packages(name):
    expected = {**PACKAGE_SCORES, **FLAT_AREAS_ZERO_SCORES}[name]
    assert brisque.brisque(_photos()[name]) == pytest.approx(expected, abs=1e-6)


def test_half_size_is_opencvs_cubic_at_one_half():
    """Against the cubic convolution kernel (Keys, a = -0.75) evaluated directly."""
    def keys(t):
        t, a = abs(t), -0.75
        if t <= 1:
            return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
        return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a if t < 2 else 0.0

    grey = np.random.default_rng(0).uniform(size=(9, 7))
    expected = np.zeros((4, 4))  # 4.5 rounds to 4 (half to even), 3.5 to 4
    for i in range(4):
        for j in range(4):
            y, x = 2 * i + 0.5, 2 * j + 0.5
            for dy in range(-1, 3):
                for dx in range(-1, 3):
                    row = min(max(2 * i + dy, 0), 8)
                    column = min(max(2 * j + dx, 0), 6)
                    weight = keys(y - (2 * i + dy)) * keys(x - (2 * j + dx))
                    expected[i, j] += weight * grey[row, column]
    np.testing.assert_allclose(brisque.half_size(grey), expected, atol=1e-12)


def test_aggd_fit_recovers_a_known_distribution():
    """Samples of an asymmetric generalised Gaussian with known parameters: the fit finds
    them (shape within 3%, sigmas within 1%)."""
    rng = np.random.default_rng(1)
    shape, left, right, n = 0.8, 0.5, 1.2, 400_000
    # |x| / scale ~ Gamma(1/shape) ** (1/shape) for a generalised Gaussian of unit scale
    magnitude = rng.gamma(1 / shape, size=n) ** (1 / shape)
    from math import gamma
    unit = (gamma(1 / shape) / gamma(3 / shape)) ** 0.5  # scale of a unit-variance side
    side = rng.uniform(size=n) < left / (left + right)
    x = np.where(side, -magnitude * unit * left, magnitude * unit * right)
    fitted_shape, _, fitted_left, fitted_right = brisque.aggd_fit(x)
    assert fitted_shape == pytest.approx(shape, rel=0.03)
    assert fitted_left == pytest.approx(left, rel=0.01)
    assert fitted_right == pytest.approx(right, rel=0.01)


def test_noise_and_posterisation_score_less_natural_than_the_photo():
    photos = _photos()
    clean = brisque.brisque(photos["coffee"])
    assert clean < brisque.brisque(photos["coffee_noise12"])
    assert clean < brisque.brisque(photos["coffee_posterised4"])


def test_black_and_tiny_photos_are_refused_and_measures_say_none():
    # Black is the one flat photo without contrast: the zero padding gives any other
    # flat photo edges.
    flat = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="flat"):
        brisque.brisque(flat)
    with pytest.raises(ValueError, match="16 px"):
        brisque.brisque(np.zeros((8, 64, 3), np.uint8))
    assert measures.naturalness(flat) is None
    assert measures.naturalness(np.zeros((8, 64, 3), np.uint8)) is None
    photo = _photos()["coffee"]
    assert measures.naturalness(photo) == pytest.approx(brisque.brisque(photo), abs=1e-3)


def test_a_large_photo_is_the_mean_of_tiles_at_its_own_resolution():
    """Over `NATURALNESS_PIXELS`, nine 512 px tiles spread from corner to corner, not a
    downscaled copy (which would average noise away)."""
    rng = np.random.default_rng(5)
    small = rng.uniform(0, 255, (30, 40, 3))
    photo = np.asarray(Image.fromarray(small.astype(np.uint8)).resize((1800, 1200),
                                                                       Image.BILINEAR))
    photo = np.clip(photo + rng.normal(0, 3, photo.shape), 0, 255).astype(np.uint8)
    corners = measures.naturalness_tiles(photo.shape)
    assert corners[0] == (0, 0) and corners[-1] == (1200 - 512, 1800 - 512)
    assert len(set(corners)) == 9
    expected = np.mean([brisque.brisque(photo[y:y + 512, x:x + 512]) for y, x in corners])
    assert measures.naturalness(photo) == pytest.approx(expected, abs=1e-9)
    assert measures.naturalness_tiles((1000, 1000)) == []
