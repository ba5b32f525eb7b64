"""ort: ONNX Runtime on the export, on every probe, against eager (CPU, then each selected provider)."""

from __future__ import annotations

from dataclasses import dataclass

from suite.core.figures import FloorRatio
from suite.core.outcome import FieldFigures, Outcome, Trail
from suite.core.record import Status
from suite.judge.hops import ort_hop
from suite.paths.declaration import PathSpec
from suite.run.cases import CPU, Case, Draw, build_matrix, with_providers
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.triage import TriageSubject
from suite.runtime.placement import probe_provider
from suite.runtime.providers import TF32_OPTION, ProviderRequest
from suite.runtime.sessions import Threads


def draw_cases(draw: Draw) -> list[Case]:
    """Every shape mode, on the CPU and on each other selected provider (ids end ort_<label>)."""
    return with_providers(build_matrix(draw, "ort", "ort_cpu"), draw.providers, "ort_")


@dataclass(frozen=True)
class OrtRun(FieldFigures):
    """The ort path's own figures: outputs compared, session creation and the last run's time."""

    outputs_checked: int
    ort_session_seconds: float | None
    ort_run_seconds: float | None


@dataclass(frozen=True)
class OptionsAsked(FieldFigures):
    provider_options: str  # the provider options asked for, k=v,k=v


def run_ort(runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared) -> Outcome:
    """ONNX Runtime on the export on every probe; its figures are the row's shared numerics columns.

    A case on another provider than the plain CPU one runs there, after the onnx worker checked
    that the provider really takes the graph (a fallback is a `fallback` row, as in the latency path).
    """
    request = correctness_request(case.provider) if case.provider != CPU else None
    if request is not None:
        _check_provider(runner, trail, prepared, request)
    trail.enter("ort")
    hop = ort_hop(
        prepared.artifact.path,
        prepared.spec,
        prepared.probes,
        prepared.reference_at,
        prepared.artifact.output_names,
        request=request,
    )
    trail.add(
        TriageSubject("export", prepared.artifact.path, case.exporter, request=request, feeds_probe=hop.failed_at),
        hop.numerics(),
        FloorRatio(hop.floor_ratio),
        OrtRun(len(prepared.artifact.output_names), hop.extra.get("session_seconds"), hop.extra.get("run_seconds")),
    )
    if not hop.ok:
        return trail.failed(hop.status, hop.message, stage="dynamic_sizes" if hop.at_other_size else "ort")
    return trail.passed()


def correctness_request(request: ProviderRequest) -> ProviderRequest:
    """The provider as numerics are checked on it: CUDA with TF32 off unless the options say otherwise
    (TF32 rounding is ~1e-3 on deep nets; the latency path reports it, this path judges FP32)."""
    if request.name != "CUDAExecutionProvider" or TF32_OPTION in request.option_dict():
        return request
    return ProviderRequest(request.name, (*request.options, (TF32_OPTION, "0")))


def _check_provider(runner: CaseRunner, trail: Trail, prepared: Prepared, request: ProviderRequest) -> None:
    """Where the provider puts the graph, checked in the onnx worker (a crash there costs one row)."""
    trail.enter("provider")
    trail.add(OptionsAsked(",".join(f"{k}={v}" for k, v in request.options)))
    check = runner.call(
        "onnx",
        "provider",
        probe_provider,
        str(prepared.artifact.path),
        request,
        Threads(),
        prepared.info.node_count,
        prepared.probes[0].inputs(prepared.spec),
    )
    trail.add(check)
    if check.fallback:
        raise StageFailure(Status.FALLBACK, check.fallback)


PATH = PathSpec("ort", "ONNX Runtime vs eager", draw_cases, run_ort)
