r"""Stylisation images/s: our Keras CycleGAN 9-block generator vs the same one in PyTorch.

Both run the published layout (ngf 64, 9 blocks) with the same random weights
(ported from the torch reference through `cyclegan.port`) on the same batch, in
this one process, in turns (one call each, round after round, so that load from
other processes hits both alike): Keras inside a `tf.function` (as `stylize`
runs it), torch under `no_grad` in eval mode. It prints, per size, images per
wall-clock second and per CPU second of the process (steadier on a loaded
machine), the ratios, and the largest output difference in grey levels
(outputs mapped to 0-255 as `stylize` does).

  python benchmarks/stylize_vs_torch.py [--sizes=256,512] [--batch_size=1] [--repeats=3]
      [--precision=float32|mixed_bfloat16|mixed_float16] [--convolutions=auto|winograd|direct] [--jit_compile]
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402  (benchmarks/timing.py)

import torch_reference_gan  # noqa: E402
from pp_tf.gan.precision import PRECISIONS  # noqa: E402
from pp_tf.models import cyclegan  # noqa: E402
from pp_tf.stylize import CONVOLUTIONS, build_generator_model  # noqa: E402
from pp_tf.winograd import WinogradConv2D  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "512"], "Square image sides.")
_BATCH = flags.DEFINE_integer("batch_size", 1, "Images per call.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed rounds after one warm-up call.")
_PRECISION = flags.DEFINE_enum("precision", "float32", list(PRECISIONS),
                               "Keras dtype policy (variables stay float32).")
_CONVOLUTIONS = flags.DEFINE_enum("convolutions", "auto", list(CONVOLUTIONS),
                                  "As `stylize --convolutions` (auto: winograd on a CPU).")
_JIT = flags.DEFINE_boolean("jit_compile", False, "Compile the Keras generator with XLA.")


def main(argv):
    del argv
    torch.manual_seed(0)
    reference = torch_reference_gan.ResnetGenerator(ngf=64, n_blocks=9).eval()
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    model = build_generator_model(
        lambda: cyclegan.port(cyclegan.ResnetGenerator(n_blocks=9, ngf=64), state),
        _PRECISION.value, _CONVOLUTIONS.value)
    winograd_layers = sum(isinstance(layer, WinogradConv2D) for layer in model.layers)
    keras_forward = tf.function(lambda x: tf.cast(model(x, training=False), tf.float32),
                                jit_compile=_JIT.value)

    def run_keras(x):
        return keras_forward(x).numpy()

    def run_torch(x):
        with torch.no_grad():
            return reference(x).numpy()

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"TensorFlow {tf.__version__} ({device}, {_PRECISION.value}"
          f"{', XLA' if _JIT.value else ''}, {winograd_layers} Winograd convolutions), "
          f"PyTorch {torch.__version__} "
          f"({torch.get_num_threads()} threads, float32), {os.cpu_count()} CPUs; "
          f"CycleGAN resnet_9blocks ngf 64, batch {_BATCH.value}, {_REPEATS.value} rounds")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'size':>10s} {'Keras img/s':>12s} {'torch img/s':>12s} {'ratio':>6s} "
          f"{'Keras img/CPU-s':>16s} {'torch img/CPU-s':>16s} {'ratio':>6s} "
          f"{'grey diff max/mean':>19s}")
    rng = np.random.default_rng(0)
    for side in map(int, _SIZES.value):
        x = rng.uniform(-1, 1, (_BATCH.value, side, side, 3)).astype(np.float32)
        x_tf = tf.constant(x)
        x_torch = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        ours_out = np.round((run_keras(x_tf) + 1) * 127.5)
        theirs_out = np.round((run_torch(x_torch).transpose(0, 2, 3, 1) + 1) * 127.5)
        difference = np.abs(ours_out - theirs_out)
        rates = timing.images_per_second(
            {"keras": lambda: run_keras(x_tf), "torch": lambda: run_torch(x_torch)},
            _BATCH.value, _REPEATS.value)
        (ours, ours_cpu), (theirs, theirs_cpu) = rates["keras"], rates["torch"]
        print(f"{side:>4d}x{side:<5d} {ours:12.3f} {theirs:12.3f} {ours / theirs:6.2f} "
              f"{ours_cpu:16.3f} {theirs_cpu:16.3f} {ours_cpu / theirs_cpu:6.2f} "
              f"{difference.max():12.0f} / {difference.mean():.3f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    app.run(main)
