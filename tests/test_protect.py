"""protect on a folder mixing hostile files with good photos: the batch policy."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from hostile_corpus import GPS_TAG, write_corpus
from pp_tf import image_io
from pp_tf.protect import ProtectConfig, protect_folder
from pp_tf.protections.center_crop import center_crop
from pp_tf.protections.random_crop import random_crop


def checksums(folder):
    sums = {}
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.R_OK):
            sums[name] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return sums


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "photos"
    good, bad = write_corpus(str(folder))
    v = np.random.default_rng(0).uniform(-8, 8, (224, 224, 3)).astype(np.float32)
    np.save(tmp_path / "v.npy", v)
    return str(folder), good, bad, str(tmp_path / "v.npy")


def run_protect(*args):
    return subprocess.run([sys.executable, "-m", "pp_tf.scripts.protect", *args],
                          capture_output=True, text=True, timeout=300)


def test_protect_script_on_the_hostile_corpus(corpus, tmp_path):
    folder, good, bad, v = corpus
    before = checksums(folder)
    out = str(tmp_path / "out")
    result = run_protect("--method=center_crop,uap", f"--perturbation={v}",
                         f"--input_dir={folder}", f"--output_dir={out}")
    assert result.returncode == 1, result.stderr
    assert checksums(folder) == before  # originals byte-identical

    for name in good:
        target = os.path.join(out, image_io.output_name(name, image_io.image_format(
            os.path.join(folder, name))))
        assert os.path.getsize(target) > 0, name
        with Image.open(target) as image:
            exif = image.getexif()
            assert GPS_TAG not in exif and len(exif) == 0, name
    errors = json.load(open(os.path.join(out, "errors.json")))
    assert sorted(os.path.basename(e["file"]) for e in errors) == sorted(bad)
    lines = result.stderr.replace("\r", "\n").splitlines()
    for name, reason in bad.items():
        assert any(f"{name}: " in line and reason in line for line in lines), name
    leftovers = [n for n in os.listdir(out) if n.endswith(".tmp") or
                 (os.path.isfile(os.path.join(out, n)) and os.path.getsize(os.path.join(out, n)) == 0)]
    assert leftovers == []
    # EXIF-rotated photos come out upright: portrait 240x320, cropped to 80%.
    upright = Image.open(os.path.join(out, "exif_orientation_6.jpg"))
    assert upright.size == (192, 256)


def test_rerun_finishes_the_remaining_photos_and_never_clobbers(corpus, tmp_path):
    folder, good, _, _ = corpus
    out = str(tmp_path / "out")
    config = ProtectConfig(("center_crop",))
    first = protect_folder(folder, out, config, show_progress=False)
    assert len(first.written) == len(good)
    # An interrupted run: one output missing, one temporary file left behind.
    os.unlink(first.written[0])
    open(os.path.join(out, ".pp_tf-abc.tmp"), "wb").write(b"partial")
    kept = {p: open(p, "rb").read() for p in first.written[1:]}
    second = protect_folder(folder, out, config, show_progress=False)
    assert second.written == first.written[:1]
    assert sorted(second.kept) == sorted(kept)
    assert all(open(p, "rb").read() == data for p, data in kept.items())
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_output_inside_input_is_refused(corpus):
    folder, _, _, _ = corpus
    result = run_protect("--method=center_crop", f"--input_dir={folder}",
                         f"--output_dir={os.path.join(folder, 'protected')}")
    assert result.returncode != 0
    assert "inside the input directory" in result.stderr
    assert not os.path.exists(os.path.join(folder, "protected"))


def test_crops_by_hand():
    photo = np.arange(10 * 20 * 3, dtype=np.uint8).reshape(10, 20, 3)
    np.testing.assert_array_equal(center_crop(photo, 0.5), photo[2:7, 5:15])
    crop = random_crop(photo, 0.5, np.random.default_rng(0))
    assert crop.shape == (5, 10, 3)
    rows = [r for r in range(6) if any((photo[r:r + 5, c:c + 10] == crop).all() for c in range(11))]
    assert rows


def test_bad_settings_are_refused_early():
    with pytest.raises(ValueError, match="unknown protection method 'blur'"):
        ProtectConfig(("blur",))
    with pytest.raises(ValueError, match="needs a perturbation"):
        ProtectConfig(("uap",))
    with pytest.raises(ValueError, match="need a generator"):
        ProtectConfig.from_values(("cartoongan",), {"generator": "no/such/folder"})
    with pytest.raises(ValueError, match="crop_fraction"):
        ProtectConfig.from_values(("center_crop",), {"crop_fraction": 1.5})
    with pytest.raises(ValueError, match="twice"):
        ProtectConfig(("center_crop", "center_crop"))


def test_evaluate_script_on_the_hostile_corpus(corpus, tmp_path):
    """evaluate scores every good photo, names each bad one, and exits non-zero."""
    folder, good, bad, _ = corpus
    out = str(tmp_path / "out")
    protect_folder(folder, out, ProtectConfig(("center_crop",)), show_progress=False)
    before = checksums(folder)
    result = subprocess.run(
        [sys.executable, "-m", "pp_tf.scripts.evaluate", f"--input_dir={folder}",
         f"--protected_dir={out}", f"--output_dir={tmp_path / 'report'}"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    assert checksums(folder) == before
    report = json.load(open(tmp_path / "report" / "results.json"))
    assert {p["name"] for p in report["photos"] if p["run"] == "original"} == set(good)
    assert {p["name"] for p in report["photos"] if p["run"] == "out"} == set(good)
    named = {os.path.basename(e["file"]) for e in report["errors"]}
    assert set(bad) <= named
    assert json.load(open(tmp_path / "report" / "errors.json")) == report["errors"]
    for name in bad:
        assert f"{name}: " in result.stderr


def test_style_then_uap_chain(tmp_path):
    """The seed's future work: restyle, then add the UAP, through one protect run."""
    from pp_tf.export import StylizerModule, export
    from pp_tf.models import cyclegan

    generator = str(tmp_path / "generator")
    export(StylizerModule(cyclegan.ResnetGenerator(n_blocks=1, ngf=8), "RGB"), generator)
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (70, 90, 3), np.uint8)).save(
        photos / "a.png")
    v = tmp_path / "v.npy"
    np.save(v, np.full((224, 224, 3), 6.0, np.float32))
    # The gate off: the untrained generator's output is far below it, and this is about
    # the chain's order (the gate's own tests are in test_quality).
    report = protect_folder(str(photos), str(tmp_path / "out"),
                            ProtectConfig.from_values(("cyclegan", "uap"), {
                                "perturbation": str(v), "generator": generator},
                                min_quality=0),
                            show_progress=False)
    assert report.ok and len(report.written) == 1
    styled_only = protect_folder(str(photos), str(tmp_path / "styled"),
                                 ProtectConfig.from_values(("cyclegan",),
                                                           {"generator": generator},
                                                           min_quality=0),
                                 show_progress=False)
    chained = np.asarray(Image.open(report.written[0])).astype(int)
    styled = np.asarray(Image.open(styled_only.written[0])).astype(int)
    assert chained.shape == styled.shape == (70, 90, 3)
    interior = (styled > 10) & (styled < 245)  # away from clipping, +6 shows exactly
    assert np.all(chained[interior] - styled[interior] == 6)


def test_stylize_script_on_the_hostile_corpus(corpus, tmp_path):
    """stylize: every good photo (1x1 and EXIF-rotated ones included) comes out upright and
    clean; each bad one is named; the exit status says so; the originals are untouched."""
    from pp_tf.export import StylizerModule, export
    from pp_tf.models import cyclegan

    folder, good, bad, _ = corpus
    generator = str(tmp_path / "generator")
    export(StylizerModule(cyclegan.ResnetGenerator(n_blocks=1, ngf=8), "RGB"), generator)
    before = checksums(folder)
    out = tmp_path / "styled"
    result = subprocess.run(
        [sys.executable, "-m", "pp_tf.scripts.stylize", f"--generator={generator}",
         f"--input_dir={folder}", f"--output_dir={out}", "--tile_size=128", "--overlap=16"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    assert checksums(folder) == before
    for name in good:
        source = os.path.join(folder, name)
        target = out / image_io.output_name(name, image_io.image_format(source))
        with Image.open(target) as image:
            assert len(image.getexif()) == 0, name
            assert image.size[::-1] == image_io.read_image(source).shape[:2], name  # upright
    errors = json.load(open(out / "errors.json"))
    assert sorted(os.path.basename(e["file"]) for e in errors) == sorted(bad)
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


@pytest.mark.slow
def test_protect_killed_mid_run_then_rerun_finishes_cleanly(tmp_path):
    """SIGKILL during a batch, then the same command again: every photo is done, each output
    equals an uninterrupted run's, and no temporary file is left."""
    import signal
    import time

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)).save(
            photos / f"p{i:02d}.png")
    v = tmp_path / "v.npy"
    np.save(v, rng.uniform(-8, 8, (224, 224, 3)).astype(np.float32))
    args = ["--method=uap", f"--perturbation={v}", f"--input_dir={photos}"]
    assert run_protect(*args, f"--output_dir={tmp_path / 'straight'}").returncode == 0

    out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "pp_tf.scripts.protect", *args,
                                f"--output_dir={out}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and (
            not out.exists() or len([n for n in os.listdir(out) if n.endswith(".png")]) < 3):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len([n for n in os.listdir(out) if n.endswith(".png")])
    assert 3 <= done_before < 40, done_before
    result = run_protect(*args, f"--output_dir={out}")
    assert result.returncode == 0, result.stderr
    assert f"kept {done_before} existing outputs" in result.stderr
    for i in range(40):
        name = f"p{i:02d}.png"
        assert (out / name).read_bytes() == (tmp_path / "straight" / name).read_bytes(), name
    assert not [n for n in os.listdir(out) if n.endswith(".tmp") or n.startswith(".pp_tf-")]
