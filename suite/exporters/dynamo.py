"""torch.onnx.export(dynamo=True): the torch.export-based exporter."""

from __future__ import annotations

from typing import Any

from suite.exporters.base import Exporter, ExportRequest, call_arguments
from zoo.spec import ModelSpec


class DynamoExporter(Exporter):
    name = "dynamo"

    def _export_impl(
        self,
        spec: ModelSpec,
        model: Any,
        example: dict[str, Any],
        output_names: tuple[str, ...],
        request: ExportRequest,
    ) -> None:
        import torch

        dynamic_shapes: Any = None
        if request.dynamic:
            # One Dim object per name, so inputs sharing "batch" share one symbol.
            dims = {name: torch.export.Dim(name) for name in spec.dims}
            per_input = [{axis: dims[name] for axis, name in inp.dynamic_dims.items()} or None for inp in spec.inputs]
            if spec.keyword_inputs:
                dynamic_shapes = dict(zip(spec.input_names(), per_input, strict=True))
            else:
                dynamic_shapes = tuple(per_input)
        args, kwargs = call_arguments(spec, example)
        torch.onnx.export(
            model,
            args,
            request.path,
            kwargs=kwargs,
            dynamo=True,
            opset_version=request.opset,
            input_names=list(spec.input_names()),
            output_names=list(output_names),
            dynamic_shapes=dynamic_shapes,
            external_data=False,
            verbose=False,
        )

    def repro_call(self, spec: ModelSpec, request: ExportRequest, output_names: tuple[str, ...]) -> str:
        """The same torch.onnx.export call as source text, for a triage's standalone repro (`model`,
        `args`, `inputs` and `path` are the script's)."""
        shapes = "None"
        if request.dynamic:
            per_input = [
                "{" + ", ".join(f"{axis}: torch.export.Dim({name!r})" for axis, name in inp.dynamic_dims.items()) + "}"
                if inp.dynamic_dims
                else "None"
                for inp in spec.inputs
            ]
            if spec.keyword_inputs:
                shapes = (
                    "{" + ", ".join(f"{n!r}: {p}" for n, p in zip(spec.input_names(), per_input, strict=True)) + "}"
                )
            else:
                shapes = "(" + "".join(f"{p}, " for p in per_input) + ")"
        call_args = "(), path, kwargs=inputs" if spec.keyword_inputs else "args, path"
        return (
            f"torch.onnx.export(model, {call_args}, dynamo=True, opset_version={request.opset}, "
            f"input_names={list(spec.input_names())!r}, output_names={list(output_names)!r}, "
            f"dynamic_shapes={shapes}, external_data=False)"
        )
