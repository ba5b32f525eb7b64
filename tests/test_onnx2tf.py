"""onnx2tf beside onnx-tf: the layout it converts to, its errors, the float16 floor, no network, and
a run of both TF paths on a folder of ONNX files (one onnx2tf converts, one it refuses)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.judge.layout import InputLayout, Layout, OutputLayout, channels_first, channels_last
from suite.paths.onnx2tf import refused_op
from suite.workers.onnx2tf_convert import _as_option, _error_lines, _fix_input_dims  # noqa: TID251 - no worker
from suite.workers.onnx_tools import half_weight_floor  # noqa: TID251 - the floor, without a worker
from tests.zoo_runs import run_matrix

ROOT = Path(__file__).resolve().parent.parent


def conv_model(path: Path) -> Path:
    """x (2, 3, 8, 8) -> Conv(4 filters, 3x3, same) -> Relu -> y (2, 4, 8, 8): channels-first in and out."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.normal(0, 0.1, (4,)).astype(np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"]),
        ],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4, 8, 8])],
        [weight, bias],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def castlike_model(path: Path) -> Path:
    """x -> CastLike(float16) -> Cast(float) -> y: CastLike is an ONNX op onnx2tf 1.29 has no converter for."""
    like = numpy_helper.from_array(np.zeros(1, np.float16), "like")
    graph = helper.make_graph(
        [
            helper.make_node("CastLike", ["x", "like"], ["h"]),
            helper.make_node("Cast", ["h"], ["y"], to=TensorProto.FLOAT),
        ],
        "castlike",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [like],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_inputs_go_in_channels_last_and_outputs_come_back_channels_first() -> None:
    assert channels_last(4) == (0, 2, 3, 1) and channels_first(4) == (0, 3, 1, 2) and channels_last(2) == (0, 1)
    layout = Layout(
        (InputLayout("x", "x_tf", channels_last(4)), InputLayout("ids", "ids", (0, 1))),
        (OutputLayout("y", "y_tf", True), OutputLayout("logits", "logits", False)),
    )
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    feeds = layout.feeds({"x": x, "ids": np.ones((2, 7), np.int64)})
    assert feeds["x_tf"].shape == (2, 4, 5, 3) and feeds["x_tf"][1, 2, 3, 0] == x[1, 0, 2, 3]
    assert feeds["ids"].shape == (2, 7) and layout.describe_inputs() == "x: transposed (0, 2, 3, 1)"
    produced = {"y_tf": feeds["x_tf"], "logits": np.zeros((2, 10), np.float32)}
    names, outputs, moved = layout.outputs_in_onnx_layout(produced, [(2, 3, 4, 5), (2, 10)])
    assert names == ["y", "logits"] and np.array_equal(outputs[0], x) and moved == ["y: transposed (0, 3, 1, 2)"]


def test_a_wrong_layout_flag_cannot_fail_a_right_output() -> None:
    """Where the converter's channels-last flag disagrees with the shapes, the shape that matches wins."""
    layout = Layout((), (OutputLayout("y", "y", True),))
    right = np.zeros((2, 4, 8, 8), np.float32)
    _, outputs, moved = layout.outputs_in_onnx_layout({"y": right}, [(2, 4, 8, 8)])
    assert outputs[0].shape == (2, 4, 8, 8) and moved == []


def test_onnx2tf_errors_read_as_the_op_it_refuses_and_the_node() -> None:
    log = (
        "\x1b[31mERROR:\x1b[0m CastLike OP is not yet implemented.\n"
        "\x1b[31mERROR:\x1b[0m The trace log is below.\n"
        "Traceback (most recent call last):\n  File 'x.py', line 1\n"
        "ModuleNotFoundError: No module named 'onnx2tf.ops.CastLike'\n"
        "\x1b[31mERROR:\x1b[0m onnx_op_name: /model/CastLike_3\n"
        "\x1b[31mERROR:\x1b[0m Read this and deal with it. https://github.com/PINTO0309/onnx2tf\n"
    )
    summary = _error_lines(log).splitlines()[0]
    assert summary == "CastLike OP is not yet implemented. (at node /model/CastLike_3)"
    assert refused_op(f"Onnx2tfError: {summary}") == "CastLike"
    assert refused_op("Onnx2tfError: ValueError: shapes (2,3) and (4,) not aligned") is None
    other = _error_lines("ERROR: The trace log is below.\nValueError: bad reshape\nERROR: onnx_op_name: r1\n")
    assert other.splitlines()[0] == "ValueError: bad reshape (at node r1)"


def test_fixed_shapes_reach_the_graph_itself_and_onnx2tfs_option(tmp_path: Path) -> None:
    """The retry of a dynamic export fixes its input dims in the file (onnx2tf's -ois alone acts
    only through onnxsim), and into onnx2tf's option."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, "h", "w"])],
    )
    path = tmp_path / "dyn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    _fix_input_dims(path, {"x": [2, 3, 8, 8]})
    model = onnx.load(path)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [2, 3, 8, 8]
    assert _as_option({"x": [2, 3, 8, 8], "m": [2, 5]}) == ["x:2,3,8,8", "m:2,5"] and _as_option(None) is None


def test_the_float16_floor_is_what_rounding_the_weights_costs(tmp_path: Path) -> None:
    """A weight that float16 cannot hold moves the output by exactly its rounding error times the input."""
    weight = np.array([[1.0001, 0.25], [3.0, 1.0 / 3.0]], np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Shape", ["y"], ["s"])],
        "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2]),
            helper.make_tensor_value_info("s", TensorProto.INT64, [2]),
        ],
        [numpy_helper.from_array(weight, "w")],
    )
    path = tmp_path / "mm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    x = np.array([[2.0, 1.0]], np.float32)
    rounded = weight.astype(np.float16).astype(np.float32)
    expected = float(np.abs(x @ weight - x @ rounded).max())  # both sides float32, as ONNX Runtime computes
    (floors, doubled) = half_weight_floor(str(path), [{"x": x}, {"x": 2 * x}])
    assert floors[0] == pytest.approx(expected, rel=1e-2) and floors[0] > 1e-5
    assert floors[1] == 0.0  # an integer output has no float16 floor
    assert doubled[0] == pytest.approx(2 * expected, rel=1e-2)  # one feed at a time: twice the input, twice the change


def test_onnx2tf_converts_without_the_network(tmp_path: Path) -> None:
    """An image-like input makes onnx2tf want its calibration sample from GitHub: the suite hands it a
    seeded one, and a conversion with every socket connection refused still succeeds."""
    model = conv_model(tmp_path / "conv.onnx")
    script = textwrap.dedent(
        f"""
        import os, socket
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        tried = []
        def refuse(*args, **kwargs):
            tried.append(args)
            raise OSError("network unreachable (test)")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        import suite.workers.onnx2tf_convert as convert
        asked = []
        seeded = convert.calibration_sample
        convert.calibration_sample = lambda: asked.append(1) or seeded()
        info = convert.onnx2tf_convert({str(model)!r}, {str(tmp_path / "out")!r})
        print("tried", len(tried), "asked", len(asked), "tflite", sorted(info["tflite"]), info["inputs"][0]["perm"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "tried 0 asked 1 tflite ['float16', 'float32'] [0, 2, 3, 1]"
    assert not (ROOT / "calibration_image_sample_data_20x128x128x3_float32.npy").exists()


@pytest.mark.slow
def test_both_tf_converters_side_by_side_on_a_folder_of_onnx_files(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    conv_model(folder / "conv.onnx")
    castlike_model(folder / "castlike.onnx")
    result = run_matrix(
        pytester, tmp_path, f"--zoo-onnx-dir={folder}", "--zoo-exporters=onnx", "--zoo-paths=tf,onnx2tf", timeout=900
    )
    assert result.ret == 0, result.stdout.str()[-3000:]  # an `unsupported` row is a pytest skip, not a failure
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv").set_index("case_id")
    conv = rows.loc["conv-onnx-op17-static-onnx2tf"]
    assert conv.status == "pass", conv.message
    for hop in ("onnx2tf", "tf2onnx", "tflite_float32", "tflite_float16"):
        assert conv[f"{hop}_status"] == "pass" and conv[f"{hop}_compared_elements"] > 0, hop
    assert (
        conv.onnx2tf_layout == "x: transposed (0, 2, 3, 1)"
        and conv.onnx2tf_outputs_moved == "y: transposed (0, 3, 1, 2)"
    )
    # float16 weights are judged by their own floor, float32 ones by float32's: the first lands further out.
    assert conv.tflite_float16_max_abs_err > conv.tflite_float32_max_abs_err
    refused = rows.loc["castlike-onnx-op17-static-onnx2tf"]
    assert refused.status == "unsupported" and refused.onnx2tf_failed_op == "CastLike", refused.message
    assert "CastLike OP is not yet implemented" in refused.message
    assert refused.tflite_float16_status == "skip"  # not run: the conversion failed
    side = pd.read_csv(tmp_path / "reports" / "latest" / "tf_converters.csv").set_index("model")
    assert side["onnx2tf status"].to_dict() == {"castlike": "unsupported", "conv": "pass"}
    assert side.loc["castlike", "onnx-tf status"] == "pass"  # onnx-tf has a CastLike handler: the table shows it
    page = (tmp_path / "reports" / "latest" / "results.html").read_text()
    assert "TensorFlow converters side by side" in page and "<td>CastLike</td><td>1</td>" in page


def test_a_float16_bound_passes_its_floor_and_fails_beyond_it() -> None:
    """The float16 hop's bound: the float32 bound plus 4x the float16-weight floor, and no more."""
    from suite.judge.compare import compare_outputs
    from suite.judge.floor import HALF_FACTOR, Bound

    reference = [np.linspace(-1, 1, 100, dtype=np.float32)]
    bound = Bound.calibrated(1e-7).with_half_floor(1e-3)  # atol = 16 x 1e-7 + 4 x 1e-3

    def judged(offset: float) -> object:
        candidate = [reference[0] + np.float32(offset)]
        names = ["y"]
        return compare_outputs(reference, candidate, expected_names=names, candidate_names=names, tolerance=[bound])

    within, beyond = judged(0.9 * HALF_FACTOR * 1e-3), judged(1.5 * HALF_FACTOR * 1e-3)
    assert within.ok and within.outputs[0].floor_ratio == pytest.approx(3.6, rel=1e-2)  # over the float16 floor
    assert not beyond.ok
    assert "float16-weight floor 0.001" in bound.describe()
