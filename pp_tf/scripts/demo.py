r"""The main job on the embedded default (no downloads): protect the bundled photos,
evaluate them against EfficientNet-Lite0/1 (trained against) and Lite2 (unseen), write the report.

  python -m pp_tf.scripts.demo --output_dir=demo_out
"""

import sys

from absl import flags

from pp_tf import demo
from pp_tf.scripts import cli

_OUTPUT = cli.output_dir("Where protected photos and the report go.", default="demo_out")
_INPUT = cli.input_dir("Folder of photos (default: the bundled examples).",
                       default=demo.EXAMPLES)
cli.deprecated_alias("photos", "input_dir")
_PERTURBATION = flags.DEFINE_string("perturbation", demo.DEFAULT_UAP, "UAP .npy to use.")
_ATTACKER = cli.attacker("evaluates", "The attackers the report scores.")
_PER_PHOTO = flags.DEFINE_integer(
    "per_photo_limit", demo.PER_PHOTO_LIMIT,
    "Photos the per-photo attacks (pgd, tone_curves, color_lut) run on (seconds each on a "
    "CPU); 0: skip.")


def main(argv):
    del argv
    try:
        errors = demo.run_demo(_OUTPUT.value, photos=_INPUT.value,
                               perturbation=_PERTURBATION.value, attacker=_ATTACKER.value,
                               per_photo_limit=_PER_PHOTO.value)
    except (ValueError, FileNotFoundError) as error:  # a missing folder, an unknown attacker
        cli.fail(error, cli.EXIT_USAGE)
    if errors:
        print(f"{errors} errors (see errors.json files)", file=sys.stderr)
        sys.exit(cli.EXIT_FAILED)


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
