"""Shared mechanics of the porters: torch layouts to Keras layouts, by layer type.

A porter walks its Keras model, names the source key of every layer that has
weights, and lets `assign_torch_layer` transpose and check them. Whatever is
left in the state dict afterwards is an error: a port that silently ignores a
tensor is a wrong port.
"""

from __future__ import annotations

import keras
import numpy as np

from pp_tf.weights import WeightsError


def take(state: dict, key: str, shape=None) -> np.ndarray:
    """Pops `state[key]`, checking its shape when one is given."""
    if key not in state:
        raise WeightsError(f"missing weight {key!r}")
    value = state.pop(key)
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise WeightsError(f"weight {key!r} has shape {value.shape}, expected {tuple(shape)}")
    return value


def torch_layer_weights(layer, state: dict, prefix: str) -> list[np.ndarray]:
    """The Keras weights of `layer` from the torch tensors under `prefix`."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        # torch [channels, 1, kh, kw] -> Keras [kh, kw, channels, 1]
        weights = [take(state, prefix + ".weight").transpose(2, 3, 0, 1)]
    elif isinstance(layer, keras.layers.Conv2DTranspose):
        # torch [in, out, kh, kw] -> Keras [kh, kw, out, in]
        weights = [take(state, prefix + ".weight").transpose(2, 3, 1, 0)]
    elif isinstance(layer, keras.layers.Conv2D):
        # torch [out, in, kh, kw] -> Keras [kh, kw, in, out]
        weights = [take(state, prefix + ".weight").transpose(2, 3, 1, 0)]
    elif isinstance(layer, keras.layers.Dense):
        weights = [take(state, prefix + ".weight").T]
    elif isinstance(layer, keras.layers.BatchNormalization):
        return [take(state, f"{prefix}.{name}") for name in
                ("weight", "bias", "running_mean", "running_var")]
    elif isinstance(layer, keras.layers.GroupNormalization):
        return [take(state, f"{prefix}.{name}") for name in ("weight", "bias")]
    else:
        raise WeightsError(f"no torch mapping for layer {layer.name} ({type(layer).__name__})")
    if getattr(layer, "use_bias", False):
        weights.append(take(state, prefix + ".bias"))
    return weights


def set_checked(layer, weights: list[np.ndarray]) -> None:
    expected = [tuple(w.shape) for w in layer.get_weights()]
    found = [tuple(w.shape) for w in weights]
    if expected != found:
        raise WeightsError(f"layer {layer.name}: weight shapes {found}, expected {expected}")
    layer.set_weights(weights)


def port_torch_state(model: keras.Model, state: dict, key_of) -> keras.Model:
    """Loads a torch state dict into `model`, layer by layer.

    Args:
        model: the Keras model, built.
        state: `{torch key: array}`; it is not modified.
        key_of: maps a Keras layer name to the torch module prefix.

    Raises:
        WeightsError: a tensor is missing, has the wrong shape, or is left over.
    """
    remaining = dict(state)
    for layer in model.layers:
        if layer.weights:
            set_checked(layer, torch_layer_weights(layer, remaining, key_of(layer.name)))
    if remaining:
        raise WeightsError(f"unused weights in the source: {sorted(remaining)[:10]}")
    return model
