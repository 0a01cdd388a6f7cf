r"""Evaluates protection runs: attacker accuracy / top-1 changes, NIMA, PSNR/SSIM, and a visual report.

  python -m pp_tf.scripts.evaluate --original_dir=photos --protected_dir=out/uap,out/center_crop \
      --output_dir=report
  python -m pp_tf.scripts.evaluate --original_dir=MEPP18test --protected_dir=runs/a,runs/b \
      --attacker=saved_models/places365_resnet50 --nima=saved_models/nima --labels=MEPP18test.csv
"""

import sys

from absl import app, flags

from pp_tf import models
from pp_tf.evaluate import EvaluateConfig, run_evaluation

_ORIGINAL = flags.DEFINE_string("original_dir", None, "Folder of the original photos.")
_PROTECTED = flags.DEFINE_list("protected_dir", [], "One or more folders of protected photos.")
_NAMES = flags.DEFINE_list("run_names", None, "Names of the runs (default: folder names).")
_ATTACKER = flags.DEFINE_string("attacker", models.DEFAULT_ATTACKER,
                                "A port_weights SavedModel folder, or an architecture name.")
_NIMA = flags.DEFINE_string("nima", None, "NIMA SavedModel (port_weights --arch=nima_mobilenet).")
_LABELS = flags.DEFINE_string("labels", None, "CSV of filename,label (Places365 index).")
_OUTPUT = flags.DEFINE_string("output_dir", None, "Where the report goes.")
flags.mark_flags_as_required(["original_dir", "output_dir"])


def main(argv):
    del argv
    config = EvaluateConfig(_ORIGINAL.value, tuple(_PROTECTED.value), _ATTACKER.value, _NIMA.value,
                            _LABELS.value, _OUTPUT.value,
                            tuple(_NAMES.value) if _NAMES.value else None)
    result = run_evaluation(config)
    print(open(result["paths"]["report.md"], encoding="utf-8").read())
    print(f"report: {result['paths']['report.html']}")
    for error in result["errors"]:
        print(f"error: {error['file']}: {error['reason']}", file=sys.stderr)
    if result["errors"]:
        sys.exit(1)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
