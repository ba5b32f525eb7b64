"""One hop of a path: run a candidate at every size and judge it against the eager model.

A hop is ORT on an exported file, onnx-tf on it, ORT on the tf2onnx round trip,
ORT on a version-converted copy... Each is judged the same way, on probes (a size and an
input draw), each output within its bound (calibrated from the model's float32 floor:
suite/judge/floor.py). The first probes are the export's own ("home") size in more than one
draw, where a failure belongs to the converter or runtime; a failure only at another
size means the axes are not really dynamic, and how it fails there says why: an error
or a wrong output shape means a size is baked into the graph; right shapes with wrong
values mean the graph computes something else there (tracing recorded one branch of
data-dependent control flow, or a size used as a value).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from suite.core.figures import Numerics
from suite.core.messages import first_line
from suite.core.record import Status
from suite.judge.compare import Comparison, compare_outputs
from suite.judge.floor import Bound, ReferenceKind
from suite.judge.inputs import Probe
from suite.runtime.ort_errors import ort_failure
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import create_session, run_session, session_from_artifact
from zoo.spec import ModelSpec

# Runs the candidate on one probe; returns (output names, outputs) or raises.
RunAt = Callable[[Probe], tuple[Sequence[str], Sequence[np.ndarray]]]
ReferenceAt = Callable[[Probe], "Reference"]


@dataclass(frozen=True)
class Reference:
    """The outputs one probe is judged against (eager float32, or an ONNX file's expected ones)
    and the bound each output is judged by."""

    # Arrays; an ONNX file's sequence, map or optional outputs as list, dict or None.
    outputs: list[Any]
    bounds: tuple[Bound, ...]
    rule: str  # "calibrated (...)" or "static (why)", with a file's dtype and NaN/Inf rules, for the row
    # What the outputs are where it is not the eager model at the probe's inputs (an ONNX file's
    # stored outputs), for a mismatch's message.
    against: str = ""
    # What NaN/Inf in the outputs mean: a broken eager model, or a file's answer. Each of `bounds`
    # carries it too, so every comparison against these outputs applies the same rule.
    kind: ReferenceKind = ReferenceKind.EAGER


HOP_FIGURES = (
    "status",
    "message",
    "max_abs_err",
    "max_rel_err",
    "mismatch_frac",
    "floor_ratio",
    "top1_agreement",
    "sizes_checked",
    "compared_elements",
    "compared_per_output",
)


@dataclass(frozen=True)
class HopResult:
    """How one hop went, with the worst figures over the sizes it was checked at."""

    status: Status = Status.PASS
    message: str = ""
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    mismatch_frac: float | None = None
    floor_ratio: float | None = None  # worst max abs err over the float32 floor (calibrated bounds)
    top1_agreement: float | None = None
    sizes_checked: str = ""
    seconds: float | None = None
    at_other_size: bool = False  # failed only away from the export's own size
    extra: Mapping[str, Any] = field(default_factory=dict)
    failed_at: Probe | None = None  # the probe it failed on (what a triage reruns)
    compared: Mapping[str, int] = field(default_factory=dict)  # elements compared per output, over the probes

    @property
    def compared_elements(self) -> int | None:
        """Elements compared over every output and probe (None: nothing was compared)."""
        return sum(self.compared.values()) if self.compared else None

    @property
    def compared_per_output(self) -> str:
        return compared_text(self.compared)

    @property
    def ok(self) -> bool:
        return self.status == Status.PASS

    def failed(self, status: Status, message: str, at_other_size: bool = False) -> HopResult:
        return replace(self, status=status, message=message, at_other_size=at_other_size)

    def absorbed(self, comparison: Comparison) -> HopResult:
        """This hop keeping the worst figure of itself and `comparison`."""
        worst: dict[str, Any] = {}
        for name in ("max_abs_err", "max_rel_err", "mismatch_frac", "floor_ratio"):
            if comparison.outputs and any(getattr(o, name) is not None for o in comparison.outputs):
                value = comparison.worst(name)
                current = getattr(self, name)
                worst[name] = value if current is None else max(current, value)
        compared = dict(self.compared)
        for name, elements in comparison.compared.items():
            compared[name] = compared.get(name, 0) + elements
        worst["compared"] = compared
        if comparison.top1_agreement is not None:
            current = self.top1_agreement
            worst["top1_agreement"] = (
                comparison.top1_agreement if current is None else min(current, comparison.top1_agreement)
            )
        return replace(self, **worst)

    def columns(self, prefix: str) -> dict[str, Any]:
        """The hop as flat row columns, e.g. onnx_tf_status, onnx_tf_max_abs_err."""
        cols = {f"{prefix}_{name}": getattr(self, name) for name in HOP_FIGURES}
        cols[f"{prefix}_status"] = self.status.value
        cols[f"{prefix}_seconds"] = None if self.seconds is None else round(self.seconds, 3)
        cols.update({f"{prefix}_{k}": v for k, v in self.extra.items()})
        return cols

    def numerics(self) -> Numerics:
        """Its figures as the row's shared numerics columns (the ort path's hop is the row's)."""
        return Numerics(
            self.max_abs_err,
            self.max_rel_err,
            self.mismatch_frac,
            self.top1_agreement,
            self.sizes_checked,
            self.compared_elements,
            self.compared_per_output,
        )


def compared_text(compared: Mapping[str, int]) -> str:
    """Elements compared per output for a row: "boxes=80;scores=20"."""
    return ";".join(f"{name}={elements}" for name, elements in compared.items())


@dataclass(frozen=True)
class NamedHop:
    """A hop as figures of a converting path's row: its columns carry its name (onnx_tf_*, version_op13_*)."""

    name: str
    hop: HopResult

    def columns(self) -> dict[str, Any]:
        return self.hop.columns(self.name)


def judge_sizes(
    spec: ModelSpec,
    probes: Sequence[Probe],
    run_at: RunAt,
    reference_at: ReferenceAt,
    expected_names: Sequence[str] | None,
    label: str,
    result: HopResult | None = None,
) -> HopResult:
    """Run `run_at` on each probe (home size first) and compare with the eager references.

    expected_names=None matches outputs by position (converters rename them).
    """
    result = result or HopResult()
    checked: list[str] = []
    home = probes[0].dims if probes else None
    for probe in probes:
        at_home = probe.dims == home
        result = replace(result, failed_at=probe)  # kept only when this probe fails (cleared at the end)
        try:
            names, outputs = run_at(probe)
        except Exception as exc:  # noqa: BLE001 - every runner failure is this hop's verdict
            result = replace(result, sizes_checked=";".join(checked))
            failure = ort_failure(exc)
            # What ONNX Runtime does not implement is `unsupported` (any other runner's error is not);
            # an allocation over this process's memory budget is a skip at any size, not a baked size.
            if at_home or failure.status is Status.SKIP:
                return result.failed(failure.status, failure.message(f"{label} failed at {probe.label}"))
            message = f"{label} failed at {probe.label}: {first_line(exc)}"
            return result.failed(Status.MISMATCH, _size_baked(message), at_other_size=True)
        reference = reference_at(probe)
        comparison = compare_outputs(
            reference.outputs,
            list(outputs),
            expected_names=list(names) if expected_names is None else expected_names,
            candidate_names=names,
            tolerance=reference.bounds,
            task=spec.task,
        )
        checked.append(probe.label)
        result = replace(result.absorbed(comparison), sizes_checked=";".join(checked))
        if not comparison.ok:
            if at_home:
                against = f" (against {reference.against})" if reference.against else ""
                return result.failed(Status.MISMATCH, comparison.message + against)
            diagnose = _size_baked if _shapes_differ(comparison) else _values_differ
            return result.failed(
                Status.MISMATCH,
                diagnose(f"{label} matches eager at {checked[0]} but not at {probe.label} ({comparison.message})"),
                at_other_size=True,
            )
    return replace(result, failed_at=None)


def _shapes_differ(comparison: Comparison) -> bool:
    return bool(comparison.problem) or any((o.problem or "").startswith("shape differs") for o in comparison.outputs)


def _size_baked(message: str) -> str:
    return f"dynamic axes not dynamic: {message}; a size is baked into the graph (it fails or gives wrong shapes there)"


def _values_differ(message: str) -> str:
    return (
        f"values differ away from the export's size: {message}; the shapes are right, so the graph computes "
        "something else there: one branch of data-dependent control flow recorded by tracing, or a traced size "
        "used as a value"
    )


def ort_hop(
    model_path: Path,
    spec: ModelSpec,
    probes: Sequence[Probe],
    reference_at: ReferenceAt,
    expected_names: Sequence[str] | None,
    input_names: Mapping[str, str] | None = None,
    request: ProviderRequest | None = None,
) -> HopResult:
    """ONNX Runtime on `model_path` on every probe, on the CPU provider or `request`'s.

    Args:
        input_names: Renames spec input names to the file's graph input names,
            for files whose converter renamed them.
        request: Another execution provider; a session that does not put it first is a
            `fallback` hop, never a pass on the CPU.
    """
    try:
        start = time.perf_counter()
        session = session_from_artifact(model_path, "cpu") if request is None else create_session(model_path, request)
        created = HopResult(extra={"session_seconds": round(time.perf_counter() - start, 4)})
    except Exception as exc:  # noqa: BLE001 - ORT raises several types; all are this hop's verdict
        failure = ort_failure(exc, model_path)  # an op or type ORT has no kernel for is `unsupported`
        return HopResult().failed(failure.status, failure.message("ORT session creation failed"))
    if request is not None and session.get_providers()[0] != request.name:
        return created.failed(
            Status.FALLBACK, f"asked for {request.name}, the session runs on {', '.join(session.get_providers())}"
        )
    rename = dict(input_names or {})
    last_run: dict[str, float] = {}  # the last probe's session.run, in seconds

    def run_at(probe: Probe) -> tuple[Sequence[str], Sequence[np.ndarray]]:
        feeds = {rename.get(k, k): v for k, v in probe.inputs(spec).items()}
        start = time.perf_counter()
        names, outputs = run_session(session, feeds)
        last_run["run_seconds"] = round(time.perf_counter() - start, 4)
        return names, outputs

    label = "ONNX Runtime" if request is None else f"ONNX Runtime on {request.alias}"
    hop = judge_sizes(spec, probes, run_at, reference_at, expected_names, label, created)
    return replace(hop, extra={**hop.extra, **last_run})
