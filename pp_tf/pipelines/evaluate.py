"""`evaluate` for an archive, as an Apache Beam pipeline: how often each attacker still
sees what the originals showed, and what a person sees of the change.

    MatchFiles(input) -> ScorePair -> photos.jsonl
                                   -> Summary (one CombineFn) -> evaluation.json
                                   -> failed.jsonl

Each original is paired with its protected copy in `protected_dir` by the name `protect`
gives it (`image_io.output_name`). Per photo (`photos.jsonl`): the colour-undone
SSIMULACRA2 and GMSD of the copy, and per attacker whether the original's top-1 changed,
and whether it is gone from the top 5, as saved and after a simulated upload
(`pp_tf.evaluate.simulate_upload`). `evaluation.json` aggregates them per attacker
(shares of photos) with the median and worst SSIMULACRA2 and the share within the gate.
The attackers are loaded once per worker (`shared.Shared`). A photo that cannot be read,
or has no protected copy, goes to `failed.jsonl` with its reason.
"""

from __future__ import annotations

import dataclasses
import json

import apache_beam as beam
import numpy as np
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.utils import shared

from pp_tf import batch, image_io, models
from pp_tf.pipelines import files

PHOTOS = "photos.jsonl"
SUMMARY = "evaluation.json"
MEASURES = ("top1_changed", "gone_from_top5", "top1_changed_upload", "gone_from_top5_upload")
# (the keys of the same columns in the report, `pp_tf.results.COLUMNS`)


@dataclasses.dataclass(frozen=True)
class ArchiveEvaluation:
    """Attributes:
        input_dir: the originals: a folder or a glob, on any Beam filesystem.
        protected_dir: the folder of their protected copies.
        output_dir: where photos.jsonl, evaluation.json and failed.jsonl go.
        attacker: attacker specs, separated by commas (`pp_tf.attacker.load_attackers`).
        max_pixels: larger photos fail (decompression bombs).
    """

    input_dir: str
    protected_dir: str
    output_dir: str
    attacker: str = models.EVALUATED_ATTACKERS
    max_pixels: int = image_io.DEFAULT_MAX_PIXELS


class _Attackers:
    def __init__(self, spec: str):
        from pp_tf.attacker import load_attackers

        self.attackers = load_attackers(spec)


def _read(path: str, max_pixels: int):
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        data = handle.read()
    return image_io.decode_image(data, path, max_pixels), image_io.bytes_format(data)


class ScorePair(beam.DoFn):
    """An original's path -> its record, or a dead letter (`failed` output)."""

    def __init__(self, config: ArchiveEvaluation):
        self._config = config
        self._shared = shared.Shared()
        self._attackers = ()

    def setup(self):
        spec = self._config.attacker
        self._attackers = self._shared.acquire(lambda: _Attackers(spec), tag=spec).attackers

    def process(self, path: str):
        from pp_tf import metrics
        from pp_tf.evaluate import simulate_upload
        from pp_tf.quality import measures

        config = self._config
        try:
            original, fmt = _read(path, config.max_pixels)
            copy = FileSystems.join(config.protected_dir, image_io.output_name(path, fmt))
            if not FileSystems.exists(copy):
                raise image_io.ImageError(path, f"no protected copy ({copy})")
            protected, _ = _read(copy, config.max_pixels)
            quality = measures.photo_quality(original, protected)
            naturalness = measures.naturalness(protected)
            uploaded = simulate_upload(protected)
            scores = {}
            for attacker in self._attackers:
                before, after, after_upload = (
                    attacker.predict(attacker.view(photo[None]).numpy())
                    for photo in (original, protected, uploaded))
                (changed, gone), (changed_upload, gone_upload) = (
                    metrics.photo_verdict(before, photo) for photo in (after, after_upload))
                scores[attacker.name] = {
                    "top1_changed": bool(changed), "gone_from_top5": bool(gone),
                    "top1_changed_upload": bool(changed_upload),
                    "gone_from_top5_upload": bool(gone_upload)}
        except Exception as error:
            yield beam.pvalue.TaggedOutput(
                files.FAILED_TAG, {"file": path, "reason": batch.describe_error(error)})
            return
        yield {"file": path, "protected": copy,
               "ssimulacra2": None if quality is None else round(quality.ssimulacra2, 2),
               "gmsd": None if quality is None else round(quality.gmsd, 5),
               "brisque": None if naturalness is None else round(naturalness, 2),
               "attackers": scores}


class Summary(beam.CombineFn):
    """Photo records -> `evaluation.json`: per attacker, the share of photos for each of
    `MEASURES`; the median and worst SSIMULACRA2 and the share within the quality gate; the
    median and worst BRISQUE. The scores are kept as lists (8 bytes a photo each: 80 MB for
    ten million photos)."""

    def create_accumulator(self):
        return {"photos": 0, "counts": {}, "ssimulacra2": [], "brisque": []}

    def add_input(self, accumulator, record):
        accumulator["photos"] += 1
        for name, scores in record["attackers"].items():
            counts = accumulator["counts"].setdefault(name, dict.fromkeys(MEASURES, 0))
            for measure in MEASURES:
                counts[measure] += int(scores[measure])
        for measure in ("ssimulacra2", "brisque"):
            if record[measure] is not None:
                accumulator[measure].append(record[measure])
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for accumulator in accumulators:
            merged["photos"] += accumulator["photos"]
            merged["ssimulacra2"] += accumulator["ssimulacra2"]
            merged["brisque"] += accumulator["brisque"]
            for name, counts in accumulator["counts"].items():
                total = merged["counts"].setdefault(name, dict.fromkeys(MEASURES, 0))
                for measure in MEASURES:
                    total[measure] += counts[measure]
        return merged

    def extract_output(self, accumulator):
        from pp_tf.quality import gate

        photos, scores = accumulator["photos"], np.array(accumulator["ssimulacra2"])
        naturalness = np.array(accumulator["brisque"])
        return {
            "photos": photos,
            "attackers": {name: {measure: count / photos for measure, count in counts.items()}
                          for name, counts in sorted(accumulator["counts"].items())},
            "ssimulacra2_median": float(np.median(scores)) if scores.size else None,
            "ssimulacra2_worst": float(scores.min()) if scores.size else None,
            "within_gate": float((scores >= gate.FLOOR).mean()) if scores.size else None,
            "brisque_median": float(np.median(naturalness)) if naturalness.size else None,
            "brisque_worst": float(naturalness.max()) if naturalness.size else None,
        }


def build(pipeline, config: ArchiveEvaluation):
    """Adds the evaluate pipeline to `pipeline`."""
    scored = (pipeline
              | "Match" >> fileio.MatchFiles(files.input_pattern(config.input_dir),
                                             empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
              | "Paths" >> beam.Map(lambda metadata: metadata.path)
              | "Spread" >> beam.Reshuffle()
              | "Score" >> beam.ParDo(ScorePair(config)).with_outputs(files.FAILED_TAG, main="records"))
    summary_path = FileSystems.join(config.output_dir, SUMMARY)
    (scored.records
     | "Summarise" >> beam.CombineGlobally(Summary())
     | "WriteSummary" >> beam.Map(lambda summary: files.write_atomic(
         (json.dumps(summary, indent=2) + "\n").encode(), summary_path)))
    files.write_json_lines(scored.records, config.output_dir, PHOTOS, "Photos")
    files.write_json_lines(scored[files.FAILED_TAG], config.output_dir, files.FAILED, "Failed")


def run(config: ArchiveEvaluation, beam_args=()) -> dict:
    """Runs the pipeline to the end; returns the summary, with the dead letters under
    `failed`."""
    files.prepare_output_dir(config.output_dir)
    with beam.Pipeline(options=PipelineOptions(list(beam_args))) as pipeline:
        build(pipeline, config)
    with FileSystems.open(FileSystems.join(config.output_dir, SUMMARY)) as handle:
        summary = json.loads(handle.read())
    return {**summary,
            "failed": files.read_json_lines(FileSystems.join(config.output_dir, files.FAILED))}
