r"""UAP speed and strength: ART 1.20 against pp_tf, same model, images, xi and delta.

ART is not a pp_tf dependency; install it for this benchmark only:

  .venv/bin/pip install --target benchmarks/.art --no-deps adversarial-robustness-toolbox==1.20.1
  .venv/bin/pip install --target benchmarks/.art scipy scikit-learn && rm -rf benchmarks/.art/numpy*
  .venv/bin/python benchmarks/uap_vs_art.py [--skip_art] [--skip_lite0]

Two lines of comparison, each ART against pp_tf's faithful (DeepFool) and SGD modes
with the same model, images and xi:

* the tiny CNN the tests train, on 64 synthetic 32x32 images (xi 40), same delta
  and passes;
* EfficientNet-Lite0 at 224 (the embedded attacker, its real weights), on 32
  photo views: the Lite0 view of each bundled photo and of its mirror image (xi
  10). ART runs its passes first (a few seconds per DeepFool call as it is here,
  about 20 s corrected); then each
  pp_tf row runs until it fools at least as many of the 32 as ART did (its
  delta set to 1 - ART's rate, `--lite0_passes` at most, no minimum step count),
  so the times compare at equal strength. Each pp_tf row runs twice with one
  trainer: "seconds" from cold, including tracing and optimising its compiled
  steps (8-11 s for Lite0's faithful mode), and "traced", the same run again
  (ART's eager gradients need no tracing). ART 1.20's DeepFool is not the paper's
  in two ways: it multiplies each step by the width of the classifier's clip range
  (ART pull request 476), and with fewer gradient classes than classes it computes
  every logit gap against the wrong logit (`ART_GAP`). So the line runs twice:
  ART as it is at clip 0-255 against pp_tf's faithful mode with overshoot 254
  (the same 255-fold step, right gaps) and with the paper's step; then, unless
  `--noart_corrected`, ART at clip 0-1 (the model fed x * 255, xi / 255) with that
  one expression corrected, the paper's overshoot 0.02 and 10 iterations: the
  paper's DeepFool, against pp_tf's. The fooling rates are on those 32 and
  on held-out views of the photos that
  `experiments/embedded_uap/fetch_training_photos.sh` fetches, when
  `--heldout_photos` names their folder. The faithful mode folds the DeepFool
  steps of `--lite0_faithful_batch` images at a time into v (ART: one image at a
  time), and SGD steps on 8 images.

Then it measures one DeepFool iteration on EfficientNet-Lite0 (batch 16, K=10, every
example still in play: the step and the check at the new point) against its lower
bound, one forward pass plus K-1 backward passes of the same batch: the median of 5
timings of each, taken in turns.
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

import timing  # noqa: E402  (benchmarks/timing.py)

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
_SKIP_LITE0 = flags.DEFINE_boolean("skip_lite0", False, "Skip the EfficientNet-Lite0 line.")
_LITE0_XI = flags.DEFINE_float("lite0_xi", 10.0, "L-inf bound (0-255) of the Lite0 line.")
_ART_LITE0_PASSES = flags.DEFINE_integer("art_lite0_passes", 2, "ART's passes at most in the "
                                         "Lite0 line (about 8 s per image and pass here).")
_LITE0_PASSES = flags.DEFINE_integer("lite0_passes", 10, "pp_tf's passes at most in the Lite0 "
                                     "line (it stops at ART's fooling rate).")
_LITE0_BATCH = flags.DEFINE_integer("lite0_faithful_batch", 8, "Images per batched DeepFool "
                                    "in the Lite0 line's faithful mode.")
_ART_CORRECTED = flags.DEFINE_boolean("art_corrected", True, "Also run the Lite0 line "
                                      "against ART at clip 0-1 with its DeepFool's gap "
                                      "corrected: the paper's DeepFool.")
_HELDOUT = flags.DEFINE_string("heldout_photos", None, "Folder of held-out photos for the "
                               "Lite0 line (fetch_training_photos.sh).")


# ART 1.20's DeepFool, when it takes the gradients of only the top `nb_grads` classes,
# subtracts the logit of the class numbered like the label's position among them, not the
# label's logit: every gap is wrong, so are the chosen class and the step (BUILD_NOTES).
ART_GAP = "f_batch[np.arange(len(f_batch)), labels_indices][:, None]"
CORRECTED_GAP = "f_batch[np.arange(len(f_batch)), fk_hat][:, None]"


def corrected_art_deepfool():
    """ART's DeepFool class with that one expression corrected: the paper's DeepFool."""
    import inspect
    import types

    import art.attacks.evasion.deepfool as module

    source = inspect.getsource(module)
    if source.count(ART_GAP) != 1:
        raise RuntimeError(f"{module.__file__}: the gap expression to correct is not there once")
    corrected = types.ModuleType(module.__name__ + "_corrected")
    exec(compile(source.replace(ART_GAP, CORRECTED_GAP), module.__file__, "exec"),
         corrected.__dict__)
    return corrected.DeepFool


def art_uap(model, images, classes, xi, passes, scale=255.0, deepfool_params=None,
            correct_gap=False):
    """ART's UAP and its seconds. `scale`: ART sees pixels / (255 / scale), in [0, scale]
    (its clip values), with xi scaled alike; the returned v is on the 0-255 scale.
    `correct_gap`: its DeepFool with the gap expression corrected."""
    sys.path.insert(0, os.path.join(HERE, ".art"))
    from art.attacks.evasion import UniversalPerturbation
    from art.estimators.classification import TensorFlowV2Classifier

    attack_class = UniversalPerturbation
    if correct_gap:
        deepfool_class = corrected_art_deepfool()

        class CorrectedUniversalPerturbation(UniversalPerturbation):
            def _get_attack(self, a_name, params=None):
                attack = deepfool_class(self.estimator)
                attack.set_params(**(params or {}))
                return attack

        attack_class = CorrectedUniversalPerturbation

    factor = 255.0 / scale
    classifier = TensorFlowV2Classifier(
        model=model if factor == 1 else (lambda x, training=False: model(x * factor,
                                                                         training=training)),
        nb_classes=classes, input_shape=images.shape[1:],
        loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        clip_values=(0.0, scale))
    attack = attack_class(classifier, attacker="deepfool",
                          attacker_params={"verbose": False, **(deepfool_params or {})},
                          delta=_DELTA.value, max_iter=passes, eps=xi / factor,
                          norm=np.inf, batch_size=32, verbose=False)
    start = time.perf_counter()
    attack.generate(images / factor)
    return time.perf_counter() - start, attack.noise[0] * factor


def ours(logits, images, mode, xi, passes, **overrides):
    """(seconds from cold, seconds once traced, v, passes): the same run twice with one
    trainer; the first includes tracing and optimising its compiled steps."""
    config = uap.UAPConfig(**{
        "xi": xi, "norm": "inf", "mode": mode, "delta": _DELTA.value, "max_passes": passes,
        "batch_size": _BATCH.value if mode == "deepfool" else 32, "min_steps": 0,
        **overrides})
    trainer = uap.make(config, logits, images.shape[1:])
    seconds, states = [], []
    for _ in range(2):
        start = time.perf_counter()
        states.append(trainer.fit(images))
        seconds.append(time.perf_counter() - start)
    np.testing.assert_array_equal(states[0].best, states[1].best)  # the same run
    return seconds[0], seconds[1], states[0].best, states[0].passes_done


DEFAULT_ROWS = (("deepfool", "deepfool", {}), ("sgd", "sgd", {}))


def compare(model, logits, images, held_out, classes, xi, passes, rows=DEFAULT_ROWS,
            art=None, match_art=False):
    """Prints ART's and pp_tf's seconds and fooling rates. `rows`: (name, mode, UAPConfig
    fields) of each pp_tf run; `art`: art_uap's keywords beyond the shared ones;
    `match_art`: pp_tf stops at ART's training fooling rate."""
    labels = uap.predict_labels(logits, images)
    results = []
    delta = _DELTA.value
    art = {"passes": passes, **(art or {})}
    if not _SKIP_ART.value:
        seconds, v = art_uap(model, images, classes, xi, **art)
        name = f"ART 1.20, clip 0-{art.get('scale', 255.0):g}"
        results.append((name, seconds, float("nan"), v))
        if match_art:
            delta = 1.0 - uap.fooling_rate(logits, images, labels, v) + 1e-6
    for name, mode, overrides in rows:
        cold, traced, v, done = ours(logits, images, mode, xi, passes,
                                     **{"delta": delta, **overrides})
        results.append((f"pp_tf {name}, {done} passes", cold, traced, v))
    print(f"{'method':46s} {'seconds':>8s} {'x ART':>6s} {'traced':>7s} {'x ART':>6s} "
          f"{'fooling (train)':>16s} {'fooling (held-out)':>19s}")
    held_labels = uap.predict_labels(logits, held_out) if held_out is not None else None
    art_seconds = results[0][1] if not _SKIP_ART.value else float("nan")
    for name, seconds, traced, v in results:
        rate = uap.fooling_rate(logits, images, labels, v)
        held = f"{'-':>19s}"
        if held_out is not None:
            held = f"{uap.fooling_rate(logits, held_out, held_labels, v):19.3f}"
        print(f"{name:46s} {seconds:8.1f} {art_seconds / seconds:6.1f} {traced:7.1f} "
              f"{art_seconds / traced:6.1f} {rate:16.3f} {held}", flush=True)


def photo_views(folder, view, limit=None):
    """The attacker's view of every photo in `folder` and of its mirror image, float32."""
    from pp_tf import image_io

    paths = image_io.list_images(folder)
    photos = [image_io.read_image(p) for p in paths]
    views = [view(tf.constant(p[None], tf.float32))[0].numpy() for p in photos]
    views += [v[:, ::-1] for v in views]
    return np.stack(views[:limit] if limit else views)


def lite0_line():
    from pp_tf import bundled, models

    model = models.build_ported("efficientnet_lite0")  # the embedded weights
    view = models.get("efficientnet_lite0").view
    logits = tf.function(lambda x: model(x, training=False),
                         input_signature=[tf.TensorSpec([None, 224, 224, 3], tf.float32)])
    images = photo_views(bundled.bundled_dir("examples"), view, limit=32)
    held_out = photo_views(_HELDOUT.value, view) if _HELDOUT.value else None
    print(f"\n{len(images)} photo views 224x224 (bundled photos and mirrors), EfficientNet-Lite0, "
          f"xi={_LITE0_XI.value} L-inf, ART: delta={_DELTA.value}, max passes "
          f"{_ART_LITE0_PASSES.value}; pp_tf: to ART's rate, max passes {_LITE0_PASSES.value}"
          f"{f', {len(held_out)} held-out views' if held_out is not None else ''}; "
          f"load average {os.getloadavg()[0]:.2f}")
    faithful = {"batch_size": _LITE0_BATCH.value}
    sgd = ("sgd", "sgd", {"batch_size": 8})
    print("ART 1.20 as it is. Its DeepFool scales each step by the width of its clip range "
          "(ART pull request 476), 255 here, as pp_tf's faithful mode does with overshoot "
          "254; its gaps are wrong besides (ART_GAP).")
    compare(model, logits, images, held_out, 1000, _LITE0_XI.value, _LITE0_PASSES.value,
            rows=(("deepfool, 255-fold step (overshoot 254)", "deepfool",
                   {**faithful, "overshoot": 254.0}),
                  ("deepfool, the paper's step", "deepfool", faithful), sgd),
            art={"passes": _ART_LITE0_PASSES.value}, match_art=True)
    if _ART_CORRECTED.value:
        print("ART 1.20 at clip 0-1 (the model fed x * 255) with its gap corrected, the "
              "paper's overshoot (0.02) and at most 10 DeepFool iterations: the paper's "
              "DeepFool, as pp_tf's faithful mode.")
        compare(model, logits, images, held_out, 1000, _LITE0_XI.value, _LITE0_PASSES.value,
                rows=(("deepfool, the paper's step", "deepfool", faithful), sgd),
                art={"passes": _ART_LITE0_PASSES.value, "scale": 1.0, "correct_gap": True,
                     "deepfool_params": {"epsilon": 0.02, "max_iter": 10}},
                match_art=True)


def deepfool_iteration_cost(batch=16, candidates=10, repeats=5):
    """(forward, bound, iteration) seconds, each the median of `repeats` timings in turns."""
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

    attack = LinfDeepFool(candidates=candidates)
    start, step, fooled = attack.compiled(logits, (224, 224, 3))
    classes = start(x)

    def iteration(x):  # the step, then the check at the new point (no example is fooled yet)
        total = step(x, tf.zeros_like(x), classes)
        return total, fooled(x, total, classes)

    fetch = lambda fn: (lambda: tf.nest.map_structure(lambda t: t.numpy(), fn(x)))  # noqa: E731
    seconds = timing.seconds_in_turns({
        "forward": fetch(logits), "bound": fetch(lower_bound),
        "iteration": fetch(iteration)}, repeats)
    return tuple(float(np.median(wall)) for wall, _ in seconds.values())


def main(argv):
    del argv
    model = tiny_models.trained_cnn()
    logits = tiny_models.logits_fn(model)
    images, _ = tiny_models.synthetic_images(_N.value, seed=21)
    held_out, _ = tiny_models.synthetic_images(512, seed=22)
    print(f"{_N.value} images 32x32, tiny CNN, xi={_XI.value} L-inf, delta={_DELTA.value}, "
          f"max passes {_PASSES.value}; TF {tf.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    compare(model, logits, images, held_out, tiny_models.CLASSES, _XI.value, _PASSES.value)
    if not _SKIP_LITE0.value:
        lite0_line()
    forward, bound, iteration = deepfool_iteration_cost()
    print(f"\nEfficientNet-Lite0, batch 16, K=10, medians of 5: forward {forward:.3f} s; "
          f"forward + 9 backward (lower bound) {bound:.3f} s; one DeepFool iteration "
          f"{iteration:.3f} s = {iteration / bound:.2f}x the bound; load average "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    app.run(main)
