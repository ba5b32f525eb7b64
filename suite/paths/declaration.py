"""What a path declares: its name, its title, how it draws its cases and how a case runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from suite.run.cases import Case, Draw

MATRIX, TABLE, LATENCY = "matrix", "table", "latency"  # how the report shows a path's rows


@dataclass(frozen=True)
class PathSpec:
    """One path a prepared export can take."""

    name: str  # the --zoo-paths name, and the rows' `path`
    title: str  # the report's heading for its rows
    cases: Callable[[Draw], list[Case]]  # its cases for the run's selection
    # run(runner, case, trail, prepared, ...) takes the case down the path (suite.run.records.PathRunner)
    # and returns its Outcome; the latency path's run also takes pytest-benchmark's fixture and
    # the run's latency settings.
    run: Callable[..., None]
    timed: bool = False  # its rows carry timings: run serially, after the untimed paths
    shown_as: str = MATRIX  # MATRIX: model x exporter grid; TABLE: a row per variant with `columns`
    columns: tuple[str, ...] = ()  # the figures its TABLE shows, in order

    def describe(self) -> dict[str, Any]:
        """What the report needs to show the path's rows (kept in the run's metadata)."""
        return {"name": self.name, "title": self.title, "shown_as": self.shown_as, "columns": list(self.columns)}
