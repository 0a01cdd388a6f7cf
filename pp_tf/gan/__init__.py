"""GAN training (CycleGAN, CartoonGAN) with custom loops under tf.distribute.

Modules, one job each:

* `distribute`: the strategy (Mirrored over the local devices, MultiWorkerMirrored
  under TF_CONFIG) and the CPU split into logical devices for testing;
* `data`: the two image domains as deterministic, resumable tf.data pipelines;
* `edges`: CartoonGAN's edge smoothing of cartoons (pure TF);
* `image_pool`: CycleGAN's history buffer of generated images, per replica;
* `vgg19`: the VGG19 ``block4_conv4`` content-feature extractor and its weights;
* `schedules`: the optimizer (Adam, constant-then-linear decay) and its settings;
* `cyclegan_trainer`, `cartoongan_trainer`: settings, models, optimizers and per-replica
  steps; both satisfy the `trainer.Trainer` protocol;
* `config`: a run's settings (the trainer's, `DataConfig`, `RunConfig`), the one
  source of the defaults;
* `loop`: the run itself (checkpoints, resume, TensorBoard, final weights).
"""
