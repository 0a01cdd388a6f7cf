"""The folder runner every batch tool shares: `protect`, `stylize` and `evaluate`.

Batch policy (BUILD_NOTES, "Batch policy"):

* every photo is tried; one that fails is named on stderr with the reason,
  recorded in `errors.json`, and the batch goes on with the others;
* outputs are planned before any work: each input maps to
  `output_dir/<stem><ext of its format>` (`image_io.output_name`); a second
  input planned onto an output of the same run (`a.gif` and `a.png` both make
  `a.png`) is an error for that input;
* an output that already exists is kept, unless `overwrite`: a re-run after an
  interruption finishes the remaining photos;
* outputs are written atomically (temporary file, then rename) without
  metadata; temporaries that a killed run left are removed at the start; an
  input is never written, and the output folder may not lie inside an input
  folder;
* at the end the run writes `errors.json` (a list of `{"file", "reason"}`) and
  a manifest `<tool>.json` (tool, settings, inputs, output_dir, written, kept,
  errors, photos), and the caller exits with
  `exit_status`: 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Callable, Iterable, Iterator

import numpy as np

from pp_tf import image_io

ERRORS_FILE = "errors.json"


@dataclasses.dataclass(frozen=True)
class Task:
    """One planned photo: where it is read from, where its output goes, in which format."""

    path: str
    output: str
    fmt: str | None  # None: the header is unreadable, and so will the photo be

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


class BatchLog:
    """What a batch did: outputs written and kept, and the files that failed, with reasons.

    `records` holds per-photo facts a tool wants in its manifest (for example
    the parameters a per-photo protection found), keyed by input file name.
    """

    def __init__(self):
        self.written: list[str] = []
        self.kept: list[str] = []
        self.errors: list[dict] = []
        self.records: dict[str, dict] = {}
        self._bar = None

    def fail(self, path: str, reason: str) -> None:
        self.errors.append({"file": os.fspath(path), "reason": reason})
        message = f"error: {path}: {reason}"
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1

    def progress(self, items: Iterable, tool: str, enabled: bool, total: int | None = None) -> Iterator:
        """`items` with a tqdm bar on stderr while `enabled`; errors print above the bar."""
        if not enabled:
            yield from items
            return
        from tqdm import tqdm

        with tqdm(items, total=total, unit="photo", desc=tool, dynamic_ncols=True,
                  file=sys.stderr) as bar:
            self._bar = bar
            try:
                yield from bar
            finally:
                self._bar = None


def describe_error(error: BaseException) -> str:
    """The reason recorded for a photo that failed."""
    if isinstance(error, image_io.ImageError):
        return error.reason
    message = getattr(error, "message", None) or str(error)  # tf.errors.OpError has .message
    return f"{type(error).__name__}: {message}"


def write_errors(folder: str, errors: list[dict]) -> str:
    path = os.path.join(folder, ERRORS_FILE)
    image_io.write_bytes_atomic(json.dumps(errors, indent=2, ensure_ascii=False).encode() + b"\n",
                                path, overwrite=True)
    return path


def write_manifest(folder: str, tool: str, settings: dict, inputs: list[str], log: BatchLog) -> str:
    """`<folder>/<tool>.json`: the settings, the inputs and what became of them."""
    manifest = {"tool": tool, "settings": settings,
                "inputs": [os.path.abspath(p) for p in inputs],
                "output_dir": os.path.abspath(folder), "written": len(log.written),
                "kept": len(log.kept), "errors": len(log.errors), "photos": log.records}
    path = os.path.join(folder, f"{tool}.json")
    image_io.write_bytes_atomic(json.dumps(manifest, indent=2, ensure_ascii=False,
                                           default=_json_default).encode() + b"\n",
                                path, overwrite=True)
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class FolderRun:
    """One folder in, one folder out, with the batch policy of the module docstring.

    Typical use::

        run = FolderRun("protect", input_dir, output_dir, overwrite=False)
        run.run_each(lambda task, photo: protect(photo))
        run.finish(settings)
        sys.exit(run.log.exit_status)

    Tools that batch photos (stylize groups photos of one size) iterate
    `run.pending()` and call `run.read` / `run.save` themselves.
    """

    def __init__(self, tool: str, input_dir: str, output_dir: str, *, overwrite: bool = False,
                 jpeg_quality: int = 95, progress: bool = True):
        self.tool = tool
        self.input_dir = input_dir
        self.output_dir = output_dir
        self.overwrite = overwrite
        self.jpeg_quality = jpeg_quality
        self.show_progress = progress
        self.log = BatchLog()
        paths = image_io.list_images(input_dir)  # raises ImageError: not a folder
        image_io.check_output_dir([input_dir], output_dir)
        os.makedirs(output_dir, exist_ok=True)
        image_io.clean_temporaries(output_dir)
        self.tasks = self._plan(paths)

    def _plan(self, paths: list[str]) -> list[Task]:
        tasks, planned = [], set()
        for path in paths:
            try:
                fmt = image_io.image_format(path)
            except image_io.ImageError:
                fmt = None  # planned by its extension; `read` names the reason it fails
            output = os.path.join(self.output_dir, image_io.output_name(path, fmt))
            if output in planned:
                self.log.fail(path, f"another photo of this run is written to {output}")
                continue
            planned.add(output)
            if os.path.lexists(output) and not self.overwrite:
                self.log.kept.append(output)
                continue
            tasks.append(Task(path, output, fmt))
        return tasks

    def pending(self) -> Iterator[Task]:
        """The planned tasks, with the progress bar."""
        return self.log.progress(self.tasks, self.tool, self.show_progress, len(self.tasks))

    def read(self, task: Task) -> np.ndarray | None:
        """The photo of `task` (RGB uint8, upright), or None after recording why not."""
        try:
            return image_io.read_image(task.path)
        except image_io.ImageError as error:
            self.log.fail(task.path, error.reason)
            return None

    def save(self, task: Task, pixels: np.ndarray, record: dict | None = None) -> bool:
        """Writes the output of `task` atomically; False after recording a failure."""
        try:
            image_io.write_image(pixels, task.output, task.fmt, overwrite=self.overwrite,
                                 protected=(task.path,), jpeg_quality=self.jpeg_quality)
        except (image_io.ImageError, OSError) as error:
            self.log.fail(task.path, describe_error(error))
            return False
        self.log.written.append(task.output)
        if record:
            self.log.records[task.name] = record
        return True

    def run_each(self, process: Callable[[Task, np.ndarray], np.ndarray | tuple]) -> BatchLog:
        """Reads, processes and saves every pending photo, one at a time.

        `process(task, photo)` returns the output photo, or `(photo, record)`
        with a dict for the manifest. Any exception fails that photo only.
        """
        for task in self.pending():
            photo = self.read(task)
            if photo is None:
                continue
            try:
                result = process(task, photo)
            except Exception as error:  # noqa: BLE001 - one bad photo must not stop the batch
                self.log.fail(task.path, describe_error(error))
                continue
            pixels, record = result if isinstance(result, tuple) else (result, None)
            self.save(task, pixels, record)
        return self.log

    def finish(self, settings: dict) -> BatchLog:
        """Writes the manifest and `errors.json`, and says how many outputs were kept."""
        if self.log.kept:
            print(f"kept {len(self.log.kept)} existing outputs (pass --overwrite to replace "
                  "them)", file=sys.stderr)
        write_manifest(self.output_dir, self.tool, settings, [self.input_dir], self.log)
        write_errors(self.output_dir, self.log.errors)
        return self.log
