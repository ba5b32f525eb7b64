"""Triage of one failing graph, in the onnx worker: evidence on independent sides, the blame, and a repro.

ONNX Runtime and the reference evaluator run the graph with every tensor exposed (a crash or a
hang costs this triage, not the run); the repro is cut from the same values and checked in a
fresh process before it is kept (suite.judge.triage.repro).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from suite.judge.compare import compare_outputs
from suite.judge.floor import Bound
from suite.judge.triage.blame import GraphEvidence, blame_export, blame_step
from suite.judge.triage.divergence import (
    DIVERGED,
    EagerModule,
    ModuleMatch,
    baked_size,
    first_module_divergence,
    first_named_divergence,
    first_runtime_divergence,
    run_node,
)
from suite.judge.triage.findings import Blame, Divergence, Repro
from suite.judge.triage.intermediates import GraphValues, ort_values, plain_outputs, reference_values
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import NO_OPTIMIZATION


@dataclass(frozen=True)
class GraphJob:
    """One failing graph to triage, with what it should have computed.

    Attributes:
        kind: "export" (the graph against the eager model) or "step" (a transformed or converted
            graph against the graph before it).
        graph: the failing graph's path.
        feeds: the inputs it failed on.
        expected: what its outputs should be (eager outputs, or the graph before's on ORT).
        bounds: the case's bound for each output.
        request: the execution provider the case ran on.
        tool: the exporter, transform or converter that made the graph.
        before: for a step, the graph it came from.
        eager_modules: for a torch export, each module's eager inputs and outputs.
        repro_folder: where the repro goes ("" for none).
        title_prefix: the case's identity for the repro's title.
    """

    kind: str
    graph: str
    feeds: Mapping[str, Any]
    expected: Sequence[Any]
    bounds: tuple[Bound, ...]
    request: ProviderRequest
    tool: str
    before: str = ""
    step_blame: str = Blame.TRANSFORM.value
    eager_modules: Sequence[EagerModule] = field(default_factory=tuple)
    repro_folder: str = ""
    modules_error: str = ""  # why the eager modules could not be recorded, when they could not
    # Each named dim whose size the failing input changed: (size at export, size here).
    sizes: Mapping[str, tuple[int, int]] = field(default_factory=dict)


# Where a repro's known-right values keep the expected value of the diverging tensor.
_EXPECTED = "__expected__"
_ATOL = "__atol__"  # and the bound it is judged by
# Runs a graph with every tensor exposed on the backend under test: ONNX Runtime, or a stand-in with
# a planted fault (the triage's own tests).
Runtime = Callable[[onnx.ModelProto, Mapping[str, Any], ProviderRequest], GraphValues]


def triage_graph(job: GraphJob, runtime: Runtime = ort_values) -> dict[str, Any]:
    """Evidence, blame and repro for one failing graph, as plain data (Blame value, Divergence and Repro dicts)."""
    model = onnx.load(job.graph)
    ort = runtime(model, job.feeds, job.request)
    reference = reference_values(model, job.feeds)
    names = [o.name for o in model.graph.output]
    before = GraphValues({})
    if job.kind != "export":  # a step is judged against the graph before it, on the same provider
        before = ort_values(onnx.load(job.before), job.feeds, job.request)
        expected = _outputs(before, names)
        if not job.expected and all(e is not None for e in expected):
            job = replace(job, expected=expected)
    runtime_divergence = first_runtime_divergence(model, ort, reference) if (reference.ok or not ort.ok) else None
    evidence = GraphEvidence(
        ort_error=ort.error,
        runtime=runtime_divergence,
        reference_error=reference.error,
        reference_gave_up=reference.gave_up,
        reference_matches=_matches(reference, names, job) if reference.ok else None,
        reference_figure=_worst(reference, names, job) if reference.ok else None,
        ort_figure=_worst(ort, names, job) if ort.ok else None,
    )
    match: ModuleMatch | None = None
    right: dict[str, Any] = {}  # for a step's repro: the candidate's tensors, and the graph before's
    plain = plain_outputs(job.graph, job.feeds, job.request)  # the session as the case made it
    if ort.ok and not plain.ok:
        evidence = replace(evidence, session_error=plain.error)
    if job.kind == "export":
        located, how = None, f"no eager modules to match ({job.modules_error or 'not a torch export'})"
        if job.eager_modules and ort.ok:
            match, how = first_module_divergence(model, ort, job.eager_modules)
            located = match.divergence if match else None
            if match is not None and match.module.scale is not None and located is not None:
                evidence = replace(evidence, quantization_steps=located.floor_ratio)
        elif not ort.ok and runtime_divergence is not None:
            located = baked_size(model, runtime_divergence.output, job.sizes)
        unfused = None
        if ort.ok and evidence.runtime is None and evidence.reference_matches:
            unoptimized = plain_outputs(job.graph, job.feeds, job.request, level=NO_OPTIMIZATION)
            unfused = unoptimized.ok and _matches(unoptimized, names, job)
        evidence = replace(
            evidence,
            located=located,
            located_how=how,
            unfused_matches=unfused,
            ort_matches=ort.ok and _matches(ort, names, job),
        )
        blame, reason, divergence = blame_export(evidence, job.tool)
    else:
        located = first_named_divergence(model, ort, before, f"the graph before the {job.tool}, on ONNX Runtime")
        if located is not None:
            right = {k: v for k, v in ort.values.items() if k != located.output}
            right[_EXPECTED] = before.values[located.output]
        evidence = replace(
            evidence,
            located=located,
            located_how="tensor names shared by both graphs",
            ort_matches=ort.ok and bool(job.expected) and _matches(ort, names, job),
        )
        blame, reason, divergence = blame_step(evidence, Blame(job.step_blame), job.tool)
    if match is not None and divergence is match.divergence:
        right = {**job.feeds, **match.inputs, _EXPECTED: match.output, _ATOL: match.atol}  # graph inputs are right too
    repro = (
        _repro(job, model, ort, blame, divergence, evidence.runtime, right, evidence.session_error)
        if job.repro_folder
        else None
    )
    return {
        "blame": blame.value,
        "reason": reason,
        "divergence": asdict(divergence) if divergence else None,
        "repro": asdict(repro) if repro else None,
    }


def _failure_words(error: str) -> str:
    """The piece of ORT's error a repro must raise again: its status message's first words, without the
    file path of the session's model (the repro loads another)."""
    message = error.rsplit("Status Message:", maxsplit=1)[-1].strip().splitlines()[0]
    if "failed:" in message and "Load model from" in message:
        message = message.split("failed:", 1)[1]
    return message.strip()[:80]


def _outputs(values: GraphValues, names: Sequence[str]) -> list[Any]:
    return [values.values.get(n) for n in names]


def _matches(values: GraphValues, names: Sequence[str], job: GraphJob) -> bool:
    got = _outputs(values, names)
    if any(g is None for g in got) or len(got) != len(job.expected):
        return False
    return compare_outputs(
        list(job.expected), got, expected_names=list(names), candidate_names=list(names), tolerance=job.bounds
    ).ok


def _worst(values: GraphValues, names: Sequence[str], job: GraphJob) -> float | None:
    worst = None
    for got, want in zip(_outputs(values, names), job.expected, strict=False):
        if isinstance(got, np.ndarray) and isinstance(want, np.ndarray) and got.shape == want.shape and got.size:
            if want.dtype.kind == "f":
                err = float(np.nanmax(np.abs(got.astype(np.float64) - want.astype(np.float64))))
                worst = err if worst is None else max(worst, err)
    return worst


def _repro(
    job: GraphJob,
    model: onnx.ModelProto,
    ort: GraphValues,
    blame: Blame,
    divergence: Divergence | None,
    raised: Divergence | None,
    right: Mapping[str, Any],
    session_error: str = "",
) -> Repro:
    """The smallest graph that still shows the failure, checked in a fresh process."""
    from suite.judge.triage.repro import ReproBound, write_graph_repro

    folder = Path(job.repro_folder)
    provider = job.request.name
    nodes = {o: n for n in model.graph.node for o in n.output}
    if not ort.ok or session_error:
        # ORT raised (at a node, or creating the session): the repro is the graph up to there, failing the same way.
        message = _failure_words(ort.error or session_error)
        where = raised.location() if raised is not None and raised.node else "the graph"
        targets = [raised.output] if raised is not None and raised.output else [o.name for o in model.graph.output]
        cause = f" ({divergence.location()}: {divergence.against})" if divergence and divergence is not raised else ""
        return write_graph_repro(
            folder, model, targets, dict(job.feeds), {}, ReproBound(0.0, 0.0),
            f"onnxruntime raises in {where}{cause}", "ONNX Runtime's error", provider, failure_text=message,
        )  # fmt: skip
    if divergence is not None and divergence.output in nodes and blame in (Blame.RUNTIME, Blame.UNRESOLVED):
        node = nodes[divergence.output]
        if divergence.against.startswith("ONNX's reference evaluator running"):
            expected = run_node(model, node, ort.values, wide=False)
            targets = [o for o in node.output if o]
            inputs = {k: v for k, v in ort.values.items() if k not in targets}
            scale = max(float(np.max(np.abs(e), initial=0.0)) for e in expected if isinstance(e, np.ndarray))
            atol = (divergence.max_abs_err or 0.0) / 4 or 1e-6 * max(scale, 1.0)
            return write_graph_repro(
                folder, model, targets, inputs, dict(zip(targets, expected, strict=False)), ReproBound(atol, 0.0),
                f"onnxruntime: {divergence.op_type} gives wrong values on {provider}",
                "ONNX's reference evaluator on the same node and inputs", provider,
            )  # fmt: skip
    if divergence is not None and divergence.output in nodes and _EXPECTED in right:
        # A module (fed eager's inputs) or a step's node computes the wrong value: cut at the tensors still right.
        values = {k: v for k, v in right.items() if k not in (_EXPECTED, _ATOL)}
        expected = right[_EXPECTED]
        atol = right.get(_ATOL, DIVERGED * float(np.max(np.abs(expected), initial=0.0)))
        return write_graph_repro(
            folder, model, [divergence.output], values, {divergence.output: expected}, ReproBound(atol, 0.0),
            f"{job.tool}: {divergence.location()} computes a different value", divergence.against, provider,
        )  # fmt: skip
    targets = [o.name for o in model.graph.output]
    expected = {n: e for n, e in zip(targets, job.expected, strict=False) if isinstance(e, np.ndarray)}
    bound = job.bounds[0] if job.bounds else Bound(1e-4, 1e-3)
    return write_graph_repro(
        folder, model, list(expected), dict(job.feeds), expected, ReproBound(bound.atol, bound.rtol),
        f"{job.tool}: the graph's outputs differ from the model's", "the eager model's outputs", provider,
    )  # fmt: skip
