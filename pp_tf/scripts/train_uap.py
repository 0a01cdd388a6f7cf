r"""Computes a universal adversarial perturbation against a scene/object classifier.

  python -m pp_tf.scripts.train_uap --attacker=efficientnet_lite0 --input_dir=photos/ \
      --xi=10 --norm=inf --mode=sgd --output_dir=runs/uap
  # one perturbation against an ensemble (each member through its own view; sgd mode):
  python -m pp_tf.scripts.train_uap --attacker=efficientnet_lite0,efficientnet_lite1 \
      --input_dir=photos/ --output_dir=runs/uap_ens --name=uap_ensemble
  python -m pp_tf.scripts.train_uap --attacker=saved_models/places365_resnet50 \
      --tfds=mepp18:validation --mode=deepfool --delta=0.2 --output_dir=runs/mepp18
  # continue after an interruption (same settings; the newest valid pass checkpoint);
  # a --resume onto a finished run with other settings is refused like any other:
  python -m pp_tf.scripts.train_uap ... --output_dir=runs/mepp18 --resume
  # ... accepting a changed setting on purpose (recorded in uap.json):
  python -m pp_tf.scripts.train_uap ... --resume --max_passes=20 --allow_changed=max_passes

Writes OUTPUT_DIR/NAME.npy (the perturbation), .png (a picture of it) and .json (the
report). Defaults for small folders (--input_dir): every photo gives its view plus
--crops_per_photo=8 random crops (rescaled, mirrored); --holdout_fraction=0.2 of
the photos are kept out of the steps, and their fooling rate picks the saved pass
and decides the stop at 1 - delta; in sgd mode a run makes at least --min_steps
steps (more passes when the data are few), and every step sees fresh random
crops (--augment_scale=0.6 to 1 of each image's side, mirrored half the time).
"""

import os

from absl import flags

from pp_tf import run_settings
from pp_tf.attacks.uap import UAPConfig
from pp_tf.scripts import cli

_ATTACKER = cli.attacker("trains", "More than one: an ensemble (--mode=sgd).")
_INPUT = cli.input_dir("Folder of training photos, or a .txt list of them.")
cli.deprecated_alias("images", "input_dir")
_CROPS = flags.DEFINE_integer("crops_per_photo", 8,
                              "Random crops (rescaled, mirrored) added per training photo.")
_HOLDOUT = flags.DEFINE_float("holdout_fraction", 0.2,
                              "Fraction of the --input_dir photos kept out of training; their "
                              "fooling rate picks the saved pass and decides the stop.")
_TFDS = flags.DEFINE_string("tfds", None, "Prepared TFDS data as dataset:split.")
_TFDS_DIR = flags.DEFINE_string("tfds_data_dir", None, "TFDS data_dir.")
# Every UAP setting, its default and its help are UAPConfig's.
UAP_SETTINGS = cli.define_flags(UAPConfig)
_OUTPUT = cli.output_dir("Where NAME.npy, .png and .json go.")
_NAME = flags.DEFINE_string("name", "uap", "File stem of the outputs.")
_OUTPUT_FILE = flags.DEFINE_string(
    "output", None, "Deprecated: the .npy to write; removed in the next release. Use "
    "--output_dir and --name.")
cli.deprecated("output", "--output_dir and --name")
_LOGDIR = flags.DEFINE_string("logdir", None, "TensorBoard log folder.")
_RESUME = flags.DEFINE_boolean("resume", False,
                               "Continue from the last valid pass checkpoint, same settings.")
_ALLOW = flags.DEFINE_list("allow_changed", [],
                           "With --resume: settings allowed to differ from the checkpoint's "
                           "(recorded in the .json).")


def main(argv):
    del argv
    if bool(_INPUT.value) == bool(_TFDS.value):
        raise cli.usage_error("give exactly one of --input_dir and --tfds")
    if bool(_OUTPUT.value) == bool(_OUTPUT_FILE.value):
        raise cli.usage_error("give --output_dir (and --name), or the deprecated --output; "
                              "not both")
    output = _OUTPUT_FILE.value or os.path.join(_OUTPUT.value, _NAME.value + ".npy")
    try:
        config = cli.values_of(UAPConfig, UAP_SETTINGS)
    except ValueError as error:
        raise cli.usage_error(str(error)) from None
    from pp_tf import uap_run
    from pp_tf.attacker import load_attackers
    from pp_tf.datasets import views
    from pp_tf.image_io import ImageError
    from pp_tf.uap_run import train_uap
    from pp_tf.verified_checkpoints import CheckpointError, RunExistsError

    try:  # an unknown attacker, a folder or data set that cannot be read: usage
        attackers = load_attackers(_ATTACKER.value)
        if len(attackers) > 1 and config.mode != "sgd":
            raise ValueError("an ensemble --attacker needs --mode=sgd")
        attacker = attackers[0] if len(attackers) == 1 else attackers
        size = uap_run.training_size(attacker)
        holdout = None
        if _INPUT.value:
            images, paths = views.load_photo_views(_INPUT.value, *size,
                                                   crops_per_photo=_CROPS.value,
                                                   seed=config.seed)
            images, _, holdout, held_paths = views.split_holdout(images, paths,
                                                                 _HOLDOUT.value, config.seed)
            source = {"images": _INPUT.value, "crops_per_photo": _CROPS.value,
                      "holdout_fraction": _HOLDOUT.value,
                      "holdout_photos": sorted(os.path.basename(p) for p in held_paths),
                      "files": run_settings.folder_identity(views.photo_paths(_INPUT.value))}
        else:
            images, _ = views.load_tfds_views(_TFDS.value, *size, data_dir=_TFDS_DIR.value)
            name, _, split = _TFDS.value.partition(":")
            source = run_settings.tfds_identity(name, split, _TFDS_DIR.value)
    except (ValueError, FileNotFoundError, ImageError) as error:
        cli.fail(error, cli.EXIT_USAGE)
    try:
        report = train_uap(attacker, images, config, output, resume=_RESUME.value,
                           logdir=_LOGDIR.value, allow_changed=_ALLOW.value, data_source=source,
                           holdout=holdout)
    except (RunExistsError, ValueError) as error:  # a refused resume, a bad setting: usage
        cli.fail(error, cli.EXIT_USAGE)
    except (CheckpointError, ImageError) as error:
        cli.fail(error)
    where = (f"{report['heldout_images']} held-out photos" if report["heldout_images"]
             else f"{report['images']} training images")
    print(f"fooling rate on the {where}: {report['fooling_rate']:.3f} (pass "
          f"{report['best_pass']}, L-inf {report['linf']:.2f}); wrote {output}")


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
