r"""Protects every photo of a folder; originals are never touched.

  python -m pp_tf.scripts.protect --input_dir=photos --output_dir=protected
  python -m pp_tf.scripts.protect --method=uap --perturbation=saved_models/uap_efficientnet_lite0_linf10.npy \
      --input_dir=photos --output_dir=protected
  python -m pp_tf.scripts.protect --method=cartoongan,uap --generator=saved_models/cartoongan_hayao \
      --perturbation=uap.npy --input_dir=photos --output_dir=protected

With no --method, the recommended method runs (`auto`). Every output passes the quality
gate (--min_quality). The method flags are made from the settings of every registered
method (`pp_tf.protections`); each method of the chain takes the flags it has.
"""

import sys

from absl import flags

from pp_tf import image_io, protections
from pp_tf.protect import AUTO, RECOMMENDED, ProtectConfig, protect_folder
from pp_tf.quality import gate
from pp_tf.scripts import cli

_METHOD = flags.DEFINE_list(
    "method", [AUTO], f"One or more methods, applied in order: {AUTO} (the default: "
    f"{', '.join(RECOMMENDED)}, the most protection within the quality gate); " + "; ".join(
        f"{p.name}: {p.summary}" + (" (an experiment)" if p.experiment else "")
        for p in protections.all_protections()) + ".")
_INPUT = cli.input_dir("Folder of photos.")
_OUTPUT = cli.output_dir("Where protected copies go (not inside input_dir).")
_OVERWRITE = flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.")
_QUALITY = flags.DEFINE_integer("jpeg_quality", 95, "Quality of JPEG outputs.")
_PROGRESS = flags.DEFINE_boolean("progress", True, "Show a progress bar.")
_MIN_QUALITY = flags.DEFINE_float(
    "min_quality", gate.DEFAULT,
    "The quality gate: every output scores at least this colour-undone SSIMULACRA2 (90 "
    "visually lossless, 70 high quality), or is taken back towards the original until it "
    f"does. Lower trades quality for protection; below {gate.FLOOR:g} a run is outside the "
    "gate; 0 turns it off.")
flags.mark_flags_as_required(["input_dir", "output_dir"])

_DEFINE = {bool: flags.DEFINE_boolean, int: flags.DEFINE_integer, float: flags.DEFINE_float,
           str: flags.DEFINE_string}
_SETTINGS = {
    name: _DEFINE[field.kind](name, None, field.describe())
    for name, field in sorted(protections.setting_fields(protections.all_protections()).items())
}


def main(argv):
    del argv
    values = {name: holder.value for name, holder in _SETTINGS.items() if holder.present}
    try:
        config = ProtectConfig.from_values(_METHOD.value, values, overwrite=_OVERWRITE.value,
                                           jpeg_quality=_QUALITY.value,
                                           min_quality=_MIN_QUALITY.value)
    except (ValueError, TypeError) as error:
        raise cli.usage_error(str(error)) from None
    try:
        log = protect_folder(_INPUT.value, _OUTPUT.value, config, show_progress=_PROGRESS.value)
    except (image_io.ImageError, ValueError) as error:  # the folder itself, an unknown model
        cli.fail(error, cli.EXIT_USAGE)
    print(f"wrote {len(log.written)} photos to {_OUTPUT.value}; {len(log.errors)} errors")
    sys.exit(log.exit_status)


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
