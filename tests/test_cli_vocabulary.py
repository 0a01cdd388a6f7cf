"""Every script of the registry (`pp_tf.scripts.SCRIPTS`) speaks one vocabulary (`cli`):
--input_dir and --output_dir, the role's --attacker default, help on every flag, renamed
flags only as deprecated aliases, and exit status 2 for a usage error."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from pp_tf import models
from pp_tf.scripts import SCRIPTS, cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The names the scripts used before the vocabulary: allowed only as deprecated flags.
DRIFTED = {"images", "photos", "original_dir", "base_dir", "output"}


def describe(module: str) -> dict:
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "cli_flags.py"), module],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    line = next((line for line in done.stdout.splitlines() if line.startswith("FLAGS-JSON ")),
                None)
    assert line, f"{module}: no flags printed\n{done.stderr[-3000:]}"
    return json.loads(line[len("FLAGS-JSON "):])


@pytest.fixture(scope="module")
def scripts():
    with ThreadPoolExecutor(2) as pool:
        return dict(zip([s.module for s in SCRIPTS], pool.map(describe,
                                                              [s.module for s in SCRIPTS])))


def test_the_registry_is_every_script_and_every_console_command():
    modules = {name[:-3] for name in os.listdir(os.path.join(ROOT, "pp_tf", "scripts"))
               if name.endswith(".py") and not name.startswith("_")}
    assert {s.module for s in SCRIPTS} == modules - {"cli", "beam_options"}
    assert len({s.command for s in SCRIPTS}) == len(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.module)
def test_flag_vocabulary(scripts, script):
    described = {flag["name"]: flag for flag in scripts[script.module]["flags"]}
    deprecated = {name for name, flag in described.items()
                  if flag["help"].startswith("Deprecated")}
    assert not (set(described) & DRIFTED) - deprecated, "a drifted name is still a live flag"
    assert "output_dir" in described
    assert ("input_dir" in described) == script.reads_photos
    for name, flag in described.items():
        assert flag["help"].strip(), f"--{name} has no help"
    if script.attacker_role is None:
        assert "attacker" not in described or script.module == "protect"
    else:
        assert described["attacker"]["default"] == cli.attacker_default(script.attacker_role)
        for architecture in models.names("classifier"):  # the help is the registry's
            assert architecture in described["attacker"]["help"]


def test_one_precision_vocabulary(scripts):
    from pp_tf.gan.precision import DEPRECATED_PRECISIONS, PRECISIONS

    having = {module: {flag["name"]: flag for flag in described["flags"]}["precision"]
              for module, described in scripts.items()
              if any(flag["name"] == "precision" for flag in described["flags"])}
    assert {"train_gan", "stylize", "protect"} <= set(having)
    for module, flag in having.items():
        if flag["enum"] is None:  # protect's method settings are strings, checked by the method
            assert all(name in flag["help"] for name in PRECISIONS), module
        else:
            assert set(PRECISIONS) <= set(flag["enum"]) <= {*PRECISIONS, *DEPRECATED_PRECISIONS}


def test_default_evaluation_includes_an_attacker_the_default_protection_never_saw():
    evaluated = models.EVALUATED_ATTACKERS.split(",")
    trained = models.TRAINED_ATTACKERS.split(",")
    assert set(trained) < set(evaluated)
    assert models.UNSEEN_ATTACKERS in evaluated
    from pp_tf import protections

    assert protections.get("pgd").make_settings({}).attacker == models.TRAINED_ATTACKERS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.module)
def test_usage_errors_exit_2(scripts, script):
    statuses = scripts[script.module]["exit"]
    assert statuses["unknown_flag"] == cli.EXIT_USAGE
    # no flags: a missing required flag is usage (2); with none required, main runs (0)
    assert statuses["no_flags"] in (cli.EXIT_DONE, cli.EXIT_USAGE)


@pytest.mark.parametrize("module, args", [
    ("evaluate", ["--input_dir={missing}", "--output_dir={tmp}/report"]),
    ("protect", ["--input_dir={photos}", "--output_dir={tmp}/out", "--method=pgd",
                 "--attacker=no_such_model"]),
    ("train_uap", ["--input_dir={missing}", "--output_dir={tmp}/uap"]),
    ("demo", ["--input_dir={missing}", "--output_dir={tmp}/demo"]),
], ids=["evaluate", "protect", "train_uap", "demo"])
def test_a_bad_value_exits_2_with_a_message_and_no_traceback(tmp_path, module, args):
    photos = tmp_path / "photos"
    photos.mkdir()
    from PIL import Image

    Image.new("RGB", (40, 30), (120, 80, 40)).save(photos / "p.png")
    paths = {"missing": tmp_path / "no_such_folder", "tmp": tmp_path, "photos": photos}
    done = subprocess.run([sys.executable, "-m", f"pp_tf.scripts.{module}",
                           *(arg.format(**paths) for arg in args)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == cli.EXIT_USAGE, done.stderr[-2000:]
    assert "error: " in done.stderr and "Traceback" not in done.stderr
