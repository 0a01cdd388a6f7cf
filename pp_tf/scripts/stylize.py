r"""Stylises a folder of photos with a ported CycleGAN or CartoonGAN generator.

  python -m pp_tf.scripts.stylize --generator=saved_models/cyclegan_ukiyoe \
      --input_dir=photos/ --output_dir=runs/ukiyoe
  python -m pp_tf.scripts.stylize --generator=cartoongan --weights=Hayao_net_G_float.pth \
      --input_dir=photos/ --output_dir=runs/hayao --max_side=1024

Outputs keep each input's name and format. A photo that cannot be read or
written is reported on stderr and in OUTPUT_DIR/errors.json, and the others go
on; the exit status is 1 if any photo failed.
"""

from absl import flags

from pp_tf import image_io, weights
from pp_tf.scripts import cli
from pp_tf.gan.precision import DEPRECATED_PRECISIONS, PRECISIONS
from pp_tf.stylize import CONVOLUTIONS, StylizeConfig, load_generator, stylize_folder
from pp_tf.stylize.generators import PRECISION_HELP

_GENERATOR = flags.DEFINE_string(
    "generator", None, "A port_weights SavedModel folder, or a stylizer architecture name "
    "(cyclegan_resnet9, cyclegan_resnet6, cartoongan) with --weights.")
_WEIGHTS = flags.DEFINE_string("weights", None, "Published weight file for an architecture name.")
_PRECISION = flags.DEFINE_enum(
    "precision", "float32", [*PRECISIONS, *DEPRECATED_PRECISIONS], PRECISION_HELP)
_CONVOLUTIONS = flags.DEFINE_enum(
    "convolutions", "auto", list(CONVOLUTIONS),
    "winograd computes the residual blocks' float32 3x3 convolutions (128 channels or more) "
    "by Winograd F(4,3), about 1.6x faster generators on a CPU, within a grey level; a "
    "port_weights folder is rebuilt by its architecture for it. auto: winograd unless a GPU "
    "is visible; direct: TensorFlow's convolutions.")
_INPUT_DIR = cli.input_dir("Folder of photos.")
_OUTPUT_DIR = cli.output_dir("Where the stylised photos go (not inside --input_dir).")
# max_side, tile_size, overlap, batch_size: defaults and help from StylizeConfig.
_TILING = cli.define_flags(StylizeConfig)
_OVERWRITE = flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.")
_PROGRESS = flags.DEFINE_boolean("progress", True, "Show a progress bar.")
flags.mark_flags_as_required(["generator", "input_dir", "output_dir"])


def main(argv):
    del argv
    try:
        config = cli.values_of(StylizeConfig, _TILING)
    except ValueError as error:
        raise cli.usage_error(str(error)) from None
    try:
        image_io.check_output_dir([_INPUT_DIR.value], _OUTPUT_DIR.value)
        image_io.list_images(_INPUT_DIR.value)
    except image_io.ImageError as error:
        cli.fail(error, cli.EXIT_USAGE)
    try:
        generate = load_generator(_GENERATOR.value, _WEIGHTS.value, precision=_PRECISION.value,
                                  convolutions=_CONVOLUTIONS.value)
    except (ValueError, weights.WeightsError) as error:
        cli.fail(error, cli.EXIT_USAGE)
    log = stylize_folder(generate, _INPUT_DIR.value, _OUTPUT_DIR.value, config,
                         overwrite=_OVERWRITE.value, progress=_PROGRESS.value)
    print(f"wrote {len(log.written)} photos to {_OUTPUT_DIR.value}; {len(log.errors)} failed")
    return log.exit_status


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
