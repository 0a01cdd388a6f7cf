r"""Protects every photo of a folder; originals are never touched.

  python -m pp_tf.scripts.protect --method=uap --perturbation=saved_models/uap_efficientnet_lite0_linf10.npy \
      --input_dir=photos --output_dir=protected
  python -m pp_tf.scripts.protect --method=cartoongan,uap --generator=saved_models/cartoongan_hayao \
      --perturbation=uap.npy --input_dir=photos --output_dir=protected
"""

import sys

from absl import app, flags

from pp_tf.protect import METHODS, ProtectConfig, protect_folder

_METHOD = flags.DEFINE_list("method", None, f"One or more of {', '.join(METHODS)}, applied in order.")
_INPUT = flags.DEFINE_string("input_dir", None, "Folder of photos.")
_OUTPUT = flags.DEFINE_string("output_dir", None, "Where protected copies go (not inside input_dir).")
_CROP = flags.DEFINE_float("crop_fraction", 0.8, "Side fraction kept by the crop methods.")
_PERTURBATION = flags.DEFINE_string("perturbation", None, "UAP .npy (from train_uap).")
_PLACEMENT = flags.DEFINE_enum("placement", "tile", ["tile", "crop"],
                               "UAP over the whole photo (tile) or only the attacker's crop.")
_STRENGTH = flags.DEFINE_float("strength", 1.0, "Multiplier of the perturbation.")
_GENERATOR = flags.DEFINE_string("generator", None, "Stylizer SavedModel (port_weights).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of random_crop.")
_OVERWRITE = flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.")
_QUALITY = flags.DEFINE_integer("jpeg_quality", 95, "Quality of JPEG outputs.")
flags.mark_flags_as_required(["method", "input_dir", "output_dir"])


def main(argv):
    del argv
    config = ProtectConfig(tuple(_METHOD.value), _CROP.value, _PERTURBATION.value, _PLACEMENT.value,
                           _STRENGTH.value, _GENERATOR.value, _SEED.value, _OVERWRITE.value,
                           _QUALITY.value)
    report = protect_folder(_INPUT.value, _OUTPUT.value, config)
    print(f"wrote {len(report.written)} photos to {_OUTPUT.value}; {len(report.errors)} errors")
    if not report.ok:
        sys.exit(1)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
