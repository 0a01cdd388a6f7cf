r"""Trains a CycleGAN or a CartoonGAN with a custom loop under tf.distribute.

  python -m pp_tf.scripts.train_gan --model=cyclegan --tfds=cycle_gan/ukiyoe2photo \
      --output_dir=runs/ukiyoe --logdir=runs/ukiyoe/tb --batch_size=1
  python -m pp_tf.scripts.train_gan --model=cartoongan --domain_a=photos/ --domain_b=hayao/ \
      --vgg19_weights=vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 --output_dir=runs/hayao
  # continue after an interruption:
  python -m pp_tf.scripts.train_gan ... --output_dir=runs/hayao --resume

Devices: MirroredStrategy over the local GPUs (or CPU devices); with TF_CONFIG
set, MultiWorkerMirroredStrategy (run the same command on every worker).
--cpu_replicas=N splits the CPU into N logical devices (testing).
CartoonGAN: --domain_a holds photos, --domain_b cartoons (with --tfds, pick the
splits with --tfds_split_a/--tfds_split_b).
"""

import sys

from absl import app, flags

_MODEL = flags.DEFINE_enum("model", "cyclegan", ["cyclegan", "cartoongan"], "What to train.")
_OUTPUT = flags.DEFINE_string("output_dir", None,
                              "Checkpoints, train_gan.json and the final *.weights.h5.")
_DOMAIN_A = flags.DEFINE_string("domain_a", None, "Folder of domain A images (CartoonGAN: photos).")
_DOMAIN_B = flags.DEFINE_string("domain_b", None,
                                "Folder of domain B images (CartoonGAN: cartoons).")
_TFDS = flags.DEFINE_string("tfds", None, "Prepared TFDS dataset, e.g. cycle_gan/ukiyoe2photo.")
_SPLIT_A = flags.DEFINE_string("tfds_split_a", "trainA", "TFDS split of domain A.")
_SPLIT_B = flags.DEFINE_string("tfds_split_b", "trainB", "TFDS split of domain B.")
_TFDS_DIR = flags.DEFINE_string("tfds_data_dir", None, "TFDS data_dir.")
_SHUFFLE = flags.DEFINE_integer("shuffle_buffer", 256, "Shuffle buffer of TFDS images.")
_LOGDIR = flags.DEFINE_string("logdir", None, "TensorBoard folder (scalars and images).")
_STEPS = flags.DEFINE_integer("steps", 200_000, "Training steps in all.")
_BATCH = flags.DEFINE_integer("batch_size", 1, "Global batch size (all replicas together).")
_SIZE = flags.DEFINE_integer("image_size", 256, "Training crop size (divisible by 4).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the data order, augmentation, pools and init.")
_RESUME = flags.DEFINE_boolean("resume", False, "Continue from the latest checkpoint.")
_CKPT_EVERY = flags.DEFINE_integer("checkpoint_every", 1_000, "Steps between checkpoints.")
_SUMMARY_EVERY = flags.DEFINE_integer("summary_every", 100, "Steps between TensorBoard summaries.")
_LR = flags.DEFINE_float("lr", 2e-4, "Adam learning rate.")
_BETA1 = flags.DEFINE_float("beta1", 0.5, "Adam beta1.")
_CONSTANT = flags.DEFINE_integer("constant_steps", 100_000, "Steps at the initial rate.")
_DECAY = flags.DEFINE_integer("decay_steps", 100_000, "Steps of linear decay to 0 after those.")
_N_BLOCKS = flags.DEFINE_integer("n_blocks", 9, "CycleGAN generator residual blocks.")
_NGF = flags.DEFINE_integer("ngf", 64, "CycleGAN generator base filters.")
_NDF = flags.DEFINE_integer("ndf", 64, "CycleGAN discriminator base filters.")
_POOL = flags.DEFINE_integer("pool_size", 50, "CycleGAN image pool size per discriminator.")
_LAMBDA = flags.DEFINE_float("cycle_weight", 10.0, "CycleGAN cycle-loss weight (lambda).")
_IDT = flags.DEFINE_float("identity_weight", 0.5, "CycleGAN identity weight, times lambda.")
_INIT = flags.DEFINE_integer("init_steps", 2_000, "CartoonGAN initialization-phase steps.")
_CONTENT = flags.DEFINE_float("content_weight", 10.0, "CartoonGAN content-loss weight.")
_VGG = flags.DEFINE_string(
    "vgg19_weights", None,
    "CartoonGAN: vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (default: the Keras cache); "
    "'random' = random weights, for tests only.")
_CPU_REPLICAS = flags.DEFINE_integer("cpu_replicas", 0,
                                     "Split the CPU into N logical devices (testing); 0: off.")
_DETERMINISTIC = flags.DEFINE_boolean("deterministic", False,
                                      "tf.config.experimental.enable_op_determinism().")
flags.mark_flag_as_required("output_dir")


def main(argv):
    del argv
    if _CPU_REPLICAS.value:
        from pp_tf.gan import distribute  # before anything starts the TF runtime

        distribute.configure_cpu_replicas(_CPU_REPLICAS.value)
    from pp_tf.gan import loop
    from pp_tf.gan.vgg19 import VGG19WeightsError
    from pp_tf.image_io import ImageError

    config = loop.TrainConfig(
        model=_MODEL.value, output_dir=_OUTPUT.value, domain_a=_DOMAIN_A.value,
        domain_b=_DOMAIN_B.value, tfds=_TFDS.value, tfds_split_a=_SPLIT_A.value,
        tfds_split_b=_SPLIT_B.value, tfds_data_dir=_TFDS_DIR.value,
        shuffle_buffer=_SHUFFLE.value, logdir=_LOGDIR.value, steps=_STEPS.value,
        batch_size=_BATCH.value, image_size=_SIZE.value, seed=_SEED.value, resume=_RESUME.value,
        checkpoint_every=_CKPT_EVERY.value, summary_every=_SUMMARY_EVERY.value, lr=_LR.value,
        beta1=_BETA1.value, constant_steps=_CONSTANT.value, decay_steps=_DECAY.value,
        n_blocks=_N_BLOCKS.value, ngf=_NGF.value, ndf=_NDF.value, pool_size=_POOL.value,
        cycle_weight=_LAMBDA.value, identity_weight=_IDT.value, init_steps=_INIT.value,
        content_weight=_CONTENT.value, vgg19_weights=_VGG.value,
        deterministic=_DETERMINISTIC.value)
    try:
        result = loop.train_gan(config)
    except (FileExistsError, VGG19WeightsError, ImageError, ValueError) as error:
        sys.exit(f"train_gan: {error}")
    print(f"trained {config.model} to step {result.step}; generators: "
          f"{', '.join(result.weights.values())}")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
