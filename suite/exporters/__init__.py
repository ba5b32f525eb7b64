"""Exporters: one module each, looked up by name. They run inside the torch worker."""

from __future__ import annotations

from suite.exporters.base import Exporter, ExportRequest, ExportUnsupported

EXPORTER_NAMES = ("torchscript", "dynamo")


def get_exporter(name: str) -> Exporter:
    """The exporter registered as `name` (imports torch: call only in a worker)."""
    if name == "torchscript":
        from suite.exporters.torchscript import TorchScriptExporter

        return TorchScriptExporter()
    if name == "dynamo":
        from suite.exporters.dynamo import DynamoExporter

        return DynamoExporter()
    raise ValueError(f"unknown exporter {name!r}; choose from {', '.join(EXPORTER_NAMES)}")


__all__ = ["EXPORTER_NAMES", "ExportRequest", "ExportUnsupported", "Exporter", "get_exporter"]
