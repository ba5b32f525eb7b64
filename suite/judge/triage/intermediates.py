"""Every intermediate tensor of a graph, on ONNX Runtime (the backend under test) and on onnx's
ReferenceEvaluator (an independent reference that runs each node in numpy).

The graph is run with each node output of its top level marked as a graph output, the way
Polygraphy's `--onnx-outputs mark all` does; ORT keeps a marked tensor out of fusions, so a
fault inside a fused kernel can disappear here (suite.judge.triage.blame checks for that).
"""

from __future__ import annotations

import contextlib
import re
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from suite.core.budget import out_of_memory
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import create_session, output_values

CPU = ProviderRequest("CPUExecutionProvider")
# Seconds the reference evaluator may take on one graph (resnet18 at 128x128: 0.4 s; a 3,000-node
# SSD with its post-processing: 280 s).
REFERENCE_SECONDS = 60.0
# ORT names the node it failed in: "... while running Reshape node. Name:'/attn/Reshape_4' Status Message: ..."
_ORT_NODE = re.compile(r"running (?P<op>[\w.]+) node\. Name:'(?P<name>[^']*)'")
# ... and its shape inference, when a session is made: "Node (/model/x/MatMul) Op (MatMul) [ShapeInferenceError]".
_ORT_LOAD_NODE = re.compile(r"Node \((?P<name>[^)]*)\) Op \((?P<op>[\w.]+)\)")


@dataclass(frozen=True)
class GraphValues:
    """The values of a graph's tensors on one input, by tensor name; or the error that stopped the run."""

    values: dict[str, Any]
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def gave_up(self) -> bool:
        """Whether the run stopped at its own limits (the evaluator's time budget, memory), not at the graph."""
        type_name = self.error.split(":", 1)[0]
        return type_name == ReferenceTooSlow.__name__ or out_of_memory(type_name, self.error)


def load(path: Path | str) -> onnx.ModelProto:
    return onnx.load(str(path))


def with_every_output(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` whose graph outputs are its own plus every top-level node output."""
    marked = onnx.ModelProto()
    marked.CopyFrom(model)
    present = {o.name for o in marked.graph.output}
    for node in marked.graph.node:
        for name in node.output:
            if name and name not in present:
                marked.graph.output.append(onnx.ValueInfoProto(name=name))
                present.add(name)
    return marked


def ort_values(
    model: onnx.ModelProto, feeds: Mapping[str, Any], request: ProviderRequest = CPU, level: str | None = None
) -> GraphValues:
    """Every tensor of `model` on ONNX Runtime with `request`'s provider (graph inputs included).

    `level`: a graph optimization level for the session (None: ORT's default).
    """
    with tempfile.TemporaryDirectory(prefix="zoo-triage-") as folder:
        path = Path(folder) / "marked.onnx"
        onnx.save(with_every_output(model), str(path))
        try:
            session = create_session(path, request, level=level)
            names = [o.name for o in session.get_outputs()]
            outputs = output_values(session, session.run(None, dict(feeds)))
        except Exception as exc:  # noqa: BLE001 - ORT's failure is a finding, not a crash of the triage
            # The marked copy's temporary path means nothing to a reader: the error names the graph.
            return GraphValues(dict(feeds), f"{type(exc).__name__}: {exc}".replace(str(path), "the graph"))
    return GraphValues({**feeds, **dict(zip(names, outputs, strict=True))})


def plain_outputs(
    path: Path | str, feeds: Mapping[str, Any], request: ProviderRequest = CPU, level: str | None = None
) -> GraphValues:
    """The graph's own outputs on ONNX Runtime, nothing marked (fusions as in the case itself)."""
    try:
        session = create_session(Path(path), request, level=level)
        names = [o.name for o in session.get_outputs()]
        outputs = output_values(session, session.run(None, dict(feeds)))
    except Exception as exc:  # noqa: BLE001 - ORT's failure is a finding
        return GraphValues({}, f"{type(exc).__name__}: {exc}")
    return GraphValues(dict(zip(names, outputs, strict=True)))


def reference_values(
    model: onnx.ModelProto, feeds: Mapping[str, Any], seconds: float = REFERENCE_SECONDS
) -> GraphValues:
    """Every tensor of `model` on onnx's ReferenceEvaluator (initializers and inputs included).

    The evaluator is numpy, node by node: some graphs (detection post-processing with thousands of
    nodes) take minutes. Past `seconds` it is stopped, and the graph counts as one it cannot run.
    """
    from onnx.reference import ReferenceEvaluator

    try:
        with _time_limit(seconds):
            evaluator = ReferenceEvaluator(model)
            values = evaluator.run(None, dict(feeds), intermediate=True)
    except Exception as exc:  # noqa: BLE001 - a graph the evaluator cannot run is a finding
        return GraphValues(dict(feeds), f"{type(exc).__name__}: {exc}")
    return GraphValues({k: v for k, v in values.items() if k})


class ReferenceTooSlow(Exception):
    """The reference evaluator ran past its time budget."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise ReferenceTooSlow in this (main) thread after `seconds`; no limit off the main thread."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(_signum: int, _frame: Any) -> None:
        raise ReferenceTooSlow(f"stopped after {seconds:g} s (the reference evaluator's budget)")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def failing_node(error: str) -> tuple[str, str] | None:
    """(op type, node name) of the node ONNX Runtime names in its error, if it names one."""
    found = _ORT_NODE.search(error) or _ORT_LOAD_NODE.search(error)
    return (found["op"], found["name"]) if found else None


def as_array(value: Any) -> np.ndarray | None:
    """A tensor value as an ndarray; None for sequences, maps and optionals (not compared per node)."""
    return value if isinstance(value, np.ndarray) else (np.asarray(value) if np.isscalar(value) else None)


def outer_names(graph: onnx.GraphProto) -> set[str]:
    """The names a subgraph (an If branch, a Loop body) reads from the scopes around it."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    used = {o.name for o in graph.output}
    for node in graph.node:
        used |= node_reads(node)
        defined.update(node.output)
    return used - defined - {""}


def node_reads(node: onnx.NodeProto) -> set[str]:
    """Every tensor a node needs: its inputs and what its subgraphs read from outside themselves."""
    names = {n for n in node.input if n}
    for attr in node.attribute:
        for graph in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
            names |= outer_names(graph)
    return names
