r"""UAP speed and strength: ART 1.20 against pp_tf, same model, images, xi and delta.

ART is not a pp_tf dependency; install it for this benchmark only:

  .venv/bin/pip install --target benchmarks/.art --no-deps adversarial-robustness-toolbox==1.20.1
  .venv/bin/pip install --target benchmarks/.art scipy scikit-learn && rm -rf benchmarks/.art/numpy*
  .venv/bin/python benchmarks/uap_vs_art.py [--skip_art]

Then it measures one DeepFool iteration on EfficientNet-Lite0 (batch 16, K=10) against
its lower bound: one forward pass plus K-1 backward passes of the same batch.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))  # the tiny CNN the tests train

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import tiny_models  # noqa: E402
from pp_tf.attacks import uap  # noqa: E402
from pp_tf.attacks.deepfool import LinfDeepFool  # noqa: E402

_SKIP_ART = flags.DEFINE_boolean("skip_art", False, "Only run pp_tf.")
_N = flags.DEFINE_integer("images", 64, "Training images (32x32).")
_XI = flags.DEFINE_float("xi", 40.0, "L-inf bound (0-255); the tiny CNN shrugs off xi=10.")
_DELTA = flags.DEFINE_float("delta", 0.2, "Stop at a fooling rate of 1 - delta.")
_PASSES = flags.DEFINE_integer("max_passes", 20, "Passes at most (ART: max_iter).")
_BATCH = flags.DEFINE_integer("faithful_batch", 32, "Images per batched DeepFool in pp_tf's "
                              "faithful mode (ART attacks one image at a time).")


def art_uap(model, images):
    sys.path.insert(0, os.path.join(HERE, ".art"))
    from art.attacks.evasion import UniversalPerturbation
    from art.estimators.classification import TensorFlowV2Classifier

    classifier = TensorFlowV2Classifier(
        model=model, nb_classes=tiny_models.CLASSES, input_shape=images.shape[1:],
        loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        clip_values=(0.0, 255.0))
    attack = UniversalPerturbation(classifier, attacker="deepfool", delta=_DELTA.value,
                                   max_iter=_PASSES.value, eps=_XI.value, norm=np.inf,
                                   batch_size=32, verbose=False)
    start = time.perf_counter()
    attack.generate(images)
    return time.perf_counter() - start, attack.noise[0]


def ours(logits, images, mode):
    config = uap.UAPConfig(xi=_XI.value, norm="inf", mode=mode, delta=_DELTA.value,
                           max_passes=_PASSES.value,
                           batch_size=_BATCH.value if mode == "deepfool" else 32)
    trainer = uap.make(config, logits, images.shape[1:])
    start = time.perf_counter()
    state = trainer.fit(images)
    return time.perf_counter() - start, state.best, state.passes_done


def deepfool_iteration_cost(batch=16, candidates=10, repeats=3):
    from pp_tf.models import efficientnet_lite

    model = efficientnet_lite.EfficientNetLite0()
    logits = tf.function(lambda x: model(x, training=False))
    x = tf.constant(np.random.default_rng(0).uniform(0, 255, (batch, 224, 224, 3)), tf.float32)

    @tf.function
    def lower_bound(x):  # one forward pass, K-1 backward passes
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            out = model(x, training=False)
            sums = [tf.reduce_sum(out[:, k] - out[:, 0]) for k in range(1, candidates)]
        return [tape.gradient(s, x) for s in sums]

    def timed(fn):
        fn(x)
        start = time.perf_counter()
        for _ in range(repeats):
            tf.nest.map_structure(lambda t: t.numpy(), fn(x))
        return (time.perf_counter() - start) / repeats

    forward = timed(logits)
    bound = timed(lower_bound)
    attack = LinfDeepFool(candidates=candidates)
    start, step, _ = attack.compiled(logits, (224, 224, 3))
    classes = start(x)
    iteration = timed(lambda t: step(t, tf.zeros_like(t), classes))
    return forward, bound, iteration


def main(argv):
    del argv
    model = tiny_models.trained_cnn()
    logits = tiny_models.logits_fn(model)
    images, _ = tiny_models.synthetic_images(_N.value, seed=21)
    held_out, _ = tiny_models.synthetic_images(512, seed=22)
    labels = uap.predict_labels(logits, images)
    held_labels = uap.predict_labels(logits, held_out)
    print(f"{_N.value} images 32x32, tiny CNN, xi={_XI.value} L-inf, delta={_DELTA.value}, "
          f"max passes {_PASSES.value}; TF {tf.__version__}, {os.cpu_count()} CPUs")
    print(f"{'method':34s} {'seconds':>8s} {'fooling (train)':>16s} {'fooling (held-out)':>19s}")
    rows = []
    if not _SKIP_ART.value:
        seconds, v = art_uap(model, images)
        rows.append(("ART 1.20 UniversalPerturbation", seconds, v))
    for mode in ("deepfool", "sgd"):
        seconds, v, passes = ours(logits, images, mode)
        rows.append((f"pp_tf {mode} ({passes} passes)", seconds, v))
    for name, seconds, v in rows:
        print(f"{name:34s} {seconds:8.1f} {uap.fooling_rate(logits, images, labels, v):16.3f} "
              f"{uap.fooling_rate(logits, held_out, held_labels, v):19.3f}")
    forward, bound, iteration = deepfool_iteration_cost()
    print(f"\nEfficientNet-Lite0, batch 16, K=10: forward {forward:.3f} s; forward + 9 backward "
          f"(lower bound) {bound:.3f} s; one DeepFool iteration {iteration:.3f} s "
          f"= {iteration / bound:.2f}x the bound")


if __name__ == "__main__":
    app.run(main)
