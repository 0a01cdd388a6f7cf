"""Parity of every port against an independent torch reference, in the published formats."""

import json
import os

import h5py
import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")

import torch_reference  # noqa: E402
from conftest import EXAMPLES, relative_error  # noqa: E402
from pp_tf import image_io, labels, weights  # noqa: E402
from pp_tf.attacker import load_attacker  # noqa: E402
from pp_tf.export import port_to_saved_model  # noqa: E402
from pp_tf.models import efficientnet_lite, preprocessing  # noqa: E402


def _imagenet_normalize_nchw(pixels):
    mean = torch.tensor(preprocessing.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(preprocessing.IMAGENET_STD).view(1, 3, 1, 1)
    return (torch.from_numpy(pixels).permute(0, 3, 1, 2) / 255.0 - mean) / std


@pytest.mark.slow  # a published-size port
def test_places365_resnet50_checkpoint_as_published(tmp_path, rng):
    """A CSAILVision-format checkpoint (legacy serialisation, `module.` keys,
    no num_batches_tracked, wrapped in a training dict) ports exactly."""
    generator = torch.Generator().manual_seed(0)
    reference = torch_reference.ResNet50(num_classes=365)
    torch_reference.randomize_batchnorm(reference, generator)
    reference.eval()
    state = {"module." + k: v for k, v in reference.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    checkpoint = tmp_path / "resnet50_places365.pth.tar"
    torch.save({"epoch": 90, "arch": "resnet50", "state_dict": state, "best_prec1": 54.74},
               checkpoint, _use_new_zipfile_serialization=False)

    export_dir = str(tmp_path / "places")
    port_to_saved_model("places365_resnet50", str(checkpoint), export_dir)
    loaded = tf.saved_model.load(export_dir)

    pixels = rng.uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    with torch.no_grad():
        expected = reference(_imagenet_normalize_nchw(pixels)).numpy()
    actual = loaded.signatures["logits_from_pixels"](pixels=tf.constant(pixels))["logits"].numpy()
    assert relative_error(actual, expected) <= 1e-4
    np.testing.assert_array_equal(actual.argmax(-1), expected.argmax(-1))

    # The uint8 serving signature on a non-square photo: shorter side 256, centre crop 224.
    photo = rng.integers(0, 256, (1, 300, 400, 3), dtype=np.uint8)
    served = loaded.signatures["serving_default"](images=tf.constant(photo))
    assert served["logits"].shape == (1, 365)
    np.testing.assert_allclose(served["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)
    view = tf.image.resize(photo.astype(np.float32), (256, 341), antialias=True)[:, 16:240, 58:282]
    with torch.no_grad():
        expected_photo = reference(_imagenet_normalize_nchw(view.numpy())).numpy()
    assert relative_error(served["logits"].numpy(), expected_photo) <= 1e-4
    assert [n.decode() for n in loaded.class_names.numpy()] == list(labels.places365_class_names())


def test_places365_checkpoint_with_extra_tensor_is_refused(tmp_path):
    reference = torch_reference.ResNet50(num_classes=365)
    state = dict(reference.state_dict())
    state["fc2.weight"] = torch.zeros(3)
    path = tmp_path / "extra.pth"
    torch.save(state, path)
    with pytest.raises(weights.WeightsError, match="unused weights.*fc2.weight"):
        port_to_saved_model("places365_resnet50", str(path), str(tmp_path / "out"))


LITES = {  # architecture: (torch reference variant, installed weight file)
    "efficientnet_lite0": ("lite0", efficientnet_lite.default_weights_path),
    "efficientnet_lite1": ("lite1", efficientnet_lite.lite1_weights_path),
    "efficientnet_lite2": ("lite2", efficientnet_lite.lite2_weights_path),
}


@pytest.fixture(scope="module", params=sorted(LITES))
def lite(request):
    """(architecture, its attacker, its torch state dict), each ported once per module."""
    name = request.param
    variant, path = LITES[name]
    state = {k: torch.from_numpy(v) for k, v in weights.read_torch_state_dict(path()).items()}
    return name, load_attacker(name), state


def _example_views(names, view=preprocessing.DEFAULT_VIEW):
    photos = [image_io.read_image(os.path.join(EXAMPLES, name)) for name in names]
    return np.concatenate([view(p[None]).numpy() for p in photos])


def test_efficientnet_lite_stage_tables():
    """The scaled tables give the published Lite1/Lite2 block counts and widths."""
    for name, (variant, _) in LITES.items():
        width, depth, _ = efficientnet_lite.VARIANTS[name]
        stages = efficientnet_lite.scaled_stages(width, depth)
        assert tuple(s[0] for s in stages) == torch_reference.LITE_REPEATS[variant]
    lite2 = efficientnet_lite.scaled_stages(*efficientnet_lite.VARIANTS["efficientnet_lite2"][:2])
    assert tuple(s[-1] for s in lite2) == (16, 24, 48, 88, 120, 208, 352)


def test_efficientnet_lite_views_follow_the_tf_eval_crop_padding():
    """EfficientNet's TF eval crops image_size / (image_size + 32) of the shorter side."""
    from pp_tf import models

    for name, (_, _, size) in efficientnet_lite.VARIANTS.items():
        view = models.get(name).view
        assert (view.resize_size, view.crop_size) == (size + 32, size)
        assert view.normalization == "(x - 127) / 128" and view.label_space == "imagenet"


def test_efficientnet_lite_matches_torch_reference(lite):
    name, attacker, state = lite
    assert attacker.view.crop_size == efficientnet_lite.VARIANTS[name][2]
    pixels = _example_views(["cat_chelsea.png", "coffee.png", "rocket.jpg"], attacker.view)
    with torch.no_grad():
        expected = torch_reference.efficientnet_lite_forward(
            state, (torch.from_numpy(pixels).permute(0, 3, 1, 2) - 127.0) / 128.0,
            LITES[name][0]).numpy()
    actual = attacker.logits(tf.constant(pixels)).numpy()
    assert relative_error(actual, expected) <= 1e-4
    np.testing.assert_array_equal(actual.argmax(-1), expected.argmax(-1))


def test_efficientnet_lite_labels_real_photos_sensibly(lite):
    """Every bundled photo with a clear ImageNet object gets it in its top 5."""
    _, attacker, _ = lite
    expected = json.load(open(os.path.join(EXAMPLES, "expected_content.json")))
    names = sorted(name for name, keywords in expected.items() if keywords)
    assert len(names) >= 8
    probabilities = attacker.predict(_example_views(names, attacker.view))
    misses = []
    for name, p in zip(names, probabilities):
        top5 = [attacker.class_names[i].lower() for i in np.argsort(-p)[:5]]
        if not any(keyword in label for keyword in expected[name] for label in top5):
            misses.append((name, top5))
    assert not misses, misses


def _write_keras2_nima_h5(path, rng, head_name="dense_1"):
    """A NIMA weight file in the Keras-2 `save_weights` layout, written with h5py alone."""
    layers = torch_reference.mobilenet_keras2_layers() + [
        (head_name, [("kernel", (1024, 10)), ("bias", (10,))])]
    values = {}
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([name.encode() for name, _ in layers]
                                          + [b"input_1", b"dropout_1"])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for extra in ("input_1", "dropout_1"):
            f.create_group(extra).attrs["weight_names"] = np.array([], dtype="S1")
        for name, specs in layers:
            group = f.create_group(name)
            group.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w, _ in specs])
            for weight, shape in specs:
                if weight == "moving_variance":
                    value = rng.uniform(0.5, 1.5, shape)
                elif weight == "gamma":
                    value = rng.uniform(0.5, 1.5, shape)
                elif weight in ("beta", "moving_mean", "bias"):
                    value = rng.normal(0, 0.1, shape)
                else:
                    fan_in = np.prod(shape[:-1]) if weight == "kernel" else np.prod(shape[:2])
                    value = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
                group.create_dataset(f"{name}/{weight}:0", data=value.astype(np.float32))
                values[f"{name}/{weight}"] = value.astype(np.float32)
    return values


def test_nima_keras2_h5_ports_exactly(tmp_path, rng):
    path = tmp_path / "weights_mobilenet_aesthetic_0.07.hdf5"
    values = _write_keras2_nima_h5(path, rng)
    export_dir = str(tmp_path / "nima")
    port_to_saved_model("nima_mobilenet", str(path), export_dir)
    loaded = tf.saved_model.load(export_dir)

    photo = rng.integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)  # 224: no resize involved
    out = loaded.signatures["serving_default"](images=tf.constant(photo))
    with torch.no_grad():
        expected = torch_reference.nima_keras2_forward(
            values, torch.from_numpy(photo.astype(np.float32))).numpy()
    assert relative_error(out["distribution"].numpy(), expected) <= 1e-4
    scores = np.arange(1, 11)
    expected_mean = (expected * scores).sum(-1)
    expected_std = np.sqrt((expected * (scores - expected_mean[:, None]) ** 2).sum(-1))
    np.testing.assert_allclose(out["mean_score"].numpy(), expected_mean, rtol=1e-4)
    np.testing.assert_allclose(out["std_score"].numpy(), expected_std, rtol=1e-3)


def test_nima_file_without_head_is_refused(tmp_path, rng):
    path = tmp_path / "broken.h5"
    _write_keras2_nima_h5(path, rng, head_name="dense_1")
    with h5py.File(path, "a") as f:
        del f["dense_1"]
        f.attrs["layer_names"] = np.array([n for n in f.attrs["layer_names"] if n != b"dense_1"])
    with pytest.raises(weights.WeightsError, match="Dense\\(10\\) head"):
        port_to_saved_model("nima_mobilenet", str(path), str(tmp_path / "out"))
