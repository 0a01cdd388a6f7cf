r"""Evaluates protection runs against one or more attackers, on the photos as saved and after
a simulated upload: top-1 changes, gone-from-top-5, accuracy (with labels), PSNR/SSIM/CIEDE2000,
NIMA, and a report (report.html, contact_sheet.png, report.md, CSV, JSON).

  python -m pp_tf.scripts.evaluate --input_dir=photos --protected_dir=out/uap,out/center_crop \
      --attacker=efficientnet_lite0,saved_models/places365_resnet50 --output_dir=report
  python -m pp_tf.scripts.evaluate --input_dir=MEPP18test --protected_dir=runs/a,runs/b \
      --attacker=saved_models/places365_resnet50 --nima=saved_models/nima --labels=MEPP18test.csv
"""

import sys
import typing

from absl import flags

from pp_tf.models import preprocessing
from pp_tf import image_io
from pp_tf.evaluate import EvaluateConfig, run_evaluation
from pp_tf.scripts import cli

_INPUT = cli.input_dir("Folder of the original photos.")
cli.deprecated_alias("original_dir", "input_dir")
_PROTECTED = flags.DEFINE_list("protected_dir", [], "One or more folders of protected photos.")
_NAMES = flags.DEFINE_list("run_names", None, "Names of the runs (default: folder names).")
_ATTACKER = cli.attacker("evaluates")
_NIMA = flags.DEFINE_string("nima", None, "NIMA SavedModel (port_weights --arch=nima_mobilenet).")
_LABELS = flags.DEFINE_string("labels", None, "CSV of filename,label (class indices of "
                              "--labels_space).")
_LABELS_SPACE = flags.DEFINE_enum(
    "labels_space", "places365", list(typing.get_args(preprocessing.LabelSpace)),
    "Label space of --labels; only attackers of that space get accuracy columns.")
_OUTPUT = cli.output_dir("Where the report goes.")
_AFTER_UPLOAD = flags.DEFINE_boolean(
    "after_upload", True, "Also score each photo after a simulated upload (0.75x Lanczos "
    "resize, JPEG quality 75); --noafter_upload turns it off.")
_PROGRESS = flags.DEFINE_boolean("progress", True, "Show a progress bar on stderr.")
flags.mark_flags_as_required(["input_dir", "output_dir"])


def main(argv):
    del argv
    try:  # a bad folder, attacker or run name: usage; a bad photo is logged and skipped
        config = EvaluateConfig(
            original_dir=_INPUT.value, protected_dirs=tuple(_PROTECTED.value),
            attacker=_ATTACKER.value, nima=_NIMA.value, labels=_LABELS.value,
            labels_space=_LABELS_SPACE.value, output_dir=_OUTPUT.value,
            run_names=tuple(_NAMES.value) if _NAMES.value else None,
            after_upload=_AFTER_UPLOAD.value, progress=_PROGRESS.value)
        evaluation = run_evaluation(config)  # errors were printed on stderr as they happened
    except (ValueError, FileNotFoundError, image_io.ImageError) as error:
        cli.fail(error, cli.EXIT_USAGE)
    print(open(evaluation.paths["report.md"], encoding="utf-8").read())
    print(f"report: {evaluation.paths['report.html']}")
    sys.exit(evaluation.exit_status)


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
