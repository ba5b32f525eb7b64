"""Pieces the converting paths share: a hop from a cached step, and the row's verdict from its hops."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from suite.core.outcome import FieldFigures, Outcome, Trail
from suite.core.record import Status
from suite.judge.hops import HopResult, NamedHop
from suite.judge.triage.findings import Blame
from suite.run.cache import CachedOutcome
from suite.run.triage import TriageSubject


def first_failure(trail: Trail, hops: Sequence[tuple[str, HopResult]]) -> Outcome:
    """Every hop's figures; the case's status and stage are those of the first hop that did not pass."""
    trail.add(*(NamedHop(name, hop) for name, hop in hops))
    # The row's count is the least any hop compared: a converter that kept no element is not covered by another.
    counts = [hop.compared_elements for _, hop in hops if hop.compared_elements is not None]
    if counts:
        trail.add(ComparedElements(min(counts)))
    for name, hop in hops:
        if not hop.ok:
            return trail.failed(hop.status, f"{name}: {hop.message}", stage=name)
    return trail.passed()


def converters_judged(
    trail: Trail,
    hops: Sequence[tuple[str, HopResult]],
    tools: Mapping[str, str],
    export: Path,
    *files: tuple[str, Path | None],
) -> Outcome:
    """first_failure for a path of converters that rename every tensor (onnx-tf, onnx2tf, tf2onnx),
    with the failing hop's converter (`tools`: hop -> tool) and the files it read named for the
    triage: it blames the converter without a node, and repeats the failing call on copies of the
    export ("model.onnx") and of `files` (name -> path; None where the step made none)."""
    failing = next((name for name, hop in hops if not hop.ok), None)
    if failing is not None:
        inputs = (("model.onnx", export), *((n, f) for n, f in files if f is not None))
        trail.add(TriageSubject("opaque", None, tools[failing], step_blame=Blame.CONVERTER, hop=failing, files=inputs))
    return first_failure(trail, hops)


@dataclass(frozen=True)
class ComparedElements(FieldFigures):
    compared_elements: int


def not_run(reason: str) -> HopResult:
    return HopResult(status=Status.SKIP, message=f"not run: {reason}")


def hop_from_outcome(outcome: CachedOutcome) -> HopResult:
    status = Status.PASS if outcome.status == "ok" else Status(outcome.status)
    return HopResult(status=status, message=outcome.message, seconds=outcome.seconds or None, extra=dict(outcome.extra))
