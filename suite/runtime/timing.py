"""Timing loops and their statistics, shared by every place the suite measures latency.

The latency path (suite.paths.latency) times its batch-1 rounds through pytest-benchmark,
calibrated here, and its other loops (eager baseline in a worker, larger batch) with `sample`.
Timings are reported, never asserted. This module needs numpy only, so workers can use it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TimingPlan:
    """How long to warm up and how long to measure; rounds are calibrated from a probe.

    Attributes:
        warmup_s: Time spent in warm-up calls (first calls allocate and pick kernels).
        target_s: Time the measured rounds should take in all.
        min_rounds, max_rounds: Bounds on the calibrated number of measured rounds.
    """

    warmup_s: float = 0.3
    target_s: float = 1.0
    min_rounds: int = 15
    max_rounds: int = 2000
    min_warmup: int = 3


@dataclass(frozen=True)
class Rounds:
    """What calibration chose: warm-up calls and measured rounds."""

    warmup: int
    measured: int


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency in milliseconds over the measured rounds."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    stddev_ms: float
    iqr_ms: float
    min_ms: float
    rounds: int

    def columns(self, prefix: str = "") -> dict[str, Any]:
        return {f"{prefix}{k}": (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def calibrate(call: Callable[[], Any], plan: TimingPlan) -> Rounds:
    """Rounds for `call` under `plan`; the probe calls double as the first warm-up."""
    probe = [_timed(call) for _ in range(plan.min_warmup)]
    per_call = max(statistics.median(probe), 1e-6)
    warmup = max(plan.min_warmup, min(500, int(plan.warmup_s / per_call)))
    measured = max(plan.min_rounds, min(plan.max_rounds, int(plan.target_s / per_call)))
    return Rounds(warmup, measured)


def sample(call: Callable[[], Any], plan: TimingPlan) -> list[float]:
    """Seconds per call over calibrated rounds, after warm-up."""
    rounds = calibrate(call, plan)
    for _ in range(rounds.warmup):
        call()
    return [_timed(call) for _ in range(rounds.measured)]


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def summarize(samples_s: list[float]) -> LatencyStats:
    """Percentiles, mean, spread and IQR of per-call times given in seconds."""
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    p25, p50, p75, p90, p99 = np.percentile(ms, [25, 50, 75, 90, 99])
    return LatencyStats(
        p50_ms=float(p50),
        p90_ms=float(p90),
        p99_ms=float(p99),
        mean_ms=float(ms.mean()),
        stddev_ms=float(ms.std(ddof=1)) if len(ms) > 1 else 0.0,
        iqr_ms=float(p75 - p25),
        min_ms=float(ms.min()),
        rounds=len(ms),
    )
