"""ONNX-only work that can crash in C++ (the version converter); runs in the onnx worker process."""

from __future__ import annotations


def convert_version(source: str, target_path: str, target_opset: int) -> dict[str, int]:
    """Convert the model at `source` to `target_opset` with onnx.version_converter and save it.

    Returns the opset written. Raises whatever the converter raises (e.g. no adapter for an op).
    """
    import onnx
    from onnx import version_converter

    model = onnx.load(source)
    converted = version_converter.convert_version(model, target_opset)
    onnx.checker.check_model(converted)
    onnx.save(converted, target_path)
    written = next(op.version for op in converted.opset_import if op.domain in ("", "ai.onnx"))
    return {"opset": written}


def half_weight_floor(source: str, feeds_by_probe: list[dict]) -> list[list[float]]:
    """The export's float16-weight floor per output on each feed: the largest change of each float
    output when every float32 constant (initializers, Constant nodes) is rounded to float16 and
    back, both sides run by ONNX Runtime's CPU provider on one thread. 0.0 for an output that is
    not float or changes shape. The file is read and both sessions made once for every feed.

    A float16 TFLite file (onnx2tf's) keeps its weights so and computes in float32: what it may
    be off by is what rounding the weights costs this graph, not float32's floor.
    """
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    model = onnx.load(source)
    rounded = onnx.ModelProto()
    rounded.CopyFrom(model)
    tensors = list(rounded.graph.initializer)
    tensors += [a.t for n in rounded.graph.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"]
    for tensor in tensors:
        if tensor.data_type == onnx.TensorProto.FLOAT:
            array = numpy_helper.to_array(tensor).astype(np.float16).astype(np.float32)
            tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sessions = [
        ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])
        for m in (model, rounded)
    ]
    floors = []
    for feeds in feeds_by_probe:
        exact_outputs, half_outputs = (session.run(None, feeds) for session in sessions)
        per_output = []
        for exact, half in zip(exact_outputs, half_outputs, strict=True):
            a, b = np.asarray(exact), np.asarray(half)
            same = a.dtype.kind == "f" and a.shape == b.shape and a.size
            per_output.append(float(np.nanmax(np.abs(a.astype(np.float64) - b))) if same else 0.0)
        floors.append(per_output)
    return floors
