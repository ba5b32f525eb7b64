"""latency: each variant of a model's export, timed on each execution provider.

Per case: build (or reuse) the variant file, verify the provider with a verbose
session (suite.runtime.placement), create a quiet session with fixed thread
pools, time session.run at batch 1 through pytest-benchmark (warm-up and
calibrated rounds), then throughput at a larger batch where the batch axis is
dynamic, and the eager model's latency on the same inputs as the baseline.
Latency is measured serially; the plugin refuses the path under pytest-xdist.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from suite.core import inherent
from suite.core.figures import FloorRatio, Numerics
from suite.core.outcome import FieldFigures, Outcome, Trail
from suite.core.record import Status
from suite.judge.compare import compare_outputs
from suite.judge.inputs import Probe, dims_label, make_inputs
from suite.paths.declaration import LATENCY, PathSpec
from suite.paths.latency_ab import AbSettings, ab_stage
from suite.run.cases import Case, Draw, opsets_of, representative_exporter
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.transforms import OPTIMIZE, QUANTIZE, transform_named, transforms_for
from suite.run.variants import build_variant
from suite.runtime.placement import probe_provider
from suite.runtime.providers import TF32_OPTION, ProviderRequest
from suite.runtime.sessions import Threads, timed_session
from suite.runtime.timing import LatencyStats, TimingPlan, calibrate, sample, summarize
from zoo.expectations import expectation_for
from zoo.spec import ModelSpec

LARGE_BATCH = 8
BATCH_DIM = "batch"
FP32 = "fp32"  # the export itself, untransformed


@dataclass(frozen=True)
class LatencySettings:
    """Fixed for the whole run and recorded in every latency row."""

    threads: Threads = field(default_factory=lambda: Threads(intra_op=2, inter_op=1))
    plan: TimingPlan = field(default_factory=TimingPlan)
    large_batch: int = LARGE_BATCH
    ab: AbSettings | None = None  # keep the timed files; time a baseline's against them


def exact(variant: str) -> bool:
    """Whether a variant's numerics must match eager within the model's bounds on every provider:
    FP32 and optimizations; quantized ones are judged against FP32 by the quantize path's policy,
    and only recorded here."""
    return variant == FP32 or transform_named(variant).kind == OPTIMIZE


GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")


def eager_device_for(request: ProviderRequest) -> str:
    """Where the eager baseline of a row runs: on the GPU for GPU providers, so speedup_vs_eager
    compares like with like (the worker runs it on the CPU, and says so, where torch sees no GPU)."""
    return "cuda" if request.name in GPU_PROVIDERS else "cpu"


def latency_variants_for(spec: ModelSpec, draw: Draw) -> list[str]:
    """FP32, an offline optimization, and every quantization the run selects for the model.

    The optimization is onnxruntime.transformers' for BERT/GPT-2, else ORT's "extended"
    level: "all" adds the NCHWc layout, contrib ops only ORT's CPU provider runs (ORT
    warns such a file is tied to the machine that wrote it), which no other provider loads.
    The quantizations are timed here only: the quantize path's table takes their speedup
    from these rows, so each variant is timed once, by one method.
    """
    optimized = "opt_transformers" if transform_named("opt_transformers").applies_to(spec) else "opt_ort_extended"
    return [FP32, optimized, *transforms_for(QUANTIZE, draw)(spec)]


def batch_is_dynamic(spec: ModelSpec) -> bool:
    """Every input has a dynamic "batch" axis first, so the model can be fed larger batches."""
    return bool(spec.inputs) and all(inp.dynamic_dims.get(0) == BATCH_DIM for inp in spec.inputs)


def draw_cases(draw: Draw) -> list[Case]:
    """Per model: its representative export (dynamic where the batch axis is, so larger batches
    can be timed), times its latency variants, times the providers; grouped by model."""
    cases = []
    for spec in draw.specs:
        exporter = representative_exporter(spec, draw.opsets)
        if exporter is None:
            continue
        opset = max(opsets_of(spec, exporter, draw.opsets))
        shape = _latency_shape(spec, exporter, opset, draw.shapes)
        for provider in draw.providers:
            for variant in latency_variants_for(spec, draw):
                label = f"lat.{variant}.{provider.label}"
                cases.append(Case(spec.name, exporter, opset, shape, "latency", label, variant, provider))
    return cases


def _latency_shape(spec: ModelSpec, exporter: str, opset: int, shapes: Sequence[str]) -> str:
    """Dynamic where the batch axis is and the dynamic export is not a known failure on ONNX Runtime
    (zoo/expectations.py): a dynamic export that only runs at its traced size cannot be timed at batch 1."""
    if not (batch_is_dynamic(spec) and "dynamic" in shapes):
        return "static"
    known_broken = expectation_for(Case(spec.name, exporter, opset, "dynamic").case_id)  # its ort case
    return "static" if known_broken is not None else "dynamic"


def _takes_any_batch(spec: ModelSpec, shape: str) -> bool:
    return shape == "dynamic" and batch_is_dynamic(spec)


def timed_dims(spec: ModelSpec, shape: str) -> dict[str, int]:
    """Sizes latency is measured at: batch 1 where the export takes any batch, else the export's own."""
    return {**spec.dims, BATCH_DIM: 1} if _takes_any_batch(spec, shape) else dict(spec.dims)


def large_batch_dims(spec: ModelSpec, shape: str, batch: int) -> dict[str, int] | None:
    """Sizes at the larger batch, or None where the export's batch axis is fixed."""
    return {**spec.dims, BATCH_DIM: batch} if _takes_any_batch(spec, shape) else None


def benchmark_session(
    benchmark: Any,
    session: Any,
    feeds: Mapping[str, np.ndarray],
    plan: TimingPlan,
    between_rounds: Callable[[], None] | None = None,
) -> LatencyStats:
    """session.run timed by pytest-benchmark: calibrated rounds after warm-up, one call per round.

    `between_rounds` runs untimed before each round (the fidelity test interleaves a bare
    timing loop with the suite's rounds there, so drift in machine load hits both alike).
    """
    names = [o.name for o in session.get_outputs()]
    run = functools.partial(session.run, names, dict(feeds))
    with inherent.spent("timed_loops"):
        rounds = calibrate(run, plan)
        benchmark.pedantic(run, setup=between_rounds, rounds=rounds.measured, warmup_rounds=rounds.warmup, iterations=1)
    if benchmark.stats is None:  # --benchmark-disable: the call ran once, untimed
        raise StageFailure(Status.SKIP, "pytest-benchmark is disabled (--benchmark-disable): no latency measured")
    return summarize(list(benchmark.stats.stats.data))


def round_samples_ms(benchmark: Any) -> list[float]:
    """pytest-benchmark's per-round times in ms (4 significant digits: the history stores them)."""
    if benchmark.stats is None:
        return []
    return [float(f"{s * 1000.0:.4g}") for s in benchmark.stats.stats.data]


@dataclass(frozen=True)
class LatencySetup(FieldFigures):
    """The provider asked for and the fixed thread pools the variant is timed with."""

    provider: str
    provider_options: str  # JSON of the options asked for, or ""
    intra_op_threads: int
    inter_op_threads: int


@dataclass(frozen=True)
class SessionTime(FieldFigures):
    ort_session_seconds: float


@dataclass(frozen=True)
class FirstRun(FieldFigures):
    first_run_ms: float  # the first session.run, allocations and kernel choices included


@dataclass(frozen=True)
class Throughput(FieldFigures):
    batch: int
    throughput_per_s: float


@dataclass(frozen=True)
class LargeBatch(FieldFigures):
    """Throughput at the larger batch, or why there is none (large_batch_note)."""

    large_batch: int | None = None
    large_batch_p50_ms: float | None = None
    large_batch_throughput_per_s: float | None = None
    large_batch_note: str = ""


@dataclass(frozen=True)
class EagerBaseline(FieldFigures):
    eager_p50_ms: float
    eager_device: str  # where it ran: a GPU asked for where the framework sees none runs on the CPU
    eager_threads: int
    speedup_vs_eager: float


@dataclass(frozen=True)
class Samples(FieldFigures):
    samples_ms: list[float]  # per round, for the history's significance test; not a column of the CSV


@dataclass(frozen=True)
class ProviderNumerics(FieldFigures):
    provider_options_in_effect: str  # JSON, as onnxruntime reports them (defaults included)
    numerics_policy: str  # how the row's numerics are judged, in words


@dataclass(frozen=True)
class Tf32Figures(FieldFigures):
    """Where the timed session uses TF32 math: its error, beside the strict (TF32 off) session's."""

    tf32_max_abs_err: float | None
    tf32_floor_ratio: float | None
    strict_max_abs_err: float | None


def run_latency(
    runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared, benchmark: Any, settings: LatencySettings
) -> Outcome:
    """Time one variant on one provider; its figures go to the row, pytest-benchmark keeps its own JSON."""
    spec, request = prepared.spec, case.provider
    trail.add(
        LatencySetup(
            request.name,
            json.dumps(request.option_dict()) if request.options else "",
            settings.threads.intra_op,
            settings.threads.inter_op,
        )
    )
    benchmark.extra_info.update({"case_id": case.case_id, "variant": case.variant, "provider": request.label})
    model_path, graph_nodes = prepared.artifact.path, prepared.info.node_count
    if case.variant != FP32:
        model_path, facts = build_variant(runner, case.variant, trail, prepared, case.provider)
        graph_nodes = facts.get("node_count") or graph_nodes

    dims = timed_dims(spec, case.shape)
    feeds = make_inputs(spec, dims)
    session = _verified_session(runner, model_path, request, settings, graph_nodes, feeds, trail)
    trail.enter("first_run")
    try:
        start = time.perf_counter()
        with inherent.spent("ort_run"):
            first = session.run(None, feeds)
        trail.add(FirstRun(round((time.perf_counter() - start) * 1000.0, 4)))
    except Exception as exc:  # noqa: BLE001
        raise StageFailure(Status.RUNTIME_ERROR, f"session.run failed on {request.name}: {exc}") from None

    trail.enter("benchmark")
    stats = benchmark_session(benchmark, session, feeds, settings.plan)
    batch = dims.get(BATCH_DIM, 1)
    trail.add(
        Samples(round_samples_ms(benchmark)),
        stats,
        Throughput(batch, round(batch * 1000.0 / stats.p50_ms, 2)),
        _large_batch(session, spec, case, settings),
    )

    if spec.file_source is None:  # an ONNX file from outside has no eager model to time
        trail.enter("eager")
        eager = runner.eager_latency(spec, dims, settings.threads, settings.plan, eager_device_for(request))
        trail.add(
            EagerBaseline(
                eager["p50_ms"], eager.get("device", "cpu"), eager["threads"], round(eager["p50_ms"] / stats.p50_ms, 4)
            )
        )
    if settings.ab is not None:
        trail.enter("ab")
        threads = settings.threads
        trail.add(*ab_stage(settings.ab, case.case_id, model_path, request, threads, feeds, spec.tolerance))
    effective = _effective_options(session, request)
    return _judge_numerics(trail, case, prepared, dims, first, effective, model_path, settings)


def _verified_session(
    runner: CaseRunner,
    model_path: Path,
    request: ProviderRequest,
    settings: LatencySettings,
    graph_nodes: int,
    feeds: Mapping[str, np.ndarray],
    trail: Trail,
) -> Any:
    """A quiet, timed session on `request`, after the provider was verified in the onnx worker.

    The worker creates a verbose session (where nodes went, why a provider fell back) and runs
    it once: a runtime that crashes on this file costs one row, not the pytest process.
    """
    trail.enter("provider")
    check = runner.call(
        "onnx",
        "provider",
        probe_provider,
        str(model_path),
        request,
        settings.threads,
        graph_nodes,
        dict(feeds),
    )
    trail.add(check)
    if check.fallback:
        raise StageFailure(Status.FALLBACK, check.fallback)
    try:
        session, created_s = timed_session(model_path, request, settings.threads)
    except Exception as exc:  # noqa: BLE001 - a model this runtime cannot load is this row's verdict
        raise StageFailure(Status.RUNTIME_ERROR, f"ONNX Runtime could not create the session: {exc}") from None
    trail.add(SessionTime(round(created_s, 4)))
    return session


def _large_batch(session: Any, spec: ModelSpec, case: Case, settings: LatencySettings) -> LargeBatch:
    """Throughput at the larger batch, or why there is none."""
    dims = large_batch_dims(spec, case.shape, settings.large_batch)
    if dims is None:
        return LargeBatch(large_batch_note="batch axis is fixed in this export")
    feeds = make_inputs(spec, dims)
    names = [o.name for o in session.get_outputs()]
    try:
        with inherent.spent("timed_loops"):
            samples = sample(lambda: session.run(names, feeds), settings.plan)
        stats = summarize(samples)
    except Exception as exc:  # noqa: BLE001 - a dynamic axis that fails at this size is worth a note, not the row
        return LargeBatch(large_batch_note=f"batch {settings.large_batch} failed: {str(exc)[:200]}")
    return LargeBatch(
        settings.large_batch,
        round(stats.p50_ms, 5),
        round(settings.large_batch * 1000.0 / stats.p50_ms, 2),
    )


def _effective_options(session: Any, request: ProviderRequest) -> dict[str, str]:
    """The provider options the session runs with (defaults included), as onnxruntime reports them."""
    try:
        return {str(k): str(v) for k, v in session.get_provider_options().get(request.name, {}).items()}
    except Exception:  # noqa: BLE001 - a build without the call; the row then shows the options asked for
        return request.option_dict()


def strict_request(request: ProviderRequest, effective: Mapping[str, str]) -> ProviderRequest | None:
    """The same provider with TF32 math off, where the timed session uses it (the CUDA provider's
    default on GPUs that have it), so FP32 numerics can be judged strictly; else None."""
    if effective.get(TF32_OPTION) != "1":
        return None
    options = (*((k, v) for k, v in request.options if k != TF32_OPTION), (TF32_OPTION, "0"))
    return ProviderRequest(request.name, options)


def numerics_policy(case: Case, strict: ProviderRequest | None, rule: str, against: str = "eager") -> str:
    """How this row's numerics are judged, in words, for the report (`rule`: the bounds' rule,
    `against`: what the reference is)."""
    fp32 = f"{rule} vs {against}"
    if not exact(case.variant):
        return "recorded, not judged here (the quantize path judges quantized variants against FP32)"
    if strict is not None:
        return f"FP32 judged with {TF32_OPTION}=0 ({fp32}); the timed session's TF32 error is reported, not judged"
    return f"FP32 judged on the timed session ({fp32})"


def _judge_numerics(
    trail: Trail,
    case: Case,
    prepared: Prepared,
    dims: Mapping[str, int],
    outputs: list[Any],
    effective: Mapping[str, str],
    model_path: Path,
    settings: LatencySettings,
) -> Outcome:
    """Outputs on this provider against eager: recorded always, judged for unquantized variants.

    Where the timed session uses TF32 math, its error is TF32 rounding, not a verdict: a second
    session with TF32 off is judged with the FP32 tolerance, so a wrong kernel still fails.
    """
    trail.enter("compare")
    strict = strict_request(case.provider, effective)
    reference = prepared.reference_at(Probe(dims))
    policy = numerics_policy(case, strict, reference.rule, reference.against or "eager")
    trail.add(ProviderNumerics(json.dumps(dict(effective), sort_keys=True), policy))
    comparison = _against_eager(prepared, dims, outputs)
    timed = Numerics(max_abs_err=comparison.worst("max_abs_err"), sizes_checked=dims_label(dims))
    trail.add(timed, FloorRatio(comparison.worst("floor_ratio")))
    if strict is not None:
        tf32_floor_ratio = comparison.worst("floor_ratio")
        try:
            session, _ = timed_session(model_path, strict, settings.threads)
            with inherent.spent("ort_run"):
                strict_outputs = session.run(None, make_inputs(prepared.spec, dims))
            comparison = _against_eager(prepared, dims, strict_outputs)
        except Exception as exc:  # noqa: BLE001 - the strict session is part of this row's verdict
            raise StageFailure(Status.RUNTIME_ERROR, f"the {TF32_OPTION}=0 session failed: {exc}") from None
        # The judged floor ratio is the strict session's; the TF32 figures stay beside it.
        trail.add(
            Tf32Figures(timed.max_abs_err, tf32_floor_ratio, comparison.worst("max_abs_err")),
            FloorRatio(comparison.worst("floor_ratio")),
        )
    if exact(case.variant) and not comparison.ok:
        mode = f" with {TF32_OPTION}=0" if strict is not None else ""
        return trail.failed(
            Status.MISMATCH, f"{case.provider.name}{mode} output differs from eager: {comparison.message}"
        )
    return trail.passed()


def _against_eager(prepared: Prepared, dims: Mapping[str, int], outputs: Sequence[Any]) -> Any:
    names = list(prepared.artifact.output_names)
    reference = prepared.reference_at(Probe(dims))
    return compare_outputs(
        reference.outputs,
        [np.asarray(o) for o in outputs],
        expected_names=names,
        candidate_names=names,
        tolerance=reference.bounds,
        task=prepared.spec.task,
    )


PATH = PathSpec(
    "latency",
    "Latency per variant and execution provider",
    draw_cases,
    run_latency,
    timed=True,  # measured serially, on a quiet machine
    shown_as=LATENCY,
)
