"""The exporter contract: the base class validates and times; subclasses do _export_impl."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.spec import ModelSpec


@dataclass(frozen=True)
class ExportRequest:
    """One export to do: which model, how, and where the .onnx goes."""

    model: str
    exporter: str
    opset: int
    dynamic: bool
    path: str


@dataclass(frozen=True)
class ExportResult:
    """What an export produced (the file itself is at request.path)."""

    seconds: float
    output_names: tuple[str, ...]


class ExportUnsupported(Exception):
    """The exporter cannot do this request (e.g. an opset outside its range)."""


class Exporter:
    """Base exporter: subclasses implement _export_impl (which framework each takes: EXPORTER_FRAMEWORKS)."""

    name: str = "base"

    def export(
        self, spec: ModelSpec, model: Any, example: dict[str, Any], output_count: int, request: ExportRequest
    ) -> ExportResult:
        """Export `model` called on `example` to request.path and check the opset it wrote.

        Raises:
            ExportUnsupported: the exporter cannot produce the requested opset.
            Exception: whatever the exporter itself raised, unchanged.
        """
        output_names = spec.output_names or tuple(f"output_{i}" for i in range(output_count))
        Path(request.path).parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        self._export_impl(spec, model, example, output_names, request)
        seconds = time.perf_counter() - start
        self._check_opset(request)
        return ExportResult(seconds=seconds, output_names=tuple(output_names))

    def _export_impl(
        self,
        spec: ModelSpec,
        model: Any,
        example: dict[str, Any],
        output_names: tuple[str, ...],
        request: ExportRequest,
    ) -> None:
        raise NotImplementedError

    def repro_call(self, spec: ModelSpec, request: ExportRequest, output_names: tuple[str, ...]) -> str:
        """The export call as source text for a standalone repro script; exporters that can say it override this."""
        raise NotImplementedError(f"the {self.name} exporter writes no repro script")

    @staticmethod
    def _check_opset(request: ExportRequest) -> None:
        # The torch.export-based exporter falls back to its native opset when its
        # version conversion fails, and says so only in a log line: catch it here.
        import onnx

        proto = onnx.load(request.path, load_external_data=False)
        written = {op.domain: op.version for op in proto.opset_import}.get("", None)
        if written != request.opset:
            raise ExportUnsupported(
                f"{request.exporter} exporter wrote opset {written} when opset {request.opset} was asked "
                "(its version conversion could not reach the target)"
            )


def call_arguments(spec: ModelSpec, example: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """(args, kwargs) for calling or exporting the model the way its forward expects.

    transformers models take keyword inputs: passing them positionally binds
    attention_mask to the wrong parameter, a harness bug, not an exporter's.
    """
    if spec.keyword_inputs:
        return (), dict(example)
    return tuple(example.values()), None
