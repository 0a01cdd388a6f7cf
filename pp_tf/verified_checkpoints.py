"""A folder of numbered checkpoints that are written atomically and verified on restore.

A checkpoint is the files ``<folder>/<name>-<step>.*`` (whatever the writer makes:
a `tf.train.Checkpoint`'s index and data shards, an ``.npz``) plus its manifest
``<name>-<step>.manifest.json``, written atomically after them: the SHA-256 and
size of each file, and a record (the run's settings, changes accepted on
purpose, per-worker positions). So:

* a checkpoint without a manifest is incomplete (the writer was killed or
  failed) and is never restored; a failed write raises `CheckpointWriteError`,
  removes its partial files and leaves the earlier checkpoints as they were;
* `restore_candidates` verifies every file against the manifest and names
  each corrupted or truncated checkpoint; the run falls back to the newest
  valid one (at least two are kept);
* `resume_point` is where a run (a UAP, a GAN) starts: from scratch, from the
  newest valid checkpoint whose settings match the new ones, or refused.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import re

from absl import logging

from pp_tf import image_io, run_settings

MANIFEST = ".manifest.json"


class CheckpointError(RuntimeError):
    """A checkpoint cannot be written, or no valid one can be restored."""


class CheckpointWriteError(CheckpointError):
    """Writing a checkpoint failed; the earlier checkpoints are intact."""


class RunExistsError(CheckpointError, FileExistsError):
    """An earlier run left checkpoints (or its result) where a new run without `resume`
    would write."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """A complete, verified checkpoint."""

    step: int
    prefix: str  # what the writer was given: <folder>/<name>-<step>
    record: dict


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CheckpointFolder:
    """Numbered checkpoints in `folder`; the newest `keep` (at least 2) are kept."""

    def __init__(self, folder: str, keep: int = 3, name: str = "ckpt"):
        self.folder = folder
        self.keep = max(int(keep), 2)
        self.name = name
        self._pattern = re.compile(re.escape(name) + r"-(\d+)" + re.escape(MANIFEST) + "$")

    def prefix(self, step: int) -> str:
        return os.path.join(self.folder, f"{self.name}-{step}")

    def _files(self, step: int) -> list[str]:
        prefix = self.prefix(step)
        return sorted(p for p in glob.glob(glob.escape(prefix) + ".*") if not p.endswith(MANIFEST)
                      and os.path.isfile(p))

    def steps(self) -> list[int]:
        """Steps that have a manifest, newest first (not yet verified)."""
        if not os.path.isdir(self.folder):
            return []
        found = (self._pattern.match(entry) for entry in os.listdir(self.folder))
        return sorted((int(m.group(1)) for m in found if m), reverse=True)

    def holds_anything(self) -> bool:
        """Whether an earlier run left checkpoints (complete or not) here."""
        return bool(os.path.isdir(self.folder)
                    and glob.glob(os.path.join(glob.escape(self.folder), f"{self.name}-*")))

    def save(self, step: int, write, record: dict) -> Entry:
        """`write(prefix)` writes the checkpoint's files; then their manifest is written.

        Raises:
            CheckpointWriteError: the writer, a file or the manifest failed
                (e.g. ENOSPC); the partial files are removed.
        """
        os.makedirs(self.folder, exist_ok=True)
        prefix = self.prefix(step)
        manifest = prefix + MANIFEST
        for stale in self._files(step) + ([manifest] if os.path.exists(manifest) else []):
            os.unlink(stale)  # an earlier write of this step that never completed
        try:
            write(prefix)
            files = self._files(step)
            if not files:
                raise OSError(f"the writer left no files named {os.path.basename(prefix)}.*")
            content = {"step": step, "record": record,
                       "files": {os.path.basename(p): {"bytes": os.path.getsize(p),
                                                       "sha256": _sha256(p)} for p in files}}
            image_io.write_bytes_atomic(json.dumps(content, indent=1).encode(), manifest,
                                        overwrite=True)
        except Exception as error:  # noqa: BLE001 - OSError, tf.errors.OpError, ImageError
            for partial in self._files(step):
                try:
                    os.unlink(partial)
                except OSError:
                    pass
            previous = next((s for s in self.steps() if s != step), None)
            kept = (f"the previous checkpoint {os.path.basename(self.prefix(previous))} is intact"
                    if previous is not None else "there is no earlier checkpoint")
            raise CheckpointWriteError(
                f"{prefix}: writing the checkpoint of step {step} failed "
                f"({type(error).__name__}: {error}); {kept}: free the space (or fix the folder) "
                "and rerun with --resume") from None
        self._prune()
        return Entry(step, prefix, record)

    def _prune(self) -> None:
        for step in self.steps()[self.keep:]:
            os.unlink(self.prefix(step) + MANIFEST)  # first: the checkpoint stops counting
            for path in self._files(step):
                os.unlink(path)

    def verify(self, step: int) -> tuple[Entry | None, str | None]:
        """The checkpoint of `step` if its files match the manifest, else the reason why not."""
        prefix = self.prefix(step)
        try:
            with open(prefix + MANIFEST, "rb") as handle:
                content = json.loads(handle.read())
            expected = content["files"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            return None, f"{prefix + MANIFEST}: unreadable manifest ({error})"
        for name, facts in sorted(expected.items()):
            path = os.path.join(self.folder, name)
            if not os.path.isfile(path):
                return None, f"{path}: missing"
            size = os.path.getsize(path)
            if size != facts["bytes"]:
                return None, (f"{path}: {size} bytes, the manifest says {facts['bytes']} "
                              "(truncated?)")
            if _sha256(path) != facts["sha256"]:
                return None, f"{path}: SHA-256 differs from the manifest (corrupted)"
        return Entry(int(content["step"]), prefix, content.get("record", {})), None

    def restore_candidates(self) -> tuple[list[Entry], list[str]]:
        """The valid checkpoints newest first, and a line naming each invalid one."""
        valid, problems = [], []
        for step in self.steps():
            entry, problem = self.verify(step)
            if entry is None:
                logging.warning("skipping checkpoint %s: %s", self.prefix(step), problem)
                problems.append(problem)
            else:
                valid.append(entry)
        return valid, problems


@dataclasses.dataclass(frozen=True)
class ResumePoint:
    """Where a run starts: `entry` (None: from scratch), the changes accepted on purpose
    (earlier ones first) and a line naming each checkpoint that did not verify;
    `finished`: the run already completed with these settings (nothing to do)."""

    entry: Entry | None
    changes: list
    skipped: list
    finished: bool = False


def resume_point(folder: CheckpointFolder, resume: bool, settings: dict, *, free=frozenset(),
                 allow_changed=(), finished=None, choose=None,
                 old_defaults: dict | None = None) -> ResumePoint:
    """The point a run with `settings` starts from, by one rule for every kind of run.

    Without `resume`, a folder that holds checkpoints is refused (`RunExistsError`). With
    it, the newest valid checkpoint is taken (`choose(valid)` may pick another, e.g. the
    newest that every worker holds), and its recorded settings are compared with
    `settings` by `run_settings.compare` (`free` may differ; `allow_changed` names changes
    accepted on purpose); `old_defaults` fills settings that older checkpoints did not
    record (a setting added since then is taken to be at its default). `finished()`
    returns the record a completed run left, `{"settings", "where"}`, or None; it is read
    only when there is no checkpoint to resume (the run's checkpoints are removed when it
    finishes). A resume onto a finished run with other settings is refused rather than
    replacing its result; with the same settings there is nothing to do
    (`ResumePoint.finished`).

    Raises:
        RunExistsError: checkpoints exist and `resume` is False.
        CheckpointError: `resume` finds checkpoints but none valid.
        pp_tf.run_settings.SettingsChangedError: a setting changed that changes the result.
    """
    allowed = run_settings.parse_allowed(allow_changed)
    if not resume:
        if folder.holds_anything():
            raise RunExistsError(f"{folder.folder} holds checkpoints of an earlier run: pass "
                                 "--resume to continue it, or write elsewhere")
        return ResumePoint(None, [], [])
    valid, skipped = folder.restore_candidates()
    entry = (choose or (lambda entries: entries[0] if entries else None))(valid)
    if entry is None:
        if folder.holds_anything():
            details = "; ".join(skipped) or "no complete checkpoint (no manifest written)"
            raise CheckpointError(f"{folder.folder}: no valid checkpoint to resume from "
                                  f"({details})")
        record = finished() if finished else None
        if record is None:
            return ResumePoint(None, [], skipped)
        old = {**(old_defaults or {}), **record.get("settings", {})}
        changed = run_settings.differences(old, settings, free)
        if changed:
            raise run_settings.SettingsChangedError(
                f"{record.get('where', 'the finished run')}: --resume onto a finished run with "
                f"other settings:\n{run_settings.show_differences(old, settings, changed)}\n"
                "Its checkpoints are gone, so it cannot go on with them: write the new run "
                "elsewhere (or rerun without --resume to replace it)")
        return ResumePoint(None, [], skipped, finished=True)
    for problem in skipped:
        logging.warning("--resume: %s", problem)
    changes = entry.record.get("changes", []) + run_settings.compare(
        {**(old_defaults or {}), **entry.record.get("settings", {})}, settings, free=free,
        allowed=allowed, where=entry.prefix, step=entry.step)
    return ResumePoint(entry, changes, skipped)
