"""A stylizer's functions: a `port_weights` SavedModel or an architecture with its
published weights, in a compute precision and with Winograd or TensorFlow's own 3x3
convolutions (`load_generator`)."""

from __future__ import annotations

import logging
import os
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from pp_tf import deprecation, seamless, winograd
from pp_tf.gan.precision import check_precision, policy_scope

# float32 RGB in [-1, 1], [batch, height, width, 3] -> the same, of the same size
Generate = Callable[[np.ndarray], np.ndarray]


class Generator:
    """A stylizer's functions (float32 RGB in [-1, 1], NHWC).

    Calling it is `generate` (a `Generate`). `stages` describe its
    `run_stage` function (`pp_tf.export.StylizerModule`), or are None for an
    export that lacks it; then large photos fall back to blended tiles.
    """

    def __init__(self, generate, run_stage=None, stages=None, keep=None):
        self._generate = generate
        self._run_stage = run_stage
        self.stages = stages
        self.keep = keep  # the module or SavedModel holding the variables

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._generate(images=tf.constant(images, tf.float32))["images"].numpy()

    @property
    def seamless(self) -> bool:
        return self.stages is not None

    def run_stage(self, images, branch, means, variances, window) -> dict[str, np.ndarray]:
        outputs = self._run_stage(
            images=tf.constant(images, tf.float32), branch=tf.constant(branch, tf.int32),
            means=tf.constant(means, tf.float32), variances=tf.constant(variances, tf.float32),
            window=tf.constant(window, tf.int32))
        return {key: value.numpy() for key, value in outputs.items()}

    @classmethod
    def from_module(cls, module) -> "Generator":
        """From a `StylizerModule` or a loaded stylizer SavedModel."""
        signatures = module.signatures
        if callable(signatures):  # a StylizerModule: signatures() is a method
            signatures = signatures()
        if "generate" not in signatures:
            raise ValueError(f"not a stylizer (no 'generate' signature; it has "
                             f"{sorted(signatures)})")
        if not hasattr(module, "run_stage"):
            return cls(signatures["generate"], keep=module)
        stages = seamless.stages_from_table(module.stage_table.numpy().tolist(),
                                            module.norm_channels.numpy())
        return cls(signatures["generate"], module.run_stage, stages, module)


CONVOLUTIONS = ("auto", "winograd", "direct")
PRECISION_HELP = ("With an architecture name: compute in float32, mixed_bfloat16 (about 1.6x "
                  "faster on CPUs with AVX512-BF16, a few grey levels off float32) or "
                  "mixed_float16 (GPUs); bfloat16 is the deprecated spelling of "
                  "mixed_bfloat16.")


def _resolve(convolutions: str) -> str:
    """`winograd` or `direct` for a `convolutions` setting (`auto`: Winograd without a GPU)."""
    if convolutions not in CONVOLUTIONS:
        raise ValueError(f"convolutions must be one of {CONVOLUTIONS}, got {convolutions!r}")
    if convolutions == "auto":
        return "direct" if tf.config.list_physical_devices("GPU") else "winograd"
    return convolutions


def rebuild_saved_generator(folder: str) -> tuple[keras.Model, str] | None:
    """(the Keras generator, its channel order) inside a stylizer SavedModel, or None.

    A `port_weights` export holds its generator's variables under `model/`,
    in the layout of the architecture's builder: the generator is rebuilt by
    the stylizer architecture whose variables are the same in number and
    shape, and restored from the folder. None when no architecture fits (a
    generator trained with other widths, or an older layout).
    """
    from pp_tf import models

    checkpoint = os.path.join(folder, "variables", "variables")
    try:
        saved = [name for name, _ in tf.train.list_variables(checkpoint)
                 if name.startswith("model/")]
        channel_order = tf.train.load_variable(
            checkpoint, "channel_order/.ATTRIBUTES/VARIABLE_VALUE").decode()
    except (tf.errors.OpError, ValueError):
        return None
    for arch in models.ARCHITECTURES.values():
        if arch.kind != "stylizer" or arch.channel_order != channel_order:
            continue
        model = arch.build()
        if len(model.weights) != len(saved):
            continue
        try:
            tf.train.Checkpoint(model=model).read(checkpoint).assert_existing_objects_matched()
        except (AssertionError, ValueError):
            continue
        return model, channel_order
    return None


def build_generator_model(build: Callable[[], keras.Model], precision: str = "float32",
                          convolutions: str = "auto"):
    """`build()` under a compute precision, with its 3x3 convolutions for inference.

    Args:
        build: returns the generator, weights loaded.
        precision: float32, or a mixed policy (`pp_tf.gan.precision`: variables and
            instance norms stay float32; the output is in the compute dtype, so cast it).
        convolutions: `winograd` computes the float32 3x3 stride-1 convolutions
            of 128 channels or more (the residual blocks) by Winograd F(4, 3)
            (`pp_tf.winograd`: about 1.6x faster generators on a CPU, within a
            grey level); `direct` keeps
            TensorFlow's; `auto` is `winograd` unless a GPU is visible (cuDNN
            picks its own algorithms there). Mixed-precision layers stay direct.
    """
    precision = check_precision(precision, stacklevel=2)  # the caller's line
    convolutions = _resolve(convolutions)
    with policy_scope(precision):
        model = build()
    return winograd.for_inference(model) if convolutions == "winograd" else model


def load_generator(generator: str, weights: str | None = None,
                   precision: str = "float32", convolutions: str = "auto") -> Generator:
    """The functions of a port_weights SavedModel folder or of an architecture.

    Args:
        generator: a SavedModel folder written by `port_weights` for a stylizer
            architecture, or the name of one (`cyclegan_resnet9`, `cartoongan`).
        weights: with an architecture name, its published weight file.
        precision: with an architecture name, `float32`, `mixed_bfloat16`
            (convolutions in bfloat16, norms and outputs in float32: about
            1.6x faster on a CPU with AVX512-BF16, within a few grey levels;
            BUILD_NOTES) or `mixed_float16` (for GPUs). A SavedModel runs in the
            precision it was saved in.
        convolutions: `auto`, `winograd` or `direct` (`build_generator_model`).
            With Winograd, a SavedModel folder written by `port_weights` is
            rebuilt by its architecture and restored from the folder
            (`rebuild_saved_generator`); other SavedModels run as saved
            (`auto`) or are refused (`winograd`).
    """
    from pp_tf.export import StylizerModule

    precision = check_precision(precision, stacklevel=2)  # the caller's line
    if os.path.isdir(generator):
        if weights:
            raise ValueError("--weights goes with an architecture name, not a SavedModel folder")
        if precision != "float32":
            raise ValueError("--precision goes with an architecture name; a SavedModel runs "
                             "in the precision it was saved in")
        if _resolve(convolutions) == "winograd":
            rebuilt = rebuild_saved_generator(generator)
            if rebuilt:
                model, channel_order = rebuilt
                return Generator.from_module(
                    StylizerModule(winograd.for_inference(model), channel_order))
            if convolutions == "winograd":
                raise ValueError(f"{generator}: not the export of a stylizer architecture, so "
                                 "its convolutions cannot be swapped; use --convolutions=auto "
                                 "or direct")
            logging.info("%s: not a stylizer architecture's export; direct convolutions",
                         generator)
        loaded = tf.saved_model.load(generator)
        try:
            return Generator.from_module(loaded)
        except ValueError as error:
            raise ValueError(f"{generator}: {error}") from None

    from pp_tf import models

    arch = models.get(generator)
    if arch.kind != "stylizer":
        raise ValueError(f"{generator} is a {arch.kind}, not a stylizer")
    if not weights:
        raise ValueError(f"{generator}: pass its weight file with --weights=FILE "
                         f"(published at {arch.preset.url if arch.preset else 'its source'})")
    model = build_generator_model(lambda: models.build_ported(generator, weights), precision,
                                  convolutions)
    return Generator.from_module(StylizerModule(model, arch.channel_order))


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [-1, 1]."""
    return pixels.astype(np.float32) / 127.5 - 1.0


def to_uint8(values: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> uint8, rounded and clipped."""
    return np.clip(np.round((values + 1.0) * 127.5), 0, 255).astype(np.uint8)

# The precision vocabulary is one, `pp_tf.gan.precision`'s.
__getattr__ = deprecation.moved(__name__, deprecation.names_in("pp_tf.gan.precision",
                                                               ("Precision", "PRECISIONS")))
