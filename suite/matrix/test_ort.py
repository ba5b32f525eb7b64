"""Export each zoo model and check it on ONNX Runtime (CPU and each selected provider) against the eager model."""

from collections.abc import Callable

from suite.cases import Case
from suite.paths.ort import PATH
from suite.pipeline import CaseRunner
from suite.record import Record

ZOO_PATH = PATH


def test_ort_numerics(zoo_case: Case, zoo_runner: CaseRunner, zoo_check: Callable[[Record], None]) -> None:
    zoo_check(zoo_runner.run_case(zoo_case, PATH.run))
