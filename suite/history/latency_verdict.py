"""Is a latency change real? A verdict from per-round samples, an effect size and the case's own history.

Measured on the project's 2-core VM, the same tree run twice moved latency p50s by
more than 10% in half the cases, and within-run ratios too. Two stored medians
therefore never carry a verdict alone. A change is called only when all three hold:

1. the per-round samples of the two runs differ (Mann-Whitney U, p < alpha);
2. the change is at least `min_effect` (relative) and, for times, `min_abs_ms` (a few
   microseconds are below what a timing loop driven from Python resolves on a shared VM);
3. the history holds >= `min_history` earlier runs of the case, and the candidate
   lies outside the prediction interval those runs give for one more run (log scale,
   Student's t at `confidence`): with 3 earlier runs the interval is wide, and it
   narrows as the history grows, so a call is as sure at 3 runs as at 30.

Without enough history a change that passes 1 and 2 is `inconclusive`; the verdict
says what change the history could have detected.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


class LatencyVerdict(enum.StrEnum):
    SLOWER = "slower"
    FASTER = "faster"
    WITHIN_NOISE = "within_noise"  # a difference, but inside what the case does from run to run
    UNCHANGED = "unchanged"  # no significant or no large enough difference
    INCONCLUSIVE = "inconclusive"  # a large, significant difference, and too little history to judge it
    NOT_MEASURED = "not_measured"  # a side has no timing (failed case, or a metric not recorded)


@dataclass(frozen=True)
class LatencyThresholds:
    """Defaults chosen from the A/A runs on this VM; see the README's diff section."""

    alpha: float = 1e-3
    min_effect: float = 0.15
    min_abs_ms: float = 0.005
    min_history: int = 3
    confidence: float = 0.99


@dataclass(frozen=True)
class Judgement:
    verdict: LatencyVerdict
    ratio: float | None  # candidate / baseline
    p_value: float | None
    detectable_change: float | None  # smallest relative change this case's history could call
    history_runs: int
    reason: str


def judge_change(
    baseline: float | None,
    candidate: float | None,
    history: Sequence[float],
    thresholds: LatencyThresholds,
    baseline_samples: Sequence[float] | None = None,
    candidate_samples: Sequence[float] | None = None,
    higher_is_worse: bool = True,
    is_time: bool = True,
) -> Judgement:
    """Judge one metric (a p50, or a within-run ratio such as a speedup) against its baseline.

    Args:
        baseline, candidate: The metric in the two runs.
        history: The metric in earlier complete runs (the baseline among them), not the candidate.
        baseline_samples, candidate_samples: Per-round times, where the metric is a latency.
        higher_is_worse: True for times (a higher p50 is slower), False for speedups.
        is_time: The metric is in milliseconds (the absolute floor applies), not a ratio.
    """
    usable = [h for h in history if _positive(h)]
    if not (_positive(baseline) and _positive(candidate)):
        return Judgement(LatencyVerdict.NOT_MEASURED, None, None, None, len(usable), "no value on one side")
    assert baseline is not None and candidate is not None
    ratio = candidate / baseline
    p_value = _mann_whitney(baseline_samples, candidate_samples)
    min_log = math.log1p(thresholds.min_effect)
    interval = _prediction_interval(usable, thresholds.confidence)
    threshold_log = max(min_log, interval[1]) if interval is not None else None
    detectable = math.expm1(threshold_log) if threshold_log is not None else None

    def verdict(kind: LatencyVerdict, reason: str) -> Judgement:
        return Judgement(kind, ratio, p_value, detectable, len(usable), reason)

    if p_value is not None and p_value >= thresholds.alpha:
        return verdict(LatencyVerdict.UNCHANGED, f"samples do not differ (Mann-Whitney p={p_value:.2g})")
    if abs(math.log(ratio)) < min_log:
        return verdict(
            LatencyVerdict.UNCHANGED, f"change {ratio - 1:+.0%} is below the {thresholds.min_effect:.0%} minimum"
        )
    if is_time and abs(candidate - baseline) < thresholds.min_abs_ms:
        return verdict(
            LatencyVerdict.UNCHANGED,
            f"change {candidate - baseline:+.4f} ms is below the {thresholds.min_abs_ms:g} ms resolved here",
        )
    if len(usable) < thresholds.min_history or threshold_log is None:
        return verdict(
            LatencyVerdict.INCONCLUSIVE,
            f"change {ratio - 1:+.0%}, but the history has {len(usable)} earlier runs of this case "
            f"(a verdict needs {thresholds.min_history})",
        )
    assert interval is not None
    centre = math.exp(interval[0])
    off_centre = math.log(candidate / centre)
    same_direction = (off_centre > 0) == (ratio > 1)
    if abs(off_centre) <= threshold_log or not same_direction:
        return verdict(
            LatencyVerdict.WITHIN_NOISE,
            f"change {ratio - 1:+.0%} is inside this case's run-to-run spread "
            f"(history {centre:.4g} over {len(usable)} runs, detectable {detectable:+.0%})",
        )
    worse = (ratio > 1) == higher_is_worse
    return verdict(
        LatencyVerdict.SLOWER if worse else LatencyVerdict.FASTER,
        f"change {ratio - 1:+.0%}, outside the history's spread ({centre:.4g} over {len(usable)} runs, "
        f"detectable {detectable:+.0%})",
    )


def _positive(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value) and value > 0


def _prediction_interval(history: Sequence[float], confidence: float) -> tuple[float, float] | None:
    """Centre and half-width, in log space, of where one more run falls with `confidence`.

    Log space, because timing noise is multiplicative and ratios are symmetric there.
    """
    if len(history) < 2:
        return None
    from scipy.stats import t

    logs = [math.log(h) for h in history]
    n = len(logs)
    spread = statistics.stdev(logs)
    quantile = float(t.ppf(0.5 + confidence / 2, n - 1))
    return statistics.fmean(logs), quantile * spread * math.sqrt(1 + 1 / n)


def _mann_whitney(a: Sequence[float] | None, b: Sequence[float] | None) -> float | None:
    if not a or not b or len(a) < 5 or len(b) < 5:
        return None
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)
