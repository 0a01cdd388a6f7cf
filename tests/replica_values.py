"""Test helpers: the per-replica values of distributed variables."""

import numpy as np
import tensorflow as tf


def replica_values(strategy: tf.distribute.Strategy, variable) -> list[np.ndarray]:
    """The values of `variable` (Keras or tf) on each local replica."""
    variable = getattr(variable, "_value", variable)  # a Keras variable wraps the tf one
    return [np.asarray(v.numpy()) for v in strategy.experimental_local_results(variable)]


def replica_values_equal(strategy: tf.distribute.Strategy, variables) -> list[str]:
    """Names of the variables whose per-replica values differ (empty: replicas identical).

    Raises:
        ValueError: a variable does not have one value per local replica.
    """
    differing = []
    replicas = len(strategy.extended.worker_devices)
    for variable in variables:
        values = replica_values(strategy, variable)
        name = getattr(variable, "path", None) or variable.name
        if len(values) != replicas:
            raise ValueError(f"{name}: {len(values)} local values for {replicas} replicas")
        if any(not np.array_equal(values[0], other) for other in values[1:]):
            differing.append(name)
    return differing
