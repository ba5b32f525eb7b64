"""onnxruntime-openvino claims an ONNX Attention node (opset 23) it cannot read, failing the session.

    pip install onnxruntime-openvino==1.24.1 onnx numpy
    python repro.py    # exit 0: reproduced (the CPU provider runs it, the OpenVINO session fails)

A provider that cannot take a node should leave it to the next provider (here the CPU one, which
has an Attention kernel); this one takes it in its capability check, then its ONNX frontend fails.
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def one_attention_node() -> bytes:
    """y = Attention(q, q, q) at opset 23, batch 1, 2 heads, 4 tokens, head size 8."""
    q = helper.make_tensor_value_info("q", TensorProto.FLOAT, [1, 2, 4, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 8])
    graph = helper.make_graph([helper.make_node("Attention", ["q", "q", "q"], ["y"])], "attention", [q], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)], ir_version=10)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def main() -> int:
    model = one_attention_node()
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 8)).astype(np.float32)
    cpu = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"q": x})[0]
    print(f"onnxruntime {ort.__version__}: CPU provider ran Attention, output {cpu.shape}")
    try:
        session = ort.InferenceSession(model, providers=["OpenVINOExecutionProvider", "CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - the failure is what this script shows
        last = [line for line in str(exc).splitlines() if line.strip()][-1]
        print(f"OpenVINO provider (CPU provider as fallback): session failed: {last}")
        print("reproduced")
        return 0
    print(f"OpenVINO provider: session created on {session.get_providers()} (not reproduced)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
