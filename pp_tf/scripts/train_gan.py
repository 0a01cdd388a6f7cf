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

import dataclasses
import sys

from absl import flags

from pp_tf import run_settings
from pp_tf.scripts import cli
from pp_tf.gan import config as gan_config
from pp_tf.gan.cartoongan_trainer import CartoonGANSettings
from pp_tf.gan.cyclegan_trainer import CycleGANSettings
from pp_tf.gan.schedules import AdamSettings

# Every default comes from the settings dataclasses (pp_tf.gan.config, the trainers).
D, R, CY, CA, AD = (gan_config.DataConfig, gan_config.RunConfig, CycleGANSettings,
                    CartoonGANSettings, AdamSettings)
default = run_settings.field_default

flags.DEFINE_enum("model", "cyclegan", list(gan_config.MODELS), "What to train.")
flags.DEFINE_string("output_dir", None, "Checkpoints, train_gan.json and the final *.weights.h5.")
flags.DEFINE_string("domain_a", default(D, "domain_a"),
                    "Folder of domain A images (CartoonGAN: photos).")
flags.DEFINE_string("domain_b", default(D, "domain_b"),
                    "Folder of domain B images (CartoonGAN: cartoons).")
flags.DEFINE_string("tfds", default(D, "tfds"),
                    "Prepared TFDS dataset, e.g. cycle_gan/ukiyoe2photo.")
flags.DEFINE_string("tfds_split_a", default(D, "tfds_split_a"), "TFDS split of domain A.")
flags.DEFINE_string("tfds_split_b", default(D, "tfds_split_b"), "TFDS split of domain B.")
flags.DEFINE_string("tfds_data_dir", default(D, "tfds_data_dir"), "TFDS data_dir.")
flags.DEFINE_integer("shuffle_buffer", default(D, "shuffle_buffer"),
                     "Shuffle buffer of TFDS images.")
flags.DEFINE_integer("image_size", default(D, "image_size"), "Training crop size (divisible by 4).")
flags.DEFINE_string("logdir", default(R, "logdir"), "TensorBoard folder (scalars and images).")
flags.DEFINE_integer("steps", default(R, "steps"), "Training steps in all.")
flags.DEFINE_integer("batch_size", default(R, "batch_size"),
                     "Global batch size (all replicas together).")
flags.DEFINE_integer("seed", default(R, "seed"),
                     "Seed of the data order, augmentation, pools and init.")
flags.DEFINE_boolean("deterministic", default(R, "deterministic"),
                     "tf.config.experimental.enable_op_determinism().")
flags.DEFINE_boolean("resume", default(R, "resume"),
                     "Continue from the newest valid checkpoint, with the same settings.")
flags.DEFINE_list("allow_changed", list(default(R, "allow_changed")),
                  "With --resume: settings allowed to differ from the checkpoint's (recorded).")
flags.DEFINE_integer("checkpoint_every", default(R, "checkpoint_every"),
                     "Steps between checkpoints.")
flags.DEFINE_integer("max_checkpoints", default(R, "max_checkpoints"),
                     "Checkpoints kept (at least 2).")
flags.DEFINE_integer("summary_every", default(R, "summary_every"),
                     "Steps between TensorBoard summaries.")
flags.DEFINE_enum("precision", default(R, "precision"), list(gan_config.PRECISIONS),
                  "Keras dtype policy of the networks: float32, or mixed_float16 (with dynamic "
                  "loss scaling) / mixed_bfloat16; losses, pools and saved weights stay float32.")
flags.DEFINE_float("lr", default(AD, "lr"), "Adam learning rate.")
flags.DEFINE_float("beta1", default(AD, "beta1"), "Adam beta1.")
flags.DEFINE_integer("constant_steps", default(AD, "constant_steps"), "Steps at the initial rate.")
flags.DEFINE_integer("decay_steps", default(AD, "decay_steps"),
                     "Steps of linear decay to 0 after those.")
flags.DEFINE_integer("n_blocks", default(CY, "n_blocks"), "CycleGAN generator residual blocks.")
flags.DEFINE_integer("ngf", default(CY, "ngf"), "CycleGAN generator base filters.")
flags.DEFINE_integer("ndf", default(CY, "ndf"), "CycleGAN discriminator base filters.")
flags.DEFINE_integer("n_layers", default(CY, "n_layers"), "CycleGAN discriminator layers.")
flags.DEFINE_integer("pool_size", default(CY, "pool_size"),
                     "CycleGAN image pool size per discriminator.")
flags.DEFINE_float("cycle_weight", default(CY, "cycle_weight"),
                   "CycleGAN cycle-loss weight (lambda).")
flags.DEFINE_float("identity_weight", default(CY, "identity_weight"),
                   "CycleGAN identity weight, times lambda.")
flags.DEFINE_integer("init_steps", default(CA, "init_steps"),
                     "CartoonGAN initialization-phase steps.")
flags.DEFINE_float("content_weight", default(CA, "content_weight"),
                   "CartoonGAN content-loss weight.")
flags.DEFINE_string(
    "vgg19_weights", default(CA, "vgg19_weights"),
    "CartoonGAN: vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (default: the Keras cache); "
    "'random' = random weights, for tests only.")
flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into N logical devices (testing); 0: off.")
flags.mark_flag_as_required("output_dir")
FLAGS = flags.FLAGS


def _by_field(cls, **overrides):
    """An instance of dataclass `cls` whose every field is the flag of the same name."""
    values = {f.name: FLAGS[f.name].value for f in dataclasses.fields(cls)}
    values.update(overrides)
    return cls(**values)


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
        model=_by_field(gan_config.SETTINGS[FLAGS.model]), data=_by_field(D),
        run=_by_field(R, allow_changed=tuple(FLAGS.allow_changed)))
    try:
        result = loop.train_gan(config)
    except (RunExistsError, ValueError) as error:  # a refused resume, a bad setting: usage
        print(f"train_gan: {error}", file=sys.stderr)
        sys.exit(cli.EXIT_USAGE)
    except (VGG19WeightsError, ImageError, CheckpointError) as error:
        print(f"train_gan: {error}", file=sys.stderr)
        sys.exit(cli.EXIT_FAILED)
    print(f"trained {FLAGS.model} to step {result.step}; generators: "
          f"{', '.join(result.weights.values())}")


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
