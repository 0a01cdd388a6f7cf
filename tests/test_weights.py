"""Weight files as untrusted input: hash-checked downloads, refused pickles, data-only HDF5."""

import functools
import hashlib
import http.server
import os
import pickle
import threading

import pytest

from pp_tf import weights


def _payload_pickle(path, marker):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(path, "wb") as handle:
        pickle.dump({"state_dict": Payload()}, handle)


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    _payload_pickle(path, marker)
    with pytest.raises(weights.WeightsError, match="evil.pth: refused"):
        weights.read_torch_state_dict(path)
    assert not marker.exists()


def test_missing_and_garbage_weight_files_are_named(tmp_path):
    with pytest.raises(weights.WeightsError, match="nope.pth: no such file"):
        weights.read_torch_state_dict(tmp_path / "nope.pth")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5")
    with pytest.raises(weights.WeightsError, match="garbage.h5: not a readable HDF5"):
        weights.read_keras2_h5(garbage)


@pytest.fixture
def served_file(tmp_path):
    """A weight file served over HTTP on 127.0.0.1, and its SHA-256."""
    root = tmp_path / "www"
    root.mkdir()
    data = os.urandom(100_000)
    (root / "model.pth").write_bytes(data)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/model.pth", hashlib.sha256(data).hexdigest()
    server.shutdown()


def test_download_checks_the_pinned_hash_over_loopback(tmp_path, served_file):
    url, digest = served_file
    cache = tmp_path / "cache"
    preset = weights.WeightPreset(url, "model.pth", digest)
    path = weights.download(preset, str(cache))
    assert weights.sha256_of(path) == digest
    assert weights.download(preset, str(cache)) == path  # cached, re-checked, not refetched


def test_download_refuses_a_wrong_hash_and_keeps_nothing(tmp_path, served_file):
    url, _ = served_file
    cache = tmp_path / "cache"
    preset = weights.WeightPreset(url, "model.pth", "0" * 64)
    with pytest.raises(weights.WeightsError, match="SHA-256 mismatch"):
        weights.download(preset, str(cache))
    assert os.listdir(cache) == []


def test_download_from_file_url_and_unpinned_preset(tmp_path):
    source = tmp_path / "w.h5"
    source.write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    unpinned = weights.WeightPreset(source.as_uri(), "w.h5", None)
    with pytest.raises(weights.WeightsError, match="no SHA-256 is pinned"):
        weights.download(unpinned, str(tmp_path / "c"))
    path = weights.download(unpinned, str(tmp_path / "c"), sha256=digest)
    assert open(path, "rb").read() == b"weights"


def test_trust_on_first_use_records_the_hash_and_holds_to_it(tmp_path, served_file):
    url, digest = served_file
    cache = tmp_path / "cache"
    preset = weights.WeightPreset(url, "model.pth", None)
    path = weights.download(preset, str(cache), trust_on_first_use=True)
    assert open(path + ".sha256").read().split()[0] == digest
    assert weights.download(preset, str(cache)) == path  # no flag needed once recorded
    open(path, "ab").write(b"tampered")
    with pytest.raises(weights.WeightsError, match="wrong or no recorded SHA-256"):
        weights.download(preset, str(cache))


def test_port_weights_download_command_over_loopback(tmp_path, served_file):
    """The --download path of port_weights, with a wrong hash: refused, nothing exported."""
    import subprocess
    import sys

    url, _ = served_file
    result = subprocess.run(
        [sys.executable, "-m", "pp_tf.scripts.port_weights", "--arch=places365_resnet50",
         "--download", f"--url={url}", "--sha256=" + "1" * 64, f"--cache_dir={tmp_path / 'c'}",
         f"--output_dir={tmp_path / 'out'}"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "SHA-256 mismatch" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_keras_model_files_load_in_safe_mode(tmp_path):
    """A .keras attacker whose Lambda layer carries Python code is refused; a plain one loads."""
    import keras
    import numpy as np

    from pp_tf.attacker import load_attacker

    marker = tmp_path / "ran"
    inputs = keras.Input((8, 8, 3))
    payload = eval(f"lambda x: (open({str(marker)!r}, 'w'), x)[1]")  # a literal path, no closure
    hostile = keras.layers.Lambda(payload)(inputs)
    keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(hostile))).save(
        tmp_path / "hostile.keras")
    marker.unlink(missing_ok=True)
    with pytest.raises(ValueError, match="safe_mode"):
        load_attacker(str(tmp_path / "hostile.keras"))
    assert not marker.exists()

    plain = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    plain.save(tmp_path / "plain.keras")
    attacker = load_attacker(str(tmp_path / "plain.keras"))
    assert attacker.class_names == ("class_0", "class_1", "class_2") and attacker.view.crop_size == 8
    assert attacker.logits(np.zeros((1, 8, 8, 3), np.float32)).shape == (1, 3)
