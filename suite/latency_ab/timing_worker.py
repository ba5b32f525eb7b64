"""A timing worker for environment A/B, run as a script by another environment's interpreter.

    /path/to/other/venv/bin/python suite/latency_ab/timing_worker.py

It needs only numpy and onnxruntime (the environment under test need not have zoo-suite), reads
one JSON command per line on stdin and answers one JSON line on stdout:
- {"op": "load", "model": PATH, "provider": NAME, "options": {...}, "intra_op": N, "inter_op": N,
   "feeds": NPZ, "outputs": NPZ} -> {"ok": true, "package", "version", "providers"}; writes its
   outputs on the feeds to the second NPZ;
- {"op": "warm", "seconds": S} -> {"ok": true, "per_call": seconds per call};
- {"op": "block", "calls": K} -> {"ok": true, "seconds": seconds per call over K calls};
- {"op": "quit"}.
A failure answers {"ok": false, "error": "..."} and the worker stays up.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import time
from typing import Any

import numpy as np


class Timer:
    """One session and its inputs; times blocks of calls when told."""

    def __init__(self) -> None:
        self.sessions: list[Any] = []
        self.feeds: dict[str, np.ndarray] = {}
        self.turn = 0

    def load(self, command: dict[str, Any]) -> dict[str, Any]:
        import onnxruntime as ort

        ort.set_default_logger_severity(3)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(command["intra_op"])
        options.inter_op_num_threads = int(command["inter_op"])
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle sessions' pool threads would spin on the cores the other side runs on (as in latency_ab).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        providers: list[Any] = [(command["provider"], command.get("options") or {})]
        if command["provider"] != "CPUExecutionProvider":
            providers.append("CPUExecutionProvider")
        # Blocks rotate over a few sessions: one session's own speed (where its buffers landed) is not the file's.
        count = int(command.get("sessions", 2))
        self.sessions = [
            ort.InferenceSession(command["model"], sess_options=options, providers=providers) for _ in range(count)
        ]
        with np.load(command["feeds"]) as stored:
            self.feeds = {name: stored[name] for name in stored.files}
        outputs = self.sessions[0].run(None, self.feeds)
        np.savez(command["outputs"], *[np.asarray(o) for o in outputs])
        return {"package": _package(), "version": ort.__version__, "providers": self.sessions[0].get_providers()}

    def warm(self, seconds: float) -> dict[str, Any]:
        medians = []
        for session in self.sessions:
            times: list[float] = []
            deadline = time.perf_counter() + seconds / len(self.sessions)
            while len(times) < 3 or time.perf_counter() < deadline:
                start = time.perf_counter()
                session.run(None, self.feeds)
                times.append(time.perf_counter() - start)
            medians.append(float(np.median(times[-max(3, len(times) // 2) :])))
        return {"per_call": max(medians)}

    def block(self, calls: int) -> dict[str, Any]:
        session = self.sessions[self.turn % len(self.sessions)]
        self.turn += 1
        run, feeds = session.run, self.feeds
        start = time.perf_counter()
        for _ in range(calls):
            run(None, feeds)
        return {"seconds": (time.perf_counter() - start) / calls}


def _package() -> str:
    """Which onnxruntime distribution provides the module (they differ by their providers)."""
    for name in ("onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime"):
        try:
            importlib.metadata.version(name)
            return name
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def serve() -> None:
    timer = Timer()
    for line in sys.stdin:
        command = json.loads(line)
        op = command.get("op")
        if op == "quit":
            return
        try:
            if op == "load":
                answer = timer.load(command)
            elif op == "warm":
                answer = timer.warm(float(command["seconds"]))
            elif op == "block":
                answer = timer.block(int(command["calls"]))
            else:
                raise ValueError(f"unknown op {op!r}")
            answer["ok"] = True
        except Exception as exc:  # noqa: BLE001 - said to the parent, which makes it a row
            answer = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
