"""Where a session's nodes ran, read from onnxruntime's own log, and why a provider fell back.

With session log severity 0, onnxruntime logs a "Node placements" block after
partitioning:

    ... VerifyEachNodeIsAssignedToAnEp] Node placements
    ... VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [OpenVINOExecutionProvider]. Number of nodes: 2
    ... VerifyEachNodeIsAssignedToAnEp]   OpenVINO-EP-subgraph_1 (OpenVINOExecutionProvider_OpenVINO-EP-subgraph_1_0)
    ... VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 1
    ... VerifyEachNodeIsAssignedToAnEp]   Hardmax (hardmax0)

or a single "All nodes placed on [X]. Number of nodes: N" line. Providers such as
OpenVINO and TensorRT take whole subgraphs as one fused node, so their count says
nothing about how much of the model they run; the share is therefore counted on
the model file's nodes: those not listed under another provider ran on the
requested one. Nodes left elsewhere are listed after ORT's fusions, so a partial
share is approximate (a fused CPU node may stand for several original ones).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.runtime.gpu import GPU_PROVIDERS, gpu_absence, no_gpu_reason
from suite.runtime.providers import ProviderRequest, provider_library
from suite.runtime.sessions import Threads, capture_native_stderr, create_session

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PREFIX = re.compile(r"^\S+ \S+ \[[VIWEF]:onnxruntime:[^\]]*\] ?(.*)$")
_GROUP = re.compile(r"^\s*(All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)")
_NODE = re.compile(r"^\s{2,}(\S+) \((.*)\)\s*$")
_MISSING_LIBRARY = re.compile(
    r"Failed to load library (\S+) with error: (\S+): cannot open shared object file", re.MULTILINE
)
_REQUIREMENT = re.compile(r"Failed to create (\w+)\. (Require [^.]*(?:\.\*[^.]*)*\.\*?)")


@dataclass
class Placement:
    """What the placement log said, per provider: node count (after fusion) and listed nodes."""

    counts: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, list[str]] = field(default_factory=dict)  # provider -> op types of listed nodes
    found: bool = False

    def share_on(self, provider: str, graph_nodes: int) -> float:
        """Share of the model file's `graph_nodes` that ran on `provider` (see the module docstring)."""
        if not self.found or self.counts.get(provider, 0) == 0:
            return 0.0
        elsewhere = sum(count for name, count in self.counts.items() if name != provider)
        return max(0.0, 1.0 - elsewhere / max(graph_nodes, 1))

    def elsewhere(self, provider: str) -> str:
        """Op types placed on other providers, e.g. "CPUExecutionProvider: Hardmax 1, Shape 2"."""
        parts = []
        for name, ops in sorted(self.nodes.items()):
            if name == provider or not ops:
                continue
            counted = ", ".join(f"{op} {n}" for op, n in sorted(Counter(ops).items()))
            parts.append(f"{name}: {counted}")
        return "; ".join(parts)


def log_messages(text: str) -> list[str]:
    """The messages of onnxruntime's log lines, without colour codes and the date/source prefix.

    A message with its own line break continues on lines that have no prefix; those are kept as they are.
    """
    messages = []
    for line in _ANSI.sub("", text).splitlines():
        match = _PREFIX.match(line)
        messages.append(match.group(1) if match else line)
    return messages


def parse_placement(text: str) -> Placement:
    """The "Node placements" block of a verbose session log."""
    placement = Placement()
    current: str | None = None
    for message in log_messages(text):
        if message.strip() == "Node placements":
            placement.found, current = True, None
            continue
        if not placement.found:
            continue
        group = _GROUP.match(message)
        if group:
            current = group.group(2)
            placement.counts[current] = placement.counts.get(current, 0) + int(group.group(3))
            placement.nodes.setdefault(current, [])
            continue
        node = _NODE.match(message)
        if node and current is not None:
            placement.nodes[current].append(node.group(1))
            continue
        current = None  # the block has ended
    return placement


def fallback_reason(provider: str, log_text: str) -> str:
    """Why `provider` could not run, from the log: the shared library that failed to load and what it needs."""
    text = _ANSI.sub("", log_text)
    reasons = []
    for library, missing in _MISSING_LIBRARY.findall(text):
        reasons.append(f"{library.rsplit('/', 1)[-1]} could not load {missing} (cannot open shared object file)")
    for name, requirement in _REQUIREMENT.findall(text):
        if name == provider:
            reasons.append(requirement.rstrip("."))
    return "; ".join(dict.fromkeys(reasons))


def library_diagnosis(provider_library: str) -> str:
    """Load the provider's shared library directly; the loader's error names what is missing ("" when it loads)."""
    import ctypes

    try:
        ctypes.CDLL(provider_library)
    except OSError as exc:
        return str(exc)
    return ""


@dataclass(frozen=True)
class ProviderCheck:
    """A requested provider, verified: the session's providers, the placement share, or why it fell back."""

    requested: str
    session_providers: tuple[str, ...]
    share: float  # of the model file's nodes that ran on the requested provider
    elsewhere: str  # op types placed on other providers
    counts: dict[str, int]
    fallback: str  # "" when the provider ran; else what happened and why

    def columns(self) -> dict[str, object]:
        return {
            "session_providers": ",".join(self.session_providers),
            "placement_share": round(self.share, 4),
            "placed_elsewhere": self.elsewhere,
            "placement_counts": ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())),
        }


def check_provider(
    path: Path, request: ProviderRequest, threads: Threads, graph_nodes: int, level: str | None = None
) -> ProviderCheck:
    """Create a verbose session for `request` (at graph optimization `level`) and read where its nodes went.

    Raises whatever session creation raises (a model onnxruntime cannot load is not a fallback).
    """
    printed = io.StringIO()  # onnxruntime's Python layer prints its "EP Error ... Falling back" notice
    with contextlib.redirect_stdout(printed):
        session, log = capture_native_stderr(lambda: create_session(path, request, threads, verbose=True, level=level))
    log += printed.getvalue()
    providers = tuple(session.get_providers())
    del session
    placement = parse_placement(log)
    share = placement.share_on(request.name, graph_nodes)
    fallback = ""
    if providers[0] != request.name:
        fallback = (
            f"asked for {request.name}, the session runs on {', '.join(providers)}: {_why_fallen_back(request, log)}"
        )
    elif placement.found and share == 0.0 and placement.counts:  # a graph of no nodes has nothing to place
        fallback = (
            f"{request.name} is in the session but no node was placed on it "
            f"({', '.join(f'{k} {v}' for k, v in placement.counts.items())} nodes)"
        )
    return ProviderCheck(
        request.name, providers, share, placement.elsewhere(request.name), dict(placement.counts), fallback
    )


def probe_provider(
    path: str,
    request: ProviderRequest,
    threads: Threads,
    graph_nodes: int,
    feeds: dict[str, Any],
    level: str | None = None,
) -> ProviderCheck:
    """check_provider, then one run on `feeds`: meant for a worker process.

    onnxruntime can crash the process while it loads or optimizes a model (1.32 segfaults
    on some FP16 GRU graphs); done first in a worker, that costs a crash row, not the run.
    """
    check = check_provider(Path(path), request, threads, graph_nodes, level)
    if not check.fallback:
        session = create_session(Path(path), request, threads, level=level)
        session.run(None, feeds)
    return check


def _why_fallen_back(request: ProviderRequest, log: str) -> str:
    """A missing GPU first (no library would help), else what the log or the provider's library says."""
    absence = gpu_absence() if request.name in GPU_PROVIDERS else ""
    if absence:
        return no_gpu_reason(request.name, absence)
    return fallback_reason(request.name, log) or _library_reason(request) or "onnxruntime logged no reason"


def _library_reason(request: ProviderRequest) -> str:
    library = provider_library(request)
    if not library.exists():
        return ""
    problem = library_diagnosis(str(library))
    return f"{library.name} could not load: {problem}" if problem else ""
