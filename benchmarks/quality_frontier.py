r"""Protection against quality: each method's frontier under the quality gate.

Each method runs once per photo with the gate off (its full result), then the gate
(`pp_tf.quality.gate.hold`) takes that result back to each `--levels` value of
`min_quality` (0: the full result), exactly as `protect` would. For every method and
level it prints, over the photos:

* the share of photos whose clean top-1 left the top 5 of the trained attackers (mean
  over them) and of the unseen attacker, as saved and after upload;
* the colour-undone SSIMULACRA2 of the photo as saved, median and worst, and the median
  strength the gate kept;
* the seconds per photo of the method alone and of the gate;
* then (unless `--skip_12mp`) the seconds `protect` spends on one 12 MP photo (the first
  photo upscaled to 4000x3000): each method, the gate at its default and in its worst case
  (a tolerance no photo meets, so the search scores all `search_steps`), with the number of
  scorings, and the BRISQUE scores of the output and the original; the totals add them.

The photos, attackers, methods and setting overrides are `protection_targets`' flags.

  PYTHONPATH=$PWD .venv/bin/python benchmarks/quality_frontier.py \
      --methods=pgd,color_lut,tone_curves,uap,noise --levels=0,50,60,70,80
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from absl import app, flags  # noqa: E402

import protection_targets as targets  # noqa: E402  (its flags: photos, methods, attackers)
from pp_tf import attacker as attacker_lib  # noqa: E402
from pp_tf import image_io, protections  # noqa: E402
from pp_tf.evaluate import simulate_upload  # noqa: E402
from pp_tf.quality import gate, measures  # noqa: E402

_LEVELS = flags.DEFINE_list("levels", ["0", "50", "60", "70", "80"],
                            "min_quality values of the gate (0: off).")
_JSON = flags.DEFINE_string("json", None, "Also write the rows here.")


def frontier(name, prepared, photos, attackers, trained: int, levels) -> list[dict]:
    """One row per level over `photos` [(name, pixels, format, clean top-1 per attacker)]."""
    per_level = {level: {"gone": [], "gone_upload": [], "quality": [], "strength": [],
                         "gate_s": []} for level in levels}
    method_seconds = []
    for file_name, photo, fmt, clean in photos:
        start = time.perf_counter()
        full = prepared.apply(photo, protections.PhotoContext(file_name))
        method_seconds.append(time.perf_counter() - start)
        for level in levels:
            start = time.perf_counter()
            out, record, saved = gate.hold(photo, full, gate.QualityGate(level),
                                           saved=image_io.AsSaved(fmt, 95))
            seconds = time.perf_counter() - start
            uploaded = simulate_upload(saved)
            row = per_level[level]
            row["gate_s"].append(seconds)
            row["gone"].append([clean[i] not in targets.top5(a, saved)
                                for i, a in enumerate(attackers)])
            row["gone_upload"].append([clean[i] not in targets.top5(a, uploaded)
                                       for i, a in enumerate(attackers)])
            quality = measures.photo_quality(photo, saved)
            row["quality"].append(quality.ssimulacra2 if quality else np.nan)
            row["strength"].append(record.get("strength", 1.0))
    rows = []
    for level in levels:
        row = per_level[level]
        gone, gone_upload = np.array(row["gone"], float), np.array(row["gone_upload"], float)
        quality = np.array(row["quality"])
        rows.append({
            "method": name, "min_quality": level,
            "trained_gone": float(gone[:, :trained].mean()),
            "unseen_gone": float(gone[:, trained:].mean()),
            "trained_gone_upload": float(gone_upload[:, :trained].mean()),
            "unseen_gone_upload": float(gone_upload[:, trained:].mean()),
            "ssimulacra2_median": float(np.nanmedian(quality)),
            "ssimulacra2_worst": float(np.nanmin(quality)),
            "strength_median": float(np.median(row["strength"])),
            "method_s": float(np.mean(method_seconds)), "gate_s": float(np.mean(row["gate_s"]))})
    return rows


def main(argv):
    del argv
    levels = [float(level) for level in _LEVELS.value]
    trained = attacker_lib.load_attackers(targets._TRAINED.value)
    unseen = attacker_lib.load_attackers(targets._UNSEEN.value)
    attackers = trained + unseen
    paths = image_io.list_images(targets._PHOTOS.value)
    if targets._LIMIT.value:
        paths = paths[:targets._LIMIT.value]
    photos = []
    for path in paths:
        pixels = image_io.read_image(path)
        photos.append((os.path.basename(path), pixels, image_io.image_format(path),
                       [int(targets.top5(a, pixels)[0]) for a in attackers]))
    print(f"{len(photos)} photos from {targets._PHOTOS.value}; trained "
          f"{[a.name for a in trained]}, unseen {[a.name for a in unseen]}; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print("| method | min_quality | trained gone | unseen gone | unseen after upload | "
          "SSIMULACRA2 median / worst | strength (median) | s/photo (method + gate) |")
    print("|---|---|---|---|---|---|---|---|")
    rows, prepared = [], {}
    for name in targets._METHODS.value:
        prepared[name] = protections.get(name).build(targets.method_settings(name))
        for row in frontier(name, prepared[name], photos, attackers, len(trained), levels):
            rows.append(row)
            print(f"| {name} | {row['min_quality']:g} | {row['trained_gone']:.1%} | "
                  f"{row['unseen_gone']:.1%} | {row['unseen_gone_upload']:.1%} | "
                  f"{row['ssimulacra2_median']:.1f} / {row['ssimulacra2_worst']:.1f} | "
                  f"{row['strength_median']:.2f} | {row['method_s']:.1f} + "
                  f"{row['gate_s']:.1f} |", flush=True)
    if _JSON.value:
        with open(_JSON.value, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    if targets._SKIP_12MP.value:
        return
    name, pixels, fmt = photos[0][:3]
    large = np.asarray(Image.fromarray(pixels).resize((4000, 3000), Image.Resampling.BICUBIC))
    print(f"\n12 MP ({name} upscaled to 4000x3000), method + gate at min_quality "
          f"{gate.DEFAULT:g}; load average {os.getloadavg()[0]:.1f}:")
    start = time.perf_counter()
    for _ in range(2):
        measures.naturalness(large)
    naturalness_seconds = time.perf_counter() - start
    print(f"  BRISQUE of the output and of the original, as protect scores them: "
          f"{naturalness_seconds:.1f} s")
    # The worst case: a tolerance no photo meets, so the search scores all search_steps.
    gates = {"default gate": gate.QualityGate(gate.DEFAULT),
             "worst case": gate.QualityGate(gate.DEFAULT, tolerance=1e-6)}
    scorings, scores_against = [], measures.scores_against

    def counted(*args):  # the gate looks it up at each scoring
        scorings.append(1)
        return scores_against(*args)

    measures.scores_against = counted
    for name, method in prepared.items():
        start = time.perf_counter()
        full = method.apply(large, protections.PhotoContext(name))
        method_seconds = time.perf_counter() - start
        parts = []
        for label, quality_gate in gates.items():
            for _ in range(2):  # the first call traces the measures for this size
                scorings.clear()
                start = time.perf_counter()
                saver = image_io.AsSaved(fmt, 95)
                _, record, _ = gate.hold(large, full, quality_gate, saved=saver)
                seconds = time.perf_counter() - start
            parts.append(f"{label} {seconds:.1f} s ({len(scorings)} scorings, strength "
                         f"{record.get('strength', 1.0):.2f}; total "
                         f"{method_seconds + seconds + naturalness_seconds:.1f} s)")
        print(f"  {name}: {method_seconds:.1f} s + {'; '.join(parts)}", flush=True)


if __name__ == "__main__":
    app.run(main)
