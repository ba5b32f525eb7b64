"""A related, smaller failure: a 7-node Loop whose body Gathers from an outer-scope tensor.

    python outer_scope_loop.py   # onnxruntime-openvino 1.24.1: "xs node not found in graph cache"

No crash here, but the same part of the OpenVINO ONNX frontend: a Loop body that reads a value of
the enclosing graph (model.onnx's body reads the input sequence the same way, then segfaults).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def loop_reading_outer_scope() -> onnx.ModelProto:
    """h = sum over t of xs[t], with xs (a Reshape of the input) defined outside the Loop body."""
    body = helper.make_graph(
        [
            helper.make_node("Cast", ["iter"], ["i32"], to=TensorProto.INT32),
            helper.make_node("Gather", ["xs", "i32"], ["step"], axis=0),  # xs: from the outer graph
            helper.make_node("Add", ["h_in", "step"], ["h_out"]),
            helper.make_node("Identity", ["h_out"], ["scan"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("iter", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, 8]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, 8]),
            helper.make_tensor_value_info("scan", TensorProto.FLOAT, [1, 8]),
        ],
    )
    constants = {"trips": np.array(10, np.int64), "cond": np.array(True), "h0": np.zeros((1, 8), np.float32)}
    constants["shape"] = np.array([10, 1, 8], np.int64)
    graph = helper.make_graph(
        [
            helper.make_node("Reshape", ["x", "shape"], ["xs"]),
            helper.make_node("Loop", ["trips", "cond", "h0"], ["h", "scans"], body=body),
        ],
        "loop_outer_scope",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10, 8])],
        [
            helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, 8]),
            helper.make_tensor_value_info("scans", TensorProto.FLOAT, [10, 1, 8]),
        ],
        [numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    serialized = loop_reading_outer_scope().SerializeToString()
    x = np.ones((1, 10, 8), np.float32)
    cpu = ort.InferenceSession(serialized, providers=["CPUExecutionProvider"])
    print("CPU provider: h =", cpu.run(None, {"x": x})[0][0, :3], "(10.0 expected)")
    try:
        ort.InferenceSession(serialized, providers=["OpenVINOExecutionProvider"])
        print("OpenVINO provider: session created (not reproduced)")
    except Exception as exc:  # noqa: BLE001 - the error is what this script shows
        print("OpenVINO provider:", str(exc).strip().splitlines()[-1])
