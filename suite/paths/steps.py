"""Pieces the converting paths share: a hop from a cached step, and the row's verdict from its hops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from suite.core.outcome import FieldFigures, Outcome, Trail
from suite.core.record import Status
from suite.judge.hops import HopResult, NamedHop
from suite.run.cache import CachedOutcome


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


@dataclass(frozen=True)
class ComparedElements(FieldFigures):
    compared_elements: int


def not_run(reason: str) -> HopResult:
    return HopResult(status=Status.SKIP, message=f"not run: {reason}")


def hop_from_outcome(outcome: CachedOutcome) -> HopResult:
    status = Status.PASS if outcome.status == "ok" else Status(outcome.status)
    return HopResult(status=status, message=outcome.message, seconds=outcome.seconds or None, extra=dict(outcome.extra))
