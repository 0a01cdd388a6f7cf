"""The Apache Beam pipelines (DirectRunner, tiny models): protect an archive as `protect`
does, dead letters for the hostile corpus, a killed run finished by a rerun, and the
evaluation aggregated per attacker."""

import hashlib
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
from conftest import ROOT
from hostile_corpus import write_corpus
from pp_tf import image_io, protections, serving
from pp_tf.pipelines import evaluate as evaluate_pipeline
from pp_tf.pipelines import files
from pp_tf.pipelines import protect as protect_pipeline
from pp_tf.protect import ProtectConfig, protect_folder
from pp_tf.protections import pgd as pgd_protection
from pp_tf.quality import gate
from test_serving_per_photo import textured_photo

IN_PROCESS = ["--runner=FnApiRunner", "--direct_running_mode=in_memory"]


@pytest.fixture(scope="module")
def attacker(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("attacker") / "tiny.keras")
    tiny_models.trained_cnn().save(path)
    return path


@pytest.fixture(scope="module")
def uap(tmp_path_factory):
    """A random ±8 perturbation and its `protect_uap` export (deterministic: no seed)."""
    folder = tmp_path_factory.mktemp("uap")
    np.save(folder / "v.npy", np.random.default_rng(0).uniform(-8, 8, (224, 224, 3))
            .astype(np.float32))
    settings = {"perturbation": str(folder / "v.npy"), "placement": "tile"}
    serving.export_models(["protect_uap"], str(folder / "serving"), 1, settings)
    return settings, str(folder / "serving" / "protect_uap" / "1")


@pytest.fixture(scope="module")
def ungated_uap(uap, tmp_path_factory):
    """The same perturbation exported without the gate: the pipeline then holds it, on the
    photo as written, exactly where `protect` does."""
    settings, _ = uap
    folder = tmp_path_factory.mktemp("ungated")
    serving.export_models(["protect_uap"], str(folder), 1, settings, min_quality=0)
    return settings, str(folder / "protect_uap" / "1")


def photo_folder(folder, count=4):
    """Textured PNGs and JPEGs of a few sizes."""
    os.makedirs(folder, exist_ok=True)
    names = []
    for index in range(count):
        photo = textured_photo(60 + 7 * index, 80 + 5 * index, seed=index)
        name = f"photo{index}.{'png' if index % 2 else 'jpg'}"
        Image.fromarray(photo).save(os.path.join(folder, name), quality=95)
        names.append(name)
    return names


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_pipeline_writes_what_protect_writes(ungated_uap, tmp_path):
    settings, model_dir = ungated_uap
    names = photo_folder(tmp_path / "photos")
    done = protect_pipeline.run(protect_pipeline.ArchiveConfig(
        str(tmp_path / "photos"), str(tmp_path / "beam"), model_dir), IN_PROCESS)
    assert done == {"written": len(names), "kept": 0, "failed": []}
    protect_folder(str(tmp_path / "photos"), str(tmp_path / "library"),
                   ProtectConfig.from_values(("uap",), settings), show_progress=False)
    records = files.read_json_lines(str(tmp_path / "beam" / protect_pipeline.MANIFEST))
    assert sorted(os.path.basename(r["file"]) for r in records) == sorted(names)
    for name in names:
        ours = image_io.read_image(str(tmp_path / "beam" / name))
        theirs = image_io.read_image(str(tmp_path / "library" / name))
        assert np.abs(ours.astype(int) - theirs).max() <= 1, name
        assert np.abs(ours.astype(int) - image_io.read_image(
            str(tmp_path / "photos" / name))).max() > 0, name
    library = json.load(open(tmp_path / "library" / "protect.json"))["photos"]
    for record in records:
        name = os.path.basename(record["file"])
        assert record["status"] == "written" and record["quality"]["within_gate"]
        assert record["quality"]["strength"] == library[name]["quality"]["strength"]


def test_pgd_pipeline_equals_the_method_and_the_gate(attacker, tmp_path):
    """Through the `protect_pgd` export: the library's pgd (with the servable's seed key)
    then the gate, within 1 grey level, on PNG photos of two sizes."""
    settings = {"attacker": attacker, "xi": 8.0, "steps": 4, "eot_samples": 2,
                "diversity": 0.5}
    serving.export_models(["protect_pgd"], str(tmp_path / "serving"), 1, settings)
    os.makedirs(tmp_path / "photos")
    photos = {"a.png": textured_photo(70, 90), "b.png": textured_photo(41, 33, seed=1)}
    for name, photo in photos.items():
        Image.fromarray(photo).save(tmp_path / "photos" / name)
    done = protect_pipeline.run(protect_pipeline.ArchiveConfig(
        str(tmp_path / "photos"), str(tmp_path / "out"),
        str(tmp_path / "serving" / "protect_pgd" / "1")), IN_PROCESS)
    assert done["written"] == 2 and not done["failed"]
    method = protections.get("pgd")
    prepared = method.build(method.make_settings(settings))
    for name, photo in photos.items():
        result = prepared.apply(photo, protections.PhotoContext(pgd_protection.SERVED_NAME))
        expected = gate.hold(photo, result, gate.QualityGate()).photo
        written = image_io.read_image(str(tmp_path / "out" / name))
        assert np.abs(written.astype(int) - expected).max() <= 1, name


def run_script(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "pp_tf.scripts.protect_archive", *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, **kwargs)


def test_hostile_corpus_goes_to_the_dead_letter_file(uap, tmp_path):
    _, model_dir = uap
    folder = str(tmp_path / "photos")
    good, bad = write_corpus(folder)
    # A PNG named .jpg is written as twin.png, as is twin.png: by the header, not the name.
    Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(os.path.join(folder, "twin.jpg"),
                                                             "PNG")
    Image.fromarray(np.full((20, 24, 3), 160, np.uint8)).save(os.path.join(folder, "twin.png"))
    good, bad = [*good, "twin.jpg"], {**bad, "twin.png": "makes the same output twin.png"}
    before = {name: sha256(os.path.join(folder, name)) for name in good}
    out = str(tmp_path / "out")
    result = run_script(f"--input_dir={folder}", f"--output_dir={out}",
                        f"--model_dir={model_dir}", "--direct_num_workers=1")
    assert result.returncode == 1, result.stderr
    assert {name: sha256(os.path.join(folder, name)) for name in good} == before
    failed = files.read_json_lines(os.path.join(out, files.FAILED))
    reasons = {os.path.basename(f["file"]): f["reason"] for f in failed}
    # Beam's MatchFiles lists files only: a folder and a dangling link are no inputs.
    bad = {name: fragment for name, fragment in bad.items()
           if name not in ("folder.jpg", "unreadable.jpg")}
    assert sorted(reasons) == sorted(bad)
    for name, fragment in bad.items():
        assert fragment in reasons[name], (name, reasons[name])
        assert f"{name}: " in result.stderr
    outputs = sorted(n for n in os.listdir(out) if n not in (protect_pipeline.MANIFEST,
                                                             files.FAILED))
    assert outputs == sorted(image_io.output_name(name, image_io.image_format(
        os.path.join(folder, name))) for name in good)
    for name in outputs:  # each complete, upright and without metadata
        with Image.open(os.path.join(out, name)) as image:
            image.load()
            assert len(image.getexif()) == 0, name
    assert image_io.read_image(os.path.join(out, "exif_orientation_6.jpg")).shape[:2] == (320, 240)


def test_refuses_an_output_inside_the_input_and_a_missing_model(uap, tmp_path):
    _, model_dir = uap
    photo_folder(tmp_path / "photos", 1)
    result = run_script(f"--input_dir={tmp_path / 'photos'}",
                        f"--output_dir={tmp_path / 'photos' / 'out'}", f"--model_dir={model_dir}")
    assert result.returncode == 2 and "inside the input folder" in result.stderr
    result = run_script(f"--input_dir={tmp_path / 'photos'}", f"--output_dir={tmp_path / 'out'}",
                        f"--model_dir={tmp_path}")
    assert result.returncode == 2 and "not a SavedModel folder" in result.stderr
    assert not os.path.exists(tmp_path / "photos" / "out")


@pytest.mark.slow
def test_a_killed_run_finished_by_a_rerun_loses_and_duplicates_nothing(attacker, tmp_path):
    """Two worker processes protect 12 photos with a slow pgd; the whole process group is
    killed (SIGKILL) once the first outputs exist. Every file in the output folder is then
    complete; the rerun keeps those, writes the rest, and the result equals an
    uninterrupted run's byte for byte."""
    settings = {"attacker": attacker, "xi": 8.0, "steps": 40, "eot_samples": 2}
    serving.export_models(["protect_pgd"], str(tmp_path / "serving"), 1, settings)
    model_dir = str(tmp_path / "serving" / "protect_pgd" / "1")
    names = photo_folder(tmp_path / "photos", 12)
    out = tmp_path / "out"
    args = [f"--input_dir={tmp_path / 'photos'}", f"--output_dir={out}",
            f"--model_dir={model_dir}", "--direct_num_workers=2"]
    process = subprocess.Popen([sys.executable, "-m", "pp_tf.scripts.protect_archive", *args],
                               cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if out.is_dir() and sum(name in names for name in os.listdir(out)) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = sorted(name for name in os.listdir(out) if name in names)
    assert 2 <= len(finished) < len(names)
    assert not (out / protect_pipeline.MANIFEST).exists()
    for name in finished:  # complete files only
        image_io.read_image(str(out / name))
    first = {name: sha256(out / name) for name in finished}

    result = run_script(*args)
    assert result.returncode == 0, result.stderr
    records = files.read_json_lines(str(out / protect_pipeline.MANIFEST))
    assert sorted(os.path.basename(r["file"]) for r in records) == sorted(names)  # each once
    status = {os.path.basename(r["file"]): r["status"] for r in records}
    assert sorted(n for n, s in status.items() if s == "kept") == finished
    assert {name: sha256(out / name) for name in finished} == first
    assert sorted(os.listdir(out)) == sorted(names + [protect_pipeline.MANIFEST, files.FAILED])

    clean = protect_pipeline.run(protect_pipeline.ArchiveConfig(
        str(tmp_path / "photos"), str(tmp_path / "clean"), model_dir), IN_PROCESS)
    assert clean["written"] == len(names)
    for name in names:
        assert sha256(out / name) == sha256(tmp_path / "clean" / name), name


def test_evaluation_per_attacker_equals_evaluate(attacker, uap, tmp_path):
    """The pipeline's shares per attacker against the library's `evaluate` on the same
    folders, and a photo without a protected copy as a dead letter."""
    from pp_tf.attacker import load_attackers
    from pp_tf.evaluate import EvaluateConfig, evaluate

    _, model_dir = uap
    names = photo_folder(tmp_path / "photos", 6)
    protect_pipeline.run(protect_pipeline.ArchiveConfig(
        str(tmp_path / "photos"), str(tmp_path / "protected"), model_dir), IN_PROCESS)
    os.unlink(tmp_path / "protected" / names[-1])
    summary = evaluate_pipeline.run(evaluate_pipeline.ArchiveEvaluation(
        str(tmp_path / "photos"), str(tmp_path / "protected"), str(tmp_path / "evaluation"),
        attacker=attacker), IN_PROCESS)
    assert [os.path.basename(f["file"]) for f in summary["failed"]] == [names[-1]]
    assert "no protected copy" in summary["failed"][0]["reason"]
    assert summary["photos"] == len(names) - 1
    os.unlink(tmp_path / "photos" / names[-1])
    library = evaluate(EvaluateConfig(str(tmp_path / "photos"), (str(tmp_path / "protected"),),
                                      attacker=attacker, progress=False),
                       load_attackers(attacker))
    row = next(r for r in library.summary if r.run == "protected").values
    ours = summary["attackers"]["tiny"]
    for measure in evaluate_pipeline.MEASURES:
        assert ours[measure] == pytest.approx(row[measure]), measure
    assert summary["ssimulacra2_worst"] == pytest.approx(row["ssimulacra2_worst"], abs=0.01)
    assert summary["ssimulacra2_median"] == pytest.approx(row["ssimulacra2"], abs=0.01)
    assert summary["brisque_worst"] == pytest.approx(row["brisque_worst"], abs=0.01)
    assert summary["brisque_median"] == pytest.approx(row["brisque"], abs=0.01)
