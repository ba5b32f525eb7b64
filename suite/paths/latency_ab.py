"""The latency path's A/B stage: the baseline run's artifact timed interleaved with this run's.

Stored latency numbers of two runs differ by the machine's drift; a baseline's artifact timed in
this run, alternating with the candidate (suite.latency_ab.interleaved), sees the same machine. Identical
artifacts are not timed twice: the row says so. The outputs of A and B on the same inputs are
compared too: a change of results is a correctness finding, not a latency one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suite.core import inherent
from suite.core.messages import first_line
from suite.core.outcome import FieldFigures
from suite.judge.compare import compare_outputs
from suite.latency_ab.interleaved import SESSIONS, AbPlan, judge, rotating_side, time_sides
from suite.latency_ab.kept_artifacts import IDENTICAL, ArtifactStore, BaselineArtifacts
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import Threads, TimedModel, output_values, timed_session
from zoo.spec import Tolerance

NO_BASELINE = "no baseline artifact"  # the baseline has no timed file for this case


@dataclass(frozen=True)
class ArtifactKept(FieldFigures):
    artifact_sha256: str  # the timed file, kept under <report dir>/artifacts by this hash


@dataclass(frozen=True)
class AbAgainstBaseline(FieldFigures):
    """B (this run's artifact) against A (the baseline run's), timed interleaved in this run."""

    ab_baseline_run: str
    ab_verdict: str  # slower/faster/unchanged/inconclusive, or why there is no A/B
    ab_ratio: float | None = None  # median per-pair ratio B/A
    ab_ci_low: float | None = None
    ab_ci_high: float | None = None
    ab_a_p50_ms: float | None = None
    ab_b_p50_ms: float | None = None
    ab_pairs: int | None = None
    ab_min_effect: float | None = None
    ab_outputs_max_abs_err: float | None = None  # A's outputs against B's on the same inputs
    ab_outputs_changed: bool | None = None  # beyond the model's tolerance: a correctness finding


@dataclass(frozen=True)
class AbSettings:
    """Where timed artifacts are kept, what they are timed against, and how."""

    store: ArtifactStore
    baseline: BaselineArtifacts | None = None
    plan: AbPlan = field(default_factory=AbPlan)
    identical_too: bool = False  # time identical artifacts A/B as well (an A/A check of the method)


def ab_stage(
    settings: AbSettings,
    case_id: str,
    timed: TimedModel,
    request: ProviderRequest,
    threads: Threads,
    feeds: Mapping[str, np.ndarray],
    tolerance: Tolerance,
) -> tuple[FieldFigures, ...]:
    """Keep the timed file; with a baseline, time its artifact against this one (both sessions at
    the timed model's level). Never raises: a baseline that cannot be timed is said in `ab_verdict`,
    the row's own verdict stands."""
    sha = settings.store.keep(timed.path)
    kept = ArtifactKept(sha)
    baseline = settings.baseline
    if baseline is None:
        return (kept,)
    base_sha = baseline.by_case.get(case_id)
    if base_sha is None:
        return kept, AbAgainstBaseline(baseline.run_id, NO_BASELINE)
    if base_sha == sha and not settings.identical_too:
        return kept, AbAgainstBaseline(baseline.run_id, IDENTICAL)
    base_path = baseline.find(base_sha, also=settings.store)
    if base_path is None:
        verdict = (
            f"baseline artifact {base_sha[:12]} is not kept in {baseline.looked_in(settings.store)}: give "
            "--zoo-baseline the baseline's run folder with its artifacts/ (copied or downloaded whole)"
        )
        return kept, AbAgainstBaseline(baseline.run_id, verdict)
    try:
        sides = (TimedModel(base_path, timed.level), timed)
        return kept, _timed_ab(baseline.run_id, sides, request, threads, feeds, tolerance, settings.plan)
    except Exception as exc:  # noqa: BLE001 - the A side failing is said, not this row's verdict
        return kept, AbAgainstBaseline(baseline.run_id, f"baseline could not be timed: {first_line(exc)[:200]}")


# ONNX Runtime's pool threads spin after each run; four sessions' spinning threads on a few cores
# would steal the other side's time (the A/A run with spinning on called 4 of 76 identical files
# slower or faster). Both sides run without it: the comparison stays fair, but their p50s are not
# the latency row's (timed with spinning); the ratio is what they are for.
NO_SPINNING = {"session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}


def _session(timed: TimedModel, request: ProviderRequest, threads: Threads) -> Any:
    session, _ = timed_session(timed.path, request, threads, config=NO_SPINNING, level=timed.level)
    if session.get_providers()[0] != request.name:
        raise RuntimeError(f"a session of {timed.path.name} runs on {session.get_providers()[0]}, not {request.name}")
    return session


def _timed_ab(
    run_id: str,
    sides: tuple[TimedModel, TimedModel],
    request: ProviderRequest,
    threads: Threads,
    feeds: Mapping[str, np.ndarray],
    tolerance: Tolerance,
    plan: AbPlan,
) -> AbAgainstBaseline:
    """Fresh sessions of both files (A: the baseline's, B: this run's) on the same provider and
    threads, the same inputs, alternating blocks; each side rotates over SESSIONS sessions."""
    a_sessions, b_sessions = ([_session(side, request, threads) for _ in range(SESSIONS)] for side in sides)
    inputs = dict(feeds)
    a_first, b_first = (output_values(s[0], s[0].run(None, inputs)) for s in (a_sessions, b_sessions))
    agreement = outputs_agreement(a_first, b_first, tolerance)
    a_side = rotating_side([functools.partial(s.run, None, inputs) for s in a_sessions])
    b_side = rotating_side([functools.partial(s.run, None, inputs) for s in b_sessions])
    with inherent.spent("timed_loops"):
        times = time_sides(a_side, b_side, plan)
    columns = judge(times, plan).columns()
    del columns["ab_calls_per_block"]  # the row keeps the verdict's figures, not how blocks were sized
    return AbAgainstBaseline(run_id, **columns, **agreement)


def outputs_agreement(a_outputs: Sequence[Any], b_outputs: Sequence[Any], tolerance: Tolerance) -> dict[str, Any]:
    """A's outputs against B's on the same inputs, matched by position: the largest difference, and
    whether it is beyond the model's tolerance (a correctness finding, not a latency one)."""
    names = [f"output_{i}" for i in range(len(b_outputs))]
    comparison = compare_outputs(
        list(a_outputs), list(b_outputs), expected_names=names, candidate_names=names, tolerance=tolerance
    )
    return {"ab_outputs_max_abs_err": comparison.worst("max_abs_err"), "ab_outputs_changed": not comparison.ok}
