"""The fixtures the matrix tests take: the case runner with its worker processes, the latency
settings, and zoo_check, which attaches a case's row to its report and passes or fails the test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from suite.core.budget import Budget, cap_memory
from suite.core.record import Record, Status
from suite.paths.latency import LatencySettings
from suite.plugin.rows import RECORD_KEY, SAMPLES_KEY
from suite.plugin.session import RunSession
from suite.run.cache import Cache
from suite.run.pipeline import CaseRunner
from suite.workers import onnx_files, tf_process, torch_models  # noqa: TID251 - the workers' initializers
from suite.workers.isolate import Worker
from suite.workers.settings import WorkerSettings

# What a row refused by the onnx worker's cap says to do (suite.plugin.settings.onnx_limits sizes it).
FILE_WORKER_REMEDY = (
    "raise it with --zoo-onnx-max-mb (the onnx worker that reads files from outside holds 4 times it plus 2 GB)"
)

SESSION = pytest.StashKey[RunSession]()


@pytest.fixture(scope="session")
def zoo_runner(pytestconfig: pytest.Config) -> Iterator[CaseRunner]:
    """The case runner with its worker processes, shared by every case in this process."""
    run = pytestconfig.stash[SESSION]
    settings = run.settings
    # torch and TensorFlow each get a process of their own: together they segfault. ONNX tools
    # that run C++ (version converter, quantizers) get a light one, so a crash costs one case.
    # Eager baselines run with the latency path's thread pools; trained zoo models keep their
    # weights in the cache folder.
    threads = settings.latency.threads
    budget = settings.cases.memory_budget  # an allocation past it is a row (suite.core.budget), not an OOM kill
    cap_memory(budget)  # this process runs ONNX Runtime on the exports: under the same budget (set before any worker)
    worker_settings = WorkerSettings(
        settings.user_modules,
        threads.intra_op,
        threads.inter_op,
        str(settings.cache_dir),
        None if settings.checkpoints_dir is None else str(settings.checkpoints_dir),
        budget,
    )
    limits = settings.cases.limits
    # A framework worker that still holds over half its budget after a call is ended: the budgets let
    # each process of a pytest process's family reach its budget only while it works.
    keep = budget // 2 if budget else None
    workers = {
        "torch": Worker(
            "torch", torch_models.init_worker, (worker_settings,), preload=torch_models.PRELOAD, keep_bytes=keep
        ),
        "tf": Worker("tf", tf_process.init_worker, (worker_settings,), keep_bytes=keep),
        # Files from outside first meet onnx and ONNX Runtime here: its memory is capped for them.
        "onnx": Worker("onnx", onnx_files.init_worker, (limits.max_worker_bytes,))
        if settings.selection.onnx_dirs
        else Worker("onnx", cap_memory, (budget,)),
    }
    budgets = {name: Budget(budget) for name in workers} if budget else {}
    if settings.selection.onnx_dirs:  # the onnx worker's own cap, from the files' size limit
        budgets["onnx"] = Budget(limits.max_worker_bytes, FILE_WORKER_REMEDY)
    runner = CaseRunner(
        workers,
        Cache(settings.cache_dir),
        settings.models,
        timeout=settings.cases.timeout,
        use_cache=settings.cases.use_cache,
        input_draw=settings.cases.input_draw,
        limits=limits,
        triage_limit=settings.cases.triage_limit,
        budgets=budgets,
    )
    try:
        yield runner
    finally:
        for worker in workers.values():
            worker.close()
        # Each worker's largest process (its peak resident memory, asked before it closed) against its budget.
        run.record_worker_stats(
            {
                name: {
                    "starts": w.starts,
                    "calls": w.calls,
                    "ended_holding_over_half_the_budget": w.recycled,
                    "peak_rss_mb": w.peak_rss >> 20,
                    "budget_mb": budgets[name].limit >> 20 if name in budgets else 0,
                }
                for name, w in workers.items()
            }
        )


@pytest.fixture(scope="session")
def zoo_latency_settings(pytestconfig: pytest.Config) -> LatencySettings:
    """Thread pools and timing plan of this run's latency path (with the baseline's files, for its A/B)."""
    return pytestconfig.stash[SESSION].latency


@pytest.fixture
def zoo_check(request: pytest.FixtureRequest) -> Callable[[Record], None]:
    """Attach a case's row to its test report, then pass, xfail or fail the test from it."""

    def check(record: Record) -> None:
        request.node.user_properties.append((RECORD_KEY, record.to_json()))
        if record.samples_ms:
            request.node.user_properties.append((SAMPLES_KEY, json.dumps(record.samples_ms)))
        if record.status == Status.XFAIL:
            pytest.xfail(f"{record.message} [expected: {record.expectation}]")
        if record.status in (Status.SKIP, Status.UNSUPPORTED):
            # What an exporter says it cannot do is information, not a failure; the row keeps it.
            pytest.skip(f"{record.status.value}: {record.message}")
        if not record.status.ok:
            pytest.fail(f"{record.status.value} at {record.stage}: {record.message}", pytrace=False)

    return check
