"""Take each export through TensorFlow with onnx2tf: SavedModel, TFLite float32/float16, and back with tf2onnx."""

from collections.abc import Callable

from suite.core.record import Record
from suite.paths.onnx2tf import PATH
from suite.run.cases import Case
from suite.run.pipeline import CaseRunner
from suite.run.records import run_case

ZOO_PATH = PATH


def test_onnx2tf(zoo_case: Case, zoo_runner: CaseRunner, zoo_check: Callable[[Record], None]) -> None:
    zoo_check(run_case(zoo_runner, zoo_case, PATH.run))
