"""Ghost surrogates: residual classifiers with eroded skip connections.

Li, Bai, Zhou, Xie, Zhang & Yuille, "Learning Transferable Adversarial Examples via
Ghost Networks", AAAI 2020. An attack that fits a few surrogate models fits their
quirks too, and transfers less to a model it never saw. A *ghost* of a residual network
multiplies the shortcut of each residual add by a random factor,

    y = branch + λ · shortcut,    λ ~ U[1 − ε, 1 + ε]  (the paper's ε: 0.22),

drawn afresh for every photo of every call, so each step of an attack is taken against a
new member of a family of perturbed copies of the surrogate: an ensemble for the price of
one model ("longitudinal ensemble"). The ghost shares every layer and weight with its
model; only the adds change, and with ε = 0 it is the model.

`eroded(attacker, epsilon)` builds the ghost of a Keras functional attacker
(`Attacker.model`): in each two-input `Add`, the shortcut is the input fewer layers from
the model's input (a residual branch always has layers of its own), so the ported
EfficientNet-Lites (`Add([branch, inputs])`) and ResNets (`Add([branch, shortcut])`, or
`keras.applications`' `Add([shortcut, branch])`) are eroded alike; an add of two
inputs at the same depth is not a residual add and stays as it is. Attackers without a
Keras model (a SavedModel export), Sequential ones and those without residual adds come
back unchanged, and `eroded_adds` says how many adds were eroded, for the run's record;
a subclassed Keras model, whose calls cannot be replayed, is refused with a clear error.

The factors come from a `keras.random.SeedGenerator` per ghost, as a `Dropout` layer's
do; `reseed` sets it, so an attack that reseeds from its photo's seed draws the same
ghosts for that photo in any run and any folder order.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import keras
import numpy as np

from pp_tf.attacker import Attacker


class SkipErosion(keras.layers.Layer):
    """`branch + λ · shortcut` with λ ~ U[1 − epsilon, 1 + epsilon] per example, drawn
    from `seed_generator` at every call."""

    def __init__(self, epsilon: float, seed_generator: keras.random.SeedGenerator,
                 shortcut_index: int, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.seed_generator = seed_generator
        self.shortcut_index = int(shortcut_index)

    def call(self, inputs):
        shortcut = inputs[self.shortcut_index]
        branch = inputs[1 - self.shortcut_index]
        batch = keras.ops.shape(shortcut)[0]
        factor = keras.random.uniform([batch] + [1] * (len(shortcut.shape) - 1),
                                      1.0 - self.epsilon, 1.0 + self.epsilon,
                                      seed=self.seed_generator)
        return branch + factor * shortcut

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def _ghost_model(model: keras.Model, epsilon: float,
                 seed_generator: keras.random.SeedGenerator) -> tuple[keras.Model, int]:
    """-> (the ghost of a functional `model`, sharing its layers; the number of adds eroded)."""
    depth = {}  # id of a symbolic tensor of the ghost -> layer calls from the input
    eroded = 0

    def call(layer, *args, **kwargs):
        nonlocal eroded
        inputs = keras.tree.flatten((args, kwargs))
        tensors = [t for t in inputs if isinstance(t, keras.KerasTensor)]
        level = 1 + max((depth.get(id(t), 0) for t in tensors), default=0)
        if isinstance(layer, keras.layers.Add) and len(tensors) == 2 and not kwargs:
            first, second = (depth.get(id(t), 0) for t in tensors)
            if first != second:
                eroded += 1
                layer = SkipErosion(epsilon, seed_generator, int(second < first),
                                    name=f"{layer.name}_eroded")
                args = (list(tensors),)
        outputs = layer(*args, **kwargs)
        for tensor in keras.tree.flatten(outputs):
            depth[id(tensor)] = level
        return outputs

    ghost = keras.models.clone_model(model, clone_function=lambda layer: layer,
                                     call_function=call)
    return ghost, eroded


@dataclasses.dataclass(frozen=True)
class Ghost:
    """A ghost of one attacker: `attacker` has the ghost's logits; `seed_generator` is
    None where nothing was eroded."""

    attacker: Attacker
    eroded_adds: int
    seed_generator: keras.random.SeedGenerator | None


def check_skip_erosion(epsilon: float) -> None:
    """Raises ValueError unless 0 <= `epsilon` < 1 (at 1 a shortcut could vanish)."""
    if not 0 <= epsilon < 1:
        raise ValueError(f"skip_erosion must be in [0, 1), got {epsilon}")


def eroded(attacker: Attacker, epsilon: float) -> Ghost:
    """The ghost of `attacker` with skip erosion `epsilon` (0 or no residual adds: the
    attacker itself)."""
    check_skip_erosion(epsilon)
    model = attacker.model
    # A Sequential model has no add of two tensors; a SavedModel or a function, no model.
    if epsilon == 0 or not isinstance(model, keras.Model) or isinstance(model, keras.Sequential):
        return Ghost(attacker, 0, None)
    generator = keras.random.SeedGenerator(0, name=f"{attacker.name}_ghost_seed")
    try:
        ghost, count = _ghost_model(model, epsilon, generator)
    except ValueError as error:  # a subclassed model: Keras cannot replay its calls
        raise ValueError(f"{attacker.name}: no ghost surrogate of this model ({error}); "
                         f"set skip_erosion to 0") from error
    if count == 0:
        return Ghost(attacker, 0, None)
    logits = lambda x: ghost(x, training=False)  # noqa: E731
    return Ghost(dataclasses.replace(attacker, logits=logits, model=ghost), count, generator)


def eroded_ensemble(attackers: Sequence[Attacker], epsilon: float) -> tuple[Ghost, ...]:
    return tuple(eroded(attacker, epsilon) for attacker in attackers)


def reseed(ghosts: Sequence[Ghost], seed) -> None:
    """Sets every ghost's factors to the stream of `seed` (two integers), member by member."""
    seed = np.asarray(seed, np.int64).ravel()
    for index, ghost in enumerate(ghosts):
        if ghost.seed_generator is not None:
            state = ghost.seed_generator.state
            value = np.array([seed[0] + 104729 * (index + 1), seed[1]]) % (2 ** 31)
            state.assign(value.astype(state.dtype))
