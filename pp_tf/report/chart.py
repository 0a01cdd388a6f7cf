"""The trade-off chart as inline SVG: image cost (x) against protection (y),
one point per run x attacker; trained-against attackers are filled circles,
unseen attackers hollow triangles."""

from __future__ import annotations

import dataclasses
import html
import math

from pp_tf.quality import gate
from pp_tf.results import COLUMN, ORIGINAL, Evaluation

WIDTH, HEIGHT = 760, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 20, 60
NO_COST_BAND = 70  # px right of the plot for runs without a pixel comparison (size changed)
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf")


@dataclasses.dataclass(frozen=True)
class Axes:
    x_key: str
    y_key: str
    x_label: str
    y_label: str


def axes_for(evaluation: Evaluation) -> Axes:
    """x: the worst photo's colour-undone SSIMULACRA2 when measured (the quality gate's
    measure), else NIMA change when NIMA was scored, else mean CIEDE2000; y: attacker top-1
    accuracy with labels, else gone-from-top-5."""
    rows = evaluation.summary
    measured = any(r.values.get("ssimulacra2_worst") is not None for r in rows)
    nima = any(r.values.get("nima_change") is not None for r in rows)
    x_key = "ssimulacra2_worst" if measured else "nima_change" if nima else "ciede2000"
    y_key = "top1_all" if evaluation.labelled else "gone_from_top5"
    x_label = ("Worst photo's SSIMULACRA2, colour undone (image quality: higher is better; "
               f"the gate: {gate.FLOOR:g})" if measured
               else "NIMA change from the original (image cost: more negative is worse)" if nima
               else "Mean CIEDE2000 to the original (image cost: lower is better)")
    y_label = ("Attacker top-1 accuracy (lower is better)" if evaluation.labelled
               else "Gone from top-5 (higher is better)")
    return Axes(x_key=x_key, y_key=y_key, x_label=x_label, y_label=y_label)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]


def tradeoff_svg(evaluation: Evaluation) -> str:
    axes = axes_for(evaluation)
    colour = {a.name: PALETTE[i % len(PALETTE)] for i, a in enumerate(evaluation.attackers)}
    points = [r for r in evaluation.summary if r.run != ORIGINAL
              and r.values.get(axes.y_key) is not None]
    xs = [r.values[axes.x_key] for r in points if r.values.get(axes.x_key) is not None]
    xs = [x for x in xs if math.isfinite(x)]
    if axes.x_key == "ssimulacra2_worst":
        x_low, x_high = min(xs + [gate.FLOOR]) - 10.0, 100.0
    elif axes.x_key == "nima_change":
        span = max([abs(x) for x in xs] + [0.1]) * 1.15
        x_low, x_high = -span, span
    else:
        x_low, x_high = 0.0, max(xs + [1.0]) * 1.15
    y_low, y_high = 0.0, 1.0
    plot_w = WIDTH - LEFT - RIGHT - NO_COST_BAND
    plot_h = HEIGHT - TOP - BOTTOM

    def sx(x):
        return LEFT + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y):
        return TOP + (1 - (y - y_low) / (y_high - y_low)) * plot_h

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{WIDTH}' "
           f"height='{HEIGHT}' viewBox='0 0 {WIDTH} {HEIGHT}' role='img' "
           f"aria-label='trade-off chart'>",
           f"<rect x='{LEFT}' y='{TOP}' width='{plot_w}' height='{plot_h}' fill='#fafafa' "
           "stroke='#888'/>"]
    fmt_x = COLUMN[axes.x_key].format
    for x in _ticks(x_low, x_high):
        out.append(f"<line x1='{sx(x):.1f}' y1='{TOP + plot_h}' x2='{sx(x):.1f}' "
                   f"y2='{TOP + plot_h + 5}' stroke='#888'/>"
                   f"<text x='{sx(x):.1f}' y='{TOP + plot_h + 18}' text-anchor='middle' "
                   f"font-size='11'>{html.escape(fmt_x.format(x))}</text>")
    for y in _ticks(y_low, y_high):
        out.append(f"<line x1='{LEFT - 5}' y1='{sy(y):.1f}' x2='{LEFT + plot_w}' y2='{sy(y):.1f}' "
                   f"stroke='#e4e4e4'/><text x='{LEFT - 8}' y='{sy(y) + 4:.1f}' "
                   f"text-anchor='end' font-size='11'>{y:.0%}</text>")
    band_x = LEFT + plot_w
    if axes.x_key == "ssimulacra2_worst":  # left of this line, some photo fails the gate
        out.append(f"<line class='gate' x1='{sx(gate.FLOOR):.1f}' y1='{TOP}' "
                   f"x2='{sx(gate.FLOOR):.1f}' y2='{TOP + plot_h}' stroke='#b00' "
                   f"stroke-dasharray='6 3'/><text x='{sx(gate.FLOOR) + 4:.1f}' y='{TOP + 14}' "
                   "font-size='11' fill='#b00'>quality gate</text>")
    if any(r.values.get(axes.x_key) is None for r in points):
        out.append(f"<rect x='{band_x + 6}' y='{TOP}' width='{NO_COST_BAND - 6}' "
                   f"height='{plot_h}' fill='#f0f0f0' stroke='#888'/>"
                   f"<text x='{band_x + 3 + NO_COST_BAND / 2}' y='{TOP + plot_h + 32}' "
                   "text-anchor='middle' font-size='10'>size changed:</text>"
                   f"<text x='{band_x + 3 + NO_COST_BAND / 2}' y='{TOP + plot_h + 44}' "
                   "text-anchor='middle' font-size='10'>no pixel cost</text>")
    out.append(f"<text x='{LEFT + plot_w / 2}' y='{HEIGHT - 12}' text-anchor='middle' "
               f"font-size='12'>{html.escape(axes.x_label)}</text>"
               f"<text transform='translate(16 {TOP + plot_h / 2}) rotate(-90)' "
               f"text-anchor='middle' font-size='12'>{html.escape(axes.y_label)}</text>")
    if axes.y_key == "top1_all":  # each attacker's accuracy on the originals, for reference
        for row in evaluation.summary:
            value = row.values.get(axes.y_key)
            if row.run == ORIGINAL and value is not None:
                out.append(f"<line x1='{LEFT}' y1='{sy(value):.1f}' x2='{band_x}' "
                           f"y2='{sy(value):.1f}' stroke='{colour[row.attacker]}' "
                           "stroke-dasharray='5 4'><title>originals: "
                           f"{html.escape(row.attacker)}</title></line>")
    no_cost = 0
    for row in points:
        x = row.values.get(axes.x_key)
        if x is None or not math.isfinite(x):
            px = band_x + 18 + (no_cost % 3) * 16
            no_cost += 1
        else:
            px = sx(x)
        py = sy(row.values[axes.y_key])
        c = colour[row.attacker]
        title = (f"{row.run} vs {row.attacker} "
                 f"({'trained against' if row.trained_against else 'unseen'})")
        out.append(f"<g class='point'><title>{html.escape(title)}</title>"
                   + _marker(px, py, c, bool(row.trained_against))
                   + f"<text x='{px + 8:.1f}' y='{py - 7:.1f}' font-size='11'>"
                   f"{html.escape(row.run)}</text></g>")
    out += _legend(evaluation, colour, WIDTH - RIGHT + 12)
    out.append("</svg>")
    return "".join(out)


def _marker(x: float, y: float, colour: str, trained: bool) -> str:
    if trained:
        return f"<circle cx='{x:.1f}' cy='{y:.1f}' r='6' fill='{colour}' stroke='{colour}'/>"
    return (f"<polygon points='{x:.1f},{y - 7:.1f} {x - 6.5:.1f},{y + 5:.1f} {x + 6.5:.1f},"
            f"{y + 5:.1f}' fill='white' stroke='{colour}' stroke-width='2'/>")


def _legend(evaluation: Evaluation, colour: dict, x: float) -> list[str]:
    out = [f"<text x='{x}' y='{TOP + 10}' font-size='12' font-weight='bold'>Attacker</text>"]
    y = TOP + 30
    out.append(_marker(x + 6, y - 4, "#444", True)
               + f"<text x='{x + 18}' y='{y}' font-size='11'>trained against</text>")
    y += 20
    out.append(_marker(x + 6, y - 4, "#444", False)
               + f"<text x='{x + 18}' y='{y}' font-size='11'>unseen</text>")
    for attacker in evaluation.attackers:
        y += 20
        out.append(f"<rect x='{x}' y='{y - 10}' width='12' height='12' "
                   f"fill='{colour[attacker.name]}'/><text x='{x + 18}' y='{y}' font-size='11'>"
                   f"{html.escape(attacker.name[:24])}</text>")
    return out
