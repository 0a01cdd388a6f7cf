"""contact_sheet.png: one row per photo, the original then each run, the first
attacker's top-3 under each, with the page's marks: an orange frame where the
top-1 changed, a red "TOP-5 GONE" tag where the original's top-1 left the top 5; under
each, 100% crops of the photo's smoothest and most textured regions and its
colour-undone SSIMULACRA2 (red below the quality gate)."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from pp_tf.quality import gate
from pp_tf.results import DETAIL_CROP, ORIGINAL, THUMB, Evaluation, photo_marks, top_labels

TEXT_LINES = 3
MAX_ROWS = 60
PAD = 8
CHANGED = (242, 140, 40)
GONE = (198, 40, 40)


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def contact_sheet(evaluation: Evaluation) -> Image.Image:
    attacker = evaluation.attackers[0]
    runs = evaluation.runs
    by_run = {run: evaluation.photos_of(run) for run in runs}
    originals = by_run[ORIGINAL]
    names = list(originals)[:MAX_ROWS]
    font, line = _font(12), 15
    details = any(p.detail_crops for p in evaluation.photos)
    detail_h = DETAIL_CROP + line + 6 if details else 0
    cell_h = THUMB + TEXT_LINES * line + 12 + detail_h
    legend = [f"attacker: {attacker.name}   orange frame: top-1 changed   red tag: original "
              "top-1 gone from top-5"]
    if details:
        legend.append("below: 100% crops, smoothest | most textured; S2: SSIMULACRA2 with "
                      "colour undone")
    header = 20 + line * len(legend)
    sheet = Image.new("RGB", (THUMB * len(runs) + PAD * (len(runs) + 1),
                              header + cell_h * max(len(names), 1)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, text in enumerate(legend):
        draw.text((PAD, 4 + i * line), text, fill="black", font=font)
    for c, run in enumerate(runs):
        draw.text((PAD + c * (THUMB + PAD), header - 20), run, fill="black", font=_font(14))
    for r, name in enumerate(names):
        for c, run in enumerate(runs):
            record = by_run[run].get(name)
            x, y = PAD + c * (THUMB + PAD), header + r * cell_h
            if record is None:
                draw.text((x, y + THUMB // 2), "(missing)", fill="red", font=font)
                continue
            thumb = Image.fromarray(record.thumbnail)
            left, top = x + (THUMB - thumb.width) // 2, y + (THUMB - thumb.height) // 2
            sheet.paste(thumb, (left, top))
            marks = photo_marks(record, originals[name], attacker)
            if run != ORIGINAL and marks.changed:
                draw.rectangle((left - 3, top - 3, left + thumb.width + 2, top + thumb.height + 2),
                               outline=CHANGED, width=3)
            if run != ORIGINAL and marks.gone:
                draw.rectangle((left, top, left + 84, top + 16), fill=GONE)
                draw.text((left + 4, top + 2), "TOP-5 GONE", fill="white", font=font)
            for i, (label, p) in enumerate(top_labels(record.probabilities[attacker.name],
                                                      attacker.class_names)):
                draw.text((x, y + THUMB + 4 + i * line), f"{p:5.1%} {label[:26]}",
                          fill="black" if i else "darkblue", font=font)
            crop_y = y + THUMB + TEXT_LINES * line + 8
            for i, region in enumerate(("smooth", "textured")):
                if region in record.detail_crops:
                    sheet.paste(Image.fromarray(record.detail_crops[region]),
                                (x + i * (DETAIL_CROP + PAD), crop_y))
            if record.ssimulacra2 is not None:
                draw.text((x, crop_y + DETAIL_CROP + 2), f"S2 {record.ssimulacra2:.1f}",
                          fill=GONE if record.ssimulacra2 < gate.FLOOR else "black", font=font)
    return sheet
