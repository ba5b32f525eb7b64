"""What a zoo entry declares: how to build the model and how to feed it.

Everything here is plain data plus a zero-argument builder, so a spec can be
listed, selected and turned into test cases without importing torch.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class EntryExcluded(Exception):
    """Raised by a builder whose entry is left out on purpose (a generated model over the corpus size
    cap): its rows are skips whose message is this exception's, never model errors."""


class Task(enum.StrEnum):
    """What a model's first output means; drives task-specific figures (top-1 ...)."""

    CLASSIFICATION = "classification"
    EMBEDDING = "embedding"
    SEQUENCE = "sequence"
    DETECTION = "detection"
    SEGMENTATION = "segmentation"
    REGRESSION = "regression"


@dataclass(frozen=True)
class Tolerance:
    """Element-wise closeness rule: |candidate - reference| <= atol + rtol * |reference|."""

    atol: float = 1e-4
    rtol: float = 1e-3


@dataclass(frozen=True)
class InputSpec:
    """One model input.

    Attributes:
        name: Input name, also the keyword the model's forward takes it by.
        shape: Default shape. Entries are ints, or the name of a dynamic dim
            (e.g. "batch") whose default size comes from ModelSpec.dims.
        dtype: numpy dtype name ("float32", "int64", ...).
        low: Lower bound for integer inputs (inclusive).
        high: Upper bound for integer inputs (exclusive).
    """

    name: str
    shape: tuple[int | str, ...]
    dtype: str = "float32"
    low: int = 0
    high: int = 2

    @property
    def dynamic_dims(self) -> dict[int, str]:
        """Axis index -> dim name, for the axes declared dynamic."""
        return {axis: dim for axis, dim in enumerate(self.shape) if isinstance(dim, str)}

    def concrete_shape(self, dims: Mapping[str, int]) -> tuple[int, ...]:
        """The shape with every named dim replaced by its size in `dims`."""
        return tuple(dims[d] if isinstance(d, str) else d for d in self.shape)


ModelBuilder = Callable[[], Any]
# Inputs from elsewhere than the seeded generator (an ONNX file's stored test data): (sizes, draw) -> arrays.
Feeds = Callable[[Mapping[str, int], int], dict[str, Any]]


@dataclass(frozen=True)
class FileSource:
    """A zoo entry that is an ONNX file from outside (--zoo-onnx-dir) rather than a model built in code.

    Attributes:
        model: The .onnx file as found (inside `folder`, or unpacked from an archive).
        folder: The one folder its external data and test data may come from.
        data_sets: Its test_data_set_N folders, in order (empty: inputs are generated, and the
            references come from ONNX Runtime's CPU provider on the file).
        opset: Its default-domain opset (0 when the file cannot be read).
        ir_version: Its IR version (0 when the file cannot be read).
        digest: sha256 of the file, its external data and test data, for cache keys.
        problem: Why it cannot run at all (a model_error row says so); "" when it can.
        tolerance_source: Where the entry's tolerance came from: "default", the option, or a
            sidecar file's path (suite.onnx_files.tolerances).
    """

    model: Path
    folder: Path
    data_sets: tuple[Path, ...] = ()
    opset: int = 0
    ir_version: int = 0
    digest: str = ""
    problem: str = ""
    tolerance_source: str = "default"


@dataclass(frozen=True)
class QuantPolicy:
    """When a quantized or FP16 variant counts as good enough, compared with FP32.

    Attributes:
        min_cosine: Cosine similarity of the first output, over the evaluation draws.
        min_top1: Top-1 agreement with FP32 (classifiers only).
        max_accuracy_drop: Largest held-out accuracy drop in percentage points
            (models with held-out data only).
    """

    min_cosine: float = 0.99
    min_top1: float = 0.9
    max_accuracy_drop: float = 2.0


@dataclass(frozen=True)
class HeldOut:
    """Real data shipped with a package: calibration inputs and a labelled held-out split.

    Arrays are batched along axis 0 and fed one sample at a time as `input_name`.
    """

    input_name: str
    calibration: Any
    test_inputs: Any
    test_labels: Any


@dataclass(frozen=True)
class ModelSpec:
    """A zoo entry.

    Attributes:
        name: Unique, lowercase, hyphen/underscore name used in case ids.
        builder: Zero-argument callable returning the model built with seeded
            random weights (nothing downloaded): a torch.nn.Module, or a Keras
            model when framework is "keras".
        inputs: The model's inputs, in forward() order.
        dims: Default size of every named dynamic dim.
        other_dims: At least two further size assignments at which a dynamic
            export is validated (each maps dim name -> size).
        task: What the first output means.
        tolerance: Default FP32 numeric tolerance.
        tags: Free-form labels such as family and size.
        output_names: Names of the flattened outputs; generated if empty.
        keyword_inputs: Pass inputs to forward() by keyword (transformers models).
        family: Model family, for grouping in reports.
        seed: Seed for both weights and inputs.
        framework: "torch" (builder returns an nn.Module) or "keras" (a Keras model).
        quant_policy: Thresholds for quantization and FP16 variants.
        held_out: Zero-argument callable returning HeldOut data, for models
            that can report real accuracy (None: seeded random inputs only).
        source: Where the entry was registered (module name), for error messages.
        file_source: The ONNX file the entry is, for entries from --zoo-onnx-dir (builder unused).
        feeds: Where its inputs come from when not from the seeded generator (stored test data).
    """

    name: str
    builder: ModelBuilder
    inputs: tuple[InputSpec, ...]
    dims: Mapping[str, int] = field(default_factory=dict)
    other_dims: tuple[Mapping[str, int], ...] = ()
    task: Task = Task.CLASSIFICATION
    tolerance: Tolerance = Tolerance()
    tags: frozenset[str] = frozenset()
    output_names: tuple[str, ...] = ()
    keyword_inputs: bool = False
    family: str = "misc"
    seed: int = 0
    framework: str = "torch"
    quant_policy: QuantPolicy = QuantPolicy()
    held_out: Callable[[], HeldOut] | None = None
    source: str = ""
    file_source: FileSource | None = None
    feeds: Feeds | None = None

    def __post_init__(self) -> None:
        declared = {d for spec in self.inputs for d in spec.dynamic_dims.values()}
        missing = declared - set(self.dims)
        if missing:
            raise ValueError(
                f"zoo model {self.name!r}: dynamic dims {sorted(missing)} have no default size; "
                f"add them to dims= (declared: {sorted(declared)}, given: {sorted(self.dims)})"
            )
        if declared and len(self.other_dims) < 2:
            raise ValueError(
                f"zoo model {self.name!r} declares dynamic dims {sorted(declared)} but "
                f"{len(self.other_dims)} other_dims; give at least two other size sets to validate them at"
            )
        for sizes in self.other_dims:
            if set(sizes) != declared:
                raise ValueError(
                    f"zoo model {self.name!r}: other_dims entry {dict(sizes)} must size exactly {sorted(declared)}"
                )

    @property
    def has_dynamic_dims(self) -> bool:
        return bool(self.dims)

    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)
