"""An exported .onnx file and what onnx itself says about it."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.core.messages import first_line
from suite.core.outcome import FieldFigures


@dataclass(frozen=True)
class Artifact:
    """An exported ONNX model on disk (its lineage is the case and the cache key that made it).

    Attributes:
        path: The .onnx file (never modified once written).
        output_names: Names of the graph outputs, in order.
    """

    path: Path
    output_names: tuple[str, ...]


@dataclass(frozen=True)
class ArtifactInfo:
    """Facts read from the model file."""

    ir_version: int
    opset: int
    node_count: int
    op_counts: dict[str, int]
    file_bytes: int
    input_dims: dict[str, list[int | str]] = field(default_factory=dict)
    # A file from outside that onnx.checker or strict shape inference rejects still runs where ONNX
    # Runtime takes it: their complaint, one line ("" when they accepted it).
    checker_error: str = ""


@dataclass(frozen=True)
class CheckerVerdict(FieldFigures):
    """What onnx.checker said of a file from outside that ONNX Runtime was left to judge (its row column)."""

    checker_error: str


class InvalidModelError(Exception):
    """onnx.checker or shape inference rejected the model."""


def inspect_artifact(path: Path) -> ArtifactInfo:
    """Run the full onnx.checker and strict shape inference; read sizes and op counts.

    Raises:
        InvalidModelError: the checker or shape inference rejected the file.
    """
    info = inspect_file(path)
    if info.checker_error:
        raise InvalidModelError(info.checker_error)
    return info


def inspect_file(path: Path) -> ArtifactInfo:
    """inspect_artifact for a file from outside: the checker's complaint is kept in `checker_error`
    rather than raised, for ONNX Runtime to have the last word (files in the wild often break a rule
    the checker enforces, such as a stale output shape, and still run).

    Raises:
        InvalidModelError: the file is not a model onnx can read at all.
    """
    import onnx

    complaint = ""
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:  # noqa: BLE001 - checker raises ValidationError, InferenceError, or protobuf errors
        complaint = f"onnx.checker (full check) rejected the model: {first_line(exc)}"
    try:
        proto = onnx.load(str(path))
    except Exception as exc:
        raise InvalidModelError(complaint or f"onnx cannot read the model: {first_line(exc)}") from exc
    if not complaint:
        try:
            onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
        except Exception as exc:  # noqa: BLE001 - inference errors of every kind, as one line
            complaint = f"onnx shape inference failed: {first_line(exc)}"
    return _facts(path, proto, complaint)


def _facts(path: Path, proto: Any, complaint: str) -> ArtifactInfo:
    """Sizes, op counts and input dims read from the file's proto."""
    counts = collections.Counter(node.op_type for node in proto.graph.node)
    initializers = {init.name for init in proto.graph.initializer}
    input_dims = {
        inp.name: [d.dim_param if d.HasField("dim_param") else d.dim_value for d in inp.type.tensor_type.shape.dim]
        for inp in proto.graph.input
        if inp.name not in initializers
    }
    opset = next((op.version for op in proto.opset_import if op.domain in ("", "ai.onnx")), 0)
    return ArtifactInfo(
        ir_version=proto.ir_version,
        opset=opset,
        node_count=len(proto.graph.node),
        op_counts=dict(sorted(counts.items())),
        file_bytes=path.stat().st_size,
        input_dims=input_dims,
        checker_error=complaint,
    )
