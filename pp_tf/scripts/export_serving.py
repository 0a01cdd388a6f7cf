r"""Exports models in the TF Serving layout: OUTPUT_DIR/<name>/<version>/ plus
OUTPUT_DIR/models.config.

  python -m pp_tf.scripts.export_serving --models=efficientnet_lite0,protect_pgd \
      --output_dir=serving --version=1
  python -m pp_tf.scripts.export_serving --output_dir=serving --version=1 --models=\
places365_resnet50:resnet50_places365.pth.tar,nima_mobilenet:weights_mobilenet_aesthetic_0.07.hdf5,\
cartoongan:Hayao_net_G_float.pth,protect_uap
"""


from absl import flags

from pp_tf import bundled, models, protections, weights
from pp_tf.quality import gate
from pp_tf.scripts import cli
from pp_tf.serving import export_models, servable_methods

_MODELS = flags.DEFINE_list("models", [models.DEFAULT_ATTACKER, "protect_uap"],
                            f"protect_METHOD (METHOD: {', '.join(servable_methods())}), ARCH, or "
                            "ARCH:WEIGHT_FILE (stylizers add protect_ARCH).")
_OUTPUT = cli.output_dir("The model base folder (mount it as /models).")
cli.deprecated_alias("base_dir", "output_dir")
_VERSION = flags.DEFINE_integer("version", 1, "Version folder to write.")
_PERTURBATION = flags.DEFINE_string("perturbation", bundled.shipped_perturbation(),
                                     "UAP .npy of protect_uap (default: the shipped one).")
_PLACEMENT = cli.define_flags(protections.get("uap").settings,
                              exclude=("perturbation", "strength"))["placement"]
_MIN_QUALITY = flags.DEFINE_float("min_quality", gate.DEFAULT,
                                  "Quality gate of the protect_* models: the colour-undone "
                                  "SSIMULACRA2 every output must reach (0: off), as protect's.")
flags.mark_flag_as_required("output_dir")


def main(argv):
    del argv
    try:
        names = export_models(_MODELS.value, _OUTPUT.value, _VERSION.value,
                              {"perturbation": _PERTURBATION.value,
                               "placement": _PLACEMENT.value}, _MIN_QUALITY.value)
    except (FileExistsError, ValueError) as error:  # an existing version, an unknown model
        raise cli.usage_error(str(error)) from None
    except weights.WeightsError as error:
        cli.fail(error)
    print(f"exported {', '.join(names)} (version {_VERSION.value}) to {_OUTPUT.value}")


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
