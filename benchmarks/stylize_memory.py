r"""Peak memory and time of stylising one 12-megapixel photo, seamless tiles against blended ones.

  python benchmarks/stylize_memory.py [--height=3000 --width=4000] [--n_blocks=9] [--ngf=64]
      [--modes=seamless,blended] [--convolutions=auto|winograd|direct] [--batch_size=N]

Each run is a child process (this script with --child) that builds a CycleGAN
generator with random weights, stylises one generated photo (gradients and
noise) through `stylize.stylize_image` at the default tile size, and reports
its wall time; the parent reads the child's own peak resident set size
(`os.wait4`'s ru_maxrss). The goal for seamless tiles is 4 GiB at 12 MP.
"""

import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_HEIGHT = flags.DEFINE_integer("height", 3000, "Photo height.")
_WIDTH = flags.DEFINE_integer("width", 4000, "Photo width.")
_N_BLOCKS = flags.DEFINE_integer("n_blocks", 9, "Residual blocks (9: the published generators).")
_NGF = flags.DEFINE_integer("ngf", 64, "Generator width (64: the published generators).")
_MODES = flags.DEFINE_list("modes", ["seamless", "blended"], "Tilings to run.")
_TILE = flags.DEFINE_integer("tile_size", 512, "stylize --tile_size.")
_BATCH = flags.DEFINE_integer("batch_size", None, "stylize --batch_size (None: its default).")
_CONVOLUTIONS = flags.DEFINE_enum("convolutions", "auto", ["auto", "winograd", "direct"],
                                  "As `stylize --convolutions` (auto: winograd on a CPU).")
_CHILD = flags.DEFINE_string("child", None, "Internal: run one mode and print its seconds.")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(mode):
    import keras
    import numpy as np

    from pp_tf import stylize
    from pp_tf.export import StylizerModule
    from pp_tf.models import cyclegan

    keras.utils.set_random_seed(0)
    model = stylize.build_generator_model(
        lambda: cyclegan.ResnetGenerator(n_blocks=_N_BLOCKS.value, ngf=_NGF.value),
        convolutions=_CONVOLUTIONS.value)
    generator = stylize.Generator.from_module(StylizerModule(model))
    height, width = _HEIGHT.value, _WIDTH.value
    # Built in uint8 (a float64 photo would add ~1 GB of temporaries to the peak).
    photo = np.empty((height, width, 3), np.uint8)
    photo[..., 0] = np.linspace(0, 255, height).astype(np.uint8)[:, None]
    photo[..., 1] = np.linspace(0, 255, width).astype(np.uint8)[None, :]
    photo[..., 2] = np.random.default_rng(0).integers(0, 256, (height, width), dtype=np.uint8)
    config = stylize.StylizeConfig(tile_size=_TILE.value, **(
        {"batch_size": _BATCH.value} if _BATCH.value else {}))
    start = time.perf_counter()
    if mode == "seamless":
        result = stylize.stylize_seamless(generator, photo, config.tile_size, config.batch_size)
    else:
        result = stylize.stylize_tiled(generator, photo, config.tile_size, config.overlap,
                                       config.batch_size)
    assert result.shape == photo.shape
    print(f"{time.perf_counter() - start:.1f}")


def run_child(mode):
    argv = [sys.executable, os.path.abspath(__file__), f"--child={mode}",
            f"--height={_HEIGHT.value}", f"--width={_WIDTH.value}",
            f"--n_blocks={_N_BLOCKS.value}", f"--ngf={_NGF.value}", f"--tile_size={_TILE.value}",
            f"--convolutions={_CONVOLUTIONS.value}"] + (
                [f"--batch_size={_BATCH.value}"] if _BATCH.value else [])
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=ROOT))
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"{mode} run failed (status {status})")
    return float(output.split()[-1]), usage.ru_maxrss / 1024 ** 2  # KiB -> GiB


def main(argv):
    del argv
    if _CHILD.value:
        child(_CHILD.value)
        return
    megapixels = _HEIGHT.value * _WIDTH.value / 1e6
    print(f"{megapixels:.1f} MP ({_WIDTH.value}x{_HEIGHT.value}), CycleGAN {_N_BLOCKS.value} "
          f"blocks ngf {_NGF.value}, tile {_TILE.value}, batch {_BATCH.value or 'default'}, "
          f"convolutions {_CONVOLUTIONS.value}, "
          f"{os.cpu_count()} CPUs, "
          f"load average before {os.getloadavg()[0]:.2f}")
    for mode in _MODES.value:
        seconds, gib = run_child(mode)
        print(f"{mode:9s} {seconds:8.1f} s  peak RSS {gib:5.2f} GiB")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    app.run(main)
