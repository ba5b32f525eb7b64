"""How a case ended, as one frozen value: status, stage, message and the figures it measured.

A path does not write the row. It marks the stages it enters and adds the figures it measures
to the case's Trail, then returns the trail's Outcome (or raises a StageFailure, which the
pipeline turns into one). Each kind of figures is a small frozen dataclass that names its own
columns; the row (suite.core.record.Record) is built once, from the case and its outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

from suite.core.record import Status


class Figures(Protocol):
    """Anything a case measured that names its own row columns."""

    def columns(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class FieldFigures:
    """Figures whose columns are their fields, by name (None: not measured)."""

    def columns(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def column_names(cls, *names: str) -> tuple[str, ...]:
        """`names`, checked against this kind's columns (all of them when none are given): a
        declaration that lists a column no figure writes fails at import, not in the report."""
        known = tuple(f.name for f in fields(cls))
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"{cls.__name__} has no column {', '.join(unknown)}; it has {', '.join(known)}")
        return names or known


@dataclass(frozen=True)
class Outcome:
    """How a case ended. `stage` is the last stage reached ("done" when it passed)."""

    status: Status
    stage: str
    message: str = ""
    detail: str = ""
    figures: tuple[Figures, ...] = ()

    def columns(self) -> dict[str, Any]:
        """Every figure's columns; a later figure of the same column wins (a judged figure
        measured again, e.g. with TF32 off, replaces the first)."""
        merged: dict[str, Any] = {}
        for figures in self.figures:
            merged.update(figures.columns())
        return merged


class Trail:
    """What a case has been through so far: the stage it is in and the figures measured.

    Append-only, and private to one case: the pipeline hands it down the path and turns it
    into the case's Outcome when the path returns or a stage fails.
    """

    def __init__(self) -> None:
        self._stage = "build"
        self._figures: list[Figures] = []

    @property
    def stage(self) -> str:
        return self._stage

    def enter(self, stage: str) -> None:
        """The case is now in `stage`: a failure from here on is this stage's."""
        self._stage = stage

    def add(self, *figures: Figures) -> None:
        self._figures.extend(figures)

    def passed(self) -> Outcome:
        return Outcome(Status.PASS, "done", figures=tuple(self._figures))

    def failed(self, status: Status, message: str, detail: str = "", stage: str | None = None) -> Outcome:
        """The case ends here (at `stage`, else the current one) with the figures measured so far."""
        return Outcome(status, stage or self._stage, message, detail, tuple(self._figures))
