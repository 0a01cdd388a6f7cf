r"""Does a UAP survive what platforms do to photos? Placement and EOT, measured.

For every perturbation given and both placements (`crop`: only the attacker's
square; `tile`: the whole photo), it protects the held-out photos at full size
and reports how often the attacker's top-1 changed:

* `as saved`: the protected photo as pp_tf writes it (PNG stays lossless, JPEG at q95);
* `jpeg75+resize`: then re-encoded as JPEG quality 75 and downscaled to half size;
* `off-centre crop`: then cropped to its top-left 80% (the attacker's crop moves).

  .venv/bin/python benchmarks/uap_robustness.py \
      --perturbations=saved_models/uap_efficientnet_lite0_linf10.npy,\
saved_models/uap_efficientnet_lite0_linf10_eot.npy,random_sign
"""

import io
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from PIL import Image  # noqa: E402

from pp_tf import demo, image_io  # noqa: E402
from pp_tf.attacker import load_attacker  # noqa: E402
from pp_tf.datasets import views  # noqa: E402
from pp_tf.perturbation import PLACEMENTS, apply_perturbation  # noqa: E402

_PERTURBATIONS = flags.DEFINE_list(
    "perturbations", [demo.DEFAULT_UAP, "random_sign"],
    "UAP .npy files; 'random_sign' is random +-10 noise, the same L-inf norm as a xi=10 UAP.")
_PHOTOS = flags.DEFINE_string("photos", demo.EXAMPLES, "Photo folder.")
_EXCLUDE = flags.DEFINE_string("exclude_list", "",
                               "Photos the perturbations were trained on (a .txt list); '' for none.")


def as_saved(photo, fmt):
    return np.asarray(Image.open(io.BytesIO(image_io.encode_image(photo, fmt))).convert("RGB"))


def jpeg75_resize(photo):
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "JPEG", quality=75)
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return np.asarray(image.resize((max(image.width // 2, 1), max(image.height // 2, 1)),
                                   Image.BILINEAR))


def off_centre(photo):
    h, w = photo.shape[:2]
    return photo[: int(h * 0.8), : int(w * 0.8)]


def main(argv):
    del argv
    attacker = load_attacker("efficientnet_lite0")
    exclude = ({os.path.basename(p) for p in views.photo_paths(_EXCLUDE.value)}
               if _EXCLUDE.value else set())
    paths = [p for p in image_io.list_images(_PHOTOS.value) if os.path.basename(p) not in exclude]
    photos = [(image_io.read_image(p), image_io.image_format(p)) for p in paths]

    def top1(photo):
        return int(np.argmax(attacker.predict(attacker.view(photo[None]).numpy())[0]))

    conditions = {"as saved": lambda p: p, "jpeg75+resize": jpeg75_resize,
                  "off-centre crop": off_centre}
    baseline = {name: [top1(fn(photo)) for photo, _ in photos] for name, fn in conditions.items()}
    print(f"{len(photos)} photos (not in {_EXCLUDE.value or 'any training list'}), "
          f"attacker efficientnet_lite0; top-1 changed against the same transform of the original")
    print(f"{'perturbation':44s} {'placement':9s} " + " ".join(f"{c:>16s}" for c in conditions))
    for path in _PERTURBATIONS.value:
        if path == "random_sign":
            v = np.random.default_rng(0).choice([-10.0, 10.0], (224, 224, 3)).astype(np.float32)
        else:
            v = np.load(path)
        for placement in PLACEMENTS:
            protected = [as_saved(apply_perturbation(p, v, placement), fmt) for p, fmt in photos]
            rates = []
            for name, fn in conditions.items():
                changed = [top1(fn(q)) != b for q, b in zip(protected, baseline[name])]
                rates.append(f"{np.mean(changed):16.0%}")
            print(f"{os.path.basename(path):44s} {placement:9s} " + " ".join(rates))


if __name__ == "__main__":
    app.run(main)
