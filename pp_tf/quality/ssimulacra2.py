"""SSIMULACRA2 (Jon Sneyers, Cloudinary, 2023; libjxl's `tools/ssimulacra2.cc`) as a batched,
differentiable TensorFlow function.

SSIMULACRA2 scores a distorted image against its reference on a scale where 90 is visually
lossless, 70 high quality, 50 medium and 30 low (it can go below zero). It was fitted to
human opinion scores (CID22, TID2013, KADID-10k, KonFiG-IQA) and, unlike PSNR or mean
CIEDE2000, it sees lost structure: each of six scales (2x2 box downsampling in linear RGB)
is compared in the XYB colour space by a 1 - SSIM map and by two edge maps, one for
edges the distorted image adds (ringing, blocking, banding, noise) and one for edges it
loses (blur, flattening), each pooled by its mean and its 4-norm; 108 weighted features
then go through a fitted polynomial and a power curve.

This follows the Python port `ssimulacra2` 0.3.0 (PyPI; its boundary handling: the Gaussian
blur, sigma 1.5, radius 5, sees zeros beyond the left and right edges and mirrors at the
top and bottom, as the port's transposed planes do), which `tests/test_quality.py` uses as the independent reference. Like libjxl, an
image with fewer than six scales of at least 8 px takes the first weights in order, so
the Y and B channels' features meet weights fitted for other features: scores of images
under 256 px on the shorter side are comparable only among images of that same size.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

NUM_SCALES = 6
_C2 = 0.0009
_OPSIN = np.array([[0.30, 0.622, 0.078],
                   [0.23, 0.692, 0.078],
                   [0.24342268924547819, 0.20476744424496821, 0.5518098665095536]])
_OPSIN[2, 2] = 1.0 - _OPSIN[2, 0] - _OPSIN[2, 1]
_BIAS = 0.0037930732552754493

# The 108 fitted weights, in libjxl's order: channel (X, Y, B), scale, norm (mean, 4-norm),
# then SSIM, added edges, lost edges.
WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0,
    0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271,
    0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0, 1.8422455520539298,
    11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
    1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833,
    0.0, 0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053,
    0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0,
    7.466890328078848, 0.0, 17.445833984131262, 0.0006235601634041466, 0.0, 0.0,
    6.683678146179332, 0.00037724407979611296, 1.027889937768264, 225.20515300849274, 0.0,
    0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757,
    0.0004485436923833408, 0.0, 0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0, 0.0,
    8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
    0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0,
    0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537])
assert WEIGHTS.shape == (108,)


def srgb_to_linear(srgb):
    """sRGB values in [0, 1] -> linear light (IEC 61966-2-1)."""
    srgb = tf.clip_by_value(srgb, 0.0, 1.0)
    return tf.where(srgb <= 0.04045, srgb / 12.92,
                    tf.pow((tf.maximum(srgb, 0.04045) + 0.055) / 1.055, 2.4))


def _cbrt(x):
    # Gradient-safe at 0: the cube root's slope is unbounded there.
    return tf.pow(tf.maximum(x, 1e-12), 1.0 / 3.0)


def linear_to_positive_xyb(linear):
    """Linear RGB `[..., 3]` -> SSIMULACRA2's positive XYB (libjxl's opsin absorbance, cube
    root, then X * 14 + 0.42, Y + 0.01, B - Y + 0.55)."""
    mixed = tf.tensordot(linear, tf.constant(_OPSIN.T, linear.dtype), 1) + _BIAS
    mixed = _cbrt(tf.maximum(mixed, 0.0)) - float(np.cbrt(_BIAS))
    x = 0.5 * (mixed[..., 0] - mixed[..., 1])
    y = 0.5 * (mixed[..., 0] + mixed[..., 1])
    b = mixed[..., 2]
    return tf.stack([x * 14.0 + 0.42, y + 0.01, b - y + 0.55], axis=-1)


_RADIUS = 5  # libjxl: round(3.2795 sigma + 0.2546); scipy: int(3.33 sigma + 0.5)
_TAPS = np.exp(-0.5 * (np.arange(-_RADIUS, _RADIUS + 1) / 1.5) ** 2)
_TAPS = (_TAPS / _TAPS.sum()).astype(np.float32)


def blur(planes):
    """Gaussian blur (sigma 1.5) of `[b, h, w, c]`, each channel on its own: zeros beyond the
    left and right edges, a mirror (edge pixel repeated) at the top and bottom."""
    channels = planes.shape[-1]
    vertical = tf.tile(tf.reshape(tf.constant(_TAPS), [-1, 1, 1, 1]), [1, 1, channels, 1])
    horizontal = tf.reshape(vertical, [1, -1, channels, 1])
    padded = tf.pad(planes, [[0, 0], [0, 0], [_RADIUS, _RADIUS], [0, 0]])
    planes = tf.nn.depthwise_conv2d(padded, horizontal, [1, 1, 1, 1], "VALID")
    padded = tf.pad(planes, [[0, 0], [_RADIUS, _RADIUS], [0, 0], [0, 0]], mode="SYMMETRIC")
    return tf.nn.depthwise_conv2d(padded, vertical, [1, 1, 1, 1], "VALID")


def downsample(linear):
    """2x2 box average; an odd last row or column averages the pixels it has."""
    height, width = tf.shape(linear)[1], tf.shape(linear)[2]
    linear = tf.pad(linear, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]], mode="SYMMETRIC")
    return tf.nn.avg_pool2d(linear, 2, 2, "VALID")


def _pooled(error_map):
    """Mean and 4-norm over the pixels of `[b, h, w, 3]` -> two `[b, 3]`."""
    mean = tf.reduce_mean(error_map, axis=[1, 2])
    fourth = tf.reduce_mean(tf.square(tf.square(error_map)), axis=[1, 2])
    return mean, tf.pow(tf.maximum(fourth, 1e-30), 0.25) * tf.cast(fourth > 0, fourth.dtype)


def reference_scale(ref):
    """What one scale's features need of the reference alone: its XYB planes, their blur
    and the blur of their squares (`[b, h, w, 3]` each)."""
    return ref, blur(ref), blur(ref * ref)


def scale_features(reference_part, dist):
    """The 18 features of one scale, `[b, 3, 6]`: per channel, SSIM (mean, 4-norm), added
    edges (mean, 4-norm), lost edges (mean, 4-norm), interleaved as libjxl weighs them.
    `reference_part` is the scale's `reference_scale`; `dist` its distorted XYB planes."""
    ref, mu1, s11 = reference_part
    mu2 = blur(dist)
    s22, s12 = blur(dist * dist), blur(ref * dist)
    num_m = 1.0 - tf.square(mu1 - mu2)
    num_s = 2.0 * (s12 - mu1 * mu2) + _C2
    denom_s = (s11 - mu1 * mu1) + (s22 - mu2 * mu2) + _C2
    ssim = tf.maximum(1.0 - num_m * num_s / denom_s, 0.0)
    ratio = (1.0 + tf.abs(dist - mu2)) / (1.0 + tf.abs(ref - mu1)) - 1.0
    ssim_mean, ssim_4 = _pooled(ssim)
    added_mean, added_4 = _pooled(tf.maximum(ratio, 0.0))
    lost_mean, lost_4 = _pooled(tf.maximum(-ratio, 0.0))
    # libjxl's order inside a scale: for n in (mean, 4-norm): ssim[n], added[n], lost[n].
    return tf.stack([ssim_mean, added_mean, lost_mean, ssim_4, added_4, lost_4], axis=-1)


def _weights(scales):
    """The weights of `scales` scales (a scalar tensor, 1-6) laid out as `[3, 6, 6]` (channel,
    scale, feature), zeros beyond `scales`: libjxl takes the first `3 * scales * 6` weights in
    order, so with fewer scales a weight's place depends on how many there are."""
    channel = tf.range(3)[:, None, None]
    scale = tf.range(NUM_SCALES)[None, :, None]
    feature = tf.range(6)[None, None, :]
    index = channel * scales * 6 + scale * 6 + feature
    weights = tf.gather(tf.constant(WEIGHTS, tf.float32), tf.minimum(index, WEIGHTS.size - 1))
    return tf.where(scale < scales, weights, 0.0)


def score_from_features(features, scales):
    """`[b, 3, 6, 6]` features (zeros beyond `scales`) -> `[b]` scores (libjxl's weighting and
    mapping)."""
    total = (tf.reduce_sum(tf.abs(features) * _weights(scales), axis=[1, 2, 3])
             * 0.9562382616834844)
    total = (2.326765642916932 * total - 0.020884521182843837 * total ** 2
             + 6.248496625763138e-05 * total ** 3)
    return tf.where(total > 0, 100.0 - 10.0 * tf.pow(tf.maximum(total, 1e-12),
                                                     0.6276336467831387), 100.0)


def _present(linear):
    shape = tf.shape(linear)
    return tf.logical_and(shape[1] >= 8, shape[2] >= 8)


def reference_scales(reference):
    """The reference's part of every scale (`reference_scale`), sRGB `[b, h, w, 3]` on the
    0-255 scale: computed once, it scores any number of distorted images
    (`ssimulacra2_against`), as the quality gate's search does. A scale under 8 x 8 px holds
    zeros of its own shape (both branches of its `tf.cond` have one shape)."""
    reference = tf.cast(reference, tf.float32) / 255.0
    if reference.shape[1:3].is_fully_defined() and min(reference.shape[1:3]) < 8:
        raise ValueError(f"SSIMULACRA2 needs at least 8 x 8 pixels, got {reference.shape[1:3]}")
    linear, parts = srgb_to_linear(reference), []
    for _ in range(NUM_SCALES):
        nothing = tf.zeros_like(linear)
        parts.append(tf.cond(_present(linear),
                             lambda linear=linear: reference_scale(linear_to_positive_xyb(linear)),
                             lambda nothing=nothing: (nothing, nothing, nothing)))
        linear = downsample(linear)
    return tuple(parts)


def ssimulacra2_against(scales, distorted):
    """SSIMULACRA2 of `distorted` (sRGB `[b, h, w, 3]`, 0-255) against the reference whose
    `reference_scales` are `scales` (batch 1 or b, the same size) -> float32 `[b]`."""
    distorted = tf.cast(distorted, tf.float32) / 255.0
    tf.debugging.assert_equal(tf.shape(scales[0][0])[1:], tf.shape(distorted)[1:],
                              message="SSIMULACRA2: the two images' shapes differ")
    linear = srgb_to_linear(distorted)
    batch = tf.shape(distorted)[0]
    features, count = [], tf.constant(0)
    for part in scales:
        present = _present(linear)
        features.append(tf.cond(
            present,
            lambda part=part, linear=linear: scale_features(part, linear_to_positive_xyb(linear)),
            lambda: tf.zeros([batch, 3, 6])))
        count += tf.cast(present, tf.int32)
        linear = downsample(linear)
    tf.debugging.assert_positive(count, message="SSIMULACRA2 needs at least 8 x 8 pixels")
    return score_from_features(tf.stack(features, axis=2), count)


def ssimulacra2(reference, distorted):
    """SSIMULACRA2 of `distorted` against `reference`: sRGB `[b, h, w, 3]` on the 0-255 scale
    (uint8 or float; float values are clipped to 0-255), one shape -> float32 `[b]`.

    Differentiable in `distorted` (float input). Works on shapes known only when it runs (a
    TF Serving graph): each scale of at least 8 x 8 px is scored under a `tf.cond`, so one
    trace serves every size.
    """
    reference, distorted = tf.convert_to_tensor(reference), tf.convert_to_tensor(distorted)
    if reference.shape.is_fully_defined() and reference.shape[1:] != distorted.shape[1:]:
        raise ValueError(f"shapes differ: {reference.shape} and {distorted.shape}")
    tf.debugging.assert_equal(tf.shape(reference), tf.shape(distorted),
                              message="SSIMULACRA2: the two images' shapes differ")
    return ssimulacra2_against(reference_scales(reference), distorted)
