r"""The main job on the embedded default (no downloads): protect the bundled photos,
evaluate them with the embedded attacker, write the report.

  python -m pp_tf.scripts.demo --output_dir=demo_out
"""

import sys

from absl import app, flags

from pp_tf import demo

_OUTPUT = flags.DEFINE_string("output_dir", "demo_out", "Where protected photos and the report go.")
_PHOTOS = flags.DEFINE_string("photos", demo.EXAMPLES, "Folder of photos.")
_PERTURBATION = flags.DEFINE_string("perturbation", demo.DEFAULT_UAP, "UAP .npy to use.")


def main(argv):
    del argv
    errors = demo.run_demo(_OUTPUT.value, _PHOTOS.value, _PERTURBATION.value)
    if errors:
        print(f"{errors} errors (see errors.json files)", file=sys.stderr)
        sys.exit(1)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
