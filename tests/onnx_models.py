"""Small ONNX models built with onnx.helper (no torch), for backend and timing tests."""

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, save


def matmul_chain(path: Path, width: int = 256, depth: int = 4, seed: int = 0) -> Path:
    """x[batch, width] through `depth` MatMul+Relu layers: a few hundred microseconds to milliseconds a run."""
    rng = np.random.default_rng(seed)
    initializers, nodes, previous = [], [], "x"
    for layer in range(depth):
        weight = rng.standard_normal((width, width)).astype(np.float32) / np.sqrt(width)
        initializers.append(helper.make_tensor(f"w{layer}", TensorProto.FLOAT, weight.shape, weight.ravel()))
        nodes.append(helper.make_node("MatMul", [previous, f"w{layer}"], [f"m{layer}"], name=f"matmul{layer}"))
        nodes.append(helper.make_node("Relu", [f"m{layer}"], [f"r{layer}"], name=f"relu{layer}"))
        previous = f"r{layer}"
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, ["batch", width])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9  # every onnxruntime flavour here reads IR 9
    save(model, str(path))
    return path
