r"""Photos per second of the Beam protect pipeline against `protect` on the same folder, in
one run, and the cost of the SavedModel path against the eager library path.

  PYTHONPATH=$PWD .venv/bin/python benchmarks/beam_throughput.py --count=6

Each row protects the same `--count` bundled photos with pgd at its defaults (Lite0 +
Lite1, quality gate 70) into a fresh folder, end to end (the pipeline rows include
starting their workers, each of which loads the SavedModel once):
* `protect` (eager library path, one process);
* the pipeline, FnApiRunner (the DirectRunner's engine) in one process (`in_memory`):
  the SavedModel path;
* the pipeline, FnApiRunner with 2 worker processes (`multi_processing`).
The export's own time (tracing pgd and the gate into a SavedModel) is printed apart.
"""

import os
import shutil
import tempfile
import time

from absl import app, flags

from pp_tf import bundled, serving
from pp_tf.pipelines import protect as protect_pipeline
from pp_tf.protect import ProtectConfig, protect_folder

_COUNT = flags.DEFINE_integer("count", 6, "Bundled photos to protect.")


def main(argv):
    del argv
    work = tempfile.mkdtemp(prefix="beam_throughput-")
    photos = os.path.join(work, "photos")
    os.makedirs(photos)
    examples = bundled.examples_dir()
    names = sorted(n for n in os.listdir(examples) if n.endswith((".jpg", ".png")))[:_COUNT.value]
    for name in names:
        shutil.copy(os.path.join(examples, name), photos)
    print(f"{len(names)} photos: {', '.join(names)}; load average {os.getloadavg()[0]:.1f}")
    start = time.perf_counter()
    serving.export_models(["protect_pgd"], os.path.join(work, "serving"), 1)
    print(f"export protect_pgd: {time.perf_counter() - start:.1f} s")
    model_dir = os.path.join(work, "serving", "protect_pgd", "1")

    def pipeline(options):
        def call(output):
            protect_pipeline.run(protect_pipeline.ArchiveConfig(photos, output, model_dir),
                                 ["--runner=FnApiRunner", *options])
        return call

    rows = {
        "protect (library, eager)": lambda output: protect_folder(
            photos, output, ProtectConfig(("pgd",)), show_progress=False),
        "pipeline, 1 process (SavedModel)": pipeline(["--direct_running_mode=in_memory"]),
        "pipeline, 2 worker processes": pipeline(["--direct_num_workers=2",
                                                  "--direct_running_mode=multi_processing"]),
    }
    print("| path | seconds | photos/s |\n|---|---|---|")
    for index, (label, call) in enumerate(rows.items()):
        start = time.perf_counter()
        call(os.path.join(work, f"out{index}"))
        seconds = time.perf_counter() - start
        print(f"| {label} | {seconds:.1f} | {len(names) / seconds:.3f} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    shutil.rmtree(work)


if __name__ == "__main__":
    app.run(main)
