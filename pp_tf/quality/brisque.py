"""BRISQUE: a no-reference naturalness score (Mittal, Moorthy & Bovik, IEEE TIP 2012).

Lower is more natural: about 0-20 for a clean photo, rising with noise, blur, blocking and
banding. It needs no original, so it scores the originals too, and says how far a
protection moved a photo away from the statistics of natural photos.

The features are the paper's 36: at full and half size, the mean-subtracted
contrast-normalised (MSCN) coefficients of the grey image (7x7 Gaussian window, sigma 7/6)
and their four neighbour products, each fitted with an asymmetric generalised Gaussian.
They are scored by the support-vector regression that the `brisque` package (Apache-2.0,
version 0.2.0) ships, trained on the LIVE database's opinion scores; its model is in
`pp_tf/data/brisque_live.npz` (libsvm's support vectors, coefficients, gamma and rho, and
the feature ranges it scales by). The features follow that package's conventions (grey
by ITU-R 709 weights in [0, 1], zero padding, cubic half size) so that its model applies;
tests check the scores against the package's own. The package itself is not a dependency:
0.2.0 fails on NumPy 2 (a one-element array where it needs a scalar) and pulls in OpenCV,
scikit-image, SciPy and libsvm for what is here a few array operations.
"""

from __future__ import annotations

import functools
import math
from importlib import resources

import numpy as np

WINDOW = 7
SIGMA = 7 / 6
STABILITY = 1 / 255  # the MSCN denominator's constant, for grey values in [0, 1]
GREY = np.array([0.2125, 0.7154, 0.0721])  # ITU-R 709 luma, as skimage.color.rgb2gray
# Below this, grey - local mean is rounding noise; a step of one grey level at the window's
# edge weight is about 1e-7.
FLAT = 1e-10
MIN_SIDE = 16  # below this the half-size fits have too few coefficients to mean anything


@functools.cache
def _model() -> dict[str, np.ndarray]:
    with resources.files("pp_tf").joinpath("data/brisque_live.npz").open("rb") as handle:
        with np.load(handle, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}


def _gaussian_1d() -> np.ndarray:
    offsets = np.arange(WINDOW) - WINDOW // 2
    weights = np.exp(-offsets ** 2 / (2 * SIGMA ** 2))
    return weights / weights.sum()  # the 2-D window is its outer product, also normalised


def _blur(image: np.ndarray) -> np.ndarray:
    """The 7x7 Gaussian window's weighted mean, zero outside the image ('same' size)."""
    weights, half = _gaussian_1d(), WINDOW // 2
    rows, columns = image.shape
    padded = np.pad(image, [(half, half), (0, 0)])
    blurred = sum(w * padded[k:k + rows] for k, w in enumerate(weights))
    padded = np.pad(blurred, [(0, 0), (half, half)])
    return sum(w * padded[:, k:k + columns] for k, w in enumerate(weights))


def mscn(grey: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a float64 grey image in [0, 1]."""
    mean = _blur(grey)
    deviation = np.sqrt(np.abs(mean ** 2 - _blur(grey ** 2)))
    centred = grey - mean
    # In a flat area grey - mean is rounding noise (1e-17) whose sign would decide which
    # side of the fitted distribution its neighbour products count on: it is zero.
    centred[np.abs(centred) < FLAT] = 0.0
    return centred / (deviation + STABILITY)


def _log_phi(alpha: float) -> float:
    """log of Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)), increasing in a."""
    return 2 * math.lgamma(2 / alpha) - math.lgamma(1 / alpha) - math.lgamma(3 / alpha)


def _shape_parameter(ratio: float) -> float:
    """The generalised Gaussian's shape a with phi(a) = ratio, by bisection (phi runs from 0
    at a -> 0 to 3/4 as a grows; ratios beyond that take the end of the range)."""
    low, high = 0.05, 50.0
    target = math.log(ratio) if ratio > 0 else -math.inf
    for _ in range(100):
        middle = 0.5 * (low + high)
        if _log_phi(middle) < target:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def aggd_fit(x: np.ndarray) -> tuple[float, float, float, float]:
    """(shape, mean, left sigma, right sigma) of an asymmetric generalised Gaussian fitted to
    `x` by moment matching (Lasmar, Stitou & Berthoumieu 2009)."""
    x = x.ravel()
    if not np.any(x):
        raise ValueError("brisque cannot score a flat photo (no contrast to fit)")
    squares = x * x
    negative = x < 0
    count_left = np.count_nonzero(negative)
    sum_left = float(np.sum(squares, where=negative))
    sum_all = float(np.sum(squares))
    sigma_left = math.sqrt(sum_left / count_left) if count_left else 0.0
    sigma_right = (math.sqrt((sum_all - sum_left) / (x.size - count_left))
                   if x.size > count_left else 0.0)
    gamma = sigma_left / sigma_right if sigma_right > 0 else math.inf
    r_hat = (float(np.sum(np.abs(x))) / x.size) ** 2 / (sum_all / x.size)
    ratio = r_hat * (gamma ** 3 + 1) * (gamma + 1) / (gamma ** 2 + 1) ** 2
    alpha = _shape_parameter(float(ratio))
    spread = math.exp(0.5 * (math.lgamma(1 / alpha) - math.lgamma(3 / alpha)))
    mean = (sigma_right - sigma_left) * spread * math.exp(math.lgamma(2 / alpha)
                                                          - math.lgamma(1 / alpha))
    return alpha, mean, sigma_left, sigma_right


def features_at_scale(grey: np.ndarray) -> list[float]:
    """The 18 features of one scale: MSCN (shape, variance), then each neighbour product
    (horizontal, vertical, main and secondary diagonal) as (shape, mean, left and right
    variance)."""
    coefficients = mscn(grey)
    alpha, _, left, right = aggd_fit(coefficients)
    features = [alpha, (left ** 2 + right ** 2) / 2]
    for product in (coefficients[:, :-1] * coefficients[:, 1:],
                    coefficients[:-1, :] * coefficients[1:, :],
                    coefficients[:-1, :-1] * coefficients[1:, 1:],
                    coefficients[1:, :-1] * coefficients[:-1, 1:]):
        alpha, mean, left, right = aggd_fit(product)
        features += [alpha, mean, left ** 2, right ** 2]
    return features


def half_size(grey: np.ndarray) -> np.ndarray:
    """Bicubic (a = -0.75) half size with edge pixels repeated, as OpenCV's INTER_CUBIC at
    scale 0.5: output pixel i samples the input at 2i + 1/2, so the four taps 2i-1 .. 2i+2
    weigh -3/32, 19/32, 19/32, -3/32. Sizes round half to even (OpenCV's cvRound)."""
    weights = np.array([-3, 19, 19, -3]) / 32
    for axis in (0, 1):
        length = grey.shape[axis]
        out = int(np.rint(length * 0.5))
        taps = np.clip(2 * np.arange(out)[:, None] + np.arange(-1, 3)[None, :], 0, length - 1)
        grey = np.tensordot(np.take(grey, taps, axis=axis), weights, axes=([axis + 1], [0]))
    return grey


def grey_of(photo: np.ndarray) -> np.ndarray:
    """float64 grey in [0, 1] of a uint8 `[h, w, 3]` photo (or of float values 0-255)."""
    return np.asarray(photo, np.float64) @ GREY / 255.0


def features(photo: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a uint8 `[h, w, 3]` photo (or float 0-255)."""
    grey = grey_of(photo)
    return np.array(features_at_scale(grey) + features_at_scale(half_size(grey)))


def brisque(photo: np.ndarray) -> float:
    """BRISQUE score of one uint8 `[h, w, 3]` photo (or float 0-255): lower is more natural.

    Raises:
        ValueError: the photo is smaller than `MIN_SIDE` a side, or flat (a single value has
            no statistics to score).
    """
    if photo.ndim != 3 or photo.shape[-1] != 3:
        raise ValueError(f"brisque needs an [h, w, 3] photo, got shape {photo.shape}")
    if min(photo.shape[:2]) < MIN_SIDE:
        raise ValueError(f"brisque needs {MIN_SIDE} px a side or more, got {photo.shape[:2]}")
    values = features(photo)
    model = _model()
    low, high = model["feature_min"], model["feature_max"]
    scaled = -1 + 2 * (values - low) / (high - low)
    distances = np.sum((model["support_vectors"] - scaled) ** 2, axis=1)
    return float(model["coefficients"] @ np.exp(-model["gamma"] * distances) - model["rho"])
