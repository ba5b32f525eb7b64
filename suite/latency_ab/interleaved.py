"""A/B timing: two calls measured interleaved, and a verdict from the paired samples.

Latency numbers stored by one run and compared with another's move by a third on a shared machine:
the machine drifts within a second. Timing A and B in alternating short blocks makes each pair see
the same machine state, so the ratio of a pair cancels the drift that the absolute numbers carry.

The verdict (README, "Latency A/B"): the ratios B/A per turn of the sides' sessions (the geometric
mean of the turn's block pairs), their median, and a bootstrap confidence interval of that median
(turns resampled). With minimum effect m:
- slower: the interval lies above 1 and the median ratio is at least 1 + m;
- faster: the interval lies below 1 and the median ratio is at most 1 / (1 + m);
- unchanged: the whole interval lies within [1 / (1 + m), 1 + m];
- inconclusive: anything else (too noisy to tell, or a significant change smaller than m that the
  interval cannot rule up to m).
Needs numpy only, so worker processes can time with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SLOWER, FASTER, UNCHANGED, INCONCLUSIVE = "slower", "faster", "unchanged", "inconclusive"
VERDICTS = frozenset({SLOWER, FASTER, UNCHANGED, INCONCLUSIVE})
# Sessions per side, taken in turn by the blocks: one session's own speed is not its file's.
SESSIONS = 2


@dataclass(frozen=True)
class AbPlan:
    """How an A/B pair is timed and judged.

    Attributes:
        target_s: Measured time for A and B together.
        block_s: Time one block of calls should take (short blocks: both sides see the same load).
        warmup_s: Warm-up time for each side before the first pair.
        min_pairs, max_pairs: Bounds on the number of measured pairs.
        min_effect: The smallest change called slower or faster (0.05: 5%).
        confidence: Of the bootstrap interval of the median ratio.
        resamples: Bootstrap resamples.
    """

    target_s: float = 2.0
    block_s: float = 0.005
    warmup_s: float = 0.2
    min_pairs: int = 30
    max_pairs: int = 400
    min_effect: float = 0.05
    confidence: float = 0.95
    resamples: int = 2000


@dataclass(frozen=True)
class PairedTimes:
    """Seconds per call of A and B, pair by pair (each pair timed back to back, order alternating)."""

    a_s: tuple[float, ...]
    b_s: tuple[float, ...]
    calls_per_block: int
    cycle: int = 1  # pairs per turn of the sides' sessions (see rotating_side)

    @property
    def ratios(self) -> np.ndarray:
        """B/A per turn of the sessions: the geometric mean of its pairs' ratios, so each ratio takes
        every session of both sides once and their own speeds cancel where the files are alike."""
        pairs = np.asarray(self.b_s) / np.asarray(self.a_s)
        turns = len(pairs) // self.cycle
        return np.exp(np.log(pairs[: turns * self.cycle]).reshape(turns, self.cycle).mean(axis=1))


@dataclass(frozen=True)
class AbVerdict:
    """B against A: median per-pair ratio B/A, its confidence interval, and the verdict."""

    verdict: str
    ratio: float
    ci_low: float
    ci_high: float
    a_p50_ms: float
    b_p50_ms: float
    pairs: int
    calls_per_block: int
    min_effect: float

    def columns(self, prefix: str = "ab_") -> dict[str, Any]:
        return {
            f"{prefix}verdict": self.verdict,
            f"{prefix}ratio": round(self.ratio, 4),
            f"{prefix}ci_low": round(self.ci_low, 4),
            f"{prefix}ci_high": round(self.ci_high, 4),
            f"{prefix}a_p50_ms": round(self.a_p50_ms, 5),
            f"{prefix}b_p50_ms": round(self.b_p50_ms, 5),
            f"{prefix}pairs": self.pairs,
            f"{prefix}calls_per_block": self.calls_per_block,
            f"{prefix}min_effect": self.min_effect,
        }


Clock = Callable[[], float]


@dataclass(frozen=True)
class Side:
    """One side of an A/B: warm(seconds) -> seconds per call; block(calls) -> seconds per call over
    that many back-to-back calls. In this process, or in another environment's worker."""

    warm: Callable[[float], float]
    block: Callable[[int], float]
    sessions: int = 1  # blocks take them in turn


def time_interleaved(
    run_a: Callable[[], Any], run_b: Callable[[], Any], plan: AbPlan, clock: Clock = time.perf_counter
) -> PairedTimes:
    """Time two calls of this process in alternating blocks (AB, BA, AB, ...) after warming both up."""
    return time_sides(_local(run_a, clock), _local(run_b, clock), plan)


def _local(call: Callable[[], Any], clock: Clock) -> Side:
    return rotating_side([call], clock)


def rotating_side(calls: Sequence[Callable[[], Any]], clock: Clock = time.perf_counter) -> Side:
    """A side of several equivalent calls (sessions of one file), one per block in turn: a session's
    own speed (where its buffers landed in memory) is then spread over both sides' blocks instead of
    being taken for the artifact's. Measured here: two sessions of one file differed by up to 13%."""
    turn = [0]

    def warm(seconds: float) -> float:
        return max(_warm(call, seconds / len(calls), clock) for call in calls)

    def block(count: int) -> float:
        call = calls[turn[0] % len(calls)]
        turn[0] += 1
        return _block(call, count, clock)

    return Side(warm, block, len(calls))


def time_sides(a: Side, b: Side, plan: AbPlan) -> PairedTimes:
    """Time two sides in alternating blocks (AB, BA, AB, ...) after warming both up; each block is
    timed where it runs, so a worker's messaging costs nothing measured."""
    per_call = max(a.warm(plan.warmup_s), b.warm(plan.warmup_s), 1e-7)
    calls = max(1, math.ceil(plan.block_s / per_call))
    pairs = max(plan.min_pairs, min(plan.max_pairs, int(plan.target_s / (2 * calls * per_call))))
    cycle = max(a.sessions, b.sessions)
    pairs = math.ceil(pairs / cycle) * cycle  # whole turns of the sessions
    a_s, b_s = [], []
    for index in range(pairs):
        if index % 2 == 0:
            a_s.append(a.block(calls))
            b_s.append(b.block(calls))
        else:
            b_s.append(b.block(calls))
            a_s.append(a.block(calls))
    return PairedTimes(tuple(a_s), tuple(b_s), calls, cycle)


def _warm(call: Callable[[], Any], seconds: float, clock: Clock) -> float:
    """Call for about `seconds` (at least 3 times); the median seconds per call of the last calls."""
    times: list[float] = []
    deadline = clock() + seconds
    while len(times) < 3 or clock() < deadline:
        start = clock()
        call()
        times.append(clock() - start)
    return float(np.median(times[-max(3, len(times) // 2) :]))


def _block(call: Callable[[], Any], calls: int, clock: Clock) -> float:
    start = clock()
    for _ in range(calls):
        call()
    return (clock() - start) / calls


def judge(times: PairedTimes, plan: AbPlan, seed: int = 0) -> AbVerdict:
    """The verdict on B against A from the paired times (see the module docstring)."""
    ratios = times.ratios
    low, high = bootstrap_median_interval(ratios, plan.confidence, plan.resamples, seed)
    median = float(np.median(ratios))
    return AbVerdict(
        verdict=decide(median, low, high, plan.min_effect),
        ratio=median,
        ci_low=low,
        ci_high=high,
        a_p50_ms=float(np.median(times.a_s)) * 1000.0,
        b_p50_ms=float(np.median(times.b_s)) * 1000.0,
        pairs=len(ratios),
        calls_per_block=times.calls_per_block,
        min_effect=plan.min_effect,
    )


def bootstrap_median_interval(
    ratios: Sequence[float] | np.ndarray, confidence: float, resamples: int, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of `ratios` (pairs resampled with replacement)."""
    values = np.asarray(ratios, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    medians = np.median(values[picks], axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(medians, [tail, 1.0 - tail])
    return float(low), float(high)


def decide(median: float, low: float, high: float, min_effect: float) -> str:
    """slower / faster / unchanged / inconclusive for a median ratio B/A and its interval."""
    up, down = 1.0 + min_effect, 1.0 / (1.0 + min_effect)
    if low > 1.0 and median >= up:
        return SLOWER
    if high < 1.0 and median <= down:
        return FASTER
    if low >= down and high <= up:
        return UNCHANGED
    return INCONCLUSIVE
