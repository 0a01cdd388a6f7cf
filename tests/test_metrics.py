"""Colour metrics against published reference data (Sharma, Wu & Dalal 2005; Lindbloom)."""

import numpy as np
import pytest

from pp_tf import metrics

# G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula:
# implementation notes, supplementary test data, and mathematical observations",
# Color Res. Appl. 30(1), 2005, Table 1: L1 a1 b1, L2 a2 b2, Delta E00.
SHARMA_2005 = np.array([
    [50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425],
    [50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615],
    [50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412],
    [50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669],
    [50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461],
    [50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065],
    [50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492],
    [50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977],
    [50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030],
    [50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000],
    [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
    [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630],
    [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
    [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
    [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
    [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
    [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
    [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
    [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
    [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
])


def test_ciede2000_matches_sharma_wu_dalal_table():
    assert SHARMA_2005.shape == (34, 7)
    got = metrics.ciede2000(SHARMA_2005[:, 0:3], SHARMA_2005[:, 3:6])
    np.testing.assert_allclose(got, SHARMA_2005[:, 6], atol=5e-5)  # the table's 4 decimals
    # Symmetric in its arguments (the paper's pairs 7 and 8 are one pair swapped).
    np.testing.assert_allclose(metrics.ciede2000(SHARMA_2005[:, 3:6], SHARMA_2005[:, 0:3]), got,
                               atol=1e-9)


@pytest.mark.parametrize("rgb, lab", [
    # Bruce Lindbloom's calculator (sRGB, D65, 2 degrees), to 4 decimals.
    ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
    ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
])
def test_srgb_to_lab_reference_values(rgb, lab):
    np.testing.assert_allclose(metrics.srgb_to_lab(np.array(rgb)), lab, atol=2e-3)


def test_srgb_to_lab_mid_grey_by_formula():
    """128 grey: linear (128/255 + 0.055)/1.055)^2.4; a grey has Y = that, L = 116 Y^(1/3) - 16."""
    y = ((128 / 255 + 0.055) / 1.055) ** 2.4
    np.testing.assert_allclose(metrics.srgb_to_lab(np.array([128, 128, 128])),
                               [116 * y ** (1 / 3) - 16, 0, 0], atol=1e-4)


def test_mean_ciede2000_of_images_by_hand():
    """Half the pixels differ by one Sharma pair's colours, the other half not at all."""
    red = np.zeros((4, 6, 3), np.uint8)
    red[...] = (255, 0, 0)
    other = red.copy()
    other[:2] = (0, 0, 255)
    expected = metrics.ciede2000(np.array([53.2408, 80.0925, 67.2032]),
                                 np.array([32.2970, 79.1875, -107.8602])) / 2
    assert metrics.mean_ciede2000(red, other, chunk=5) == pytest.approx(float(expected), abs=1e-3)
    assert metrics.mean_ciede2000(red, red) == 0.0


def test_ciede2000_against_scikit_image_when_installed():
    skimage_color = pytest.importorskip(
        "skimage.color", reason="scikit-image not installed: the second CIEDE2000 reference "
        "is skipped (the Sharma table above still checks it)")
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 500, 3)).astype(np.uint8)
    np.testing.assert_allclose(metrics.srgb_to_lab(a), skimage_color.rgb2lab(a / 255.0), atol=1e-3)
    np.testing.assert_allclose(metrics.ciede2000(metrics.srgb_to_lab(a), metrics.srgb_to_lab(b)),
                               skimage_color.deltaE_ciede2000(skimage_color.rgb2lab(a / 255.0),
                                                              skimage_color.rgb2lab(b / 255.0)),
                               atol=1e-6)


def test_gone_from_top5_is_the_complement_by_hand():
    original = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
    protected = original[[1, 1, 2, 2]]  # original top-1 (1,0,2,0) vs protected top-1 (0,0,2,2)
    # With k = 1: gone for rows 0 and 3.
    assert metrics.original_top1_gone_from_top_k(original, protected, 1) == 0.5
    assert metrics.original_top1_gone_from_top_k(original, protected, 3) == 0.0


def test_photo_verdict_by_hand():
    original = np.array([[0.5, 0.2, 0.1, 0.08, 0.07, 0.05]])  # top-1: class 0
    still_top1 = np.array([[0.4, 0.3, 0.1, 0.1, 0.05, 0.05]])
    second = np.array([[0.3, 0.4, 0.1, 0.1, 0.05, 0.05]])  # class 0 is 2nd: in the top 5
    sixth = np.array([[0.01, 0.3, 0.3, 0.2, 0.1, 0.09]])  # class 0 is last of 6: gone
    assert metrics.photo_verdict(original, still_top1) == (False, False)
    assert metrics.photo_verdict(original, second) == (True, False)
    assert metrics.photo_verdict(original, sixth) == (True, True)
    assert metrics.photo_verdict(original, second, k=1) == (True, True)
