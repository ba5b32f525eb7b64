"""Exporters: one module each, looked up by name. They run inside the torch worker."""

from __future__ import annotations

from suite.exporters.base import Exporter, ExportRequest, ExportUnsupported

# Which model framework each exporter accepts; the matrix pairs models with these only.
# `onnx` takes the ONNX files of --zoo-onnx-dir: nothing exports them here, they are imported as they are.
EXPORTER_FRAMEWORKS = {"torchscript": "torch", "dynamo": "torch", "tf2onnx": "keras", "onnx": "onnx"}
EXPORTER_NAMES = tuple(EXPORTER_FRAMEWORKS)


def get_exporter(name: str) -> Exporter:
    """The exporter registered as `name` (imports its framework: call only in a worker)."""
    if name == "torchscript":
        from suite.exporters.torchscript import TorchScriptExporter

        return TorchScriptExporter()
    if name == "dynamo":
        from suite.exporters.dynamo import DynamoExporter

        return DynamoExporter()
    if name == "tf2onnx":
        from suite.exporters.tf2onnx_keras import Tf2OnnxExporter

        return Tf2OnnxExporter()
    raise ValueError(f"unknown exporter {name!r}; choose from {', '.join(EXPORTER_NAMES)}")


__all__ = ["EXPORTER_FRAMEWORKS", "EXPORTER_NAMES", "ExportRequest", "ExportUnsupported", "Exporter", "get_exporter"]
