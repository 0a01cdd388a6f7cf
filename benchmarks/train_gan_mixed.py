r"""`python -m pp_tf.scripts.train_gan` under Keras' mixed_float16 policy (a speed figure).

`train_gan` has no mixed-precision option. This sets the global dtype policy
before `train_gan` builds its models, then runs it with the same flags. There is
no loss scaling in `train_gan`'s own optimiser step, so float16 gradients may
underflow: use it to measure steps/s, not to train.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402

from pp_tf.scripts import train_gan  # noqa: E402

if __name__ == "__main__":
    keras.mixed_precision.set_global_policy("mixed_float16")
    train_gan.run()
