"""Reading public weight files as data, and downloading them with a hash check.

The porters in `pp_tf.models` take a flat `dict[str, np.ndarray]`; the two
readers here produce one from the published formats and stay thin:

* `read_torch_state_dict`: `.pth`/`.pth.tar` through `torch.load(weights_only=True)`
  (a restricted unpickler: a pickle carrying code is refused, never run).
* `read_keras2_h5`: Keras-2 `save_weights` HDF5 files, read with h5py as plain
  datasets by layer name (no Keras deserialisation, no Lambda layers, no code).

`download` fetches a preset's file into a cache directory and refuses it unless
its SHA-256 matches the pinned one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import shutil
import sys
import tempfile
import urllib.request
import warnings

import numpy as np


class WeightsError(Exception):
    """A weight file that cannot be used; the message names the file and the reason."""


def read_torch_state_dict(path) -> dict[str, np.ndarray]:
    """Reads a torch checkpoint as `{key: float array}`, never executing code.

    Accepts a bare state dict or a training checkpoint holding one under
    `state_dict` (CSAILVision's Places365 files), the zip and the legacy
    serialisation, Python-2 pickles (latin1), and strips the `module.` prefix
    that `DataParallel` adds. `num_batches_tracked` counters are dropped.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsError(f"{path}: no such file")
    try:
        import torch
    except ImportError:
        raise WeightsError(
            f"{path}: reading .pth files needs torch; install the extra: pip install 'pp_tf[port]'"
        ) from None
    try:
        with warnings.catch_warnings():
            # torch warns that pickle arguments are for weights_only=False, yet its
            # restricted unpickler does honour `encoding` (needed for Python-2 pickles).
            warnings.filterwarnings("ignore", message="pickle_load_args only works")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, encoding="latin1")
    except pickle.UnpicklingError as error:
        raise WeightsError(
            f"{path}: refused: the pickle holds objects other than tensors and plain "
            f"containers, which could run code (torch.load weights_only=True said: "
            f"{str(error).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise WeightsError(f"{path}: not a readable torch checkpoint ({error})") from None
    if isinstance(checkpoint, dict) and "state_dict" in checkpoint:
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(checkpoint).__name__}")
    state = {}
    for key, value in checkpoint.items():
        if key.endswith("num_batches_tracked"):
            continue
        if not hasattr(value, "detach"):
            raise WeightsError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor")
        name = key[len("module."):] if key.startswith("module.") else key
        state[name] = value.detach().cpu().float().numpy()
    return state


def read_keras2_h5(path) -> dict[str, np.ndarray]:
    """Reads a Keras-2 `save_weights` HDF5 file as `{"layer/weight": array}`.

    The weight part is the last component of the stored weight name without
    `:0` (`conv_dw_1/depthwise_kernel:0` -> `conv_dw_1/depthwise_kernel`).
    Full-model files (`model_weights` group) are read the same way.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsError(f"{path}: no such file")
    import h5py

    def text(value):
        return value.decode("utf8") if isinstance(value, bytes) else str(value)

    try:
        with h5py.File(path, "r") as handle:
            root = handle["model_weights"] if "model_weights" in handle else handle
            if "layer_names" not in root.attrs:
                raise WeightsError(f"{path}: not a Keras-2 weight file (no layer_names attribute)")
            weights = {}
            for layer in map(text, root.attrs["layer_names"]):
                group = root[layer]
                for weight_name in map(text, group.attrs.get("weight_names", [])):
                    short = weight_name.split("/")[-1].split(":")[0]
                    weights[f"{layer}/{short}"] = np.asarray(group[weight_name], dtype=np.float32)
            return weights
    except OSError as error:
        raise WeightsError(f"{path}: not a readable HDF5 file ({error})") from None


@dataclasses.dataclass(frozen=True)
class WeightPreset:
    """A published weight file: where it lives and the SHA-256 it must have."""

    url: str
    filename: str
    sha256: str | None  # None: not pinned yet; the user must pass the hash.
    licence: str = ""


def default_cache_dir() -> str:
    return os.environ.get(
        "PP_TF_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "pp_tf", "weights")
    )


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(preset: WeightPreset, cache_dir: str | None = None, sha256: str | None = None,
             timeout: float = 60.0, trust_on_first_use: bool = False) -> str:
    """Returns the local path of `preset`'s file, downloading it if needed.

    The file is fetched to a temporary name, its SHA-256 compared with the
    pinned one (or `sha256` where the preset has none), and only then renamed
    into the cache. A cached file is re-checked before use. Where no hash is
    known at all, `trust_on_first_use` accepts the first download, records its
    hash beside it (`FILE.sha256`) and holds every later use to that hash.
    """
    cache_dir = cache_dir or default_cache_dir()
    target = os.path.join(cache_dir, preset.filename)
    recorded = target + ".sha256"
    expected = (sha256 or preset.sha256 or "").lower()
    if not expected and os.path.exists(recorded):
        expected = open(recorded, encoding="ascii").read().split()[0].lower()
    if not expected and not trust_on_first_use:
        raise WeightsError(
            f"{preset.url}: no SHA-256 is pinned for {preset.filename}; pass --sha256=HASH, or "
            "--trust_on_first_use to accept and record this download's hash, or download it "
            "yourself and pass --source=FILE"
        )
    os.makedirs(cache_dir, exist_ok=True)
    if os.path.exists(target):
        if expected and sha256_of(target) == expected:
            return target
        raise WeightsError(f"{target}: cached file has the wrong or no recorded SHA-256; "
                           "delete it and retry")
    fd, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".download-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(preset.url, timeout=timeout) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        actual = sha256_of(temporary)
        if expected and actual != expected:
            raise WeightsError(
                f"{preset.url}: SHA-256 mismatch: expected {expected}, got {actual}; file discarded"
            )
        if not expected:
            print(f"warning: {preset.filename}: no pinned SHA-256; recorded this download's "
                  f"{actual} in {recorded}", file=sys.stderr)
            with open(recorded, "w", encoding="ascii") as handle:
                handle.write(f"{actual}  {preset.filename}\n")
        os.replace(temporary, target)
    except OSError as error:
        raise WeightsError(f"{preset.url}: download failed ({error})") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target
