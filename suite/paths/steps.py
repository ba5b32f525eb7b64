"""Pieces the converting paths share: a hop from a cached step, and the row's verdict from its hops."""

from __future__ import annotations

from collections.abc import Sequence

from suite.cache import CachedOutcome
from suite.hops import HopResult
from suite.record import Record, Status


def first_failure(record: Record, hops: Sequence[tuple[str, HopResult]]) -> None:
    """The row's status and stage are those of the first hop that did not pass."""
    for name, hop in hops:
        record.hops.update(hop.columns(name))
    for name, hop in hops:
        if not hop.ok:
            record.stage = name
            record.fail(hop.status, f"{name}: {hop.message}")
            return


def not_run(reason: str) -> HopResult:
    return HopResult(status=Status.SKIP, message=f"not run: {reason}")


def hop_from_outcome(outcome: CachedOutcome) -> HopResult:
    status = Status.PASS if outcome.status == "ok" else Status(outcome.status)
    hop = HopResult(status=status, message=outcome.message, seconds=outcome.seconds or None)
    hop.extra.update(outcome.extra)
    return hop
