"""Run metadata: library versions, CPU model and flags, date, git commit."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from suite.core.redact import redact_args
from suite.runtime.providers import onnxruntime_version

LIBRARIES = (
    "torch",
    "torchvision",
    "transformers",
    "onnx",
    "onnxruntime",
    "onnxscript",
    "numpy",
    "pandas",
    "pytest",
    "pytest-xdist",
)
# Flags that decide INT8 and vector kernel speed; recorded so timings can be compared fairly.
_INTERESTING_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "f16c", "sse4_2")


def library_versions() -> dict[str, str]:
    """Installed distribution versions, without importing the libraries."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    versions["onnxruntime"] = onnxruntime_version()
    return versions


PYTEST_BENCHMARK_RANGE = ((5, 3), (6, 0))


def benchmark_version_problem() -> str | None:
    """Why the installed pytest-benchmark cannot serve the latency path, or None.

    The latency path hands pytest-benchmark a JSON path; before 5.3 it wanted an open file
    and crashed at the very end of the run, so this is checked before the run.
    """
    try:
        version = importlib.metadata.version("pytest-benchmark")
    except importlib.metadata.PackageNotFoundError:
        return "the latency path needs pytest-benchmark; pip install 'pytest-benchmark>=5.3,<6'"
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    low, high = PYTEST_BENCHMARK_RANGE
    if low <= parts < high:
        return None
    return (
        f"the latency path needs pytest-benchmark >=5.3,<6, found {version}; "
        "pip install 'pytest-benchmark>=5.3,<6' (or a wheel of it, where no registry is reachable)"
    )


def cpu_info() -> dict[str, Any]:
    """CPU model, core count and the instruction-set flags that matter here."""
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", "unknown", platform.machine()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpu_flags": sorted(f for f in _INTERESTING_FLAGS if f in flags),
        "machine": platform.machine(),
    }


def git_commit(root: Path) -> str:
    """HEAD's commit (with "-dirty" when the tree has changes), or "unknown"."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_metadata(root: Path, selection: str, argv: list[str]) -> dict[str, Any]:
    """Everything a reader needs to know where and how a run happened."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(root),
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python_executable": sys.executable,
        "selection": selection,
        "argv": redact_args(argv),  # a --zoo-history URL keeps no password
        "versions": library_versions(),
        **cpu_info(),
    }
