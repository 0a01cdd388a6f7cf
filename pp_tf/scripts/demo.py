r"""The main job on the embedded default (no downloads): protect the bundled photos,
evaluate them against EfficientNet-Lite0/1 (trained against) and Lite2 (unseen), write the report.

  python -m pp_tf.scripts.demo --output_dir=demo_out
"""

import sys

from absl import app, flags

from pp_tf import demo

_OUTPUT = flags.DEFINE_string("output_dir", "demo_out", "Where protected photos and the report go.")
_PHOTOS = flags.DEFINE_string("photos", demo.EXAMPLES, "Folder of photos.")
_PERTURBATION = flags.DEFINE_string("perturbation", demo.DEFAULT_UAP, "UAP .npy to use.")
_ATTACKER = flags.DEFINE_string(
    "attacker", f"{demo.TRAINED_ATTACKERS},{demo.UNSEEN_ATTACKER}",
    "Attackers the report scores (comma-separated).")
_PER_PHOTO = flags.DEFINE_integer(
    "per_photo_limit", demo.PER_PHOTO_LIMIT,
    "Photos the per-photo attacks (pgd, color_filter, color_grade) run on (seconds each on a "
    "CPU); 0: skip.")


def main(argv):
    del argv
    errors = demo.run_demo(_OUTPUT.value, photos=_PHOTOS.value, perturbation=_PERTURBATION.value,
                           attacker=_ATTACKER.value, per_photo_limit=_PER_PHOTO.value)
    if errors:
        print(f"{errors} errors (see errors.json files)", file=sys.stderr)
        sys.exit(1)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
