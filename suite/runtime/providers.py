"""Execution providers: which onnxruntime package is installed, what it offers, what a run asks for.

onnxruntime, onnxruntime-openvino and onnxruntime-gpu all install the same
`onnxruntime` module, one per environment; every row records which package
ran it, so runs from several environments can be merged side by side.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
# Offered by builds but not graph executors: Azure calls a remote endpoint.
NOT_LOCAL = ("AzureExecutionProvider",)
# Which package brings a provider, for the error that says what to install.
PROVIDER_PACKAGES = {
    "CUDAExecutionProvider": "onnxruntime-gpu (tox -e gpu)",
    "TensorrtExecutionProvider": "onnxruntime-gpu (tox -e gpu) and TensorRT",
    "OpenVINOExecutionProvider": "onnxruntime-openvino (tox -e openvino)",
}


# Providers that compile the subgraphs they take into nodes of their own: a session on one of them
# cannot save its optimized graph ("Unable to serialize model as it contains compiled nodes"), so
# a graph optimization level is applied online, by the session that is judged and timed.
COMPILING_PROVIDERS = frozenset(
    {
        "OpenVINOExecutionProvider",
        "TensorrtExecutionProvider",
        "NvTensorRTRTXExecutionProvider",
        "MIGraphXExecutionProvider",
        "CoreMLExecutionProvider",
        "QNNExecutionProvider",
        "VitisAIExecutionProvider",
    }
)

# The CUDA provider's switch for TF32 math in FP32 convolutions and matmuls (on by default).
TF32_OPTION = "use_tf32"


class ProviderSelectionError(ValueError):
    """A --zoo-providers value that cannot be used here; the message says what can."""


@dataclass(frozen=True)
class ProviderRequest:
    """One execution provider to run on, with its provider options (part of the case id)."""

    name: str  # onnxruntime's name, e.g. "OpenVINOExecutionProvider"
    options: tuple[tuple[str, str], ...] = ()

    @property
    def alias(self) -> str:
        short = {v: k for k, v in PROVIDER_ALIASES.items()}
        return short.get(self.name, self.name.removesuffix("ExecutionProvider").lower())

    @property
    def label(self) -> str:
        """Short and id-safe: "cpu", "openvino+device_type:CPU", "tensorrt+trt_fp16_enable:True"."""
        return self.alias + "".join(f"+{k}:{v}" for k, v in self.options)

    def option_dict(self) -> dict[str, str]:
        return dict(self.options)

    @property
    def compiles(self) -> bool:
        """Whether its sessions hold compiled nodes (see COMPILING_PROVIDERS)."""
        return self.name in COMPILING_PROVIDERS


def provider_library(request: ProviderRequest) -> Path:
    """Where the installed onnxruntime keeps `request`'s provider library (it need not exist: the
    CPU provider is built in, and a package without the provider has no file)."""
    import onnxruntime as ort

    return Path(ort.__file__).parent / "capi" / f"libonnxruntime_providers_{request.alias}.so"


def alias_name(alias: str) -> str:
    """Full provider name for a short alias ("cpu" -> "CPUExecutionProvider")."""
    return PROVIDER_ALIASES.get(alias.lower(), alias)


_ENTRY = re.compile(r"\s*([\w.]+)\s*(?:\[([^\]]*)\])?\s*(?:,|$)")


def parse_providers(value: str, available: Sequence[str], package: str = "onnxruntime") -> tuple[ProviderRequest, ...]:
    """ "available" -> every local provider the installed build offers; else a list such as
    "cpu,openvino[device_type=CPU],tensorrt[trt_fp16_enable=True]".

    Raises:
        ProviderSelectionError: unknown syntax, or a provider this build does not offer.
    """
    if value.strip() in ("", "available"):
        return tuple(ProviderRequest(p) for p in available if p not in NOT_LOCAL)
    requests, position = [], 0
    text = value.strip()
    while position < len(text):
        match = _ENTRY.match(text, position)
        if match is None or match.end() == position:
            raise ProviderSelectionError(
                f"cannot read --zoo-providers {value!r} at {text[position:]!r}; "
                "write e.g. 'cpu,openvino[device_type=CPU]'"
            )
        requests.append(ProviderRequest(_resolve(match.group(1), available), _options(match.group(2) or "", value)))
        position = match.end()
    for request in requests:
        if request.name not in available:
            hint = PROVIDER_PACKAGES.get(request.name, "an onnxruntime build that has it")
            raise ProviderSelectionError(
                f"{request.name} is not offered by {package} here (it offers {', '.join(available)}); it needs {hint}"
            )
    return tuple(dict.fromkeys(requests))


def _resolve(name: str, available: Sequence[str]) -> str:
    """An alias ("cpu"), a full name, or a short form of an offered one ("azure" -> "AzureExecutionProvider")."""
    if name.lower() in PROVIDER_ALIASES:
        return PROVIDER_ALIASES[name.lower()]
    for offered in available:
        if name.lower() in (offered.lower(), offered.lower().removesuffix("executionprovider")):
            return offered
    return name


def _options(text: str, value: str) -> tuple[tuple[str, str], ...]:
    options = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, option = part.partition("=")
        if not sep or not key.strip():
            raise ProviderSelectionError(f"provider option {part!r} in {value!r} is not key=value")
        options.append((key.strip(), option.strip()))
    return tuple(options)


@functools.cache  # packages_distributions() reads every installed package's metadata (~0.9 s)
def runtime_package() -> tuple[str, str]:
    """The distribution that installed the `onnxruntime` module, and its version."""
    names = importlib.metadata.packages_distributions().get("onnxruntime", [])
    # Prefer a flavoured package if two are (wrongly) installed together.
    name = sorted(names, key=lambda n: (n == "onnxruntime", n))[0] if names else "onnxruntime"
    try:
        return name, importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return name, "absent"


def onnxruntime_version() -> str:
    """The version, with the package named where it is a flavour: "1.24.1 (onnxruntime-openvino)"."""
    package, version = runtime_package()
    return version if package == "onnxruntime" else f"{version} ({package})"


def runtime_inventory() -> dict[str, Any]:
    """Package, version and providers of this environment's onnxruntime: recorded with every row."""
    import onnxruntime as ort

    package, version = runtime_package()
    return {
        "ort_package": package,
        "ort_version": version,
        "ort_providers": ",".join(ort.get_available_providers()),
    }
