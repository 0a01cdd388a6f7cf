"""GMSD, gradient magnitude similarity deviation (Xue, Zhang, Mou & Bovik, IEEE TIP 2014).

The luma (BT.601 weights) of both images is averaged over 2x2 blocks and halved, Prewitt
gradients give each pixel's gradient magnitude, and the similarity of the two magnitudes,
`(2 m1 m2 + T) / (m1^2 + m2^2 + T)` with T = 170 on the 0-255 scale, is 1 where structure
is kept. GMSD is that map's standard deviation over the image: 0 for a copy, larger when
structure is lost in some places and kept in others (flattened patches, contours, noise
on smooth areas). The authors' MATLAB code pads the convolutions with zeros ("same") and
takes the sample standard deviation; this follows it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

T = 170.0
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_PREWITT = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], np.float32) / 3.0


def _gradient_magnitude(luma):
    kernels = np.stack([_PREWITT, _PREWITT.T], axis=-1)[:, :, None, :]
    # MATLAB's conv2 flips the kernel; the magnitude does not see the sign.
    gradients = tf.nn.conv2d(luma, tf.constant(kernels), 1, "SAME")
    return tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=-1))


def similarity_map(reference, distorted):
    """The gradient magnitude similarity map `[b, h/2, w/2]` of sRGB `[b, h, w, 3]` (0-255)."""
    def luma_half(image):
        luma = tf.tensordot(tf.cast(image, tf.float32), tf.constant(_LUMA), 1)[..., None]
        # MATLAB: conv2 with a 2x2 mean ('same': the block at (i, j) is i..i+1, j..j+1,
        # zeros past the last row and column), then every second pixel from the first.
        luma = tf.pad(luma, [[0, 0], [0, 1], [0, 1], [0, 0]])
        return tf.nn.avg_pool2d(luma, 2, 1, "VALID")[:, ::2, ::2]
    m1, m2 = _gradient_magnitude(luma_half(reference)), _gradient_magnitude(luma_half(distorted))
    return (2.0 * m1 * m2 + T) / (m1 * m1 + m2 * m2 + T)


def gmsd(reference, distorted):
    """GMSD of `distorted` against `reference`, sRGB `[b, h, w, 3]` on 0-255 -> `[b]`
    (0: structure kept everywhere; JPEG quality 75 scores about 0.03 on photos)."""
    gms = similarity_map(reference, distorted)
    count = tf.cast(tf.size(gms[0]), tf.float32)
    mean = tf.reduce_mean(gms, axis=[1, 2], keepdims=True)
    return tf.sqrt(tf.reduce_sum(tf.square(gms - mean), axis=[1, 2]) / (count - 1.0))
