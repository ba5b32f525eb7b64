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
