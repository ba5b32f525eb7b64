"""ort: ONNX Runtime on the export, on every probe, against eager (CPU, then each selected provider)."""

from __future__ import annotations

from suite.backends.ort import Threads
from suite.backends.placement import probe_provider
from suite.cases import CPU, Case, Draw, build_matrix, with_providers
from suite.hops import ort_hop
from suite.paths.declaration import PathSpec
from suite.pipeline import CaseRunner, Prepared, StageFailure
from suite.providers import TF32_OPTION, ProviderRequest
from suite.record import Record, Status


def draw_cases(draw: Draw) -> list[Case]:
    """Every shape mode, on the CPU and on each other selected provider (ids end ort_<label>)."""
    return with_providers(build_matrix(draw, "ort", "ort_cpu"), draw.providers, "ort_")


def run_ort(runner: CaseRunner, case: Case, record: Record, prepared: Prepared) -> None:
    """ONNX Runtime on the export on every probe; figures go to the row's main columns.

    A case on another provider than the plain CPU one runs there, after the onnx worker checked
    that the provider really takes the graph (a fallback is a `fallback` row, as in the latency path).
    """
    request = correctness_request(case.provider) if case.provider != CPU else None
    if request is not None:
        _check_provider(runner, record, prepared, request)
    record.stage = "ort"
    hop = ort_hop(
        prepared.artifact.path,
        prepared.spec,
        prepared.probes,
        prepared.reference_at,
        prepared.artifact.output_names,
        request=request,
    )
    for name in ("max_abs_err", "max_rel_err", "mismatch_frac", "top1_agreement", "sizes_checked"):
        setattr(record, name, getattr(hop, name))
    record.hops["floor_ratio"] = hop.floor_ratio
    record.outputs_checked = len(prepared.artifact.output_names)
    record.ort_session_seconds = hop.extra.get("session_seconds")
    record.ort_run_seconds = hop.extra.get("run_seconds")
    if not hop.ok:
        record.stage = "dynamic_sizes" if hop.at_other_size else "ort"
        raise StageFailure(hop.status, hop.message)


def correctness_request(request: ProviderRequest) -> ProviderRequest:
    """The provider as numerics are checked on it: CUDA with TF32 off unless the options say otherwise
    (TF32 rounding is ~1e-3 on deep nets; the latency path reports it, this path judges FP32)."""
    if request.name != "CUDAExecutionProvider" or TF32_OPTION in request.option_dict():
        return request
    return ProviderRequest(request.name, (*request.options, (TF32_OPTION, "0")))


def _check_provider(runner: CaseRunner, record: Record, prepared: Prepared, request: ProviderRequest) -> None:
    """Where the provider puts the graph, checked in the onnx worker (a crash there costs one row)."""
    record.stage = "provider"
    record.hops["provider_options"] = ",".join(f"{k}={v}" for k, v in request.options)
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
    record.hops.update(check.columns())
    if check.fallback:
        raise StageFailure(Status.FALLBACK, check.fallback)


PATH = PathSpec("ort", "ONNX Runtime vs eager", draw_cases, run_ort)
