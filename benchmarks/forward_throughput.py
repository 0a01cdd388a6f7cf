r"""Forward images/s of each ported classifier and NIMA at batch 32, 224x224
(random weights: speed only; the stylizers have benchmarks/stylize_vs_torch.py).

  python benchmarks/forward_throughput.py [--batch_size=32] [--repeats=5]
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from pp_tf import models  # noqa: E402

_BATCH = flags.DEFINE_integer("batch_size", 32, "Batch size.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed batches after one warm-up batch.")


def images_per_second(model, batch_size, repeats):
    forward = tf.function(lambda x: model(x, training=False), jit_compile=False)
    x = tf.constant(np.random.default_rng(0).uniform(0, 255, (batch_size, 224, 224, 3)), tf.float32)
    forward(x).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        forward(x).numpy()
    return batch_size * repeats / (time.perf_counter() - start)


def main(argv):
    del argv
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, batch {_BATCH.value}")
    for name, arch in sorted(models.ARCHITECTURES.items()):
        if arch.kind not in ("classifier", "nima"):
            continue
        rate = images_per_second(arch.build(), _BATCH.value, _REPEATS.value)
        print(f"{name:22s} {rate:7.1f} images/s")


if __name__ == "__main__":
    app.run(main)
