r"""Peak memory of protecting one 50-megapixel photo (UAP, tiled over the whole photo).

  .venv/bin/python benchmarks/protect_memory.py [--megapixels=50] [--method=uap]

Runs `pp_tf.scripts.protect` in a child process on a generated photo and reports the
child's peak resident set size (ru_maxrss), next to the same for a 1-megapixel photo
(the fixed cost: Python, TensorFlow, the perturbation).
"""

import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image

_MP = flags.DEFINE_float("megapixels", 50.0, "Size of the large photo.")
_METHOD = flags.DEFINE_string("method", "uap", "protect --method.")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_photo(path, megapixels):
    width = int(np.sqrt(megapixels * 1e6 * 3 / 2))
    height = int(megapixels * 1e6 / width)
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = rows.astype(np.uint8)
    image[..., 1] = cols.astype(np.uint8)
    image[..., 2] = ((rows + cols) / 2).astype(np.uint8)
    Image.fromarray(image).save(path, quality=90)
    return width, height


def peak_rss_of_protect(folder, out):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pp_tf.scripts.protect", f"--method={_METHOD.value}",
                    f"--perturbation={os.path.join(ROOT, 'saved_models', 'uap_efficientnet_lite0_linf10.npy')}",
                    f"--input_dir={folder}", f"--output_dir={out}"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024, seconds  # ru_maxrss is in KiB on Linux


def main(argv):
    del argv
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for megapixels in (1.0, _MP.value):  # the small run first: ru_maxrss only grows
            folder = os.path.join(tmp, f"in{megapixels}")
            os.makedirs(folder)
            width, height = make_photo(os.path.join(folder, "photo.jpg"), megapixels)
            mib, seconds = peak_rss_of_protect(folder, os.path.join(tmp, f"out{megapixels}"))
            results.append((megapixels, width, height, mib, seconds))
        for megapixels, width, height, mib, seconds in results:
            print(f"{megapixels:5.1f} MP ({width}x{height}) --method={_METHOD.value}: "
                  f"peak RSS {mib:7.0f} MiB, {seconds:5.1f} s")


if __name__ == "__main__":
    app.run(main)
