"""pp_tf.gan: distributed CycleGAN/CartoonGAN training, edge smoothing, VGG19 weights, resume.

Tiny models (ngf 8, one residual block, ndf 8, 32x32 crops, batch 4); the data
is easy on purpose: domain A smooth colour noise, domain B the same pictures
with the colour channels rotated.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = ["--model=cyclegan", "--image_size=32", "--batch_size=4", "--ngf=8", "--n_blocks=1",
        "--ndf=8", "--seed=5"]


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan_data")
    rng = np.random.default_rng(0)
    for name in ("A", "B"):
        (root / name).mkdir()
    for i in range(8):
        small = rng.uniform(0, 255, (5, 5, 3)).astype(np.uint8)
        image = np.asarray(Image.fromarray(small).resize((40, 40), Image.BILINEAR))
        Image.fromarray(image).save(root / "A" / f"{i}.png")
        Image.fromarray(np.roll(image, 1, axis=-1)).save(root / "B" / f"{i}.png")
    return root


def _environment(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **extra)
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


MIRRORED_TEST = "test_cyclegan_mirrored_two_cpu_replicas_learns_and_stays_in_sync"


@pytest.fixture(scope="module", autouse=True)
def mirrored_run(request, domains, tmp_path_factory):
    """The 2-replica run (its own process: logical devices precede the TF runtime).

    Started when the module starts, so that it overlaps the in-process tests on
    a 2-core machine; its test, last in the module, collects the result.
    """
    if not any(item.name == MIRRORED_TEST for item in request.session.items):
        yield None
        return
    output = tmp_path_factory.mktemp("mirrored") / "out"
    process = subprocess.Popen(
        ["nice", "-n", "10", sys.executable, os.path.join(HERE, "gan_mirrored_check.py"),
         str(domains), str(output), "16"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment())
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


def _train_gan(domains, output_dir, *flags):
    return [sys.executable, "-m", "pp_tf.scripts.train_gan", *TINY,
            f"--domain_a={domains / 'A'}", f"--domain_b={domains / 'B'}",
            f"--output_dir={output_dir}", *flags]


def _weights(path):
    import h5py

    arrays = {}
    with h5py.File(path, "r") as handle:
        handle.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                          if isinstance(item, h5py.Dataset) else None)
    return arrays


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_flags_defaults_are_the_settings_dataclasses_defaults():
    import dataclasses

    from pp_tf.gan import config

    # Another process: the script's flags live in absl's global registry.
    listing = subprocess.run(
        [sys.executable, "-c", "import json; from absl import flags; "
         "from pp_tf.scripts import train_gan; "
         "print(json.dumps({name: flags.FLAGS[name].default for name in flags.FLAGS}))"],
        capture_output=True, text=True, timeout=120, env=_environment())
    assert listing.returncode == 0, listing.stderr[-2000:]
    defaults = json.loads(listing.stdout.strip().splitlines()[-1])
    checked = 0
    for cls in (*config.SETTINGS.values(), config.DataConfig, config.RunConfig):
        for field in dataclasses.fields(cls):
            if field.name == "output_dir":  # required, no default
                continue
            expected = list(field.default) if isinstance(field.default, tuple) else field.default
            assert defaults[field.name] == expected, (cls.__name__, field.name)
            checked += 1
    assert checked >= 30
    assert config.CycleGANSettings().lr == config.CartoonGANSettings().lr == 2e-4


def test_edge_smoothing_blurs_only_near_edges():
    from pp_tf.gan.edges import edge_smooth

    image = np.full((32, 32, 3), -0.6, np.float32)
    image[:, 16:] = 0.8  # one vertical edge between columns 15 and 16
    smoothed = edge_smooth(tf.constant(image)).numpy()
    np.testing.assert_array_equal(smoothed[:, :12], image[:, :12])  # flat, far from the edge
    np.testing.assert_array_equal(smoothed[:, 20:], image[:, 20:])
    assert np.abs(smoothed[:, 14:18] - image[:, 14:18]).min() > 0.01  # blurred at the edge
    assert smoothed[0, 15, 0] > image[0, 15, 0] and smoothed[0, 16, 0] < image[0, 16, 0]
    flat = np.full((2, 16, 16, 3), 0.3, np.float32)
    np.testing.assert_array_equal(edge_smooth(tf.constant(flat)).numpy(), flat)


def test_missing_vgg19_weights_error_names_file_url_and_flag(tmp_path, monkeypatch):
    from pp_tf.gan import vgg19

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(vgg19, "cache_candidates",
                        lambda: [str(tmp_path / "keras_home" / "models" / vgg19.WEIGHTS_FILE)])
    for spec in (None, str(tmp_path / "nowhere.h5")):
        with pytest.raises(vgg19.VGG19WeightsError) as error:
            vgg19.content_extractor(spec)
        message = str(error.value)
        assert vgg19.WEIGHTS_FILE in message and "--vgg19_weights" in message
        assert "https://storage.googleapis.com/" in message and message.count(vgg19.WEIGHTS_FILE)
    assert vgg19.resolve_weights("random") == "random"


def test_tfds_domains_resume_mid_stream_exactly():
    import tensorflow_datasets as tfds

    from pp_tf.gan import data

    sources = tuple(data.DomainSource(tfds_name="cycle_gan/ukiyoe2photo", tfds_split=split)
                    for split in ("trainA", "trainB"))
    with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
        straight = [tuple(x.numpy() for x in batch)
                    for batch in data.paired_dataset(sources, 32, 0, 4, 0, 8).take(3)]
        resumed = next(iter(data.paired_dataset(sources, 32, 0, 4, 2, 8)))
    assert straight[0][0].shape == (4, 32, 32, 3) and -1 <= straight[0][0].min()
    assert straight[0][0].max() <= 1
    for expected, actual in zip(straight[2], resumed):
        np.testing.assert_array_equal(actual.numpy(), expected)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "mixed_float16"])
def test_cartoongan_init_then_adversarial_steps_are_finite(domains, tmp_path, precision):
    import keras

    from pp_tf.gan import loop
    from pp_tf.gan.cartoongan_trainer import CartoonGANSettings
    from pp_tf.gan.trainer import Trainer

    config = loop.TrainConfig(
        model=CartoonGANSettings(init_steps=2, vgg19_weights="random"),
        data=loop.DataConfig(domain_a=str(domains / "A"), domain_b=str(domains / "B"),
                             image_size=32),
        run=loop.RunConfig(output_dir=str(tmp_path / "cartoon"), steps=3, batch_size=2, seed=3,
                           checkpoint_every=100, summary_every=2, logdir=str(tmp_path / "tb"),
                           precision=precision))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    result = loop.train_gan(config, strategy=strategy)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert result.trainer.generator.dtype_policy.name == precision
    assert isinstance(result.trainer.opt_d, keras.optimizers.LossScaleOptimizer) == (
        precision == "mixed_float16")
    assert [entry["phase"] for entry in result.history] == ["init"] * 2 + ["adversarial"]
    assert isinstance(result.trainer, Trainer) and result.trainer.name == "cartoongan"
    for entry in result.history:
        losses = [value for key, value in entry.items() if key not in ("step", "phase")]
        assert losses and np.all(np.isfinite(losses)), entry
    assert {"d_edge", "d_real", "d_fake", "g_adversarial", "content"} <= set(result.history[-1])
    assert os.path.exists(tmp_path / "cartoon" / "generator.weights.h5")
    assert os.listdir(tmp_path / "tb")


@pytest.mark.slow
def test_kill_after_first_checkpoint_then_resume_equals_uninterrupted(domains, tmp_path):
    flags = ["--steps=40", "--checkpoint_every=5", "--summary_every=1000", "--deterministic",
             "--pool_size=6"]
    straight = subprocess.Popen(["nice", "-n", "10", *_train_gan(domains, tmp_path / "a", *flags)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=_environment())
    killed_dir = tmp_path / "b"
    process = subprocess.Popen(_train_gan(domains, killed_dir, *flags), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=_environment())
    index = killed_dir / "checkpoints" / "ckpt-5.manifest.json"
    deadline = time.time() + 480
    while not index.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    from pp_tf import verified_checkpoints

    valid, problems = verified_checkpoints.CheckpointFolder(
        str(killed_dir / "checkpoints")).restore_candidates()
    assert valid and not problems and not (killed_dir / "g_ab.weights.h5").exists()
    assert 5 <= valid[0].step < 40

    from pp_tf.gan import loop  # the refusal comes before any model is built
    from pp_tf.gan.cyclegan_trainer import CycleGANSettings

    refusal = loop.TrainConfig(
        model=CycleGANSettings(),
        data=loop.DataConfig(domain_a=str(domains / "A"), domain_b=str(domains / "B")),
        run=loop.RunConfig(output_dir=str(killed_dir)))
    with pytest.raises(FileExistsError, match="--resume"):
        loop.train_gan(refusal, strategy=tf.distribute.MirroredStrategy(["/cpu:0"]))
    resumed = subprocess.run(_train_gan(domains, killed_dir, *flags, "--resume"),
                             capture_output=True, text=True, timeout=300, env=_environment())
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.load(open(killed_dir / "train_gan.json"))["start_step"] >= 5
    _, stderr = straight.communicate(timeout=300)
    assert straight.returncode == 0, stderr[-3000:]
    for name in ("g_ab", "g_ba"):
        expected = _weights(tmp_path / "a" / f"{name}.weights.h5")
        actual = _weights(killed_dir / f"{name}.weights.h5")
        assert expected.keys() == actual.keys() and expected
        for key in expected:
            np.testing.assert_array_equal(actual[key], expected[key], err_msg=f"{name} {key}")


def _tiny_config(domains, output_dir, **run):
    from pp_tf.gan import loop
    from pp_tf.gan.cyclegan_trainer import CycleGANSettings

    settings = dict(output_dir=str(output_dir), steps=6, batch_size=2, seed=4,
                    deterministic=True, checkpoint_every=2, summary_every=1000)
    settings.update(run)
    return loop.TrainConfig(
        model=CycleGANSettings(ngf=8, n_blocks=1, ndf=8, n_layers=2, pool_size=3),
        data=loop.DataConfig(domain_a=str(domains / "A"), domain_b=str(domains / "B"),
                             image_size=32),
        run=loop.RunConfig(**settings))


def _local_pools(output_dir, step, worker=None):
    """The image-pool buffers of a checkpoint (this worker's replicas), by variable key."""
    folder = output_dir / "checkpoints" if worker is None else (
        output_dir / "checkpoints" / worker)
    reader = tf.train.load_checkpoint(str(folder / f"ckpt-{step}"))
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
            if key.startswith("pool_")}


@pytest.mark.slow
def test_failed_write_corrupted_checkpoint_and_changed_settings(domains, tmp_path, monkeypatch):
    """Mirrored (one replica, in this process); the equality of a resumed run with an
    uninterrupted one is the SIGKILL tests' job."""
    import dataclasses
    import errno

    from pp_tf import run_settings, verified_checkpoints
    from pp_tf.gan import loop
    from pp_tf.gan.trainer import Trainer

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    output = tmp_path / "b"
    real_write = tf.train.Checkpoint.write

    def disk_full_at_step_6(self, prefix, options=None):
        path = real_write(self, prefix, options)
        if prefix.endswith("ckpt-6"):
            data_file = tf.io.gfile.glob(prefix + ".data-*")[0]
            os.truncate(data_file, 100)  # what was written before the disk filled up
            raise OSError(errno.ENOSPC, "No space left on device", data_file)
        return path

    monkeypatch.setattr(tf.train.Checkpoint, "write", disk_full_at_step_6)
    with pytest.raises(verified_checkpoints.CheckpointWriteError,
                       match=r"ckpt-6: writing the checkpoint of step 6 failed \(OSError.*No "
                             r"space left.*previous checkpoint ckpt-4 is intact.*--resume"):
        loop.train_gan(_tiny_config(domains, output), strategy=strategy)
    monkeypatch.undo()
    folder = verified_checkpoints.CheckpointFolder(str(output / "checkpoints"))
    assert folder.steps() == [4, 2] and not tf.io.gfile.glob(str(output / "checkpoints/ckpt-6*"))
    assert [entry.step for entry in folder.restore_candidates()[0]] == [4, 2]
    assert not (output / "g_ab.weights.h5").exists()

    config = _tiny_config(domains, output, resume=True)
    for change, shown in ((dict(batch_size=4), r"batch_size: 2 -> 4"),
                          (dict(seed=5), r"seed: 4 -> 5")):
        with pytest.raises(run_settings.SettingsChangedError, match=shown):
            loop.train_gan(_tiny_config(domains, output, resume=True, **change),
                           strategy=strategy)
    lr_changed = dataclasses.replace(config, model=dataclasses.replace(config.model, lr=1e-4))
    with pytest.raises(run_settings.SettingsChangedError,
                       match=r"lr: 0.0002 -> 0.0001\n.*--allow_changed=lr"):
        loop.train_gan(lr_changed, strategy=strategy)
    moved = dataclasses.replace(config, data=dataclasses.replace(config.data, domain_b=str(
        domains / "A")))
    with pytest.raises(run_settings.SettingsChangedError, match=r"(?s)data_b: .*domain_b: "):
        loop.train_gan(moved, strategy=strategy)

    data_file = tf.io.gfile.glob(str(output / "checkpoints" / "ckpt-4.data-*"))[0]
    os.truncate(data_file, os.path.getsize(data_file) - 10)
    # The truncated ckpt-4 is named and skipped, the run continues from ckpt-2; free
    # settings (log folder, frequencies, steps) may differ, lr differs on purpose.
    allowed = dataclasses.replace(lr_changed, run=dataclasses.replace(
        lr_changed.run, steps=7, allow_changed=("lr",), checkpoint_every=3, max_checkpoints=2,
        logdir=str(tmp_path / "tb")))
    resumed = loop.train_gan(allowed, strategy=strategy)
    assert resumed.start_step == 2 and resumed.step == 7 and isinstance(resumed.trainer, Trainer)
    report = json.load(open(output / "train_gan.json"))
    assert report["resumed_from"].endswith("ckpt-2")
    assert len(report["skipped_checkpoints"]) == 1
    assert "ckpt-4.data-00000-of-00001" in report["skipped_checkpoints"][0]
    assert "truncated" in report["skipped_checkpoints"][0]
    assert report["allowed_changes"] == [{"setting": "lr", "old": 2e-4, "new": 1e-4, "step": 2}]
    assert float(resumed.trainer.opt_g.learning_rate.numpy()) == pytest.approx(1e-4)
    entries = folder.restore_candidates()[0]
    assert [entry.step for entry in entries] == [7, 6]  # ckpt-4 and ckpt-2 pruned
    assert entries[0].record["changes"] == report["allowed_changes"]
    assert entries[0].record["settings"]["lr"] == 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_saves_float32_and_refuses_another_precision(
        domains, tmp_path, precision):
    """--precision: finite losses, no leaked policy, float32 weights, loss scale checkpointed."""
    import dataclasses

    import keras

    from pp_tf import run_settings
    from pp_tf.gan import loop
    from pp_tf.models.cyclegan import ResnetGenerator

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    output = tmp_path / precision
    config = _tiny_config(domains, output, steps=4, precision=precision, deterministic=False)
    result = loop.train_gan(config, strategy=strategy)
    assert keras.mixed_precision.global_policy().name == "float32"  # scoped to the building
    assert result.step == 4 and len(result.history) == 4
    for entry in result.history:
        for name, value in entry.items():
            if name not in ("step", "phase"):
                assert np.isfinite(value), (entry, name)
    trainer = result.trainer
    compute = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}[precision]
    for model in trainer.models().values():
        assert model.dtype_policy.name == precision
        assert model.layers[-1].compute_dtype == compute
        assert all(weight.dtype == "float32" for weight in model.weights)
    assert trainer.pool_a.images.dtype == tf.float32

    reader = tf.train.load_checkpoint(str(output / "checkpoints" / "ckpt-4"))
    keys = reader.get_variable_to_shape_map()
    scaled = precision == "mixed_float16"
    assert isinstance(trainer.opt_g, keras.optimizers.LossScaleOptimizer) == scaled
    assert ("opt_g/dynamic_scale/.ATTRIBUTES/VARIABLE_VALUE" in keys) == scaled
    if scaled:  # the loss scale is saved and restored with the checkpoint
        key = "opt_g/dynamic_scale/.ATTRIBUTES/VARIABLE_VALUE"
        saved = reader.get_tensor(key)
        assert saved == trainer.opt_g.dynamic_scale.numpy() and saved > 1
        fresh = loop.build_trainer(config, strategy)
        fresh.opt_g.dynamic_scale.assign(1.0)
        tf.train.Checkpoint(step=tf.Variable(0, dtype=tf.int64), **fresh.checkpoint_objects()
                            ).read(str(output / "checkpoints" / "ckpt-4")
                                   ).assert_existing_objects_matched()
        assert fresh.opt_g.dynamic_scale.numpy() == saved
        assert keras.mixed_precision.global_policy().name == "float32"

    for name in ("g_ab", "g_ba"):
        path = output / f"{name}.weights.h5"
        assert all(array.dtype == np.float32 for array in _weights(path).values())
        plain = ResnetGenerator(1, 8)  # the float32 builder
        assert plain.dtype_policy.name == "float32"
        plain.load_weights(str(path))
        for loaded, trained in zip(plain.get_weights(), trainer.models()[name].get_weights()):
            np.testing.assert_array_equal(loaded, trained)

    other = "float32" if precision != "float32" else "mixed_bfloat16"
    changed = dataclasses.replace(config, run=dataclasses.replace(
        config.run, resume=True, steps=6, precision=other))
    with pytest.raises(run_settings.SettingsChangedError,
                       match=rf"precision: .*{precision}.* -> .*{other}"):
        loop.train_gan(changed, strategy=strategy)
    assert keras.mixed_precision.global_policy().name == "float32"


def _start_workers(domains, output_dir, *flags):
    """Two workers of one MultiWorkerMirroredStrategy cluster, each logging to a file.

    Files, not pipes: a worker whose pipe nobody reads blocks on a full buffer, and
    the cluster's coordination service then reports a heartbeat timeout. A cluster
    runs alone (no nice, no second cluster beside it): on 2 busy cores a starved
    worker misses the service's 10 s heartbeat and the run aborts.
    """
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    logs = Path(str(output_dir) + ".logs")
    logs.mkdir(parents=True, exist_ok=True)
    processes = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers},
                                "task": {"type": "worker", "index": index}})
        with open(logs / f"worker-{index}.stdout", "a") as stdout, \
                open(logs / f"worker-{index}.stderr", "a") as stderr:
            process = subprocess.Popen(_train_gan(domains, output_dir, *flags), stdout=stdout,
                                       stderr=stderr, env=_environment(TF_CONFIG=tf_config))
        process.stderr_path = logs / f"worker-{index}.stderr"
        processes.append(process)
    return processes


def _finish(processes, timeout=600):
    """Waits for the workers; returns each one's stderr (asserting they all exited 0)."""
    try:
        for process in processes:
            process.wait(timeout=timeout)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    errors = [process.stderr_path.read_text() for process in processes]
    for process, stderr in zip(processes, errors):
        assert process.returncode == 0, stderr[-3000:]
    return errors


@pytest.mark.slow
def test_multi_worker_kill_and_resume_restores_each_workers_own_pools(domains, tmp_path):
    from pp_tf import verified_checkpoints

    flags = ["--steps=8", "--checkpoint_every=2", "--pool_size=2", "--deterministic"]
    killed_dir = tmp_path / "killed"
    killed = _start_workers(domains, killed_dir, *flags)
    folders = [verified_checkpoints.CheckpointFolder(str(killed_dir / "checkpoints")),
               verified_checkpoints.CheckpointFolder(str(killed_dir / "checkpoints/worker-1"))]
    deadline = time.time() + 480
    while (not all(folder.steps() for folder in folders) and time.time() < deadline
           and all(process.poll() is None for process in killed)):
        time.sleep(0.02)
    for process in killed:
        process.send_signal(signal.SIGKILL)
    for process in killed:
        process.wait()
    steps = [folder.steps() for folder in folders]
    assert all(steps) and max(max(s) for s in steps) < 8, steps
    assert not (killed_dir / "g_ab.weights.h5").exists()

    _finish(_start_workers(domains, killed_dir, *flags, "--resume"))
    errors = _finish(_start_workers(domains, tmp_path / "straight", *flags))
    assert "MultiWorkerMirroredStrategy" in errors[0] or "multi_worker" in errors[0]
    report = json.load(open(killed_dir / "train_gan.json"))
    assert report["replicas"] == 2 and report["final_step"] == 8
    assert 2 <= report["start_step"] <= min(max(s) for s in steps)
    pools = {}
    for run in ("straight", "killed"):
        pools[run] = [_local_pools(tmp_path / run, 8), _local_pools(tmp_path / run, 8,
                                                                    "worker-1")]
    assert pools["straight"][0].keys() == pools["straight"][1].keys() and pools["straight"][0]
    # The workers' pools differ (their own data shards): a worker restoring the chief's
    # pools would not end where the uninterrupted run did.
    assert any(not np.array_equal(pools["straight"][0][key], pools["straight"][1][key])
               for key in pools["straight"][0])
    for worker in range(2):
        for key, expected in pools["straight"][worker].items():
            np.testing.assert_array_equal(pools["killed"][worker][key], expected,
                                          err_msg=f"worker {worker} {key}")
    for name in ("g_ab", "g_ba"):
        expected = _weights(tmp_path / "straight" / f"{name}.weights.h5")
        actual = _weights(killed_dir / f"{name}.weights.h5")
        for key in expected:
            np.testing.assert_array_equal(actual[key], expected[key], err_msg=f"{name} {key}")


@pytest.mark.slow  # GAN training steps in a second process
def test_cyclegan_mirrored_two_cpu_replicas_learns_and_stays_in_sync(mirrored_run):
    stdout, stderr = mirrored_run.communicate(timeout=300)
    assert mirrored_run.returncode == 0, stderr[-3000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2 and report["checked"] > 50
    assert report["differing"] == []
    assert report["pools_per_replica"] == 2 and report["pool_counts"] == [32, 32]
    # Stopped at step 8 and resumed: each replica's pools (their own, and different from
    # each other's) and the generators end as in the uninterrupted run.
    assert report["resumed_from"] == 8 and report["replica_pools_differ"]
    assert report["resumed_pools_equal"] == [True] * 8 and report["resumed_generators_equal"]
    losses = report["g_total"]
    assert all(np.isfinite(losses))
    first, last = np.mean(losses[:4]), np.mean(losses[-4:])
    assert last < first - 0.5, losses
