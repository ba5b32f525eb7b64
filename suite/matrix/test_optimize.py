"""Optimize each model's FP32 export (ORT levels, onnxscript, transformers) and check it still matches."""

from collections.abc import Callable

from suite.cases import Case
from suite.pipeline import CaseRunner
from suite.record import Record
from suite.variants import run_optimization

ZOO_PATH = "optimize"


def test_optimization(zoo_case: Case, zoo_runner: CaseRunner, zoo_check: Callable[[Record], None]) -> None:
    zoo_check(zoo_runner.run_case(zoo_case, run_optimization))
