"""report.html in a real browser: headless Chromium renders it from the file system.

Without Chromium the test is skipped with the reason, except under CI (the CI
environment variable set), where a missing Chromium fails: .ci/run installs it.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from test_report import NAMES, make_report, parse_page

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _chromium():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium not installed, and CI is set: .ci/run must install it "
                    "(apt-get install -y chromium)")
    pytest.skip("chromium not installed: apt-get install chromium")


def _run(browser, profile, *args):
    command = [browser, "--headless", "--disable-gpu", "--no-sandbox",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_report_renders_in_chromium(tmp_path):
    browser = _chromium()
    evaluation = make_report(tmp_path)
    url = "file://" + os.path.abspath(evaluation.paths["report.html"])

    dom = _run(browser, tmp_path / "profile", "--dump-dom", url)
    page = parse_page_text(dom, tmp_path)
    assert len(page.rows) == len(evaluation.runs) * len(evaluation.attackers) == 6
    assert "<svg" in dom and "<circle" in dom and "<polygon" in dom
    for name in NAMES:
        assert name in dom

    shot = tmp_path / "report.png"
    _run(browser, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000",
         "--hide-scrollbars", url)
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 20, "the screenshot is (nearly) blank"
    colours = np.unique(pixels[::4, ::4].reshape(-1, 3), axis=0)
    assert len(colours) > 100, f"only {len(colours)} distinct colours"
    # The thumbnails' colours rendered: strongly red, green and blue pixels are on screen.
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    for channel, others in ((r, g + b), (g, r + b), (b, r + g)):
        assert ((channel > 150) & (others < 200)).sum() > 500


def parse_page_text(text, folder):
    path = folder / "dom.html"
    path.write_text(text, encoding="utf-8")
    return parse_page(path)
