"""The README's main job, on two of the bundled photos."""

import os
import shutil

import pytest

from conftest import EXAMPLES
from pp_tf import demo, protections


@pytest.mark.slow
def test_demo_protects_evaluates_and_reports(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("cat_chelsea.png", "coffee.png"):
        shutil.copy(os.path.join(EXAMPLES, name), photos / name)
    assert demo.run_demo(str(tmp_path / "out"), str(photos), per_photo_limit=1) == 0
    printed = capsys.readouterr().out
    for run, _, _ in demo.RUNS:
        assert f"| {run} | 2 |" in printed
        assert sorted(os.listdir(tmp_path / "out" / "protected" / run)) == [
            "cat_chelsea.png", "coffee.png", "errors.json", "protect.json"]
    for run, _, _ in demo.PER_PHOTO_RUNS:  # the first photo only
        assert f"| {run} | 1 |" in printed
        assert sorted(os.listdir(tmp_path / "out" / "protected" / run)) == [
            "cat_chelsea.png", "errors.json", "protect.json"]
    for attacker in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"):
        assert f"## Attacker: `{attacker}`" in printed
    for what, command in demo.NEEDS_WEIGHTS:
        assert command in printed
    for protection in protections.all_protections():  # the style methods wait for weights
        if protection.weights_command:
            assert protection.weights_command in printed
    assert os.path.getsize(tmp_path / "out" / "report" / "contact_sheet.png") > 10_000
