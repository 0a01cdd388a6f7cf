r"""The GPU benchmark suite (benchmarks/gpu_suite.sh): one run prints every figure of issue 12.

1. UAP of 3,000 224x224 images against the Places365 ResNet50 (random weights),
   SGD mode and faithful (DeepFool) mode, through `python -m pp_tf.scripts.train_uap`
   (goals: SGD < 60 s, faithful < 5 min; wall time of the script, start-up included);
2. forward images/s of every classifier at batch 128 (benchmarks/forward_throughput.py);
3. stylisation images/s at 512x512 (CycleGAN 9 blocks, ngf 64, random weights) and the
   time of one 12 MP photo through seamless tiles;
4. 200 `train_gan` steps of CycleGAN under MirroredStrategy, float32 and mixed_float16
   (steps/s between the log lines at steps 100 and 200, so tracing is left out);
   the mixed run is `train_gan --precision=mixed_float16` (float16 networks, float32
   losses and weights, dynamic loss scaling).

Each part runs on its own; one that fails prints FAILED with its error, and the others go
on (the exit status is then 1). `--smoke` shrinks every size (a few images, tiny
generators, a tiny CNN in place of the ResNet50 for the UAPs) so that the whole suite
runs on two CPU cores in about a minute and a half.

  python benchmarks/gpu_suite.py [--smoke] [--workdir=DIR]
"""

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from PIL import Image  # noqa: E402

_SMOKE = flags.DEFINE_boolean("smoke", False, "Tiny sizes and counts (CPU, CI).")
_WORKDIR = flags.DEFINE_string("workdir", None, "Scratch folder (default: a temporary one).")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FULL = dict(uap_images=3000, uap_attacker="places365_resnet50", uap_batch=128,
            uap_max_passes=10, uap_timeouts=(180, 330), tile_size=512,
            forward_batch=128, forward_repeats=5, forward_models=None,
            style_size=512, style_batch=8, style_repeats=5, style_blocks=9, style_ngf=64,
            photo=(3000, 4000), gan_steps=200, gan_size=256, gan_blocks=9, gan_ngf=64,
            gan_batch=1, gan_replicas=0)
SMOKE = dict(uap_images=4, uap_attacker="tiny_cnn", uap_batch=4,
             uap_max_passes=1, uap_timeouts=(300, 300), tile_size=64,
             forward_batch=2, forward_repeats=1, forward_models="efficientnet_lite0",
             style_size=64, style_batch=2, style_repeats=1, style_blocks=1, style_ngf=8,
             photo=(200, 264), gan_steps=4, gan_size=32, gan_blocks=1, gan_ngf=8,
             gan_batch=1, gan_replicas=0)


def python(*args, timeout=1200):
    """Runs `python args` in the repository; (seconds, stdout + stderr). Raises on failure."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=timeout, env=dict(os.environ, PYTHONPATH=ROOT))
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode:
        raise RuntimeError(f"{' '.join(args[:3])} exited {result.returncode}:\n{output[-3000:]}")
    return seconds, output


def write_photos(folder, count, size, seed):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    for i in range(count):
        # Smooth random colour fields with noise: cheap, and not all alike.
        small = np.clip(base.astype(int) + rng.integers(-60, 61, base.shape), 0, 255)
        photo = np.asarray(Image.fromarray(small.astype(np.uint8)).resize((size, size),
                                                                         Image.BILINEAR))
        photo = np.clip(photo + rng.normal(0, 8, photo.shape), 0, 255).astype(np.uint8)
        Image.fromarray(photo).save(os.path.join(folder, f"{i:05d}.png"))


# ------------------------------------------------------------------ parts
def tiny_cnn():
    """A 10-class classifier of 224x224 pixels small enough for DeepFool on a CPU (--smoke)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((224, 224, 3))
    x = keras.layers.Rescaling(1 / 127.5, -1)(inputs)
    x = keras.layers.Conv2D(8, 5, strides=4, activation="relu")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x), name="tiny_cnn")


def part_uap(sizes, work):
    from pp_tf import models
    from pp_tf.export import ClassifierModule, export, module_for

    name = sizes["uap_attacker"]
    attacker_dir = os.path.join(work, f"{name}_random")
    if not os.path.isdir(attacker_dir):
        if name == "tiny_cnn":
            module = ClassifierModule(tiny_cnn(), [f"class_{i}" for i in range(10)])
        else:
            module = module_for(name, models.get(name).build())
        export(module, attacker_dir)
    photos = os.path.join(work, "uap_photos")
    if not os.path.isdir(photos):
        write_photos(photos, sizes["uap_images"], 256, seed=0)
    lines = []
    for (mode, label), timeout in zip((("sgd", "SGD"), ("deepfool", "faithful")),
                                      sizes["uap_timeouts"]):
        output = os.path.join(work, f"uap_{mode}.npy")
        head = (f"UAP {label:8s} {sizes['uap_images']} images 224x224 {sizes['uap_attacker']} "
                f"(random weights), max {sizes['uap_max_passes']} passes:")
        try:
            seconds, _ = python("-m", "pp_tf.scripts.train_uap", f"--attacker={attacker_dir}",
                                f"--input_dir={photos}", f"--mode={mode}",
                                f"--max_passes={sizes['uap_max_passes']}",
                                # The paper's setup, whose speed this measures: one view per
                                # image, no held-out split, no per-step crops, no step floor
                                # (the small-folder defaults).
                                "--crops_per_photo=0", "--holdout_fraction=0", "--min_steps=0",
                                "--augment_scale=0",
                                f"--batch_size={sizes['uap_batch']}", f"--output_dir={work}", f"--name=uap_{mode}",
                                timeout=timeout)
        except subprocess.TimeoutExpired:
            lines.append(f"{head} over {timeout} s (stopped)")
            continue
        report = json.load(open(output[:-len(".npy")] + ".json"))
        lines.append(f"{head} {seconds:7.1f} s, {len(report['fooling_rate_per_pass'])} passes, "
                     f"fooling rate {report['fooling_rate']:.3f} (script wall time)")
    return lines


def part_forward(sizes, work):
    del work
    args = ["benchmarks/forward_throughput.py", f"--batch_size={sizes['forward_batch']}",
            f"--repeats={sizes['forward_repeats']}"]
    if sizes["forward_models"]:
        args.append(f"--models={sizes['forward_models']}")
    _, log = python(*args)
    return [line for line in log.splitlines()
            if re.match(r"(TensorFlow|model|\S+\s+[\d.]+\s+[\d.]+$|places365)", line)]


def part_stylize(sizes, work):
    del work
    import keras
    import tensorflow as tf

    from pp_tf import stylize
    from pp_tf.export import StylizerModule
    from pp_tf.models import cyclegan

    keras.utils.set_random_seed(0)
    model = cyclegan.ResnetGenerator(n_blocks=sizes["style_blocks"], ngf=sizes["style_ngf"])
    generator = stylize.Generator.from_module(StylizerModule(model))
    side, batch = sizes["style_size"], sizes["style_batch"]
    x = np.random.default_rng(0).uniform(-1, 1, (batch, side, side, 3)).astype(np.float32)
    generator(x)  # tracing
    start = time.perf_counter()
    for _ in range(sizes["style_repeats"]):
        generator(x)
    rate = batch * sizes["style_repeats"] / (time.perf_counter() - start)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    lines = [f"stylize CycleGAN {sizes['style_blocks']} blocks ngf {sizes['style_ngf']} "
             f"({device}) {side}x{side} batch {batch}: {rate:8.2f} images/s"]
    height, width = sizes["photo"]
    photo = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    start = time.perf_counter()
    config = stylize.StylizeConfig(tile_size=sizes["tile_size"], overlap=16)
    stylize.stylize_image(generator, photo, config)
    lines.append(f"stylize one {height * width / 1e6:.1f} MP photo ({width}x{height}, seamless "
                 f"tiles of {sizes['tile_size']}, first call included): "
                 f"{time.perf_counter() - start:7.1f} s")
    return lines


def _log_time(line):
    """The time of an absl log line (`I1128 09:14:09.172794 ...`), in seconds of the day."""
    clock = datetime.datetime.strptime(line.split()[1], "%H:%M:%S.%f")
    return clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6


def part_gan(sizes, work):
    domains = []
    for name, seed in (("gan_a", 1), ("gan_b", 2)):
        folder = os.path.join(work, name)
        if not os.path.isdir(folder):
            write_photos(folder, 8, sizes["gan_size"] + 32, seed)
        domains.append(folder)
    steps = sizes["gan_steps"]
    lines = []
    for label in ("float32", "mixed_float16"):
        output = os.path.join(work, f"gan_{label}")
        args = ["-m", "pp_tf.scripts.train_gan", "--model=cyclegan", f"--domain_a={domains[0]}",
                f"--domain_b={domains[1]}", f"--output_dir={output}", f"--steps={steps}",
                f"--summary_every={steps // 2}", f"--checkpoint_every={10 * steps}",
                f"--batch_size={sizes['gan_batch']}", f"--image_size={sizes['gan_size']}",
                f"--n_blocks={sizes['gan_blocks']}", f"--ngf={sizes['gan_ngf']}",
                f"--ndf={sizes['gan_ngf']}", f"--precision={label}", "--alsologtostderr"]
        if sizes["gan_replicas"]:
            args.append(f"--cpu_replicas={sizes['gan_replicas']}")
        head = (f"train_gan CycleGAN {label}, {steps} steps, {sizes['gan_size']}px, batch "
                f"{sizes['gan_batch']}, MirroredStrategy:")
        try:
            seconds, log = python(*args)
        except RuntimeError as error:
            lines.append(f"{head} FAILED ({str(error)[-600:]})")
            continue
        marks = [line for line in log.splitlines() if re.search(r"step \d+/\d+ \(", line)]
        steady = "n/a"
        if len(marks) >= 2:
            (first, last) = marks[-2:]
            done = [int(re.search(r"step (\d+)/", line).group(1)) for line in (first, last)]
            elapsed = (_log_time(last) - _log_time(first)) % 86400
            steady = f"{(done[1] - done[0]) / max(elapsed, 1e-9):.2f} steps/s between steps " \
                     f"{done[0]} and {done[1]}"
        lines.append(f"{head} {steady} ({seconds:.1f} s in all, start-up and tracing included)")
    return lines


PARTS = (("UAP", part_uap), ("forward", part_forward), ("stylize", part_stylize),
         ("train_gan", part_gan))


def main(argv):
    del argv
    sizes = SMOKE if _SMOKE.value else FULL
    work = _WORKDIR.value or tempfile.mkdtemp(prefix="gpu_suite-")
    began = time.perf_counter()
    failed = False
    print(f"gpu_suite{' --smoke' if _SMOKE.value else ''}: {os.cpu_count()} CPUs, "
          f"scratch {work}", flush=True)
    for name, part in PARTS:
        start = time.perf_counter()
        try:
            lines = part(sizes, work)
        except Exception:  # noqa: BLE001 - one part failing must not hide the others
            failed = True
            lines = [f"{name}: FAILED\n{traceback.format_exc()[-3000:]}"]
        for line in lines:
            print(line, flush=True)
            failed |= "FAILED" in line
        print(f"  [{name}: {time.perf_counter() - start:.1f} s]", flush=True)
    print(f"gpu_suite done in {time.perf_counter() - began:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    app.run(main)
