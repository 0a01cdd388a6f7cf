r"""Which input normalisation makes the EfficientNet-Lite0 weights right?

The weights come from Google's TF Lite checkpoints, which were trained on
(x - 127) / 128; the lukemelas README suggests ImageNet mean/std for its B0-B7
weights. Both are tried on the bundled photos whose content is known
(examples/expected_content.json): how many get an expected label in their
top 5, and the mean top-1 probability.

  .venv/bin/python benchmarks/lite0_preprocessing.py
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pp_tf import demo, image_io  # noqa: E402
from pp_tf.attacker import load_attacker  # noqa: E402
from pp_tf.models import preprocessing  # noqa: E402


def main():
    attacker = load_attacker("efficientnet_lite0")
    expected = json.load(open(os.path.join(demo.EXAMPLES, "expected_content.json")))
    names = sorted(n for n, keywords in expected.items() if keywords)
    views = np.concatenate([attacker.view(image_io.read_image(
        os.path.join(demo.EXAMPLES, n))[None]).numpy() for n in names])
    mean = np.array(preprocessing.IMAGENET_MEAN) * 255
    std = np.array(preprocessing.IMAGENET_STD) * 255
    # The model applies (x - 127) / 128 itself; feed x' such that (x' - 127) / 128 = (x - mean) / std.
    recipes = {"(x - 127) / 128 (TF Lite)": views,
               "ImageNet mean/std": ((views - mean) / std * 128 + 127).astype(np.float32)}
    for recipe, inputs in recipes.items():
        probabilities = tf.nn.softmax(attacker.logits(tf.constant(inputs))).numpy()
        hits = 0
        for name, p in zip(names, probabilities):
            top5 = [attacker.class_names[i].lower() for i in np.argsort(-p)[:5]]
            hits += any(k in label for k in expected[name] for label in top5)
        print(f"{recipe:28s} expected label in top-5: {hits}/{len(names)}; "
              f"mean top-1 probability {probabilities.max(-1).mean():.3f}")


if __name__ == "__main__":
    main()
