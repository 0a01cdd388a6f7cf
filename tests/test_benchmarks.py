"""The GPU benchmark suite's --smoke run: every part runs end to end on a CPU, tiny sizes."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_gpu_suite_smoke_runs_every_part(tmp_path):
    result = subprocess.run(
        ["bash", os.path.join(ROOT, "benchmarks", "gpu_suite.sh"), "--smoke",
         f"--workdir={tmp_path}"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env=dict(os.environ, PYTHON=sys.executable, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-3000:]
    assert "FAILED" not in out
    for mode in ("SGD", "faithful"):
        assert re.search(rf"UAP {mode} +4 images 224x224 tiny_cnn .* [\d.]+ s, 1 passes, "
                         rf"fooling rate [\d.]+", out), out
    assert re.search(r"efficientnet_lite0 +[\d.]+ +[\d.]+", out), out
    assert re.search(r"stylize CycleGAN .* 64x64 batch 2: +[\d.]+ images/s", out), out
    assert re.search(r"stylize one 0.1 MP photo \(264x200, seamless tiles of 64", out), out
    assert re.search(r"train_gan CycleGAN float32, 4 steps.*: [\d.]+ steps/s between steps 2 "
                     r"and 4", out), out
    # train_gan --precision=mixed_float16 (float16 convolutions run on a CPU too)
    assert re.search(r"train_gan CycleGAN mixed_float16, 4 steps.*: [\d.]+ steps/s between "
                     r"steps 2 and 4", out), out
    assert (tmp_path / "uap_sgd.npy").exists() and (tmp_path / "uap_deepfool.npy").exists()
