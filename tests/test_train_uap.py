"""train_uap end to end on a tiny exported classifier: outputs, and SIGKILL + --resume."""

import dataclasses
import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import tiny_models
from pp_tf import uap_run, verified_checkpoints
from pp_tf.attacker import from_keras
from pp_tf.attacks import uap
from pp_tf.export import ClassifierModule, export
from pp_tf.models.preprocessing import View
from pp_tf.run_settings import SettingsChangedError

VIEW = View(resize_size=36, crop_size=32, label_space="custom")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("uap")
    export(ClassifierModule(tiny_models.trained_cnn(), ["h", "v", "bright", "dark"],
                            VIEW),
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
            f"--input_dir={root / 'photos'}", "--crops_per_photo=0", "--xi=40", "--mode=sgd",
            "--eot", "--max_passes=6", "--min_steps=80", "--delta=0", "--batch_size=8",
            "--seed=3", f"--output_dir={output.parent}", f"--name={output.stem}", *extra]


def _limit_file_size(limit):
    """preexec_fn: files larger than `limit` bytes cannot be written (EFBIG, like a full disk)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.slow
def test_outputs_and_kill_then_resume_equals_uninterrupted(setup):
    root = setup
    straight = root / "straight" / "uap.npy"
    done = subprocess.run(command(root, straight, f"--logdir={root / 'tb'}"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.load(open(root / "straight" / "uap.json"))
    assert len(report["fooling_rate_per_pass"]) == 6 and report["settings"]["eot"] is True
    assert report["linf"] <= 40 + 1e-4
    assert report["attacker"] == "attacker" and report["view"] == {
        "resize_size": 36, "crop_size": 32, "normalization": "imagenet_mean_std",
        "label_space": "custom"}
    assert View.from_dict(report["view"]) == VIEW
    assert report["allowed_changes"] == [] and report["resumed_from"] is None
    assert Image.open(root / "straight" / "uap.png").size == (32, 32)
    assert os.listdir(root / "tb")

    killed = root / "killed" / "uap.npy"
    process = subprocess.Popen(command(root, killed), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    folder = uap_run.checkpoint_folder(str(killed))
    deadline = time.time() + 300
    while not folder.steps() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    valid, problems = folder.restore_candidates()
    assert valid and not problems and not killed.exists()
    assert 1 <= valid[0].step < 6
    record = valid[0].record["settings"]
    assert record["xi"] == 40 and record["view"]["crop_size"] == 32
    assert record["data_source"]["files"]["files"] == 160
    assert len(record["data_source"]["holdout_photos"]) == 32  # 0.2 of 160, the default

    refused = subprocess.run(command(root, killed), capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--resume" in refused.stderr  # usage
    changed = subprocess.run(command(root, killed, "--resume", "--xi=30", "--batch_size=4"),
                             capture_output=True, text=True, timeout=300)
    assert changed.returncode == 2 and "Traceback" not in changed.stderr, changed.stderr
    assert "xi: 40.0 -> 30.0" in changed.stderr and "batch_size: 8 -> 4" in changed.stderr
    assert "--allow_changed=batch_size,xi" in changed.stderr

    # A write that fails (files capped below the checkpoint's size, as on a full disk) stops
    # the run with a message; the earlier checkpoints stay valid.
    before = folder.steps()
    full = subprocess.run(command(root, killed, "--resume"), capture_output=True, text=True,
                          timeout=300, preexec_fn=_limit_file_size(16_000))
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert "writing the checkpoint" in full.stderr and "--resume" in full.stderr
    assert folder.steps() == before and not folder.restore_candidates()[1]

    resumed = subprocess.run(command(root, killed, "--resume"), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    np.testing.assert_array_equal(np.load(killed), np.load(straight))
    resumed_report = json.load(open(root / "killed" / "uap.json"))
    assert resumed_report["fooling_rate_per_pass"] == report["fooling_rate_per_pass"]
    assert resumed_report["resumed_from"].endswith(f"pass-{before[0]}")
    assert not os.path.exists(folder.folder)


@pytest.fixture(scope="module")
def tiny_run():
    attacker = from_keras(tiny_models.trained_cnn(), ["h", "v", "bright", "dark"], "tiny", VIEW)
    images, _ = tiny_models.synthetic_images(48, seed=12)
    config = uap.UAPConfig(xi=30.0, mode="sgd", eot=False, max_passes=4, batch_size=16,
                           delta=0.0, seed=2, min_steps=0)
    return attacker, images, config


def interrupted_after_pass(last: int, monkeypatch, attacker, images, config, output) -> None:
    """A run at `output` stopped (an exception) once the checkpoint of pass `last` is saved."""

    class Stop(Exception):
        pass

    real_save = verified_checkpoints.CheckpointFolder.save

    def save_then_stop(self, step, write, record):
        real_save(self, step, write, record)
        if step == last:
            raise Stop

    monkeypatch.setattr(verified_checkpoints.CheckpointFolder, "save", save_then_stop)
    with pytest.raises(Stop):
        uap_run.train_uap(attacker, images, config, output, show_progress=False)
    monkeypatch.undo()


def test_failed_write_corrupted_checkpoint_and_changed_settings(tiny_run, tmp_path, monkeypatch):
    attacker, images, config = tiny_run
    straight = uap_run.train_uap(attacker, images, config, str(tmp_path / "a" / "uap.npy"),
                                 show_progress=False)
    output = str(tmp_path / "b" / "uap.npy")
    folder = uap_run.checkpoint_folder(output)
    real_write = uap_run.image_io.write_bytes_atomic

    def disk_full_at_pass_3(content, path, overwrite=False, protected=()):
        if path.endswith("pass-3.npz"):
            with open(path, "wb") as handle:  # a partial file, then the disk is full
                handle.write(content[:100])
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return real_write(content, path, overwrite, protected)

    monkeypatch.setattr(uap_run.image_io, "write_bytes_atomic", disk_full_at_pass_3)
    with pytest.raises(verified_checkpoints.CheckpointWriteError,
                       match=r"pass-3: writing the checkpoint of step 3 failed \(OSError.*No "
                             r"space left.*previous checkpoint pass-2 is intact"):
        uap_run.train_uap(attacker, images, config, output, show_progress=False)
    monkeypatch.undo()
    assert folder.steps() == [2, 1] and not os.path.exists(folder.prefix(3) + ".npz")
    assert [entry.step for entry in folder.restore_candidates()[0]] == [2, 1]

    changed = dataclasses.replace(config, step_fraction=0.2)
    with pytest.raises(SettingsChangedError, match=r"step_fraction: 0.1 -> 0.2"):
        uap_run.train_uap(attacker, images, changed, output, resume=True, show_progress=False)
    with pytest.raises(SettingsChangedError, match=r"view: "):
        uap_run.train_uap(dataclasses.replace(attacker, view=View(resize_size=40, crop_size=32)),
                          images, config, output, resume=True, show_progress=False)
    with pytest.raises(SettingsChangedError, match=r"training_images: "):
        uap_run.train_uap(attacker, images[:40], config, output, resume=True,
                          show_progress=False)

    with open(folder.prefix(2) + ".npz", "r+b") as handle:  # one flipped byte
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))
    report = uap_run.train_uap(attacker, images, config, output, resume=True,
                               show_progress=False, logdir=str(tmp_path / "tb"))
    assert report["resumed_from"].endswith("pass-1")
    assert len(report["skipped_checkpoints"]) == 1
    assert "pass-2.npz: SHA-256 differs" in report["skipped_checkpoints"][0]
    np.testing.assert_array_equal(np.load(output), np.load(str(tmp_path / "a" / "uap.npy")))
    assert report["fooling_rate_per_pass"] == straight["fooling_rate_per_pass"]


def test_allowed_change_is_accepted_and_recorded(tiny_run, tmp_path, monkeypatch):
    attacker, images, config = tiny_run
    output = str(tmp_path / "uap.npy")

    interrupted_after_pass(1, monkeypatch, attacker, images, config, output)
    with pytest.raises(SettingsChangedError, match="--allow_changed names nonsense"):
        uap_run.train_uap(attacker, images, config, output, resume=True, show_progress=False,
                          allow_changed=["nonsense"])
    changed = dataclasses.replace(config, max_passes=2, delta=0.5)
    report = uap_run.train_uap(attacker, images, changed, output, resume=True,
                               show_progress=False, allow_changed=["max_passes", "delta"])
    assert report["allowed_changes"] == [
        {"setting": "delta", "old": 0.0, "new": 0.5, "step": 1},
        {"setting": "max_passes", "old": 4, "new": 2, "step": 1}]


def tiny28():
    """The tiny CNN behind a 28-pixel input (resized to its 32): a member with another crop."""
    import keras

    inputs = keras.Input((28, 28, 3), name="pixels")
    return keras.Model(inputs, tiny_models.trained_cnn()(keras.layers.Resizing(32, 32)(inputs)),
                       name="tiny28")


VIEW28 = View(resize_size=32, crop_size=28, label_space="custom")


@pytest.mark.slow
def test_ensemble_with_default_flags_on_a_small_folder(tmp_path):
    export(ClassifierModule(tiny_models.trained_cnn(), ["h", "v", "bright", "dark"], VIEW),
           str(tmp_path / "a32"))
    export(ClassifierModule(tiny28(), ["h", "v", "bright", "dark"], VIEW28), str(tmp_path / "b28"))
    photos = tmp_path / "photos"
    photos.mkdir()
    images, _ = tiny_models.synthetic_images(10, seed=21)
    for i, image in enumerate(images):
        Image.fromarray(image.astype(np.uint8)).resize((40, 36)).save(photos / f"p{i}.png")
    output = tmp_path / "out" / "uap.npy"
    done = subprocess.run(  # the flags' names before the vocabulary: deprecated, still working
        [sys.executable, "-m", "pp_tf.scripts.train_uap",
         f"--attacker={tmp_path / 'a32'},{tmp_path / 'b28'}", f"--images={photos}",
         f"--output={output}"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "--images is deprecated and goes in the next release; use --input_dir" in done.stderr
    assert "--output is deprecated and goes in the next release; use --output_dir and --name" \
        in done.stderr
    report = json.load(open(tmp_path / "out" / "uap.json"))
    # Defaults: 10 photos, 2 held out (0.2), 8 x (1 view + 8 crops) = 72 training images
    # in batches of 32: 3 steps a pass, so min_steps=240 needs ceil(240 / 3) = 80 passes
    # (> max_passes=10), and no stop before pass 80 (79 passes make 237 steps).
    assert report["images"] == 72 and report["heldout_images"] == 2
    assert len(report["data_source"]["holdout_photos"]) == 2
    assert [h["pass"] for h in report["fooling_rate_per_pass"]] == list(range(1, 81))
    assert report["selected_by"] == "heldout_fooling_rate"
    assert report["attacker"] == "a32,b28" and report["attackers"] == ["a32", "b28"]
    assert View.from_dict(report["view"]) == VIEW  # placed in the first member's view
    assert [View.from_dict(v) for v in report["member_views"]] == [VIEW, VIEW28]
    assert np.load(output).shape == (32, 32, 3)
    assert report["linf"] == pytest.approx(10.0)  # xi fully used
    from pp_tf.protections.uap import load_perturbation

    loaded = load_perturbation(str(output))
    assert loaded.view == VIEW and loaded.attackers == ("a32", "b28")


@pytest.mark.parametrize("view", [VIEW, View(resize_size=40, crop_size=28)])
def test_training_placement_is_apply_perturbation(view):
    """The pattern an ensemble trains on is what `apply_perturbation` adds to a photo."""
    from pp_tf.perturbation import apply_perturbation

    v = np.random.default_rng(0).uniform(-20, 20, (view.crop_size, view.crop_size, 3))
    side = view.resize_size
    placed = uap.tile_placement(view, side)(tf_constant(v)).numpy()
    photo = np.full((side, side, 3), 100, np.uint8)
    expected = apply_perturbation(photo, v.astype(np.float32), "tile", 1.0, view) - 100.0
    np.testing.assert_allclose(placed, expected, atol=0.5 + 1e-4)
    # The tile starts at the attacker's square: (side - crop) // 2 in both directions.
    top = (side - view.crop_size) // 2
    np.testing.assert_allclose(placed[top, top], v[0, 0], atol=1e-5)


def tf_constant(values):
    import tensorflow as tf

    return tf.constant(values, tf.float32)


def test_resume_onto_a_finished_run(tiny_run, tmp_path, monkeypatch):
    """A finished run's checkpoints are gone, but its report records its settings: a
    --resume with other settings is refused, as onto an interrupted run, instead of
    replacing the finished result; with the same settings there is nothing to do."""
    attacker, images, config = tiny_run
    output = str(tmp_path / "uap.npy")
    finished = uap_run.train_uap(attacker, images, config, output, show_progress=False)
    result = open(output, "rb").read()
    assert not uap_run.checkpoint_folder(output).holds_anything()
    with pytest.raises(SettingsChangedError, match=r"(?s)uap.json: .*xi: 30.0 -> 24.0"):
        uap_run.train_uap(attacker, images, dataclasses.replace(config, xi=24.0), output,
                          resume=True, show_progress=False)
    with pytest.raises(SettingsChangedError, match=r"(?s)onto a finished run with other "
                                                   r"settings:.*max_passes: 4 -> 9"):
        uap_run.train_uap(attacker, images, dataclasses.replace(config, max_passes=9), output,
                          resume=True, show_progress=False, allow_changed=["max_passes"])
    monkeypatch.setattr(uap_run, "make_trainer", None)  # nothing may be trained again
    again = uap_run.train_uap(attacker, images, config, output, resume=True,
                              show_progress=False)
    assert again == json.loads(json.dumps(finished)) and open(output, "rb").read() == result


def test_an_old_report_does_not_stop_an_interrupted_run_from_resuming(tiny_run, tmp_path,
                                                                      monkeypatch):
    """A report without recorded settings (an older pp_tf's) beside the checkpoints of an
    interrupted run: --resume goes on from the checkpoints and never reads the report."""
    attacker, images, config = tiny_run
    output = str(tmp_path / "uap.npy")
    straight = uap_run.train_uap(attacker, images, config, str(tmp_path / "a.npy"),
                                 show_progress=False)
    interrupted_after_pass(2, monkeypatch, attacker, images, config, output)
    with open(str(tmp_path / "uap.json"), "w") as handle:
        json.dump({"fooling_rate": 0.5}, handle)  # an older report: no run_settings
    resumed = uap_run.train_uap(attacker, images, config, output, resume=True,
                                show_progress=False)
    assert resumed["resumed_from"].endswith("pass-2")
    assert resumed["fooling_rate_per_pass"] == straight["fooling_rate_per_pass"]


def test_checkpoints_without_resume_are_refused(tiny_run, tmp_path, monkeypatch):
    attacker, images, config = tiny_run
    output = str(tmp_path / "uap.npy")

    interrupted_after_pass(1, monkeypatch, attacker, images, config, output)
    with pytest.raises(verified_checkpoints.RunExistsError, match="pass --resume"):
        uap_run.train_uap(attacker, images, config, output, show_progress=False)
