r"""The pgd servable with and without XLA (`jit_compile`), in one run.

  PYTHONPATH=$PWD .venv/bin/python benchmarks/serving_xla.py --count=2

The servable's protect function (`protections.get("pgd").serving`: pgd at its defaults
against Lite0 + Lite1, the whole optimisation in a `tf.while_loop`, before the quality
gate, which `protect_module` adds) is wrapped in a `tf.function` with the export's input
signature three times: as it is exported; with `jit_compile=True` (the whole function
compiled by XLA); and under XLA's auto-clustering (`tf.config.optimizer.set_jit`, with
`--tf_xla_cpu_global_jit` so that it acts on a CPU: XLA compiles the clusters of ops it
supports and TensorFlow runs the rest). For each of `--count` bundled photos it prints the
first call (trace, and XLA's compile for that photo size) and the mean of `--repeats`
further calls, and the largest difference from the exported form's output in grey levels.
XLA compiles once per photo size, so a service sees the first call's cost for every new
size.
"""

import os
import time

# Read when TensorFlow starts: lets auto-clustering, once switched on below, act on a CPU.
os.environ["TF_XLA_FLAGS"] = (os.environ.get("TF_XLA_FLAGS", "") + " --tf_xla_cpu_global_jit")

import numpy as np
import tensorflow as tf
from absl import app, flags

from pp_tf import bundled, image_io, protections

_COUNT = flags.DEFINE_integer("count", 2, "Bundled photos (each a new size).")
_REPEATS = flags.DEFINE_integer("repeats", 2, "Timed calls after the first.")


def main(argv):
    del argv
    examples = bundled.examples_dir()
    names = sorted(n for n in os.listdir(examples) if n.endswith((".jpg", ".png")))[:_COUNT.value]
    method = protections.get("pgd")
    servable = method.serving(method.make_settings({}))
    signature = [tf.TensorSpec([None, None, None, 3], tf.uint8)]
    functions = {
        "graph": lambda: tf.function(servable.protect_batch, input_signature=signature),
        "XLA jit_compile": lambda: tf.function(servable.protect_batch,
                                               input_signature=signature, jit_compile=True),
        "XLA auto-clustering": lambda: (tf.config.optimizer.set_jit("autoclustering")
                                        or tf.function(servable.protect_batch,
                                                       input_signature=signature))}
    print(f"TensorFlow {tf.__version__}, {len(tf.config.list_physical_devices('GPU'))} GPUs; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| photo | size | path | first call s | later call s | max diff |\n"
          "|---|---|---|---|---|---|")
    photos = {name: image_io.read_image(os.path.join(examples, name))[None] for name in names}
    outputs = {}
    for label, make in functions.items():  # auto-clustering last: it stays on once set
        function = make()
        for name, photo in photos.items():
            try:
                start = time.perf_counter()
                out = function(photo).numpy()
                first = time.perf_counter() - start
                start = time.perf_counter()
                for _ in range(_REPEATS.value):
                    out = function(photo).numpy()
                later = (time.perf_counter() - start) / _REPEATS.value
            except Exception as error:  # noqa: BLE001 - an op XLA cannot compile: say which
                print(f"| {name} | {photo.shape[2]}x{photo.shape[1]} | {label} | failed: "
                      f"{type(error).__name__}: {str(error).splitlines()[0][:200]} | | |")
                continue
            outputs[label, name] = out
            graph = outputs.get(("graph", name))
            diff = "" if graph is None else int(np.abs(out.astype(int) - graph.astype(int)).max())
            print(f"| {name} | {photo.shape[2]}x{photo.shape[1]} | {label} | {first:.1f} | "
                  f"{later:.1f} | {diff} |", flush=True)


if __name__ == "__main__":
    app.run(main)
