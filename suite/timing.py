"""Short, robust latency figures for comparing variants within one run.

Not the latency stage (that is pytest-benchmark's job): here a variant and its
FP32 baseline are timed in alternating blocks on the same execution provider,
and the medians are compared. Timings are reported, never asserted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

TIMING_THREADS = 2  # fixed and recorded, so ratios compare like with like


@dataclass(frozen=True)
class Latency:
    """Milliseconds per session.run: median and interquartile range over the runs."""

    median_ms: float
    iqr_ms: float
    runs: int


def _timed_runs(session: Any, feeds: Mapping[str, np.ndarray], runs: int) -> list[float]:
    names = [o.name for o in session.get_outputs()]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(names, dict(feeds))
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def _summary(samples: list[float]) -> Latency:
    quartiles = statistics.quantiles(samples, n=4) if len(samples) >= 2 else [samples[0]] * 3
    return Latency(statistics.median(samples), quartiles[2] - quartiles[0], len(samples))


def compare_latency(
    baseline: Any, candidate: Any, feeds: Mapping[str, np.ndarray], budget_s: float = 1.0, blocks: int = 4
) -> tuple[Latency, Latency]:
    """Median latency of `baseline` and `candidate`, timed in alternating blocks after warm-up.

    Alternating blocks spread any drift in machine load over both sessions.
    """
    for session in (baseline, candidate):
        _timed_runs(session, feeds, 3)  # warm-up: first runs allocate and pick kernels
    probe = statistics.median(_timed_runs(baseline, feeds, 3) + _timed_runs(candidate, feeds, 3)) / 1000.0
    per_block = max(5, min(200, int(budget_s / max(probe, 1e-5) / (2 * blocks))))
    base, cand = [], []
    for _ in range(blocks):
        base += _timed_runs(baseline, feeds, per_block)
        cand += _timed_runs(candidate, feeds, per_block)
    return _summary(base), _summary(cand)
