r"""Stylisation images/s: our Keras CycleGAN 9-block generator vs the same one in PyTorch.

Both run the published layout (ngf 64, 9 blocks) with the same random weights
(ported from the torch reference through `cyclegan.port`) on the same batch, in
this one process, one after the other: Keras inside a `tf.function`, torch
under `no_grad` in eval mode. Speed only: the outputs are compared once to make
sure both compute the same thing.

  python benchmarks/stylize_vs_torch.py [--sizes=256,1024] [--batch_size=1] [--repeats=3]
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from absl import app, flags  # noqa: E402

import torch_reference_gan  # noqa: E402
from pp_tf.models import cyclegan  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "1024"], "Square image sides.")
_BATCH = flags.DEFINE_integer("batch_size", 1, "Images per call.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed calls of each after one warm-up call.")


def interleaved_images_per_second(forwards, inputs, batch_size, repeats):
    """Images/s of each forward; calls alternate, so load from other processes hits all alike."""
    for forward, x in zip(forwards, inputs):
        forward(x)  # warm-up (tracing, allocation)
    seconds = [0.0] * len(forwards)
    for _ in range(repeats):
        for i, (forward, x) in enumerate(zip(forwards, inputs)):
            start = time.perf_counter()
            forward(x)
            seconds[i] += time.perf_counter() - start
    return [batch_size * repeats / s for s in seconds]


def main(argv):
    del argv
    torch.manual_seed(0)
    reference = torch_reference_gan.ResnetGenerator(ngf=64, n_blocks=9).eval()
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    model = cyclegan.port(cyclegan.ResnetGenerator(n_blocks=9, ngf=64), state)
    keras_forward = tf.function(lambda x: model(x, training=False))

    def run_keras(x):
        return keras_forward(x).numpy()

    def run_torch(x):
        with torch.no_grad():
            return reference(x).numpy()

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"TensorFlow {tf.__version__} ({device}), "
          f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{os.cpu_count()} CPUs; CycleGAN resnet_9blocks ngf 64, batch {_BATCH.value}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'size':>10s} {'Keras img/s':>12s} {'torch img/s':>12s} {'ratio':>7s} "
          f"{'max |diff|':>11s}")
    rng = np.random.default_rng(0)
    for side in map(int, _SIZES.value):
        x = rng.uniform(-1, 1, (_BATCH.value, side, side, 3)).astype(np.float32)
        x_tf = tf.constant(x)
        x_torch = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        difference = np.abs(run_keras(x_tf) - run_torch(x_torch).transpose(0, 2, 3, 1)).max()
        ours, theirs = interleaved_images_per_second(
            [run_keras, run_torch], [x_tf, x_torch], _BATCH.value, _REPEATS.value)
        print(f"{side:>4d}x{side:<5d} {ours:12.3f} {theirs:12.3f} {ours / theirs:7.2f} "
              f"{difference:11.2e}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    app.run(main)
