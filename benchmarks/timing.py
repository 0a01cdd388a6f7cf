"""Timing in turns, shared by the benchmarks that compare implementations in one run.

Each call runs once untimed (tracing, allocation), then all of them in turn, round
after round, so that load from other processes hits them alike. Both wall-clock and
CPU seconds of this process (`time.process_time`, all threads) are kept: the CPU
figure is steadier on a loaded machine; on a quiet one, quote the wall clock.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping


def seconds_in_turns(calls: Mapping[str, Callable[[], object]], repeats: int
                     ) -> dict[str, tuple[list[float], list[float]]]:
    """{name: (wall seconds, CPU seconds) of each of `repeats` timed calls}. Every call
    must finish its work before it returns (fetch results with `.numpy()`)."""
    for call in calls.values():
        call()
    wall = {name: [] for name in calls}
    cpu = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            call()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: (wall[name], cpu[name]) for name in calls}


def images_per_second(calls: Mapping[str, Callable[[], object]], images_per_call: int,
                      repeats: int) -> dict[str, tuple[float, float]]:
    """{name: (images per wall second, images per CPU second)} over `repeats` rounds."""
    return {name: (images_per_call * repeats / sum(wall), images_per_call * repeats / sum(cpu))
            for name, (wall, cpu) in seconds_in_turns(calls, repeats).items()}
