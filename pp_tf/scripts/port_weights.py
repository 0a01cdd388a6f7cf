r"""Ports a public weight file to a serving SavedModel.

  python -m pp_tf.scripts.port_weights --arch=efficientnet_lite0 --output_dir=saved_models/efficientnet_lite0
  python -m pp_tf.scripts.port_weights --arch=places365_resnet50 \
      --source=resnet50_places365.pth.tar --output_dir=saved_models/places365_resnet50
  python -m pp_tf.scripts.port_weights --arch=places365_resnet50 --download --sha256=HASH ...
"""


from absl import flags

from pp_tf import models, weights
from pp_tf.export import port_to_saved_model
from pp_tf.scripts import cli

_ARCH = flags.DEFINE_enum("arch", None, sorted(models.ARCHITECTURES), "Architecture to port.")
_SOURCE = flags.DEFINE_string("source", None, "Published weight file (.pth, .pth.tar, .h5/.hdf5).")
_OUTPUT_DIR = cli.output_dir("Where the SavedModel is written.")
_DOWNLOAD = flags.DEFINE_boolean("download", False, "Fetch the official file into --cache_dir.")
_CACHE_DIR = flags.DEFINE_string("cache_dir", None, "Download cache (default ~/.cache/pp_tf/weights).")
_SHA256 = flags.DEFINE_string("sha256", None, "Expected SHA-256 where pp_tf pins none.")
_URL = flags.DEFINE_string("url", None, "Override the download URL (a mirror, or file://).")
_TOFU = flags.DEFINE_boolean("trust_on_first_use", False,
                             "Where no SHA-256 is pinned: accept this download and record its hash.")
flags.mark_flags_as_required(["arch", "output_dir"])


def main(argv):
    del argv
    source = _SOURCE.value
    if _DOWNLOAD.value:
        preset = models.get(_ARCH.value).preset
        if preset is None:
            raise cli.usage_error(f"--download: {_ARCH.value} has no published file to fetch")
        if _URL.value:
            preset = weights.WeightPreset(_URL.value, preset.filename, preset.sha256, preset.licence)
    try:
        if _DOWNLOAD.value:
            source = weights.download(preset, _CACHE_DIR.value, _SHA256.value,
                                      trust_on_first_use=_TOFU.value)
        path = port_to_saved_model(_ARCH.value, source, _OUTPUT_DIR.value)
    except weights.WeightsError as error:
        cli.fail(error)
    print(f"wrote {path}")


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
