"""train_uap end to end on a tiny exported classifier: outputs, and SIGKILL + --resume."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import tiny_models
from pp_tf.export import ClassifierModule, export
from pp_tf.models.preprocessing import View


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("uap")
    export(ClassifierModule(tiny_models.trained_cnn(), ["h", "v", "bright", "dark"],
                            View(resize_size=36, crop_size=32, label_space="custom")),
           str(root / "attacker"))
    photos = root / "photos"
    photos.mkdir()
    images, _ = tiny_models.synthetic_images(160, seed=11)  # passes long enough to kill mid-run
    for i, image in enumerate(images):
        big = Image.fromarray(image.astype(np.uint8)).resize((40, 36))
        big.save(photos / f"p{i:02d}.png")
    return root


def command(root, output, *extra):
    return [sys.executable, "-m", "pp_tf.scripts.train_uap", f"--attacker={root / 'attacker'}",
            f"--images={root / 'photos'}", "--xi=40", "--mode=sgd", "--eot", "--max_passes=6",
            "--delta=0", "--batch_size=8", "--seed=3", f"--output={output}", *extra]


def test_outputs_and_kill_then_resume_equals_uninterrupted(setup):
    root = setup
    straight = root / "straight" / "uap.npy"
    done = subprocess.run(command(root, straight, f"--logdir={root / 'tb'}"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.load(open(root / "straight" / "uap.json"))
    assert len(report["fooling_rate_per_pass"]) == 6 and report["settings"]["eot"] is True
    assert report["linf"] <= 40 + 1e-4
    assert Image.open(root / "straight" / "uap.png").size == (32, 32)
    assert os.listdir(root / "tb")

    killed = root / "killed" / "uap.npy"
    process = subprocess.Popen(command(root, killed), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    checkpoint = str(killed) + ".ckpt.npz"
    deadline = time.time() + 300
    while not os.path.exists(checkpoint) and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert os.path.exists(checkpoint) and not killed.exists()
    with np.load(checkpoint) as state:
        assert 1 <= int(state["passes_done"]) < 6

    refused = subprocess.run(command(root, killed), capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "--resume" in refused.stderr
    resumed = subprocess.run(command(root, killed, "--resume"), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    np.testing.assert_array_equal(np.load(killed), np.load(straight))
    assert (json.load(open(root / "killed" / "uap.json"))["fooling_rate_per_pass"]
            == report["fooling_rate_per_pass"])
    assert not os.path.exists(checkpoint)
