r"""Peak memory of protecting one 50-megapixel photo (UAP, tiled over the whole photo).

  .venv/bin/python benchmarks/protect_memory.py [--megapixels=50] [--method=uap] [--phases]

Runs `pp_tf.scripts.protect` in a child process on a generated photo and reports the
child's peak resident set size (ru_maxrss), next to the same for a 1-megapixel photo
(the fixed cost: Python, TensorFlow, the perturbation).

With `--phases`, it runs `protect`'s steps for the large photo in this process instead and
prints, after each (decode, the method, the gate, BRISQUE, the JPEG write), the peak RSS so
far, the RSS held then and the NumPy/Python memory `tracemalloc` sees as live.
"""

import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from absl import app, flags
from PIL import Image

_MP = flags.DEFINE_float("megapixels", 50.0, "Size of the large photo.")
_METHOD = flags.DEFINE_string("method", "uap", "protect --method.")
_PHASES = flags.DEFINE_boolean("phases", False, "Measure the large photo phase by phase, "
                               "in this process.")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UAP = os.path.join(ROOT, "saved_models", "uap_efficientnet_lite0_linf10.npy")


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
                    f"--perturbation={UAP}",
                    f"--input_dir={folder}", f"--output_dir={out}"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024, seconds  # ru_maxrss is in KiB on Linux


def phases(path):
    """`protect`'s steps on the photo at `path`, with the memory after each."""
    tracemalloc.start()

    def report(label):
        gc.collect()
        with open("/proc/self/statm") as statm:
            held = int(statm.read().split()[1]) * resource.getpagesize() / 2 ** 20
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{label:>10}: peak RSS {peak:6.0f} MiB, held {held:6.0f} MiB, NumPy/Python "
              f"{tracemalloc.get_traced_memory()[0] / 2 ** 20:5.0f} MiB", flush=True)

    from pp_tf import image_io, protections
    from pp_tf.protect import ProtectConfig, prepare_chain
    from pp_tf.quality import gate, measures

    chain = prepare_chain(ProtectConfig.from_values((_METHOD.value,), {"perturbation": UAP}))
    report("imports")
    original = image_io.read_image(path, max_pixels=10 ** 9)
    report("decode")
    photo = chain[0].apply(original, protections.PhotoContext(os.path.basename(path)))
    report("method")
    held = gate.hold(original, photo, gate.QualityGate(gate.DEFAULT), image_io.AsSaved("JPEG"))
    report(f"gate {held.record.get('strength', 1.0):.2f}")
    measures.naturalness(held.written), measures.naturalness(original)
    report("BRISQUE")
    image_io.encode_image(held.photo, "JPEG")
    report("JPEG write")


def main(argv):
    del argv
    if _PHASES.value:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "photo.jpg")
            make_photo(path, _MP.value)
            phases(path)
        return
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
