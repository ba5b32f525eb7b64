"""ONNX Runtime: sessions from artifacts, runs, and a refusal to fall back silently."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}


class ProviderUnavailable(Exception):
    """The requested execution provider is not in this onnxruntime build."""


class ProviderFallback(Exception):
    """The session was created but the requested provider is not the one in use."""


def provider_name(alias: str) -> str:
    """Full provider name for a short alias ("cpu" -> "CPUExecutionProvider")."""
    return PROVIDER_ALIASES.get(alias.lower(), alias)


def session_from_artifact(path: Path, provider: str = "cpu", intra_op_threads: int = 0) -> Any:
    """An InferenceSession on `provider`, verified to really use it.

    Raises:
        ProviderUnavailable: onnxruntime does not offer the provider.
        ProviderFallback: the session fell back to another provider.
    """
    import onnxruntime as ort

    wanted = provider_name(provider)
    available = ort.get_available_providers()
    if wanted not in available:
        raise ProviderUnavailable(
            f"{wanted} is not available in {ort.__name__} {ort.__version__} (available: {', '.join(available)}); "
            "install the onnxruntime package that provides it"
        )
    # Failures become rows with their message; ORT's own error log would only repeat them.
    ort.set_default_logger_severity(3)
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.log_severity_level = 3
    providers = [wanted] if wanted == "CPUExecutionProvider" else [wanted, "CPUExecutionProvider"]
    session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    if session.get_providers()[0] != wanted:
        raise ProviderFallback(f"asked for {wanted}, session runs on {session.get_providers()}")
    return session


def run_session(session: Any, inputs: Mapping[str, np.ndarray]) -> tuple[list[str], list[np.ndarray]]:
    """Run the session on `inputs`; returns (output names, outputs) in graph order."""
    names = [out.name for out in session.get_outputs()]
    outputs = session.run(names, dict(inputs))
    return names, [np.asarray(o) for o in outputs]
