"""Runs one case to its Record; never raises for case failures.

The case's export is prepared (suite.run.export_stages), its path takes it from there, and the row
is built once, from the case and how it ended, with an expected failure marked as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from suite.core import inherent
from suite.core.figures import JudgedTolerance, ModelFacts, SpecTolerance
from suite.core.inherent import InherentTime
from suite.core.messages import clip, first_line
from suite.core.outcome import Outcome, Trail
from suite.core.record import Record, Status
from suite.core.rows import is_latency_path
from suite.judge.hops import Reference
from suite.run.cases import Case
from suite.run.export_stages import prepare
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.triage import triaged
from suite.run.unjudged import unjudged
from zoo.expectations import expectation_for

# A path's run: takes a prepared case down the path, marking its stages and adding its figures to
# the trail, and returns how the case ended (or raises a StageFailure).
PathRunner = Callable[[CaseRunner, Case, Trail, Prepared], Outcome]


def run_case(runner: CaseRunner, case: Case, path_runner: PathRunner) -> Record:
    """Prepare the case's export, then let `path_runner` take it down its path; the row is built
    once, from the case and how it ended."""
    start, before = time.perf_counter(), inherent.snapshot()
    trail = Trail()
    prepared: Prepared | None = None
    try:
        spec = runner.models.get(case.model)
        trail.add(ModelFacts(spec.family, spec.task.value), SpecTolerance(spec.tolerance.atol, spec.tolerance.rtol))
        prepared = prepare(runner, spec, case, trail)
        trail.add(_judged_tolerance(prepared.reference_at(prepared.probes[0])))
        outcome = path_runner(runner, case, trail, prepared)
        if not is_latency_path(case.path):  # a timing is a measurement whatever the outputs hold
            outcome = unjudged(runner, prepared, outcome)
    except StageFailure as failure:
        outcome = trail.failed(failure.status, failure.message, failure.detail)
    except Exception as exc:  # noqa: BLE001 - a harness bug must still leave a row
        outcome = trail.failed(Status.CRASH, f"harness error {type(exc).__name__}: {first_line(exc)}", clip(repr(exc)))
    outcome = triaged(runner, case, prepared, outcome)  # red cases: where, whose, a repro
    spent = InherentTime.since(before)  # exports, sessions, timed loops: the rest of the case is overhead
    outcome = replace(outcome, figures=(*outcome.figures, spent))
    return apply_expectation(record_of(case, outcome, time.perf_counter() - start))


def _judged_tolerance(reference: Reference) -> JudgedTolerance:
    """The rule the case is judged by, with the first output's bound at the home probe."""
    bound = reference.bounds[0] if reference.bounds else None
    return JudgedTolerance(
        tolerance_rule=reference.rule,
        tolerance_atol=None if bound is None else float(f"{bound.atol:.4g}"),
        tolerance_rtol=None if bound is None else bound.rtol,
        fp32_floor=None if bound is None or bound.floor is None else float(f"{bound.floor:.4g}"),
    )


def record_of(case: Case, outcome: Outcome, seconds: float) -> Record:
    """The case's row: its identity, how it ended, and every figure it measured."""
    identity = {
        "case_id": case.case_id,
        "model": case.model,
        "exporter": case.exporter,
        "opset": case.opset,
        "shape": case.shape,
        "path": case.path,
        "variant": case.variant,
        "provider_label": case.provider.label,
    }
    return Record.of(
        identity,
        outcome.status,
        outcome.stage,
        outcome.message,
        detail=outcome.detail,
        duration_seconds=round(seconds, 3),
        **outcome.columns(),
    )


def apply_expectation(record: Record) -> Record:
    """Turn an expected failure into xfail (keeping its message) and an unexpected pass into xpass."""
    expected = expectation_for(record.case_id)
    if expected is None:
        return record
    reference = expected.reference()
    noted = f"{expected.status}: {expected.reason}" + (f" ({reference})" if reference else "")
    if record.status == Status.PASS:
        message = f"expected {expected.status} but passed; remove the stale expectation: {expected.reason}"
        return replace(record, expectation=noted, status=Status.XPASS, message=message)
    if record.status.value == expected.status:
        return replace(record, expectation=noted, status=Status.XFAIL)
    return replace(record, expectation=noted)
