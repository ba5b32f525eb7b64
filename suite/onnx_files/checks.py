"""An exported .onnx file and what onnx itself says about it."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path

from suite.core.messages import first_line


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


class InvalidModelError(Exception):
    """onnx.checker or shape inference rejected the model."""


def inspect_artifact(path: Path) -> ArtifactInfo:
    """Run the full onnx.checker and strict shape inference; read sizes and op counts.

    Raises:
        InvalidModelError: the checker or shape inference rejected the file.
    """
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:  # checker raises ValidationError, InferenceError, or protobuf errors
        raise InvalidModelError(f"onnx.checker (full check) rejected the model: {first_line(exc)}") from exc
    proto = onnx.load(str(path))
    try:
        onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except Exception as exc:
        raise InvalidModelError(f"onnx shape inference failed: {first_line(exc)}") from exc
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
    )
