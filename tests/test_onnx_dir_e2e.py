"""End to end: a folder of ONNX files from outside (ONNX Model Zoo layout) down every path."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.zoo_runs import run_matrix

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run_onnx_dir(pytester: pytest.Pytester, tmp_path: Path, folder: Path, *args: str) -> pytest.RunResult:
    return run_matrix(pytester, tmp_path, f"--zoo-onnx-dir={folder}", "--zoo-exporters=onnx", *args, timeout=900)


def test_a_model_zoo_folder_goes_down_every_path_against_its_stored_outputs(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    folder = tmp_path / "zoo"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_onnx_zoo.py"), str(folder)], check=True, timeout=300)
    result = run_onnx_dir(pytester, tmp_path, folder, "--zoo-onnx-dims=batch=2", "--zoo-latency-seconds=0.05")
    assert result.ret == 1  # the deliberately altered data set fails; the run completed
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv").set_index("case_id")
    assert len(rows) == result.parseoutcomes().get("passed", 0) + result.parseoutcomes().get("failed", 0) + (
        result.parseoutcomes().get("skipped", 0)
    )
    # 12 entries, each on every path: 1 ort, 1 version, 1 tf, 4 optimizations, 3 quantizations, 5 latency variants
    assert rows.groupby("path").size().to_dict() == {
        "ort": 12,
        "version": 12,
        "tf": 12,
        "optimize": 48,
        "quantize": 36,
        "latency": 60,
    }
    assert set(rows.exporter) == {"onnx"} and not (rows.status == "crash").any() and rows.message.notna().sum() > 0
    ort = rows[rows.path == "ort"]
    assert (ort.drop("mlp_altered-onnx-op12-static-ort_cpu").status == "pass").all(), ort.message.to_dict()
    altered = rows.loc["mlp_altered-onnx-op12-static-ort_cpu"]
    assert altered.status == "mismatch" and altered.message.endswith("(against the stored outputs of test_data_set_1)")
    assert rows.loc["mlp_op9-onnx-op9-static-ort_cpu", "reference_source"] == "stored outputs (3 test data sets)"
    assert rows.loc["mlp_op9-onnx-op9-static-ort_cpu", "sizes_checked"] == "static;static#1;static#2"
    assert rows.loc["convnet_dynamic-onnx-op13-static-ort_cpu", "reference_source"].startswith("ONNX Runtime CPU")
    # Old files convert up: IR 3 at opset 7 to 13, 17 and 21, each run against the stored outputs.
    assert rows.loc["gemm_ir3-onnx-op7-static-version", "status"] == "pass"
    # Every other row is a verdict a built-in model's row can have, never a harness failure.
    assert set(rows.status) <= {"pass", "skip", "mismatch", "unsupported"}
    html = (tmp_path / "reports" / "latest" / "results.html").read_text()
    assert "gemm_ir3" in html and "lstm_op15" in html


def test_a_graph_that_asks_for_huge_tensors_at_run_time_is_refused_by_the_file_workers_cap(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Declared sizes are checked before reading, but a small graph can still ask ONNX Runtime for
    8 GiB (ConstantOfShape): the onnx worker's address space is capped, so that is one row, a skip
    that names that cap and the option that sizes it (not the run's worker budget, which is larger)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    shape = numpy_helper.from_array(np.array([1 << 16, 1 << 15], dtype=np.int64), "shape")
    ones = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph(
        [
            helper.make_node("ConstantOfShape", ["shape"], ["big"], value=ones),
            helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
            helper.make_node("Add", ["x", "total"], ["y"]),
        ],
        "bomb",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [shape],
    )
    (tmp_path / "zoo" / "bombs").mkdir(parents=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.save(model, tmp_path / "zoo" / "bombs" / "constant_of_shape.onnx")
    # A file beside it that fits, so the run judged something (a run of skips alone is a usage error).
    small = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    onnx.save(
        helper.make_model(small, opset_imports=[helper.make_opsetid("", 13)], ir_version=8),
        tmp_path / "zoo" / "bombs" / "relu.onnx",
    )
    result = run_onnx_dir(pytester, tmp_path, tmp_path / "zoo", "--zoo-paths=ort", "--zoo-onnx-max-mb=256")
    assert result.ret == 0, result.stdout.str()[-2000:]
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv")
    row = rows[rows.model.str.contains("constant_of_shape")].iloc[0]
    assert row.status == "skip" and row.stage == "reference", row.message
    assert row.message.startswith("needs more than 3.0 GB for reference (this process's memory budget"), row.message
    assert "--zoo-onnx-max-mb" in row.message, row.message
