"""Rows say the true reason (issue #24): what ONNX Runtime does not implement is `unsupported`, named
(the op, its version, the type), and onnx-tf's KeyError: '' says where onnx-tf failed.

The ONNX Runtime cases are real: tiny graphs that ONNX Runtime 1.32's CPU provider refuses. TensorFlow
runs only in the TF worker process, never in this one.
"""

from pathlib import Path
from types import SimpleNamespace

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from suite.core.record import Status
from suite.judge.hops import HopResult, ort_hop
from suite.judge.inputs import Probe
from suite.paths.tf import _onnx_tf_failure
from suite.runtime.ort_errors import ort_failure
from suite.workers.errors import RemoteError
from tests.test_messages import AUTOGRAPH_KEY_ERROR, PAD_PLACE

SHAPE = [1, 1, 4, 4]


def _model(tmp_path: Path, node: onnx.NodeProto, elem_type: int, opset: int, out_type: int | None = None) -> Path:
    """A one-node graph whose inputs and output are of `elem_type` (the output of `out_type`)."""
    inputs = [helper.make_tensor_value_info(name, elem_type, SHAPE) for name in node.input]
    output = helper.make_tensor_value_info("y", out_type or elem_type, None)
    graph = helper.make_graph([node], "g", inputs, [output])
    path = tmp_path / f"{node.op_type}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10), path)
    return path


def _hop(path: Path, feeds: dict[str, np.ndarray] | None = None) -> HopResult:
    """ort_hop on `path`, fed `feeds` at one probe (the file's failure comes before any comparison)."""
    spec = SimpleNamespace(dims={}, feeds=lambda _sizes, _draw: dict(feeds or {}))

    def no_reference(_probe: Probe) -> None:
        raise AssertionError("a failed run is not compared")

    return ort_hop(path, spec, [Probe({})], no_reference, None)


def test_an_op_version_without_a_kernel_is_unsupported_and_named(tmp_path: Path) -> None:
    # ORT's CPU AveragePool kernels start at version 7: "Could not find an implementation for
    # AveragePool(1) node with name 'pool'" (NOT_IMPLEMENTED) at session creation.
    pool = helper.make_node("AveragePool", ["x"], ["y"], name="pool", kernel_shape=[2, 2])
    hop = _hop(_model(tmp_path, pool, TensorProto.FLOAT, opset=1))
    assert hop.status is Status.UNSUPPORTED
    assert hop.message == "ONNX Runtime has no kernel for AveragePool (opset 1) with type tensor(float) (node 'pool')"


def test_a_type_without_a_kernel_is_unsupported_and_names_the_type(tmp_path: Path) -> None:
    # ORT 1.32 does not say which type it lacks ("... for Add(14) node with name ''"): the file does.
    add = helper.make_node("Add", ["a", "b"], ["y"])
    hop = _hop(_model(tmp_path, add, TensorProto.BFLOAT16, opset=14))
    assert hop.status is Status.UNSUPPORTED
    assert hop.message == "ONNX Runtime has no kernel for Add (opset 14) with type tensor(bfloat16)"


def test_numpy_types_the_python_api_cannot_hand_over_are_unsupported(tmp_path: Path) -> None:
    # "Numpy_type 256 can't be converted to MLDataType." for an ml_dtypes bfloat16 feed.
    identity = _model(tmp_path, helper.make_node("Identity", ["x"], ["y"]), TensorProto.BFLOAT16, opset=14)
    hop = _hop(identity, {"x": np.ones(SHAPE, ml_dtypes.bfloat16)})
    assert hop.status is Status.UNSUPPORTED
    assert hop.message == "ONNX Runtime's Python API cannot take a numpy bfloat16 input (ONNX BFLOAT16)"
    # "No corresponding Numpy type for Tensor Type. bfloat16" for a bfloat16 output.
    cast = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.BFLOAT16)
    cast_path = _model(tmp_path, cast, TensorProto.FLOAT, opset=21, out_type=TensorProto.BFLOAT16)
    hop = _hop(cast_path, {"x": np.ones(SHAPE, np.float32)})
    assert hop.status is Status.UNSUPPORTED
    assert hop.message == "ONNX Runtime's Python API cannot return a BFLOAT16 output as numpy"


def test_a_value_type_onnx_runtime_does_not_register_is_unsupported_and_named(tmp_path: Path) -> None:
    # ORT 1.32 loads no complex tensors: "MLDataType for: tensor(complex64) is not currently registered
    # or supported", at session creation.
    identity = _model(tmp_path, helper.make_node("Identity", ["x"], ["y"]), TensorProto.COMPLEX64, opset=14)
    hop = _hop(identity, {"x": np.ones(SHAPE, np.complex64)})
    assert hop.status is Status.UNSUPPORTED
    assert hop.message == "ONNX Runtime does not support values of type tensor(complex64)"


def test_other_ort_failures_stay_runtime_errors_with_ort_s_line(tmp_path: Path) -> None:
    identity = _model(tmp_path, helper.make_node("Identity", ["x"], ["y"]), TensorProto.BFLOAT16, opset=14)
    hop = _hop(identity, {"x": np.ones(SHAPE, np.float32)})  # the harness's wrong feed, not ORT's lack
    assert hop.status is Status.RUNTIME_ERROR
    assert hop.message == (
        "ONNX Runtime failed at static: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Unexpected input data type. "
        "Actual: (tensor(float)) , expected: (tensor(bfloat16))"
    )
    # ONNX itself does not allow float8 for Add: an invalid model, not a missing kernel.
    add = helper.make_node("Add", ["a", "b"], ["y"])
    hop = _hop(_model(tmp_path, add, TensorProto.FLOAT8E4M3FN, opset=19))
    assert hop.status is Status.RUNTIME_ERROR
    assert hop.message.startswith("ORT session creation failed: [ONNXRuntimeError] : 10 : INVALID_GRAPH : ")
    # A numpy type ONNX has no element type for is the feed's fault.
    dates = ort_failure(RuntimeError("Numpy_type 21 can't be converted to MLDataType."))
    assert (dates.status, dates.line) == (
        Status.RUNTIME_ERROR,
        "Numpy_type 21 can't be converted to MLDataType. (numpy datetime64)",
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # Without the file, the op and version ORT names.
        (
            "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for AveragePool(1) node "
            "with name 'x'",
            "ONNX Runtime has no kernel for AveragePool (opset 1) (node 'x')",
        ),
        # kernel_registry_manager.cc's wording (composed from its source), naming the type itself.
        (
            "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Failed to find kernel for com.microsoft.Gelu(1) "
            "(node:'gelu' ep:'CPUExecutionProvider'). Found kernel for Op with name (gelu) and type (Gelu) in the "
            "supported version range (node_version: 1 kernel start version: 1 kernel_end_version: 2147483647). "
            "However the types are incompatible. This op has been implemented only for the following types "
            "(tensor(float),), but the node in the model has the following type (tensor(float16))",
            "ONNX Runtime has no kernel for com.microsoft.Gelu (opset 1) with type tensor(float16) (node 'gelu')",
        ),
        # Any other NOT_IMPLEMENTED: ORT's line, said to be something ORT does not implement.
        (
            "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Non-zero status code returned while running Resize node. "
            "Name:'r' Status Message: cubic mode is not implemented for 5-D input",
            "ONNX Runtime does not implement this: [ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Non-zero status code "
            "returned while running Resize node. Name:'r' Status Message: cubic mode is not implemented for 5-D input",
        ),
        # Verbatim from onnx's own node tests (scripts/make_onnx_node_zoo.py) on ORT 1.32: preview ops it
        # has never heard of, and a kernel that refuses a mode in its own words.
        (
            "Fail: [ONNXRuntimeError] : 1 : FAIL : Load model from /cache/exports/73ad64bd.onnx failed:Fatal "
            "error: ai.onnx.preview.training:Adagrad(-1) is not a registered function/op",
            "ONNX Runtime does not know the op ai.onnx.preview.training:Adagrad",
        ),
        (
            "Fail: [ONNXRuntimeError] : 1 : FAIL : Exception during initialization: /onnxruntime_src/onnxruntime/"
            "core/providers/cpu/rnn/deep_cpu_gru.h:56 onnxruntime::DeepCpuGruOp::DeepCpuGruOp(const "
            "onnxruntime::OpKernelInfo&) layout_ == 0 was false. Batchwise recurrent operations (layout == 1) are "
            "not supported. If you need support create a github issue with justification.",
            "ONNX Runtime does not support this: Batchwise recurrent operations (layout == 1) are not supported",
        ),
        # Verbatim from LiteRT 2.3's interpreter on onnx2tf's float32 TFLite file of vit_tiny (GELU's Erf).
        (
            "Select TensorFlow op(s), included in the given model, is(are) not supported by this interpreter. Make "
            "sure you apply/link the Flex delegate before inference. For the Android, it can be resolved by adding "
            '"org.tensorflow:tensorflow-lite-select-tf-ops" dependency. See instructions: '
            "https://www.tensorflow.org/lite/guide/ops_selectNode number 54 (FlexErf) failed to prepare.",
            "LiteRT's interpreter has no Flex delegate for the TensorFlow op Erf this TFLite file selects "
            "(no TFLite builtin)",
        ),
    ],
)
def test_not_implemented_texts_are_unsupported(text: str, line: str) -> None:
    failure = ort_failure(RuntimeError(text))
    assert (failure.status, failure.line) == (Status.UNSUPPORTED, line)
    assert failure.message("ORT session creation failed") == line  # it says it all


ONNX_TF_KEY_ERROR = (
    f"KeyError: '' in onnx-tf's Pad handler (version 13), raised at {PAD_PLACE}; "
    "onnx-tf looked up an omitted optional input (its name is empty)"
)


def test_onnx_tf_s_key_error_names_the_handler_and_the_line_it_failed_at() -> None:
    # Was "MultilineMessageKeyError: KeyError: ''": autograph's wrapper class and an empty key.
    error = RemoteError(
        "tensorflow.python.autograph.pyct.error_utils.MultilineMessageKeyError", AUTOGRAPH_KEY_ERROR, ""
    )
    assert error.short_type == "KeyError"
    outcome = _onnx_tf_failure(error)
    assert (outcome.status, outcome.message) == (Status.RUNTIME_ERROR.value, ONNX_TF_KEY_ERROR)


@pytest.mark.slow
def test_onnx_tf_s_key_error_reproduced_in_the_tf_worker(tmp_path: Path) -> None:
    """onnx-tf on a Pad-13 node whose optional constant_value is omitted, live in a TF worker."""
    from suite.workers import onnx_tf, tf_process  # noqa: TID251 - drives a TF worker
    from suite.workers.isolate import Worker
    from suite.workers.settings import WorkerSettings

    pads = helper.make_tensor("pads", TensorProto.INT64, [4], [0, 1, 0, 1])
    graph = helper.make_graph(
        [helper.make_node("Pad", ["x", "pads", ""], ["y"])],
        "pad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])],
        [pads],
    )
    path = tmp_path / "pad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with Worker("tf", tf_process.init_worker, (WorkerSettings(),)) as worker, pytest.raises(RemoteError) as raised:
        worker.call(onnx_tf.onnx_tf_run_sizes, str(path), [{"x": np.ones((2, 3), np.float32)}], timeout=300)
    error = raised.value
    assert error.type_name.endswith(".MultilineMessageKeyError") and error.harness_bug == ""
    assert _onnx_tf_failure(error).message == ONNX_TF_KEY_ERROR
