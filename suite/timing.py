"""Timing loops and their statistics, shared by every place the suite measures latency.

Two uses: the latency stage (suite.latency), whose batch-1 rounds go through
pytest-benchmark and whose other loops (eager baseline in a worker, larger
batch) use `sample` here; and `compare_latency`, short alternating blocks that
put a quantized variant beside its FP32 export within one run. Timings are
reported, never asserted. This module needs numpy only, so workers can use it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

TIMING_THREADS = 2  # fixed and recorded, so ratios compare like with like


@dataclass(frozen=True)
class Latency:
    """Milliseconds per session.run: median and interquartile range over the runs."""

    median_ms: float
    iqr_ms: float
    runs: int


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


def _timed_runs(session: Any, feeds: Mapping[str, np.ndarray], runs: int) -> list[float]:
    """Seconds per session.run over `runs` calls."""
    names, inputs = [o.name for o in session.get_outputs()], dict(feeds)
    return [_timed(lambda: session.run(names, inputs)) for _ in range(runs)]


def _latency(samples_s: list[float]) -> Latency:
    stats = summarize(samples_s)
    return Latency(stats.p50_ms, stats.iqr_ms, stats.rounds)


def compare_latency(
    baseline: Any, candidate: Any, feeds: Mapping[str, np.ndarray], budget_s: float = 1.0, blocks: int = 4
) -> tuple[Latency, Latency]:
    """Median latency of `baseline` and `candidate`, timed in alternating blocks after warm-up.

    Alternating blocks spread any drift in machine load over both sessions.
    """
    for session in (baseline, candidate):
        _timed_runs(session, feeds, 3)  # warm-up: first runs allocate and pick kernels
    probe = statistics.median(_timed_runs(baseline, feeds, 3) + _timed_runs(candidate, feeds, 3))
    per_block = max(5, min(200, int(budget_s / max(probe, 1e-5) / (2 * blocks))))
    base, cand = [], []
    for _ in range(blocks):
        base += _timed_runs(baseline, feeds, per_block)
        cand += _timed_runs(candidate, feeds, per_block)
    return _latency(base), _latency(cand)
