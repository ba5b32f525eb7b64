"""Latency of each variant (FP32, optimized, INT8, FP16) on each execution provider, with pytest-benchmark.

Runs last and serially (the plugin refuses it under pytest-xdist); every provider
is verified, and one that fell back is a `fallback` row, never a pass.
"""

from collections.abc import Callable
from typing import Any

import pytest

from suite.core.outcome import Outcome, Trail
from suite.core.record import Record
from suite.paths.latency import PATH, LatencySettings
from suite.run.cases import Case
from suite.run.pipeline import CaseRunner, Prepared
from suite.run.records import run_case

ZOO_PATH = PATH
# A case that stops before timing (a fallback, a failed transform) leaves the fixture unused; its row says why.
pytestmark = pytest.mark.filterwarnings("ignore:Benchmark fixture was not used")


def test_latency(
    zoo_case: Case,
    zoo_runner: CaseRunner,
    zoo_check: Callable[[Record], None],
    zoo_latency_settings: LatencySettings,
    benchmark: Any,
) -> None:
    benchmark.group = zoo_case.model

    def measure(runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared) -> Outcome:
        return PATH.run(runner, case, trail, prepared, benchmark, zoo_latency_settings)

    zoo_check(run_case(zoo_runner, zoo_case, measure))
