"""The exporters' failure frontier: failing exports grouped by what broke, per exporter and opset."""

import pandas as pd

from suite.report.frontier import frontier_table, render_frontier, signature
from suite.report.results_page import render_html


def row(model: str, exporter: str, opset: int, status: str, stage: str, message: str, path: str = "ort") -> dict:
    case_id = f"{model}-{exporter}-op{opset}-static-{path}"
    return {"case_id": case_id, "model": model, "exporter": exporter, "opset": opset, "shape": "static",
            "path": path, "status": status, "stage": stage, "message": message}  # fmt: skip


UNFLATTEN = "UnsupportedOperatorError: Exporting the operator 'aten::unflatten' to ONNX opset version 11 is not"
GUARD = "TorchExportError: <class 'GuardOnDataDependentSymNode'>: Could not guard on data-dependent expression u0 < 3"


def test_failures_are_grouped_by_signature_and_counted_once_per_export() -> None:
    frame = pd.DataFrame(
        [
            row("vit_tiny", "torchscript", 11, "unsupported", "export", UNFLATTEN),
            row("transformer_encoder", "torchscript", 11, "unsupported", "export", UNFLATTEN),
            row("vit_tiny", "torchscript", 11, "unsupported", "export", UNFLATTEN, path="version"),  # same export
            row("ssdlite", "dynamo", 18, "xfail", "export", GUARD),
            row("gru", "dynamo", 18, "mismatch", "ort", "output 'y': 3.1% of 40 elements outside atol=0.0001"),
            row("mlp", "dynamo", 18, "pass", "done", ""),
        ]
    )
    table = frontier_table(frame)
    assert table[["exporter", "opset", "signature", "cases"]].values.tolist() == [
        ["dynamo", 18, "numerics mismatch at ort", 1],
        ["dynamo", 18, "torch.export: data-dependent guard", 1],
        ["torchscript", 11, "unsupported operator aten::unflatten (opset 11)", 2],
    ]
    assert table.iloc[2]["models"] == "transformer_encoder, vit_tiny" and table.iloc[1]["statuses"] == "xfail 1"
    section = render_frontier(frame)
    assert "failure frontier" in section and "aten::unflatten" in section
    page = render_html(frame, {})
    assert page.index("failure frontier") < page.index("Compatibility matrices")


def test_signatures_name_the_failure_without_its_sizes() -> None:
    checker = "onnx.checker (full check) rejected the model: Nodes in a graph must be topologically sorted"
    assert signature("export_error", "check", checker) == "onnx.checker: Nodes in a graph must be topologically sorted"
    assert signature("xfail", "dynamic_sizes", "dynamic axes not dynamic: ONNX Runtime failed at batch=1,seq=12") == (
        "dynamic axes not dynamic (a size baked into the graph)"
    )
    assert signature("export_error", "export", "RuntimeError: something odd") == "RuntimeError"
    assert signature("crash", "export", "worker died (signal 11)") == "crash at export"
    refused = (
        "ORT session creation failed: [ONNXRuntimeError] : 1 : FAIL : Node (/model/layer.0/attention/self/MatMul) "
        "Op (MatMul) [ShapeInferenceError] Incompatible dimensions"
    )
    assert signature("runtime_error", "ort", refused) == (
        "ONNX Runtime session: MatMul node, ShapeInferenceError Incompatible dimensions"
    )
    no_function = (
        "ConversionError: <class 'torch.onnx._internal.exporter._errors.DispatchError'>: No ONNX function found for "
        "<OpOverload(op='transformers.grouped_mm_fallback', overload='default')>. Failure message: ..."
    )
    assert signature("export_error", "export", no_function) == (
        "torch.onnx: no ONNX function for transformers.grouped_mm_fallback"
    )
    packed = (
        "TorchExportError: <class 'AttributeError'>: __torch__.torch.classes.quantized.Conv2dPackedParamsBase "
        "(of Python compilation unit at: 0) does not have a field with name '__obj_flatten__'"
    )
    assert signature("export_error", "export", packed) == (
        "torch.export: quantized packed parameters (Conv2dPackedParamsBase) not exportable"
    )
    away = "values differ away from the export's size: ONNX Runtime matches eager at batch=2 ... data-dependent"
    assert signature("mismatch", "dynamic_sizes", away) == "dynamic export: values wrong away from its size"
    failed_node = "ONNX Runtime failed at batch=2,seq=16: ... while running FusedMatMul node. Name:'/a/b'"
    assert signature("runtime_error", "ort", failed_node) == "ONNX Runtime run: FusedMatMul node failed"
    everything_passed = pd.DataFrame([row("mlp", "dynamo", 18, "pass", "done", "")])
    assert frontier_table(everything_passed).empty and "Every export passed" in render_frontier(everything_passed)
