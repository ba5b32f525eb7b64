"""The tolerance an ONNX file from outside is judged with: its sidecar, its folder's, the option's."""

from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.onnx_files.tolerances import (
    DEFAULT,
    OPTION,
    SIDECAR,
    ToleranceError,
    parse_tolerance,
    tolerance_for,
)
from tests.zoo_runs import run_matrix
from zoo.spec import Tolerance


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_nearest_sidecar_wins_then_the_option_then_the_default(tmp_path: Path) -> None:
    root = tmp_path / "zoo"
    entry = root / "family" / "model_a"
    model = entry / "model.onnx"
    _write(model, "")
    option = Tolerance(atol=1e-6, rtol=1e-6)
    assert tolerance_for(model, entry, root, None).source == DEFAULT
    assert tolerance_for(model, entry, root, option) == tolerance_for(model, entry, root, option)
    assert tolerance_for(model, entry, root, option).tolerance == option
    top = _write(root / SIDECAR, '{"rtol": 0.01}')
    judged = tolerance_for(model, entry, root, option)
    assert (judged.tolerance, judged.source) == (Tolerance(atol=Tolerance().atol, rtol=0.01), str(top))
    own = _write(entry / SIDECAR, '{"rtol": 0.02, "atol": 0.001}')
    assert tolerance_for(model, entry, root, option).source == str(own)
    # A bare file's own sidecar, beside it.
    bare = _write(root / "family" / "bare.onnx", "")
    beside = _write(root / "family" / "bare.tolerance.json", '{"atol": 0.5}')
    assert tolerance_for(bare, bare.parent, root, option).source == str(beside)
    # A sidecar above the --zoo-onnx-dir folder is not the folder's.
    _write(tmp_path / SIDECAR, '{"rtol": 0.3}')
    other = tmp_path / "zoo2" / "m"
    _write(other / "model.onnx", "")
    assert tolerance_for(other / "model.onnx", other, tmp_path / "zoo2", None).source == DEFAULT


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"rtol": "loose"}', "'loose' is not a number"),
        ('{"rtol": -1}', "rtol must be a finite number >= 0"),
        ('{"tolerance": 1}', "unknown key tolerance (rtol and atol only)"),
    ],
)
def test_a_bad_sidecar_is_one_line_that_says_what_to_write(tmp_path: Path, text: str, says: str) -> None:
    sidecar = _write(tmp_path / SIDECAR, text)
    with pytest.raises(ToleranceError) as refused:
        tolerance_for(tmp_path / "model.onnx", tmp_path, tmp_path, None)
    message = str(refused.value)
    assert says in message and str(sidecar) in message and "\n" not in message


def test_the_option_parses_and_refuses_what_it_cannot_use() -> None:
    assert parse_tolerance("rtol=1e-2,atol=0", OPTION) == Tolerance(atol=0.0, rtol=0.01)
    assert parse_tolerance("atol=1e-5", OPTION) == Tolerance(atol=1e-5, rtol=Tolerance().rtol)
    with pytest.raises(ToleranceError, match="unknown key eps"):
        parse_tolerance("eps=1", OPTION)
    with pytest.raises(ToleranceError, match="rtol must be a finite number >= 0"):
        parse_tolerance("rtol=nan", OPTION)


def _scaled_entry(folder: Path, stored_error: float) -> None:
    """y = 2 * x, with stored outputs off by `stored_error` relative: a file the default calls wrong."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    graph = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["y"])], "scale", [x], [y], [two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    data = folder / "test_data_set_0"
    data.mkdir(parents=True)
    onnx.save(model, folder / "model.onnx")
    inputs = np.linspace(1.0, 4.0, 4, dtype=np.float32).reshape(1, 4)
    outputs = (2.0 * inputs * (1.0 + stored_error)).astype(np.float32)
    (data / "input_0.pb").write_bytes(numpy_helper.from_array(inputs, "x").SerializeToString())
    (data / "output_0.pb").write_bytes(numpy_helper.from_array(outputs, "y").SerializeToString())


@pytest.mark.slow
def test_a_sidecar_loosens_one_entry_and_the_row_says_which_tolerance_judged_it(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    zoo = tmp_path / "zoo"
    _scaled_entry(zoo / "strict", stored_error=5e-3)  # 0.5% off: outside the default rtol of 1e-3
    _scaled_entry(zoo / "loose", stored_error=5e-3)
    sidecar = _write(zoo / "loose" / SIDECAR, '{"rtol": 1e-2}')
    result = run_matrix(pytester, tmp_path, f"--zoo-onnx-dir={zoo}", "--zoo-exporters=onnx", "--zoo-paths=ort")
    assert result.ret == 1  # the strict entry fails
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv").set_index("model")
    assert rows.loc["strict", "status"] == "mismatch" and rows.loc["strict", "tolerance_source"] == DEFAULT
    assert rows.loc["loose", "status"] == "pass" and rows.loc["loose", "tolerance_source"] == str(sidecar.resolve())
    assert rows.loc["loose", "tolerance_rtol"] == pytest.approx(1e-2)
    # The option speaks for entries no sidecar does.
    result = run_matrix(
        pytester, tmp_path, f"--zoo-onnx-dir={zoo}", "--zoo-exporters=onnx", "--zoo-paths=ort",
        "--zoo-onnx-tolerance=rtol=0.02",
    )  # fmt: skip
    assert result.ret == 0
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv").set_index("model")
    assert rows.loc["strict", "tolerance_source"] == OPTION and rows.loc["loose", "tolerance_source"] != OPTION
