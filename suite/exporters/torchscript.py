"""torch.onnx.export(dynamo=False): the TorchScript-based (tracing) exporter."""

from __future__ import annotations

from typing import Any

from suite.exporters.base import Exporter, ExportRequest, call_arguments
from zoo.spec import ModelSpec


class TorchScriptExporter(Exporter):
    name = "torchscript"

    def _export_impl(
        self,
        spec: ModelSpec,
        model: Any,
        example: dict[str, Any],
        output_names: tuple[str, ...],
        request: ExportRequest,
    ) -> None:
        import torch

        dynamic_axes = None
        if request.dynamic:
            dynamic_axes = {inp.name: inp.dynamic_dims for inp in spec.inputs if inp.dynamic_dims}
        args, kwargs = call_arguments(spec, example)
        torch.onnx.export(
            model,
            args,
            request.path,
            kwargs=kwargs,
            dynamo=False,
            opset_version=request.opset,
            input_names=list(spec.input_names()),
            output_names=list(output_names),
            dynamic_axes=dynamic_axes,
        )

    def repro_call(self, spec: ModelSpec, request: ExportRequest, output_names: tuple[str, ...]) -> str:
        """The same torch.onnx.export call as source text, for a triage's standalone repro (`model`,
        `args`, `inputs` and `path` are the script's)."""
        dynamic_axes = None
        if request.dynamic:
            dynamic_axes = {inp.name: inp.dynamic_dims for inp in spec.inputs if inp.dynamic_dims}
        call_args = "(), path, kwargs=inputs" if spec.keyword_inputs else "args, path"
        return (
            f"torch.onnx.export(model, {call_args}, dynamo=False, opset_version={request.opset}, "
            f"input_names={list(spec.input_names())!r}, output_names={list(output_names)!r}, "
            f"dynamic_axes={dynamic_axes!r})"
        )
