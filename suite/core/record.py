"""Statuses and the flat row every case ends as."""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """How a case ended. PASS, XFAIL, SKIP and UNSUPPORTED (the exporter says it cannot) do
    not fail the pytest test; every other status does."""

    PASS = "pass"
    MISMATCH = "mismatch"
    EXPORT_ERROR = "export_error"
    TRANSFORM_ERROR = "transform_error"
    RUNTIME_ERROR = "runtime_error"
    UNSUPPORTED = "unsupported"
    MODEL_ERROR = "model_error"
    FALLBACK = "fallback"  # the requested execution provider is not the one that ran
    CRASH = "crash"
    TIMEOUT = "timeout"
    XFAIL = "xfail"
    XPASS = "xpass"
    SKIP = "skip"

    @property
    def ok(self) -> bool:
        return self in (Status.PASS, Status.XFAIL, Status.SKIP, Status.UNSUPPORTED)


@dataclass(frozen=True)
class Record:
    """One case's row, built once from the case and its outcome (suite.run.records.record_of) and
    flattened at the reporting edge.

    `stage` is the last stage reached: build, reference, export, check,
    dynamic_axes, then the path's own (ort, dynamic_sizes; onnx_tf, saved_model,
    tf2onnx; version_opN), and done. The named fields are the columns every path shares;
    `extra` holds the path's own, named by the figures that measured them (suite.core.outcome).
    """

    case_id: str
    model: str
    exporter: str
    opset: int
    shape: str
    path: str  # the path's name (suite/paths): ort, tf, version, optimize, quantize, latency
    variant: str = ""  # the transform of a variant path's case ("fp32" for the export on the latency path)
    provider_label: str = ""  # the execution provider the case ran on ("cpu" ...)
    family: str = ""
    task: str = ""
    stage: str = "build"
    status: Status = Status.PASS
    message: str = ""
    detail: str = ""
    expectation: str = ""
    weights_digest: str = ""
    export_seconds: float | None = None
    export_cached: bool | None = None
    ir_version: int | None = None
    opset_written: int | None = None
    node_count: int | None = None
    op_counts: dict[str, int] = field(default_factory=dict)
    file_bytes: int | None = None
    outputs_checked: int | None = None
    sizes_checked: str = ""
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    mismatch_frac: float | None = None
    top1_agreement: float | None = None
    ort_session_seconds: float | None = None
    ort_run_seconds: float | None = None
    duration_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # the path's own columns, e.g. onnx_tf_status
    # Per-round latency in ms, for the history's significance test; kept out of the flat row.
    samples_ms: list[float] = field(default_factory=list)

    def to_row(self) -> dict[str, Any]:
        """The flat dict that goes into pandas and the CSV."""
        row = asdict(self)
        del row["extra"], row["samples_ms"]
        row["status"] = self.status.value
        row["op_counts"] = json.dumps(self.op_counts, sort_keys=True) if self.op_counts else ""
        row.update(self.extra)
        return row

    def to_json(self) -> str:
        return json.dumps(self.to_row(), sort_keys=True, default=str)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Record:
        data = dict(row)
        data["status"] = Status(data["status"])
        data["op_counts"] = json.loads(data["op_counts"]) if data.get("op_counts") else {}
        known = COLUMNS
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**{k: v for k, v in data.items() if k in known}, extra=extra)

    @classmethod
    def of(cls, identity: dict[str, Any], status: Status, stage: str, message: str, **columns: Any) -> Record:
        """A row from the case's identity, how it ended and its columns: the shared ones go to
        their fields, the rest to `extra`."""
        shared = {k: v for k, v in columns.items() if k in cls.__dataclass_fields__}
        extra = {k: v for k, v in columns.items() if k not in shared}
        return cls(**identity, status=status, stage=stage, message=message, **shared, extra=extra)


# The shared columns, in row order (`extra` and `samples_ms` are not columns of their own).
COLUMNS = tuple(name for name in Record.__dataclass_fields__ if name not in ("extra", "samples_ms"))
