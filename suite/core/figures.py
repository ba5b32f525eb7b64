"""The kinds of figures every path shares: the model, its export, the bounds it is judged by, and
numerics against a reference. Path-specific kinds live with their path (suite/paths/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from suite.core.outcome import FieldFigures


@dataclass(frozen=True)
class ModelFacts(FieldFigures):
    family: str
    task: str


@dataclass(frozen=True)
class Weights(FieldFigures):
    weights_digest: str
    weights_source: str = ""  # seeded random weights, or the checkpoint they came from (zoo.checkpoints)


@dataclass(frozen=True)
class ExportRun(FieldFigures):
    """Whether the export came from the cache, and how long it took when it was made."""

    export_cached: bool
    export_seconds: float | None


@dataclass(frozen=True)
class FileFacts(FieldFigures):
    """An ONNX file from outside: where it lies and what its references are."""

    source_file: str
    reference_source: str  # "stored outputs (N test data sets)" or "ONNX Runtime CPU on the file"
    tolerance_source: str = "default"  # "default", "--zoo-onnx-tolerance", or the sidecar's path


@dataclass(frozen=True)
class ArtifactFacts(FieldFigures):
    """What the checker read from the exported file."""

    ir_version: int
    opset_written: int
    node_count: int
    op_counts: dict[str, int] = field(default_factory=dict)
    file_bytes: int | None = None


@dataclass(frozen=True)
class SpecTolerance(FieldFigures):
    """The model's declared tolerance: the diff's numeric-drift floor is a share of it."""

    tolerance_atol: float
    tolerance_rtol: float


@dataclass(frozen=True)
class JudgedTolerance(FieldFigures):
    """The rule the case is judged by, with the first output's bound at the home probe."""

    tolerance_rule: str
    tolerance_atol: float | None
    tolerance_rtol: float | None
    fp32_floor: float | None


@dataclass(frozen=True)
class Numerics(FieldFigures):
    """The worst figures of a candidate's outputs against their reference."""

    max_abs_err: float | None = None
    max_rel_err: float | None = None
    mismatch_frac: float | None = None
    top1_agreement: float | None = None
    sizes_checked: str = ""
    # Elements compared over every output and draw, and per output ("logits=2000"): a pass on 0
    # elements compared nothing (suite.judge.vacuity).
    compared_elements: int | None = None
    compared_per_output: str = ""


@dataclass(frozen=True)
class FloorRatio(FieldFigures):
    """Worst max abs err over the float32 floor (calibrated bounds; suite/judge/floor.py)."""

    floor_ratio: float | None
