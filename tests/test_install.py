"""pp_tf as users install it, away from the clone.

The wheel is built from a copy of the files git would check out, installed with
`pip install --no-deps --no-index` into a fresh venv, and run from a folder outside the
repository: the README's demo (all 20 bundled photos, the shipped UAP) and the TF
Serving export (with `tensorflow_serving` made unimportable: exporting must not need
tensorflow-serving-api). Installing TensorFlow again would take minutes, so the fresh
venv sees the test interpreter's site-packages through a `.pth` file: lines there are
appended to sys.path, but the `.pth` files inside those folders (the editable pp_tf's
finder among them) are not processed, and the fresh venv's own site-packages, where the
wheel goes, comes first. Checked: pp_tf is not importable there before the install.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import ROOT
from pp_tf import bundled, demo

SHIPPED = sorted(f"uap_efficientnet_{attackers}_linf10{tail}.{ext}"
                 for attackers in ("lite0", "lite0_lite1") for tail in ("", "_eot")
                 for ext in ("npy", "json", "png"))
BIN = "Scripts" if os.name == "nt" else "bin"
BLOCK_SERVING_APIS = ("import runpy, sys; sys.modules['tensorflow_serving'] = None; "
                      "sys.argv[0] = 'export_serving'; "
                      "runpy.run_module('pp_tf.scripts.export_serving', run_name='__main__', "
                      "alter_sys=True)")


def clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run(args, cwd, timeout=300):
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=clean_env(),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def copy_source(dest):
    """The files a clone has: tracked plus untracked-but-not-ignored (never build/,
    *.egg-info or weights ported into saved_models/)."""
    try:
        listed = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True,
                                timeout=60).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs a git checkout to know the clone's files")
    for name in filter(None, listed):
        source = os.path.join(ROOT, name)
        if os.path.isfile(source):
            os.makedirs(os.path.join(dest, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(source, os.path.join(dest, name))
    return dest


def fresh_venv(path):
    """A venv that sees the test interpreter's third-party packages but not its pp_tf."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                   timeout=120)
    python = os.path.join(path, BIN, "python")
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               cwd=path).strip()
    third_party = [p for p in sys.path
                   if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p)]
    with open(os.path.join(site, "_test_interpreter_packages.pth"), "w") as f:
        f.write("\n".join(third_party) + "\n")
    probe = subprocess.run([python, "-c", "import pp_tf"], cwd=path, env=clean_env(),
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode != 0 and "No module named 'pp_tf'" in probe.stderr
    return python


def need_build_tools():
    # Looked up, not imported: importing setuptools here, after distutils, would fail.
    for name in ("pip", "setuptools"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"needs {name} in the test interpreter")


def pip(python, *args, cwd):
    # pip comes from the test interpreter's site-packages, and installs into the fresh venv.
    return run([python, "-m", "pip", "--disable-pip-version-check", *args], cwd=cwd)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    need_build_tools()
    work = tmp_path_factory.mktemp("wheel")
    src = copy_source(work / "src")
    # Files a user may have next to the shipped ones: never packaged.
    os.makedirs(src / "saved_models" / "places365_resnet50")
    (src / "saved_models" / "places365_resnet50" / "model.keras").write_bytes(b"weights")
    np.save(src / "saved_models" / "uap_mine.npy", np.zeros(3))
    pip(sys.executable, "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "-w", work / "dist", src, cwd=work)
    (path,) = (work / "dist").glob("pp_tf-*.whl")
    return path


def test_the_wheel_holds_the_photos_the_perturbations_and_the_labels(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    bundled_files = sorted(n for n in names if n.startswith("pp_tf/_bundled/"))
    photos = sorted(n for n in os.listdir(os.path.join(ROOT, "examples"))
                    if n.endswith((".jpg", ".png")))
    assert len(photos) == 20
    assert bundled_files == sorted(
        [f"pp_tf/_bundled/examples/{n}" for n in photos + ["SOURCES.md", "expected_content.json"]]
        + [f"pp_tf/_bundled/saved_models/{n}" for n in SHIPPED])
    assert {f"pp_tf/data/{n}" for n in os.listdir(os.path.join(ROOT, "pp_tf", "data"))} <= set(names)
    assert not [n for n in names if n.split("/")[0] in ("examples", "saved_models", "tests")]


@pytest.mark.slow
def test_the_demo_and_the_serving_export_run_from_the_installed_wheel(wheel, tmp_path):
    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    python = fresh_venv(venv)
    pip(python, "install", "--no-deps", "--no-index", "--ignore-installed", wheel, cwd=elsewhere)
    installed = os.path.realpath(venv)

    where = json.loads(run([python, "-c", (
        "import json, pp_tf, pp_tf.bundled as b; print(json.dumps([pp_tf.__file__, "
        "b.examples_dir(), b.shipped_perturbation(), "
        "b.shipped_perturbation('uap_efficientnet_lite0_linf10_eot')]))")], cwd=elsewhere))
    for path in where:
        assert os.path.realpath(path).startswith(installed + os.sep), path
        assert os.path.exists(path)

    # The README's main job as a user types it (20 photos), with the per-photo attacks on one
    # photo rather than four to save test time: they need nothing more from the install.
    printed = run([python, "-m", "pp_tf.scripts.demo", "--output_dir=demo_out",
                   "--per_photo_limit=1"], cwd=elsewhere, timeout=600)
    assert os.path.getsize(elsewhere / "demo_out" / "report" / "report.html") > 10_000
    assert "| uap | 20 |" in printed and "every photo here is held out" in printed
    settings = json.load(open(elsewhere / "demo_out" / "protected" / "uap" / "protect.json"))
    assert settings["inputs"] == [where[1]] and settings["written"] == 20
    assert settings["settings"]["settings"]["uap"]["perturbation"] == where[2]
    assert ROOT not in printed and ROOT not in open(
        elsewhere / "demo_out" / "report" / "report.md").read()

    run([python, "-c", BLOCK_SERVING_APIS, "--output_dir=serving", "--models=protect_uap"],
        cwd=elsewhere)
    export_dir = elsewhere / "serving" / "protect_uap" / "1"
    assert os.path.getsize(export_dir / "assets.extra" / "tf_serving_warmup_requests") > 100
    assert 'name: "protect_uap"' in open(elsewhere / "serving" / "models.config").read()
    import tensorflow as tf
    exported = tf.saved_model.load(str(export_dir)).owned.numpy()
    np.testing.assert_array_equal(
        exported, np.load(os.path.join(ROOT, "saved_models",
                                       "uap_efficientnet_lite0_lite1_linf10.npy")))


def test_an_editable_install_reads_the_clone(tmp_path):
    """setup.py's package_dir mapping must not break `pip install -e`: there pp_tf.bundled
    reads examples/ and saved_models/ at the clone's root."""
    need_build_tools()
    src = copy_source(tmp_path / "clone")
    python = fresh_venv(tmp_path / "venv")
    pip(python, "install", "--no-deps", "--no-index", "--no-build-isolation", "--ignore-installed",
        "-e", src, cwd=tmp_path)
    where = json.loads(run([python, "-c", (
        "import json, pp_tf, pp_tf.bundled as b; print(json.dumps([pp_tf.__file__, "
        "b.examples_dir(), b.shipped_perturbation()]))")], cwd=tmp_path))
    assert where == [str(src / "pp_tf" / "__init__.py"), str(src / "examples"),
                     str(src / "saved_models" / "uap_efficientnet_lite0_lite1_linf10.npy")]


def test_in_the_clone_the_bundled_files_are_the_repository_folders():
    assert demo.EXAMPLES == bundled.examples_dir() == os.path.join(ROOT, "examples")
    assert demo.DEFAULT_UAP == os.path.join(ROOT, "saved_models",
                                            "uap_efficientnet_lite0_lite1_linf10.npy")
    assert bundled.shipped_perturbation("uap_efficientnet_lite0_linf10_eot.npy") == os.path.join(
        ROOT, "saved_models", "uap_efficientnet_lite0_linf10_eot.npy")
    for name in SHIPPED:
        assert os.path.isfile(os.path.join(bundled.saved_models_dir(), name))
    for bad in ("", "../uap", "saved_models/uap"):
        with pytest.raises(ValueError):
            bundled.shipped_perturbation(bad)
    with pytest.raises(ValueError):
        bundled.bundled_dir("pp_tf")
