"""Writing an evaluation: Markdown (the seed's Table 1 shape), CSV, JSON, a
contact sheet PNG and an HTML page showing each original beside its protected
versions with the attacker's top-3 labels and scores."""

from __future__ import annotations

import csv
import html
import io
import json
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pp_tf import image_io
from pp_tf.evaluate import ORIGINAL

THUMB = 200
TEXT_LINES = 3
CONTACT_SHEET_MAX_ROWS = 60

_COLUMNS = [  # (key, header, format)
    ("photos", "Photos", "{:d}"),
    ("top1_sensitive", "Top-1 acc. (60 cat.)", "{:.2%}"),
    ("top5_sensitive", "Top-5 acc. (60 cat.)", "{:.2%}"),
    ("top1_all", "Top-1 acc. (all)", "{:.2%}"),
    ("top5_all", "Top-5 acc. (all)", "{:.2%}"),
    ("top1_changed", "Top-1 changed", "{:.2%}"),
    ("original_top1_in_top5", "Orig. top-1 in top-5", "{:.2%}"),
    ("nima_mean", "NIMA mean", "{:.3f}"),
    ("nima_std", "NIMA std", "{:.3f}"),
    ("psnr", "PSNR (dB)", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
]


def _cell(row, key, fmt):
    value = row.get(key)
    return "" if value is None else fmt.format(value)


def markdown_table(rows: list[dict], attacker_name: str) -> str:
    columns = [c for c in _COLUMNS if any(row.get(c[0]) is not None for row in rows)]
    lines = [f"Attacker: `{attacker_name}`", "",
             "| Run | " + " | ".join(c[1] for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for row in rows:
        lines.append(f"| {row['run']} | " + " | ".join(_cell(row, *c[0::2]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def top3(probabilities, class_names):
    order = np.argsort(-probabilities, kind="stable")[:3]
    return [(class_names[i], float(probabilities[i])) for i in order]


def _photo_record(result, class_names):
    return {"run": result.run, "name": result.name, "path": result.path,
            "height": int(result.size[0]), "width": int(result.size[1]),
            "top1": class_names[int(np.argmax(result.probabilities))],
            "top3": [{"label": n, "probability": p} for n, p in top3(result.probabilities, class_names)],
            "nima_mean": result.nima_mean, "nima_std": result.nima_std,
            "psnr": result.psnr, "ssim": result.ssim}


def _thumbnail(path):
    image = Image.fromarray(image_io.read_image(path))
    image.thumbnail((THUMB, THUMB))
    return image


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def contact_sheet(results: dict, class_names, thumbnails) -> Image.Image:
    """A grid: one row per photo, the original then each run, top-3 labels under each."""
    runs = list(results)
    by_run = {run: {r.name: r for r in photos} for run, photos in results.items()}
    names = [r.name for r in results[ORIGINAL]][:CONTACT_SHEET_MAX_ROWS]
    font, line = _font(12), 15
    cell_h = THUMB + TEXT_LINES * line + 8
    header = 22
    sheet = Image.new("RGB", (THUMB * len(runs) + 8 * (len(runs) + 1), header + cell_h * len(names)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    for c, run in enumerate(runs):
        draw.text((8 + c * (THUMB + 8), 4), run, fill="black", font=_font(14))
    for r, name in enumerate(names):
        for c, run in enumerate(runs):
            result = by_run[run].get(name)
            x, y = 8 + c * (THUMB + 8), header + r * cell_h
            if result is None:
                draw.text((x, y + THUMB // 2), "(missing)", fill="red", font=font)
                continue
            thumb = thumbnails[(run, name)]
            sheet.paste(thumb, (x + (THUMB - thumb.width) // 2, y + (THUMB - thumb.height) // 2))
            for i, (label, p) in enumerate(top3(result.probabilities, class_names)):
                draw.text((x, y + THUMB + 2 + i * line), f"{p:5.1%} {label[:26]}",
                          fill="black" if i else "darkblue", font=font)
    return sheet


def html_page(rows, results, class_names, attacker_name, thumb_paths, output_dir) -> str:
    runs = list(results)
    by_run = {run: {r.name: r for r in photos} for run, photos in results.items()}
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>pp_tf evaluation</title>",
           "<style>body{font-family:sans-serif}td{vertical-align:top;padding:4px}"
           "table.grid td{width:210px}.p{font-size:12px}</style></head><body>",
           f"<h1>pp_tf evaluation</h1><p>Attacker: <code>{html.escape(attacker_name)}</code></p>",
           "<h2>Summary</h2><pre>", html.escape(markdown_table(rows, attacker_name)), "</pre>",
           "<h2>Photos</h2><table class='grid'><tr>"]
    out += [f"<th>{html.escape(run)}</th>" for run in runs] + ["</tr>"]
    for original in results[ORIGINAL]:
        out.append("<tr>")
        for run in runs:
            result = by_run[run].get(original.name)
            if result is None:
                out.append("<td>(missing)</td>")
                continue
            thumb = os.path.relpath(thumb_paths[(run, original.name)], output_dir)
            full = os.path.relpath(os.path.abspath(result.path), os.path.abspath(output_dir))
            labels = "<br>".join(f"{p:.1%} {html.escape(n)}" for n, p in
                                 top3(result.probabilities, class_names))
            out.append(f"<td><a href='{html.escape(full)}'><img src='{html.escape(thumb)}' "
                       f"alt='{html.escape(run)}: {html.escape(original.name)}'></a>"
                       f"<div class='p'>{labels}</div></td>")
        out.append("</tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


def _write_text(path, text):
    image_io.write_bytes_atomic(text.encode("utf-8"), path, overwrite=True)


def _csv_text(rows, fields):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_report(output_dir, rows, results, class_names, attacker_name, errors) -> dict:
    """Writes report.md, summary.csv, photos.csv, results.json, errors.json,
    contact_sheet.png and report.html."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in
             ("report.md", "summary.csv", "photos.csv", "results.json", "errors.json",
              "contact_sheet.png", "report.html")}
    records = [_photo_record(r, class_names) for photos in results.values() for r in photos]
    _write_text(paths["report.md"], "# pp_tf evaluation\n\n" + markdown_table(rows, attacker_name))
    _write_text(paths["summary.csv"], _csv_text(rows, ["run"] + [c[0] for c in _COLUMNS]))
    flat = [{**r, "top3": "; ".join(f"{t['label']} {t['probability']:.4f}" for t in r["top3"])}
            for r in records]
    _write_text(paths["photos.csv"], _csv_text(flat, list(flat[0]) if flat else ["run"]))
    _write_text(paths["results.json"], json.dumps(
        {"attacker": attacker_name, "summary": rows, "photos": records, "errors": errors},
        indent=2, ensure_ascii=False))
    thumbnails, thumb_paths = {}, {}
    for run, photos in results.items():
        for result in photos:
            key = (run, result.name)
            thumbnails[key] = _thumbnail(result.path)
            thumb_paths[key] = os.path.join(output_dir, "thumbs", run,
                                            os.path.splitext(result.name)[0] + ".jpg")
            image_io.write_image(np.asarray(thumbnails[key]), thumb_paths[key], "JPEG",
                                 overwrite=True, jpeg_quality=85)
    _write_text(paths["errors.json"], json.dumps(errors, indent=2, ensure_ascii=False))
    sheet = contact_sheet(results, class_names, thumbnails)
    image_io.write_image(np.asarray(sheet), paths["contact_sheet.png"], "PNG", overwrite=True)
    _write_text(paths["report.html"],
                html_page(rows, results, class_names, attacker_name, thumb_paths, output_dir))
    return paths
