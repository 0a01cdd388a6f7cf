"""What an evaluation produces: per-photo records, per run x attacker summary
rows, and the report columns.

The report columns are declared once, here, in `COLUMNS`: each names the
metric that fills it (a pure function of one run x attacker `Group`), its
header, its format and which direction is better. Every output (CSV,
Markdown, HTML, JSON) is written from this one registry, so a column cannot
drop out of one of them.

A `PhotoRecord` keeps everything the report shows of a photo (a thumbnail and
the 100% centre crop among it), so the report never decodes a photo again.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Literal, Mapping

import numpy as np

from pp_tf import labels as labels_lib, metrics
from pp_tf.quality import gate

ORIGINAL = "original"
THUMB = 200  # longest side of a thumbnail, px
CROP = 160  # side of the 100% centre crop, px (native resolution)
DETAIL_CROP = 96  # side of the 100% crops of the smoothest and most textured regions
TOP_K = 5


@dataclasses.dataclass(frozen=True)
class AttackerInfo:
    """What the report needs of an attacker: its name, classes and label space."""

    name: str
    class_names: tuple[str, ...]
    label_space: str


@dataclasses.dataclass(frozen=True)
class PhotoRecord:
    """One photo of one run, scored by every attacker.

    `probabilities` and `uploaded` map an attacker name to its softmax output
    on the photo as saved and after `evaluate.simulate_upload` (empty when the
    evaluation ran without it). `psnr`, `ssim` and `ciede2000` (mean CIEDE2000
    over the pixels) compare with the original and are None for the originals
    and for photos whose size changed (crops); so are `ssimulacra2` and `gmsd`, the
    colour-undone measures of `pp_tf.quality.measures` (what a person sees). `brisque`
    (no-reference naturalness, lower is more natural) is scored for every photo, the
    originals too, and is None only for a photo too small or flat to score.
    """

    run: str
    name: str  # the original's file name
    path: str  # the file that was scored
    size: tuple[int, int]  # height, width
    thumbnail: np.ndarray  # uint8 [h, w, 3], longest side <= THUMB
    crop: np.ndarray  # uint8, the centre CROP x CROP (or less) at native resolution
    probabilities: Mapping[str, np.ndarray]
    uploaded: Mapping[str, np.ndarray]
    nima_mean: float | None = None
    nima_std: float | None = None
    psnr: float | None = None
    ssim: float | None = None
    ciede2000: float | None = None
    ssimulacra2: float | None = None
    gmsd: float | None = None
    brisque: float | None = None
    # {"smooth", "textured"}: 100% DETAIL_CROP crops of the original's smoothest and most
    # textured regions, at the same place in every version (none when the size changed)
    detail_crops: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Group:
    """One run x one attacker: what a column's metric is computed from."""

    run: str
    attacker: AttackerInfo
    photos: tuple[PhotoRecord, ...]
    originals: Mapping[str, PhotoRecord]  # original name -> the original's record
    ground_truth: Mapping[str, int] | None = None

    def predictions(self, uploaded: bool = False) -> np.ndarray | None:
        """`[n, classes]` for the photos (None after upload when it was not simulated)."""
        source = [p.uploaded if uploaded else p.probabilities for p in self.photos]
        if any(self.attacker.name not in s for s in source):
            return None
        return np.stack([s[self.attacker.name] for s in source]) if source else None

    def reference(self) -> np.ndarray:
        """The attacker's output on each photo's original, as saved."""
        return np.stack([self.originals[p.name].probabilities[self.attacker.name]
                         for p in self.photos])


# ----------------------------------------------------------------------------- metric fills


def _accuracy(k: int, sensitive: bool = False, uploaded: bool = False):
    def fill(group: Group) -> float | None:
        if group.ground_truth is None or not group.photos:
            return None
        if sensitive and group.attacker.label_space != "places365":
            return None
        probabilities = group.predictions(uploaded)
        if probabilities is None:
            return None
        keep = [i for i, p in enumerate(group.photos) if p.name in group.ground_truth]
        if not keep:
            return None
        y = np.array([group.ground_truth[group.photos[i].name] for i in keep], np.int64)
        p = probabilities[keep]
        if sensitive:
            classes = labels_lib.mepp18_sensitive_indices()
            in_task = np.isin(y, classes)
            if not in_task.any():
                return None
            p, y = metrics.restrict(p[in_task], classes), y[in_task]
        return metrics.top_k_accuracy(p, y, k)
    return fill


def _labelled(group: Group) -> float | None:
    if group.ground_truth is None:
        return None
    return sum(p.name in group.ground_truth for p in group.photos)


def _against_original(metric: Callable[[np.ndarray, np.ndarray], float], uploaded: bool):
    """A comparison of the attacker's output with its output on the original as saved.

    As saved, the originals' row is empty (nothing to compare). After upload
    the originals' row is the baseline: what uploading alone changes.
    """
    def fill(group: Group) -> float | None:
        if not group.photos or (group.run == ORIGINAL and not uploaded):
            return None
        probabilities = group.predictions(uploaded)
        return None if probabilities is None else metric(group.reference(), probabilities)
    return fill


def _mean_of(field: str):
    def fill(group: Group) -> float | None:
        values = [getattr(p, field) for p in group.photos]
        values = [v for v in values if v is not None and math.isfinite(v)]
        return float(np.mean(values)) if values else None
    return fill


def _values_of(group: Group, field: str) -> list[float]:
    values = [getattr(p, field) for p in group.photos]
    return [v for v in values if v is not None and math.isfinite(v)]


def _median_of(field: str):
    def fill(group: Group) -> float | None:
        values = _values_of(group, field)
        return float(np.median(values)) if values else None
    return fill


def _worst_of(field: str, worst: Callable):
    def fill(group: Group) -> float | None:
        values = _values_of(group, field)
        return float(worst(values)) if values else None
    return fill


def _within_gate(group: Group) -> float | None:
    values = _values_of(group, "ssimulacra2")
    return float(np.mean(np.array(values) >= gate.FLOOR)) if values else None


def worst_photo(photos, field: str = "ssimulacra2", lowest: bool = True):
    """The record among `photos` with the worst `field` (lowest, or highest for a cost such
    as GMSD), or None when none has it."""
    scored = [p for p in photos if getattr(p, field) is not None and math.isfinite(getattr(p, field))]
    if not scored:
        return None
    return (min if lowest else max)(scored, key=lambda p: getattr(p, field))


def _nima_std(group: Group) -> float | None:
    scores = [p.nima_mean for p in group.photos if p.nima_mean is not None]
    return float(np.std(scores)) if scores else None


def _nima_change(group: Group) -> float | None:
    if group.run == ORIGINAL:
        return None
    changes = [p.nima_mean - group.originals[p.name].nima_mean for p in group.photos
               if p.nima_mean is not None and group.originals[p.name].nima_mean is not None]
    return float(np.mean(changes)) if changes else None


def _gone(original, protected):
    return metrics.original_top1_gone_from_top_k(original, protected, TOP_K)


# ----------------------------------------------------------------------------- the registry


@dataclasses.dataclass(frozen=True)
class Column:
    """One report column: `fill(group)` computes its value for a run x attacker."""

    key: str
    header: str
    format: str
    better: Literal["higher", "lower"] | None
    fill: Callable[[Group], float | None]
    description: str

    def text(self, value) -> str:
        return "" if value is None else self.format.format(value)


COLUMNS: tuple[Column, ...] = (
    Column(key="photos", header="Photos", format="{:d}", better=None,
           fill=lambda group: len(group.photos),
           description="photos scored in this run"),
    Column(key="labelled", header="Labelled", format="{:d}", better=None, fill=_labelled,
           description="photos with a ground-truth label"),
    Column(key="top1_sensitive", header="Top-1 acc. (60 cat.)", format="{:.2%}", better="lower",
           fill=_accuracy(1, sensitive=True),
           description="attacker top-1 accuracy over the 60 MEPP18 sensitive categories"),
    Column(key="top5_sensitive", header="Top-5 acc. (60 cat.)", format="{:.2%}", better="lower",
           fill=_accuracy(5, sensitive=True),
           description="attacker top-5 accuracy over the 60 MEPP18 sensitive categories"),
    Column(key="top1_all", header="Top-1 acc. (all)", format="{:.2%}", better="lower",
           fill=_accuracy(1), description="attacker top-1 accuracy over all its classes"),
    Column(key="top5_all", header="Top-5 acc. (all)", format="{:.2%}", better="lower",
           fill=_accuracy(5), description="attacker top-5 accuracy over all its classes"),
    Column(key="top1_all_upload", header="Top-1 acc. after upload", format="{:.2%}",
           better="lower", fill=_accuracy(1, uploaded=True),
           description="top-1 accuracy on the photo after the simulated upload"),
    Column(key="top5_all_upload", header="Top-5 acc. after upload", format="{:.2%}",
           better="lower", fill=_accuracy(5, uploaded=True),
           description="top-5 accuracy on the photo after the simulated upload"),
    Column(key="top1_changed", header="Top-1 changed", format="{:.2%}", better="higher",
           fill=_against_original(metrics.top1_change_rate, uploaded=False),
           description="photos whose top-1 class differs from the original's"),
    Column(key="gone_from_top5", header="Gone from top-5", format="{:.2%}", better="higher",
           fill=_against_original(_gone, uploaded=False),
           description="photos whose original top-1 class is no longer in the top 5"),
    Column(key="top1_changed_upload", header="Top-1 changed after upload", format="{:.2%}",
           better="higher", fill=_against_original(metrics.top1_change_rate, uploaded=True),
           description="as top-1 changed, on the photo after the simulated upload"),
    Column(key="gone_from_top5_upload", header="Gone from top-5 after upload", format="{:.2%}",
           better="higher", fill=_against_original(_gone, uploaded=True),
           description="as gone from top-5, on the photo after the simulated upload"),
    Column(key="psnr", header="PSNR (dB)", format="{:.2f}", better="higher",
           fill=_mean_of("psnr"), description="peak signal-to-noise ratio to the original"),
    Column(key="ssim", header="SSIM", format="{:.4f}", better="higher", fill=_mean_of("ssim"),
           description="structural similarity to the original"),
    Column(key="ciede2000", header="Mean CIEDE2000", format="{:.2f}", better="lower",
           fill=_mean_of("ciede2000"),
           description="mean colour difference to the original (about 1: just noticeable)"),
    Column(key="ssimulacra2", header="SSIMULACRA2 median", format="{:.1f}", better="higher",
           fill=_median_of("ssimulacra2"),
           description="median over the photos of SSIMULACRA2 to the original after undoing "
                       "the best global colour map, at half size (90 visually lossless, 70 high "
                       "quality, 50 medium)"),
    Column(key="ssimulacra2_worst", header="SSIMULACRA2 worst", format="{:.1f}",
           better="higher", fill=_worst_of("ssimulacra2", min),
           description="the worst photo's colour-undone SSIMULACRA2"),
    Column(key="within_gate", header="Within gate", format="{:.0%}", better="higher",
           fill=_within_gate,
           description=f"photos whose colour-undone SSIMULACRA2 is at least {gate.FLOOR:g} "
                       "(the quality gate holds when this is 100% and the median is at least "
                       f"{gate.DEFAULT:g})"),
    Column(key="gmsd", header="GMSD median", format="{:.4f}", better="lower",
           fill=_median_of("gmsd"),
           description="median colour-undone GMSD at half size (0: structure kept)"),
    Column(key="gmsd_worst", header="GMSD worst", format="{:.4f}", better="lower",
           fill=_worst_of("gmsd", max), description="the worst photo's colour-undone GMSD"),
    Column(key="brisque", header="BRISQUE median", format="{:.1f}", better="lower",
           fill=_median_of("brisque"),
           description="median no-reference naturalness (BRISQUE, LIVE model) at the photo's "
                       "own resolution: about 20 for the bundled photos, higher with noise, "
                       "blur, blocking and banding; the originals have their own"),
    Column(key="brisque_worst", header="BRISQUE worst", format="{:.1f}", better="lower",
           fill=_worst_of("brisque", max), description="the least natural photo's BRISQUE"),
    Column(key="nima_mean", header="NIMA mean", format="{:.3f}", better="higher",
           fill=_mean_of("nima_mean"), description="mean NIMA aesthetic score (1-10)"),
    Column(key="nima_std", header="NIMA std", format="{:.3f}", better=None, fill=_nima_std,
           description="spread of the NIMA score over the photos"),
    Column(key="nima_change", header="NIMA change", format="{:+.3f}", better="higher",
           fill=_nima_change, description="mean NIMA score change from the original"),
)
COLUMN = {column.key: column for column in COLUMNS}
assert len(COLUMN) == len(COLUMNS), "column keys must be distinct"


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """One run x attacker. `trained_against` is None for the originals."""

    run: str
    attacker: str
    trained_against: bool | None
    values: Mapping[str, float | int | None]

    def to_dict(self) -> dict:
        return {"run": self.run, "attacker": self.attacker,
                "trained_against": self.trained_against,
                **{column.key: self.values.get(column.key) for column in COLUMNS}}


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Everything an evaluation found; `paths` is filled once the report is written."""

    attackers: tuple[AttackerInfo, ...]
    runs: tuple[str, ...]  # ORIGINAL first
    photos: tuple[PhotoRecord, ...]  # by run, then in the originals' order
    summary: tuple[SummaryRow, ...]  # by attacker, then by run
    trained_against: Mapping[str, tuple[str, ...]]  # run -> attacker names it was made against
    errors: tuple[dict, ...]  # {"file", "reason"}
    upload_recipe: str | None  # None: evaluated without the simulated upload
    labelled: bool
    paths: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def exit_status(self) -> int:
        return 1 if self.errors else 0

    def photos_of(self, run: str) -> dict[str, PhotoRecord]:
        return {p.name: p for p in self.photos if p.run == run}


def is_trained_against(run: str, attacker: str,
                       trained_against: Mapping[str, tuple[str, ...]]) -> bool | None:
    return None if run == ORIGINAL else attacker in trained_against.get(run, ())


def summarise(photos, attackers, runs, ground_truth=None,
              trained_against: Mapping[str, tuple[str, ...]] | None = None,
              labels_space: str = "places365") -> tuple[SummaryRow, ...]:
    """One row per attacker x run (the originals first), every column filled. The
    `ground_truth` labels are class indices of `labels_space`: an attacker of another
    label space gets no accuracy columns (its class indices mean other classes)."""
    trained_against = trained_against or {}
    originals = {p.name: p for p in photos if p.run == ORIGINAL}
    rows = []
    for attacker in attackers:
        labelled = ground_truth if attacker.label_space == labels_space else None
        for run in runs:
            group = Group(run=run, attacker=attacker,
                          photos=tuple(p for p in photos if p.run == run),
                          originals=originals, ground_truth=labelled)
            rows.append(SummaryRow(run=run, attacker=attacker.name,
                                   trained_against=is_trained_against(run, attacker.name,
                                                                      trained_against),
                                   values={c.key: c.fill(group) for c in COLUMNS}))
    return tuple(rows)


def best_value(rows, column: Column):
    """The best value of a column over the protected runs (None if it has no direction)."""
    values = [row.values.get(column.key) for row in rows if row.run != ORIGINAL]
    values = [v for v in values if v is not None and math.isfinite(v)]
    if column.better is None or not values:
        return None
    return max(values) if column.better == "higher" else min(values)


def shown_columns(rows) -> tuple[Column, ...]:
    """The columns with a value in some row (Markdown and HTML; the CSV has them all)."""
    return tuple(c for c in COLUMNS if any(row.values.get(c.key) is not None for row in rows))


@dataclasses.dataclass(frozen=True)
class Marks:
    """How one photo fared against one attacker, compared with its original as saved."""

    top1: str
    changed: bool  # the top-1 class differs from the original's
    gone: bool  # the original's top-1 class left the top 5


def photo_marks(record: PhotoRecord, original: PhotoRecord, attacker: AttackerInfo,
                uploaded: bool = False) -> Marks | None:
    source = record.uploaded if uploaded else record.probabilities
    if attacker.name not in source:
        return None
    probabilities = source[attacker.name][None]
    before = original.probabilities[attacker.name][None]
    changed, gone = metrics.photo_verdict(before, probabilities, TOP_K)
    return Marks(top1=attacker.class_names[int(probabilities.argmax())], changed=changed,
                 gone=gone)


def top_labels(probabilities: np.ndarray, class_names, k: int = 3) -> list[tuple[str, float]]:
    order = metrics.top_k(np.asarray(probabilities)[None], k)[0]
    return [(class_names[i], float(probabilities[i])) for i in order]
