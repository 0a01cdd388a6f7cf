"""A probe, not a method: `benchmarks/protection_targets.py` with skip-gradient surrogates.

Every EfficientNet-Lite residual add becomes a skip-gradient add (Wu et al., "Skip
connections matter: on the transferability of adversarial examples generated with
ResNets", ICLR 2020): the same forward values (within 2.4e-6 in the logits), but only
`SGM_GAMMA` (default 0.5) of the gradient flows back through each block's residual
branch, the rest through its skip. The forward pass is unchanged, so the benchmark's
judgement of the trained and unseen attackers is unchanged; only the attacks' gradients
differ. It patches `keras.layers.Add` for the whole process, which is why it lives here
and not in `pp_tf`. Not adopted: on the tuning photos it was worse on every column
(BUILD_NOTES, "Rejected experiments").

  PYTHONPATH=$PWD SGM_GAMMA=0.5 python experiments/protection_tuning/skip_gradient_probe.py \\
      --methods=color_lut --photos=/tmp/tune35 --skip_12mp --per_photo
"""

import os
import runpy
import sys

import keras
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GAMMA = float(os.environ.get("SGM_GAMMA", "0.5"))


class SkipGradientAdd(keras.layers.Add):
    """`branch + skip`, with GAMMA of the gradient through `branch`."""

    def _merge_function(self, inputs):
        branch, skip = inputs
        return skip + GAMMA * branch + tf.stop_gradient((1.0 - GAMMA) * branch)


if __name__ == "__main__":
    keras.layers.Add = SkipGradientAdd  # read by the EfficientNet-Lite builder at build time
    script = os.path.join(ROOT, "benchmarks", "protection_targets.py")
    sys.argv[0] = script
    runpy.run_path(script, run_name="__main__")
