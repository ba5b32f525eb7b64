"""Quantize each model's FP32 export (INT8 dynamic, INT8 static QDQ, FP16): accuracy lost, speed gained."""

from collections.abc import Callable

from suite.core.record import Record
from suite.paths.quantize import PATH
from suite.run.cases import Case
from suite.run.pipeline import CaseRunner
from suite.run.records import run_case

ZOO_PATH = PATH


def test_quantization(zoo_case: Case, zoo_runner: CaseRunner, zoo_check: Callable[[Record], None]) -> None:
    zoo_check(run_case(zoo_runner, zoo_case, PATH.run))
