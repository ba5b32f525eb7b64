"""Take each export through TensorFlow and back: onnx-tf, SavedModel, tf2onnx, ONNX Runtime."""

from collections.abc import Callable

from suite.core.record import Record
from suite.paths.tf import PATH
from suite.run.cases import Case
from suite.run.pipeline import CaseRunner
from suite.run.records import run_case

ZOO_PATH = PATH


def test_tf_roundtrip(zoo_case: Case, zoo_runner: CaseRunner, zoo_check: Callable[[Record], None]) -> None:
    zoo_check(run_case(zoo_runner, zoo_case, PATH.run))
