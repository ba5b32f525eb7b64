"""A step over a worker's memory budget is a skip row that says how much it needed: the same row on
every run, never cached, never a kernel OOM kill."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from suite.core.budget import GIB, HEADROOM_BYTES, Budget, default_budget, out_of_memory
from suite.core.record import Status
from suite.run.pipeline import classify_worker_error
from suite.workers.errors import RemoteError

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "vacuous_models.py"


def test_the_default_budget_splits_the_machine_between_the_parallel_processes() -> None:
    total = 23 * GIB
    assert default_budget(1, total) == total - HEADROOM_BYTES
    assert default_budget(2, total) == (total - HEADROOM_BYTES) // 2  # 10.5 GB here
    assert default_budget(64, total) == GIB  # never below 1 GB


def test_the_option_beats_the_profile_which_beats_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.plugin.settings import memory_budget

    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    assert memory_budget(3.0, 6.0) == 3 * GIB  # --zoo-worker-memory-gb (or $ZOO_WORKER_MEMORY_GB)
    assert memory_budget(None, 6.0) == 6 * GIB  # the profile's worker_memory_gb
    assert memory_budget(None, None) == default_budget(2)  # the machine's share
    assert memory_budget(0.0, 6.0) is None  # 0: no budget, even where the profile sets one


def test_allocation_errors_of_each_library_are_recognised() -> None:
    assert out_of_memory("RuntimeError", "[enforce fail at alloc_cpu.cpp] DefaultCPUAllocator: can't allocate memory")
    assert out_of_memory("builtins.MemoryError", "Unable to allocate 3.73 GiB for an array")
    assert out_of_memory("onnxruntime.capi.onnxruntime_pybind11_state.RuntimeException", "std::bad_alloc")
    assert not out_of_memory("RuntimeError", "shape mismatch")


def test_an_allocation_over_budget_is_a_skip_that_is_not_cached() -> None:
    error = RemoteError("RuntimeError", "DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 GB", "")
    failure = classify_worker_error(error, "export", Budget(2 * GIB))
    assert failure.status == Status.SKIP and not failure.kept
    assert failure.message.startswith("needs more than 2.0 GB for export (this process's memory budget")
    # Without a budget the same error is the step's own failure.
    assert classify_worker_error(error, "export").status != Status.SKIP


@pytest.mark.slow
def test_a_forward_over_budget_is_the_same_skip_row_on_every_run(tmp_path: Path) -> None:
    def run(report: str) -> pd.Series:
        result = subprocess.run(
            [
                sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix" / "test_ort.py"), "--rootdir", str(ROOT),
                "-p", "no:cacheprovider", "-q", f"--zoo-module={MODELS}", "--zoo-models=hungry_scratch,vacuous_mixed",
                "--zoo-exporters=torchscript", "--zoo-opsets=17", "--zoo-worker-memory-gb=2",
                f"--zoo-report-dir={tmp_path / report}", f"--zoo-cache-dir={tmp_path / 'cache'}", "--zoo-history=none",
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]  # vacuous_mixed judged, hungry_scratch skipped
        meta = json.loads((tmp_path / report / "latest" / "metadata.json").read_text())
        torch_worker = meta["worker_processes"]["torch"]
        assert torch_worker["budget_mb"] == 2048 and 0 < torch_worker["peak_rss_mb"] < 2048  # sampled, within it
        return pd.read_csv(tmp_path / report / "latest" / "results.csv").set_index("model").loc["hungry_scratch"]

    first, second = run("first"), run("second")
    assert first["status"] == second["status"] == "skip"
    assert first["stage"] == "reference"
    assert first["message"].startswith("needs more than 2.0 GB for reference")
    assert "DefaultCPUAllocator: can't allocate memory: you tried to allocate 4000000000 bytes" in first["message"]
    assert second["message"] == first["message"]


def test_an_ort_allocation_over_this_process_budget_is_a_skip_not_a_runtime_error() -> None:
    # The pytest process runs ONNX Runtime under the same budget: checked in a process of its own.
    script = (
        "from suite.core.budget import cap_memory, GIB\n"
        "from suite.runtime.ort_errors import ort_failure\n"
        "error = RuntimeError('BFCArena: Failed to allocate memory for requested buffer of size 9')\n"
        "print(ort_failure(error).status.value)\n"
        "cap_memory(4 * GIB)\n"
        "failure = ort_failure(error)\n"
        "print(failure.status.value)\n"
        "print(failure.message('ONNX Runtime failed at batch=2'))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    without, within, message = result.stdout.strip().splitlines()
    assert (without, within) == ("runtime_error", "skip")
    assert message.startswith("needs more than 4.0 GB for ONNX Runtime (this process's memory budget: ")
    assert "Failed to allocate memory for requested buffer" in message


def test_the_run_sums_each_processs_worker_counts_and_keeps_the_largest_peak() -> None:
    """metadata.json's worker_processes: starts, calls and workers ended for holding over half their
    budget add up over the pytest processes; the peak is the largest one's."""
    from types import SimpleNamespace

    from suite.plugin.session import RunSession

    stats = [
        {"torch": {"starts": 3, "calls": 40, "ended_holding_over_half_the_budget": 1, "peak_rss_mb": 900}},
        {"torch": {"starts": 2, "calls": 10, "ended_holding_over_half_the_budget": 2, "peak_rss_mb": 1200}},
    ]
    totals = RunSession.worker_totals(SimpleNamespace(worker_stats=stats))  # type: ignore[arg-type]
    assert totals == {"torch": {"starts": 5, "calls": 50, "ended_holding_over_half_the_budget": 3, "peak_rss_mb": 1200}}
