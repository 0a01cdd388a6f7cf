"""experiments/mediaeval2018/run.sh end to end, on generated stand-ins of the real
inputs: random-weight files in the published formats and a six-photo MEPP18 folder."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

import torch_reference  # noqa: E402
import torch_reference_gan  # noqa: E402
from conftest import ROOT  # noqa: E402
from test_ports import _write_keras2_nima_h5  # noqa: E402


def _weights(folder):
    folder.mkdir()
    resnet = torch_reference.ResNet50(num_classes=365).eval()
    state = {"module." + k: v for k, v in resnet.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    torch.save({"epoch": 90, "arch": "resnet50", "state_dict": state}, folder /
               "resnet50_places365.pth.tar", _use_new_zipfile_serialization=False)
    _write_keras2_nima_h5(folder / "weights_mobilenet_aesthetic_0.07.hdf5",
                          np.random.default_rng(0))
    torch.save(torch_reference_gan.ResnetGenerator(ngf=64, n_blocks=9).state_dict(),
               folder / "style_ukiyoe.pth")
    torch.save(torch_reference_gan.Transformer().state_dict(), folder / "Hayao_net_G_float.pth")


def _mepp18(folder):
    images = folder / "val_large"
    images.mkdir(parents=True)
    rng = np.random.default_rng(1)
    rows = {"val": [], "test": []}
    for i, (split, label) in enumerate([("val", 49), ("val", 70), ("val", 168),
                                        ("test", 241), ("test", 296), ("test", 7)]):
        name = f"Places365_val_{i + 1:08d}.jpg"
        Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(images / name)
        rows[split].append(f'"{name}","{label}"')
    for split, lines in rows.items():
        (folder / f"MEPP18{split}.csv").write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_run_sh_reproduces_the_five_runs_on_stand_in_data(tmp_path):
    _weights(tmp_path / "weights")
    _mepp18(tmp_path / "mepp18")
    out = tmp_path / "out"
    env = dict(os.environ, MEPP18=str(tmp_path / "mepp18"), WEIGHTS=str(tmp_path / "weights"),
               EXTRA_UAP_FLAGS="--max_passes=1", PYTHON=sys.executable)
    result = subprocess.run(["bash", os.path.join(ROOT, "experiments", "mediaeval2018", "run.sh"),
                             str(out)], capture_output=True, text=True, env=env, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.load(open(out / "report" / "results.json"))["summary"]
    assert [row["run"] for row in summary] == ["original", "center_crop", "random_crop",
                                               "cyclegan", "cartoongan", "uap"]
    for row in summary:
        assert row["photos"] == 3 and row["labelled"] == 3
        assert {"top1_all", "top5_all", "top1_sensitive", "top5_sensitive", "nima_mean"} <= set(row)
    assert os.path.exists(out / "uap" / "uap.npy") and os.path.exists(out / "report" / "report.html")
