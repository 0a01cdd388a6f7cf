r"""Trains a CycleGAN or a CartoonGAN with a custom loop under tf.distribute.

  python -m pp_tf.scripts.train_gan --model=cyclegan --tfds=cycle_gan/ukiyoe2photo \
      --output_dir=runs/ukiyoe --logdir=runs/ukiyoe/tb --batch_size=1
  python -m pp_tf.scripts.train_gan --model=cartoongan --domain_a=photos/ --domain_b=hayao/ \
      --vgg19_weights=vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 --output_dir=runs/hayao
  # continue after an interruption (same settings; the newest valid checkpoint):
  python -m pp_tf.scripts.train_gan ... --output_dir=runs/hayao --resume
  # ... with a setting changed on purpose (recorded in train_gan.json and the checkpoints):
  python -m pp_tf.scripts.train_gan ... --output_dir=runs/hayao --resume --lr=1e-4 \
      --allow_changed=lr

Devices: MirroredStrategy over the local GPUs (or CPU devices); with TF_CONFIG
set, MultiWorkerMirroredStrategy (run the same command on every worker).
--cpu_replicas=N splits the CPU into N logical devices (testing).
A --resume whose settings change the result (anything but --logdir, --steps and the
checkpoint/summary frequencies; --precision does change it) is refused with the list of
differences.
--precision=mixed_float16 (GPUs; with dynamic loss scaling) or mixed_bfloat16 runs the
networks in 16 bits; the saved *.weights.h5 stay float32.
CartoonGAN: --domain_a holds photos, --domain_b cartoons (with --tfds, pick the
splits with --tfds_split_a/--tfds_split_b).
"""


from absl import flags

from pp_tf.gan import config as gan_config
from pp_tf.scripts import cli

flags.DEFINE_enum("model", "cyclegan", list(gan_config.MODELS), "What to train.")
# Every other flag is a field of the settings dataclasses (pp_tf.gan.config, the
# trainers' settings), with the default and the help written there.
SETTINGS = cli.define_flags(gan_config.RunConfig, gan_config.DataConfig,
                            *gan_config.SETTINGS.values())
flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into N logical devices (testing); 0: off.")
flags.mark_flag_as_required("output_dir")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if FLAGS.cpu_replicas:
        from pp_tf.gan import distribute  # before anything starts the TF runtime

        distribute.configure_cpu_replicas(FLAGS.cpu_replicas)
    from pp_tf.gan import loop
    from pp_tf.gan.vgg19 import VGG19WeightsError
    from pp_tf.image_io import ImageError
    from pp_tf.verified_checkpoints import CheckpointError, RunExistsError

    config = gan_config.TrainConfig(
        model=cli.values_of(gan_config.SETTINGS[FLAGS.model], SETTINGS),
        data=cli.values_of(gan_config.DataConfig, SETTINGS),
        run=cli.values_of(gan_config.RunConfig, SETTINGS))
    try:
        result = loop.train_gan(config)
    except (RunExistsError, ValueError) as error:  # a refused resume, a bad setting: usage
        cli.fail(error, cli.EXIT_USAGE)
    except (VGG19WeightsError, ImageError, CheckpointError) as error:
        cli.fail(error)
    print(f"trained {FLAGS.model} to step {result.step}; generators: "
          f"{', '.join(result.weights.values())}")


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
