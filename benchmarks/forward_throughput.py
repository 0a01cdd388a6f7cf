r"""Forward images/s of each ported classifier and NIMA, each at its own input size (224,
EfficientNet-Lite1 240, Lite2 260), random weights (speed only), next to
`keras.applications.ResNet50` in the same run.

The models are timed in turns (one batch each, round after round), so that load
from other processes hits all of them alike. `places365_resnet50` (torchvision
layout: stride in the 3x3 convolution, torch padding) is compared with
`keras.applications.ResNet50` (stride in the 1x1, biases), the reference it
should match or beat. The stylizers have benchmarks/stylize_vs_torch.py.

  python benchmarks/forward_throughput.py [--batch_size=32] [--repeats=5] [--models=a,b]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402  (benchmarks/timing.py)

from pp_tf import models  # noqa: E402

_BATCH = flags.DEFINE_integer("batch_size", 32, "Batch size.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed rounds after one warm-up batch.")
_MODELS = flags.DEFINE_list("models", None, "Only these architectures (default: every "
                            "classifier and NIMA, and keras_resnet50).")
_JIT = flags.DEFINE_boolean("jit_compile", False, "Compile each forward with XLA.")

KERAS_RESNET50 = "keras_resnet50"


def candidates():
    builders = {name: arch.build for name, arch in sorted(models.ARCHITECTURES.items())
                if arch.kind in ("classifier", "nima")}
    builders[KERAS_RESNET50] = lambda: keras.applications.ResNet50(weights=None)
    return {name: build for name, build in builders.items()
            if not _MODELS.value or name in _MODELS.value}


def main(argv):
    del argv
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"TensorFlow {tf.__version__} ({device}), {os.cpu_count()} CPUs, batch "
          f"{_BATCH.value}, {_REPEATS.value} rounds, load average {os.getloadavg()[0]:.2f}")
    forwards, x = {}, {}
    rng = np.random.default_rng(0)
    for name, build in candidates().items():
        model = build()
        forwards[name] = tf.function(lambda x, model=model: model(x, training=False),
                                     jit_compile=_JIT.value)
        x[name] = tf.constant(rng.uniform(0, 255, (_BATCH.value, *model.input_shape[1:])),
                              tf.float32)
    rates = timing.images_per_second(
        {name: (lambda f=forward, b=x[name]: f(b).numpy()) for name, forward in forwards.items()},
        _BATCH.value, _REPEATS.value)
    print(f"{'model':26s} {'images/s':>9s} {'images/CPU-s':>13s}")
    for name, (rate, cpu_rate) in rates.items():
        print(f"{name:26s} {rate:9.1f} {cpu_rate:13.2f}")
    if "places365_resnet50" in rates and KERAS_RESNET50 in rates:
        ours, theirs = rates["places365_resnet50"], rates[KERAS_RESNET50]
        print(f"places365_resnet50 / keras_resnet50: {ours[0] / theirs[0]:.2f} (wall), "
              f"{ours[1] / theirs[1]:.2f} (CPU)")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    app.run(main)
