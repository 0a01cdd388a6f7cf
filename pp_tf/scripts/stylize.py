r"""Stylises a folder of photos with a ported CycleGAN or CartoonGAN generator.

  python -m pp_tf.scripts.stylize --generator=saved_models/cyclegan_ukiyoe \
      --input_dir=photos/ --output_dir=runs/ukiyoe
  python -m pp_tf.scripts.stylize --generator=cartoongan --weights=Hayao_net_G_float.pth \
      --input_dir=photos/ --output_dir=runs/hayao --max_side=1024

Outputs keep each input's name and format. A photo that cannot be read or
written is reported on stderr and in OUTPUT_DIR/errors.json, and the others go
on; the exit status is 1 if any photo failed.
"""

import sys

from absl import app, flags

from pp_tf import image_io, weights
from pp_tf.stylize import StylizeConfig, load_generator, stylize_folder

_GENERATOR = flags.DEFINE_string(
    "generator", None, "A port_weights SavedModel folder, or a stylizer architecture name "
    "(cyclegan_resnet9, cyclegan_resnet6, cartoongan) with --weights.")
_WEIGHTS = flags.DEFINE_string("weights", None, "Published weight file for an architecture name.")
_INPUT_DIR = flags.DEFINE_string("input_dir", None, "Folder of photos.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where the stylised photos go (not inside "
                                  "--input_dir).")
_MAX_SIDE = flags.DEFINE_integer("max_side", None, "Downscale photos whose longer side exceeds it.")
_TILE_SIZE = flags.DEFINE_integer("tile_size", 512, "Larger photos are processed in tiles of this "
                                  "size (a multiple of 4).")
_OVERLAP = flags.DEFINE_integer("overlap", 32, "Pixels shared by neighbouring tiles, blended "
                                "linearly (a multiple of 4).")
_BATCH = flags.DEFINE_integer("batch_size", 4, "Photos of one size (or tiles) per generator call.")
_OVERWRITE = flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.")
_PROGRESS = flags.DEFINE_boolean("progress", True, "Show a progress bar.")
flags.mark_flags_as_required(["generator", "input_dir", "output_dir"])


def main(argv):
    del argv
    try:
        config = StylizeConfig(max_side=_MAX_SIDE.value, tile_size=_TILE_SIZE.value,
                               overlap=_OVERLAP.value, batch_size=_BATCH.value,
                               overwrite=_OVERWRITE.value)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    try:
        image_io.check_output_dir([_INPUT_DIR.value], _OUTPUT_DIR.value)
        image_io.list_images(_INPUT_DIR.value)
    except image_io.ImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        generate = load_generator(_GENERATOR.value, _WEIGHTS.value)
    except (ValueError, weights.WeightsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = stylize_folder(generate, _INPUT_DIR.value, _OUTPUT_DIR.value, config,
                            progress=_PROGRESS.value)
    print(f"wrote {len(report['written'])} photos to {_OUTPUT_DIR.value}; "
          f"{len(report['errors'])} failed")
    return 1 if report["errors"] else 0


def run():
    app.run(main)


if __name__ == "__main__":
    run()
