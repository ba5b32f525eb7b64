"""latency: each variant of a model's export, timed on each execution provider.

Per case: build (or reuse) the variant file, verify the provider with a verbose
session (suite.runtime.placement), create a quiet session with fixed thread
pools, time session.run at batch 1 through pytest-benchmark (warm-up and
calibrated rounds), then throughput at a larger batch where the batch axis is
dynamic, and the eager model's latency on the same inputs as the baseline.
Latency is measured serially; the plugin refuses the path under pytest-xdist.
Which cases are drawn and at which sizes: suite.paths.latency_cases; how a row's
numerics are judged: suite.paths.latency_numerics.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suite.core import inherent
from suite.core.outcome import FieldFigures, Outcome, Trail
from suite.core.record import Status
from suite.judge.inputs import make_inputs
from suite.paths.declaration import LATENCY, PathSpec
from suite.paths.latency_ab import AbSettings, ab_stage
from suite.paths.latency_cases import BATCH_DIM, FP32, draw_cases, large_batch_dims, timed_dims
from suite.paths.latency_numerics import effective_options, judge_numerics
from suite.run.cases import Case
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.variants import build_variant
from suite.runtime.engine_cache import with_engine_cache
from suite.runtime.gpu import GPU_PROVIDERS
from suite.runtime.ort_errors import ort_failure
from suite.runtime.placement import probe_provider
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import Threads, TimedModel, output_values, timed_session
from suite.runtime.timing import LatencyStats, TimingPlan, calibrate, sample, summarize
from zoo.spec import ModelSpec

LARGE_BATCH = 8


@dataclass(frozen=True)
class LatencySettings:
    """Fixed for the whole run and recorded in every latency row."""

    threads: Threads = field(default_factory=lambda: Threads(intra_op=2, inter_op=1))
    plan: TimingPlan = field(default_factory=TimingPlan)
    large_batch: int = LARGE_BATCH
    ab: AbSettings | None = None  # keep the timed files; time a baseline's against them


def eager_device_for(request: ProviderRequest) -> str:
    """Where the eager baseline of a row runs: on the GPU for GPU providers, so speedup_vs_eager
    compares like with like (the worker runs it on the CPU, and says so, where torch sees no GPU)."""
    return "cuda" if request.name in GPU_PROVIDERS else "cpu"


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
    model_path, graph_nodes, level = prepared.artifact.path, prepared.info.node_count, None
    if case.variant != FP32:
        built = build_variant(runner, case.variant, trail, prepared, case.provider)
        model_path, level = built.path, built.session_level
        graph_nodes = built.facts.get("node_count") or graph_nodes
    timed = TimedModel(model_path, level)
    # Sessions get the asked-for provider plus what the suite adds to it (TensorRT's engine cache);
    # the row and the case id keep what was asked for.
    session_request = with_engine_cache(request, runner.cache.root, model_path, level)

    dims = timed_dims(spec, case.shape)
    feeds = make_inputs(spec, dims)
    session = _verified_session(runner, timed, session_request, settings, graph_nodes, feeds, trail)
    trail.enter("first_run")
    try:
        start = time.perf_counter()
        with inherent.spent("ort_run"):
            first = output_values(session, session.run(None, feeds))
        trail.add(FirstRun(round((time.perf_counter() - start) * 1000.0, 4)))
    except Exception as exc:  # noqa: BLE001
        failure = ort_failure(exc, model_path)
        raise StageFailure(
            failure.status, failure.message(f"session.run failed on {request.name}", whole=True)
        ) from None

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
        trail.add(*ab_stage(settings.ab, case.case_id, timed, session_request, threads, feeds, spec.tolerance))
    effective = effective_options(session, session_request)
    return judge_numerics(trail, case, prepared, dims, first, effective, timed, settings.threads)


def _verified_session(
    runner: CaseRunner,
    timed: TimedModel,
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
        str(timed.path),
        request,
        settings.threads,
        graph_nodes,
        dict(feeds),
        timed.level,
    )
    trail.add(check)
    if check.fallback:
        raise StageFailure(Status.FALLBACK, check.fallback)
    try:
        session, created_s = timed_session(timed.path, request, settings.threads, level=timed.level)
    except Exception as exc:  # noqa: BLE001 - a model this runtime cannot load is this row's verdict
        failure = ort_failure(exc, timed.path)
        raise StageFailure(
            failure.status, failure.message("ONNX Runtime could not create the session", whole=True)
        ) from None
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


PATH = PathSpec(
    "latency",
    "Latency per variant and execution provider",
    draw_cases,
    run_latency,
    timed=True,  # measured serially, on a quiet machine
    shown_as=LATENCY,
)
