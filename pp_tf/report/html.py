"""report.html: one self-contained page (inline CSS and SVG, a few lines of
vanilla JS to sort the table; no network) that opens from the file system."""

from __future__ import annotations

import html
import math

from pp_tf.report.chart import tradeoff_svg
from pp_tf.quality import gate
from pp_tf.report.tables import attacker_roles, worst_photos
from pp_tf.results import (ORIGINAL, Evaluation, best_value, photo_marks, shown_columns)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
 max-width:1400px}
h1{margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ddd}
p.lead{font-size:15px;line-height:1.45;max-width:980px}
table.summary{border-collapse:collapse;font-size:13px}
table.summary th{background:#f2f2f2;cursor:pointer;padding:6px 8px;border-bottom:2px solid #bbb;
 text-align:right;vertical-align:bottom;max-width:7.5em}
table.summary td.text{white-space:nowrap}
table.summary th.text,table.summary td.text{text-align:left}
table.summary th:hover{background:#e2e8f0}
table.summary td{padding:5px 8px;border-bottom:1px solid #eee;text-align:right}
table.summary tr.original td{color:#555;background:#fcfcfc}
td.best{font-weight:bold;background:#e6f4ea}
.tag{font-size:11px;padding:1px 5px;border-radius:8px;margin-left:4px;white-space:nowrap}
.tag.trained{background:#1f4e8c;color:white}.tag.unseen{background:#eee;color:#333;
 border:1px solid #999}
table.grid{border-collapse:collapse}
table.grid th{font-size:13px;padding:4px;text-align:left}
table.grid td{vertical-align:top;padding:6px;width:212px;border-top:1px solid #eee}
table.grid img{display:block;border:3px solid transparent}
table.grid img.changed{border-color:#f28c28}
table.grid tr.crops td{border-top:none;padding-top:0}
table.grid tr.crops img{image-rendering:pixelated}
.verdict{font-size:12px;line-height:1.35}
.verdict .changed{color:#b45309;font-weight:bold}
.fails-gate{color:#b00;font-weight:bold}
.gone{background:#c62828;color:white;font-size:10px;padding:0 4px;border-radius:3px;
 margin-left:3px}
.name{font-size:12px;color:#555}
.key span{margin-right:18px;font-size:13px}
.swatch{display:inline-block;width:12px;height:12px;border:3px solid #f28c28;
 vertical-align:middle}
"""

SORT_JS = """
function sortTable(th){var table=th.closest('table'),body=table.tBodies[0];
var i=Array.prototype.indexOf.call(th.parentNode.children,th);
var asc=th.getAttribute('data-order')!=='asc';
Array.prototype.forEach.call(th.parentNode.children,function(h){h.removeAttribute('data-order');});
th.setAttribute('data-order',asc?'asc':'desc');
var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v');
var nx=parseFloat(x),ny=parseFloat(y);
if(isNaN(nx)&&isNaN(ny)){return asc?x.localeCompare(y):y.localeCompare(x);}
if(isNaN(nx))return 1;if(isNaN(ny))return -1;return asc?nx-ny:ny-nx;});
rows.forEach(function(r){body.appendChild(r);});}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def header(evaluation: Evaluation) -> str:
    roles = attacker_roles(evaluation)
    protected = [run for run in evaluation.runs if run != ORIGINAL]
    described = []
    for name, runs in roles.items():
        unseen = [run for run in protected if run not in runs]
        described.append(
            f"{_e(name)}: " + (f"trained against by {_e(', '.join(runs))}" if runs else "")
            + ("; " if runs and unseen else "")
            + (("unseen by every run" if not runs else f"unseen by {_e(', '.join(unseen))}")
               if unseen else ""))
    parts = [
        "<p class='lead'>Each row is one protection method (run) judged by one attacker "
        "(an image classifier): <b>top-1 changed</b> is the share of photos whose best guess "
        "differs from the attacker's best guess on the original, and <b>gone from top-5</b> "
        "the share where the original's best guess is not even among its five best guesses "
        "any more (higher protects better). <b>SSIMULACRA2</b> (colour undone, at half "
        "size: 90 is visually lossless, 70 high quality, 50 medium) and GMSD (0: structure "
        "kept) say what a person sees of the change once a deliberate global colour grade is "
        "set aside; the quality gate asks every photo to score at least "
        f"{gate.FLOOR:g} and the median {gate.DEFAULT:g}, and each run's worst photo is "
        "named under the table. PSNR and SSIM (higher) and mean CIEDE2000 "
        "(lower; about 1 is a just-noticeable colour difference) say how close each "
        "protected photo stays to its original"
        + (", NIMA how appealing it is" if any(r.values.get("nima_mean") is not None
                                               for r in evaluation.summary) else "")
        + (", and accuracy how often the attacker names the true label"
           if evaluation.labelled else "") + ".</p>",
        "<p class='lead'>An attacker is <b>trained against</b> by a run whose protection was "
        "made with it, and <b>unseen</b> by the others (someone else's model): "
        + "; ".join(described) + ".</p>"]
    if evaluation.upload_recipe:
        parts.append("<p class='lead'>After upload: every photo, the originals included, is "
                     f"{_e(evaluation.upload_recipe)}, then scored again; compared with the "
                     "original as saved, so the originals' after-upload row is what uploading "
                     "alone does.</p>")
    else:
        parts.append("<p class='lead'>After upload: not simulated in this evaluation.</p>")
    return "\n".join(parts)


def _number(value) -> str:
    return "" if value is None or not math.isfinite(value) else repr(float(value))


def summary_table(evaluation: Evaluation) -> str:
    columns = shown_columns(evaluation.summary)
    best = {(a.name, c.key): best_value([r for r in evaluation.summary if r.attacker == a.name], c)
            for a in evaluation.attackers for c in columns}
    out = ["<table class='summary' id='summary'><thead><tr>",
           "<th class='text' onclick='sortTable(this)'>Run</th>",
           "<th class='text' onclick='sortTable(this)'>Attacker</th>"]
    out += [f"<th onclick='sortTable(this)' title='{_e(c.description)}'>{_e(c.header)}</th>"
            for c in columns]
    out.append("</tr></thead><tbody>")
    for row in evaluation.summary:
        role = ("" if row.trained_against is None else
                "<span class='tag trained'>trained against</span>" if row.trained_against else
                "<span class='tag unseen'>unseen</span>")
        cls = " class='original'" if row.run == ORIGINAL else ""
        out.append(f"<tr{cls}><td class='text' data-v='{_e(row.run)}'>{_e(row.run)}</td>"
                   f"<td class='text' data-v='{_e(row.attacker)}'>{_e(row.attacker)}{role}</td>")
        for c in columns:
            value = row.values.get(c.key)
            top = best[row.attacker, c.key]
            is_best = row.run != ORIGINAL and value is not None and value == top
            out.append(f"<td data-v='{_number(value)}'" + (" class='best'" if is_best else "")
                       + f">{_e(c.text(value))}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def photo_grid(evaluation: Evaluation, files: dict) -> str:
    """Each photo: the original and each run (thumbnail linking to the full size, each
    attacker's top-1 with marks), then a row of 100% centre crops."""
    by_run = {run: evaluation.photos_of(run) for run in evaluation.runs}
    originals = by_run[ORIGINAL]
    out = ["<p class='key'><span><span class='swatch'></span> frame: top-1 changed (first "
           "attacker)</span><span><b class='changed' style='color:#b45309'>bold label</b>: "
           "top-1 changed</span><span><span class='gone'>top-5 gone</span> the original's "
           "top-1 left the top 5</span><span>second row: centre crop at 100% "
           "(PNG)</span></p>",
           "<table class='grid' id='photos'><thead><tr>"]
    out += [f"<th>{_e(run)}</th>" for run in evaluation.runs]
    out.append("</tr></thead><tbody>")
    first = evaluation.attackers[0]
    for name, original in originals.items():
        cells, crops = [], []
        for run in evaluation.runs:
            record = by_run[run].get(name)
            if record is None:
                cells.append("<td>(missing)</td>")
                crops.append("<td></td>")
                continue
            paths = files[(run, name)]
            head = photo_marks(record, original, first)
            frame = " class='changed'" if run != ORIGINAL and head.changed else ""
            lines = [f"<div class='name'>{_e(name)} &middot; {record.size[1]}x{record.size[0]}"
                     "</div>"]
            for attacker in evaluation.attackers:
                lines.append(_verdict(attacker.name, photo_marks(record, original, attacker),
                                      run != ORIGINAL))
                uploaded = photo_marks(record, original, attacker, uploaded=True)
                if uploaded is not None:
                    lines.append(_verdict("after upload", uploaded, True))
            cells.append(f"<td><a href='{_e(paths['full'])}'><img src='{_e(paths['thumb'])}'"
                         f"{frame} alt='{_e(run)}: {_e(name)}' "
                         f"width='{record.thumbnail.shape[1]}' "
                         f"height='{record.thumbnail.shape[0]}'></a>"
                         f"<div class='verdict'>{''.join(lines)}</div></td>")
            crops.append(f"<td><img src='{_e(paths['crop'])}' alt='centre crop, {_e(run)}: "
                         f"{_e(name)}' width='{record.crop.shape[1]}' "
                         f"height='{record.crop.shape[0]}' title='centre crop at 100%'></td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("<tr class='crops'>" + "".join(crops) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _verdict(label: str, marks, compare: bool) -> str:
    changed = compare and marks.changed
    text = f"{_e(label)}: " + (f"<span class='changed'>{_e(marks.top1)}</span>" if changed
                               else _e(marks.top1))
    if compare and marks.gone:
        text += "<span class='gone'>top-5 gone</span>"
    return f"<div>{text}</div>"


def worst_list(evaluation: Evaluation) -> str:
    """Each run's worst photo by the gate's measure, those under the gate marked."""
    items = [("<li class='fails-gate'>" if w["ssimulacra2"] < gate.FLOOR else "<li>")
             + f"{_e(w['run'])}: {_e(w['name'])} ({w['ssimulacra2']:.1f})</li>"
             for w in worst_photos(evaluation)]
    if not items:
        return ""
    return ("<p class='name'>Worst photo of each run, by colour-undone SSIMULACRA2:</p>"
            "<ul class='worst'>" + "".join(items) + "</ul>")


def page(evaluation: Evaluation, files: dict) -> str:
    names = ", ".join(a.name for a in evaluation.attackers)
    return "\n".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>pp_tf evaluation: {_e(names)}</title>",
        f"<style>{CSS}</style><script>{SORT_JS}</script></head><body>",
        "<h1>pp_tf evaluation</h1>", header(evaluation),
        "<h2>Summary</h2><p class='name'>One row per run and attacker; the best protected "
        "value of each column, for each attacker, is in bold on green; click a column header "
        "to sort.</p>",
        summary_table(evaluation), worst_list(evaluation),
        "<h2>Trade-off</h2>", tradeoff_svg(evaluation),
        "<h2>Photos</h2>", photo_grid(evaluation, files),
        "</body></html>"])
