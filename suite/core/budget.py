"""Each worker process's memory budget: an export or run that needs more is a row, never a kernel OOM kill.

A corpus entry can need far more memory than its parameters suggest (tv_mvit_v2_s, 34.5M
parameters, took 21.9 GB to export at 16x224x224); under `-n 2` the kernel killed it, and it
could as well have killed pytest and lost the run. So every framework worker (torch, TF, the
onnx tools) runs under RLIMIT_DATA: its writable private memory (heap, torch's and numpy's
buffers) is capped, so an allocation past the cap fails inside the worker as an exception
("DefaultCPUAllocator: can't allocate memory", MemoryError, std::bad_alloc), which
suite.run.pipeline turns into a `skip` "needs more than N GB ..." row. Unlike RLIMIT_AS it does
not count the libraries mapped and the address space reserved but never touched (a torch worker
maps some 4.5 GB to hold 1.2 GB).

The pytest processes themselves run ONNX Runtime (the ort hops, the variants' sessions) under the
same budget: an allocation ORT cannot make there is the same kind of row (suite.runtime.ort_errors).

The default budget splits the machine's memory, less headroom for the pytest controller and the
system, between the parallel pytest processes (each one runs its own workers, one call at a time).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

GIB = 1 << 30
MEMORY_ENV = "ZOO_WORKER_MEMORY_GB"  # the --zoo-worker-memory-gb default where the option is not given
# What the machine keeps outside the budgets: the pytest controller, the system.
HEADROOM_BYTES = 2 * GIB
_OUT_OF_MEMORY = re.compile(
    r"can't allocate memory|cannot allocate memory|bad_alloc|failed to allocate memory|unable to allocate|"
    r"out of memory",
    re.IGNORECASE,
)


def machine_bytes() -> int:
    """The machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_budget(parallel: int, total: int | None = None) -> int:
    """One process's budget when `parallel` pytest processes share the machine: its memory less the
    controller's headroom, split evenly (a pytest process and its workers call each other in turn,
    so their peaks seldom meet)."""
    total = machine_bytes() if total is None else total
    return max((total - HEADROOM_BYTES) // max(parallel, 1), GIB)


def cap_memory(max_bytes: int | None) -> None:
    """Worker initializer: cap this process's writable private memory at `max_bytes` (None: no cap)."""
    if not max_bytes:
        return
    import resource

    resource.setrlimit(resource.RLIMIT_DATA, (max_bytes, max_bytes))


def current_budget() -> int | None:
    """This process's memory budget (its RLIMIT_DATA), None where it has none."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    return None if soft == resource.RLIM_INFINITY else soft


def out_of_memory(type_name: str, message: str) -> bool:
    """Whether a worker's exception is an allocation that its budget refused."""
    return type_name.rsplit(".", 1)[-1] == "MemoryError" or bool(_OUT_OF_MEMORY.search(message))


def refusal_line(message: str) -> str:
    """The part of an error message that says what could not be allocated ("DefaultCPUAllocator: can't
    allocate memory: you tried to allocate 4000000000 bytes"), not the frames and checks before it."""
    match = _OUT_OF_MEMORY.search(message)
    if match is None:
        return message.strip().splitlines()[0][:160] if message.strip() else ""
    line_start = message.rfind("\n", 0, match.start()) + 1
    line_end = message.find("\n", match.end())
    line = message[line_start : len(message) if line_end < 0 else line_end]
    start = max(0, match.start() - line_start - 40)
    return ("..." if start else "") + line[start : match.end() - line_start + 60].strip()


@dataclass(frozen=True)
class Budget:
    """One process's memory cap, and what a user does to give it more: the row a refusal becomes
    names the cap that refused it (a file worker's cap is not the run's worker budget)."""

    limit: int  # bytes
    remedy: str = f"raise it with --zoo-worker-memory-gb or ${MEMORY_ENV}, or run fewer workers (-n)"


def over_budget_message(budget: Budget, stage: str, error: str) -> str:
    """The row's one line for a step that needed more than the process's budget."""
    needed = f"needs more than {budget.limit / GIB:.1f} GB for {stage}"
    return f"{needed} (this process's memory budget: {error}); {budget.remedy}"


def peak_rss() -> int:
    """This process's peak resident memory in bytes (called in a worker before it closes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
