"""Time spent in the operations a run exists to perform, so the harness's own overhead can be told apart.

Inherent work, per kind:
- `worker`: a function running in a worker process (export, eager outputs, onnx-tf, tf2onnx,
  a transform, a provider check, the eager latency baseline), timed inside the worker: starting
  the process and moving arguments and results between processes are overhead;
- `ort_session`: ONNX Runtime sessions created in this process;
- `ort_run`: session.run calls in this process outside the timed loops;
- `timed_loops`: the latency path's calibrated rounds (pytest-benchmark) and larger-batch loops.
Everything else (judging outputs, the cache, rows, reports, pytest, process starts) is the
harness's. Each process keeps its own ledger; the pipeline puts what one case spent on its row.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

KINDS = ("worker", "ort_session", "ort_run", "timed_loops")
_SECONDS: defaultdict[str, float] = defaultdict(float)


def add(kind: str, seconds: float) -> None:
    _SECONDS[kind] += seconds


@contextmanager
def spent(kind: str) -> Iterator[None]:
    """Count the time inside the block as inherent work of `kind`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _SECONDS[kind] += time.perf_counter() - start


def snapshot() -> dict[str, float]:
    return dict(_SECONDS)


@dataclass(frozen=True)
class InherentTime:
    """What one case spent in inherent work, in seconds, per kind and in all."""

    seconds: Mapping[str, float]

    @classmethod
    def since(cls, before: Mapping[str, float]) -> InherentTime:
        return cls({kind: _SECONDS[kind] - before.get(kind, 0.0) for kind in KINDS})

    def columns(self) -> dict[str, float]:
        columns = {f"inherent_{kind}_s": round(self.seconds.get(kind, 0.0), 4) for kind in KINDS}
        columns["inherent_seconds"] = round(sum(self.seconds.values()), 4)
        return columns


def overhead_ratio(parts: Sequence[Mapping[str, Any]]) -> float | None:
    """Core-seconds the run's parts took (wall time x the processes that ran cases) over the
    inherent seconds their cases spent: 1.0 would be a harness that costs nothing."""
    inherent = sum(float(p.get("inherent_seconds") or 0.0) for p in parts)
    if inherent <= 0:
        return None
    used = sum(float(p.get("wall_seconds") or 0.0) * int(p.get("processes") or 1) for p in parts)
    return round(used / inherent, 3)
