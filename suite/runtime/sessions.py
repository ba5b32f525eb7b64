"""ONNX Runtime: sessions from artifacts, runs, and a refusal to fall back silently."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.core import inherent
from suite.runtime.gpu_libraries import load_gpu_libraries
from suite.runtime.providers import ProviderRequest, alias_name


class ProviderUnavailable(Exception):
    """The requested execution provider is not in this onnxruntime build."""


class ProviderFallback(Exception):
    """The session was created but the requested provider is not the one in use."""


@dataclass(frozen=True)
class Threads:
    """Thread pools a session gets; fixed and recorded so timings compare like with like."""

    intra_op: int = 0  # 0: onnxruntime's default (one per physical core)
    inter_op: int = 0


@dataclass(frozen=True)
class TimedModel:
    """A file as a latency row times and judges it: the session may optimize it itself (`level`)."""

    path: Path
    level: str | None = None  # a GRAPH_LEVELS name the session applies (online optimization); None: the default


# onnxruntime's graph optimization levels by the names variants use (opt_ort_<level>).
GRAPH_LEVELS = {"basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}
# A session level that is no variant: every graph optimization off (triage's check for a fusion bug).
NO_OPTIMIZATION = "disabled"
_SESSION_LEVELS = {**GRAPH_LEVELS, NO_OPTIMIZATION: "ORT_DISABLE_ALL"}


def session_from_artifact(path: Path, provider: str = "cpu", intra_op_threads: int = 0) -> Any:
    """An InferenceSession on `provider` (alias or name), verified to really use it.

    Raises:
        ProviderUnavailable: onnxruntime does not offer the provider.
        ProviderFallback: the session fell back to another provider.
    """
    session = create_session(path, ProviderRequest(alias_name(provider)), Threads(intra_op_threads))
    wanted = alias_name(provider)
    if session.get_providers()[0] != wanted:
        raise ProviderFallback(f"asked for {wanted}, session runs on {session.get_providers()}")
    return session


def create_session(
    path: Path,
    request: ProviderRequest,
    threads: Threads = Threads(),
    verbose: bool = False,
    config: Mapping[str, str] | None = None,
    level: str | None = None,
) -> Any:
    """An InferenceSession asking for `request` (CPU as the last resort), not yet verified.

    `config`: session config entries (e.g. {"session.intra_op.allow_spinning": "0"}).
    `level`: the graph optimization level the session applies (a GRAPH_LEVELS name or NO_OPTIMIZATION); None keeps
    onnxruntime's default (all).

    With `verbose`, onnxruntime logs everything, node placement included, to the
    process's stderr; capture it with `capture_native_stderr`.

    Raises:
        ProviderUnavailable: onnxruntime does not offer the provider.
    """
    import onnxruntime as ort

    available = ort.get_available_providers()
    if request.name not in available:
        raise ProviderUnavailable(
            f"{request.name} is not available in {ort.__name__} {ort.__version__} (available: {', '.join(available)}); "
            "install the onnxruntime package that provides it"
        )
    load_gpu_libraries(request.name)
    # Failures become rows with their message; ORT's own error log would only repeat them.
    severity = 0 if verbose else 3
    ort.set_default_logger_severity(severity)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads.intra_op
    options.inter_op_num_threads = threads.inter_op
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = severity
    if level is not None:
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _SESSION_LEVELS[level])
    for key, value in (config or {}).items():
        options.add_session_config_entry(key, value)
    providers: list[Any] = [(request.name, request.option_dict())]
    if request.name != "CPUExecutionProvider":
        providers.append("CPUExecutionProvider")
    try:
        with inherent.spent("ort_session"):
            return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    finally:
        if verbose:
            ort.set_default_logger_severity(3)


def capture_native_stderr(action: Any) -> tuple[Any, str]:
    """Run `action()` with file descriptor 2 sent to a temporary file; returns (result, text).

    onnxruntime logs from C++ straight to fd 2, past Python's sys.stderr and pytest's
    capture of it. The fd is restored even when `action` raises.
    """
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            result = action()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        return result, sink.read().decode("utf-8", errors="replace")


def timed_session(
    path: Path,
    request: ProviderRequest,
    threads: Threads,
    config: Mapping[str, str] | None = None,
    level: str | None = None,
) -> tuple[Any, float]:
    """A quiet session (at graph optimization `level`, see create_session) and the seconds its creation took."""
    start = time.perf_counter()
    session = create_session(path, request, threads, config=config, level=level)
    return session, time.perf_counter() - start


def run_session(session: Any, inputs: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    """Run the session on `inputs`; returns (output names, output values: see output_values) in graph order."""
    names = [out.name for out in session.get_outputs()]
    with inherent.spent("ort_run"):
        outputs = session.run(names, dict(inputs))
    return names, output_values(session, outputs)


def output_values(session: Any, outputs: Sequence[Any]) -> list[Any]:
    """session.run's outputs as values to compare: arrays (a numpy scalar as a 0-d array), lists
    for sequences (dicts inside for sequences of maps), None for an empty optional, as ORT's Python
    API gives them; float8e4m3fn arrays, which ORT 1.32 hands back as their uint8 bits, viewed as
    float8e4m3fn again (as onnx reads stored outputs)."""
    declared = [_returned_as_bits(out.type) for out in session.get_outputs()]
    return [_as_value(out, dtype) for out, dtype in zip(outputs, declared, strict=True)]


def _as_value(out: Any, dtype: np.dtype | None) -> Any:
    if out is None or isinstance(out, list | dict):
        return out
    array = np.asarray(out)
    if dtype is not None and array.dtype == np.uint8:
        return array.view(dtype)
    return array


def _returned_as_bits(ort_type: str) -> np.dtype | None:
    """The float8 dtype of an ORT output type "tensor(float8e4m3fn)", the one float8 type ORT 1.32's
    session.run returns (as uint8); None for the others (bfloat16 and the other float8 types it
    cannot return at all: "No corresponding Numpy type for Tensor Type")."""
    if ort_type != "tensor(float8e4m3fn)":
        return None
    import ml_dtypes

    return np.dtype(ml_dtypes.float8_e4m3fn)
