"""What a triage found for one red case: where it broke, whose bug it is, and its repro.

A triage is made once per failing case (suite.run.triage) and is part of the case's row as the
`triage_*` columns (Findings.columns). The report groups red rows by `triage_blame`, then by
`triage_signature`; each signature has one repro folder and one issue draft in the run folder's
`triage/<triage_id>/` (README.md is the draft; repro.py reproduces it without the suite).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any


class Blame(enum.StrEnum):
    """Whose bug a red case is."""

    EXPORTER = "exporter"  # the runtime agrees with the reference evaluator on the graph; both disagree with eager
    RUNTIME = "runtime"  # the runtime disagrees with the reference evaluator on the same graph
    CONVERTER = "converter"  # onnx-tf, tf2onnx, onnx's version converter
    TRANSFORM = "transform"  # an optimizer or quantizer changed what the graph computes
    MODEL = "model"  # eager is not deterministic, or float32 vs float64 disagree more than the runtime does
    HARNESS = "harness"  # zoo-suite's own bug (never cached)
    UNRESOLVED = "unresolved"  # the two independent sides a blame needs do not agree: says which disagree


# The project an issue draft is filed with, by blame and the tool that did the failing step.
UPSTREAM = {
    "torchscript": "pytorch",
    "dynamo": "pytorch",
    "tf2onnx": "tf2onnx",
    "onnx-tf": "onnx-tf",
    "onnx2tf": "onnx2tf",
    "version": "onnx",
    "onnxruntime": "onnxruntime",
    "onnxscript": "onnxscript",
    "model": "the model's authors",
    "harness": "zoo-suite",
}


@dataclass(frozen=True)
class Divergence:
    """The first node (in topological order) whose output leaves its bound."""

    node: str  # the node's name ("" when the graph gives none)
    op_type: str  # "domain:Op" outside the default domain
    output: str  # the output tensor that left its bound
    source: str  # where the node came from: a torch module path, a TF op, "" when unknown
    max_abs_err: float | None  # at that tensor, against `against`
    floor_ratio: float | None  # that error over the node's own float32 floor (its f32 vs f64 output)
    against: str  # what it was compared with, e.g. "ONNX's reference evaluator on the same inputs"
    match: str  # how the graph's tensor was matched to the other side, or why none could be

    def location(self) -> str:
        """One line: node, op and source, for a message."""
        where = f"{self.op_type} node '{self.node}'" if self.node else f"{self.op_type} node"
        return where + (f" (from {self.source})" if self.source else "")


@dataclass(frozen=True)
class Repro:
    """A standalone reproduction of a failure (a folder in the run's triage/)."""

    status: str  # "reproduces", "dropped: <why>" (did not reproduce in a fresh process), "not made: <why>"
    folder: str = ""  # the folder it was written to (absolute, in the cache); "" when none is kept
    nodes_before: int | None = None  # nodes of the failing graph
    nodes_after: int | None = None  # nodes of the repro's graph

    @property
    def kept(self) -> bool:
        return self.status == "reproduces" and bool(self.folder)


@dataclass(frozen=True)
class Findings:
    """A red case's triage: blame, the evidence for it, the first divergence, and the repro."""

    blame: Blame
    reason: str  # one line: the evidence, e.g. "ORT and the reference evaluator agree (1e-7); eager differs (0.3)"
    project: str  # the upstream project its draft belongs to (pytorch, onnxruntime, ...)
    signature: str  # what makes two failures the same bug: blame, project, op and error class
    divergence: Divergence | None = None
    repro: Repro | None = None
    seconds: float | None = None

    @property
    def triage_id(self) -> str:
        """The signature's folder name in the run's triage/: readable and stable."""
        digest = hashlib.sha256(self.signature.encode()).hexdigest()[:8]
        slug = "".join(c if c.isalnum() else "-" for c in f"{self.blame.value}-{self.project}").strip("-")
        return f"{slug}-{digest}"

    def columns(self) -> dict[str, Any]:
        """The row's triage_* columns (see the README's "Triage")."""
        d = self.divergence
        r = self.repro
        return {
            "triage_blame": self.blame.value,
            "triage_reason": self.reason,
            "triage_project": self.project,
            "triage_signature": self.signature,
            "triage_id": self.triage_id,
            "triage_node": d.node if d else "",
            "triage_op": d.op_type if d else "",
            "triage_source": d.source if d else "",
            "triage_error": d.max_abs_err if d else None,
            "triage_floor_ratio": d.floor_ratio if d else None,
            "triage_against": d.against if d else "",
            "triage_match": d.match if d else "",
            "triage_repro_status": r.status if r else "not made: no repro for this kind of failure",
            "triage_repro": f"triage/{self.triage_id}" if r is not None and r.kept else "",
            "triage_repro_source": r.folder if r is not None and r.kept else "",
            "triage_nodes_before": r.nodes_before if r else None,
            "triage_nodes_after": r.nodes_after if r else None,
            "triage_draft": f"triage/{self.triage_id}/README.md" if r is not None and r.kept else "",
            "triage_seconds": None if self.seconds is None else round(self.seconds, 3),
        }


# Every triage column, in row order: the report reads these, a row without triage has none of them.
TRIAGE_COLUMNS = tuple(Findings(Blame.UNRESOLVED, "", "", "").columns())
