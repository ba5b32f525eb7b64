"""Whose bug a red case is, from evidence gathered on independent sides.

A blame needs two independent sides that agree (FACTS: the reference evaluator is not an oracle):
- runtime: ONNX Runtime computes a node wrongly on its own inputs (against the reference
  evaluator, node by node) AND the reference evaluator's whole-graph result matches eager;
- exporter: ONNX Runtime and the reference evaluator agree on the graph, and both disagree with
  eager: the graph computes something else than the model;
- transform / converter: the graph before the step is right and the first tensor that differs
  after it is the step's (checked again on the reference evaluator: a transformed graph that the
  evaluator computes right but ORT does not is the runtime's);
- model: the eager model disagrees with itself on the same inputs.
Anything else is `unresolved`, with the sides that disagree named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from suite.judge.triage.findings import UPSTREAM, Blame, Divergence


@dataclass(frozen=True)
class GraphEvidence:
    """What the triage of one failing graph found, side by side.

    Attributes:
        ort_error: ONNX Runtime's error on the graph ("" when it ran).
        runtime: the first node ORT computes wrongly against the reference evaluator, if any.
        reference_error: why the reference evaluator could not run the graph ("" when it ran).
        reference_gave_up: whether it stopped for its own limits (time, memory) rather than refusing the
            graph: then it says nothing about the graph.
        reference_matches: whether the evaluator's whole-graph outputs match the expected ones
            (eager's, or the graph before a step) within the case's bounds; None when it did not run.
        reference_figure: the evaluator's worst error against the expected outputs, for the reason line.
        ort_figure: ORT's worst error against the expected outputs (with every tensor marked).
        unfused_matches: whether ORT with graph optimizations off matches the expected outputs
            (None: not asked).
        located: the first divergence against the other side (eager modules, the graph before).
        located_how: how that match was made, or why none could be.
        quantization_steps: for a quantized module, the located error in steps of its output's scale.
        session_error: ONNX Runtime's error on the graph as the case ran it, when the same graph
            with every tensor marked as an output (no fusions) runs.
        ort_matches: whether that marked run gives the expected outputs.
    """

    ort_error: str = ""
    runtime: Divergence | None = None
    reference_error: str = ""
    reference_gave_up: bool = False
    reference_matches: bool | None = None
    reference_figure: float | None = None
    ort_figure: float | None = None
    unfused_matches: bool | None = None
    located: Divergence | None = None
    located_how: str = ""
    quantization_steps: float | None = None  # the located error over its quantized output's scale
    session_error: str = ""  # ORT's error on the graph as the case runs it (nothing marked), when only that fails
    ort_matches: bool | None = None  # whether ORT with every tensor marked gives the expected outputs


def _fig(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _session_only(e: GraphEvidence, graph: str, expected: str) -> tuple[Blame, str, Divergence | None] | None:
    """The blame when ORT fails only on the graph as the case runs it, or None when that is not the case.

    The same graph with every tensor marked as an output (which keeps ORT's fusions from touching
    it) runs: the file is one ORT can execute, and a session-time graph optimization fails on it.
    """
    if not e.session_error or e.ort_error:
        return None
    error = e.session_error.splitlines()[0][:200]
    values = (
        f"and matches {expected}"
        if e.ort_matches
        else f"(its values are judged apart from this: they differ from {expected})"
    )
    return (
        Blame.RUNTIME,
        f"ONNX Runtime fails on the {graph} as the case runs it ({error}), yet with every tensor marked as an "
        f"output (no fusions) it runs {values}: one of ORT's session-time graph optimizations fails on a graph "
        "it can run",
        None,
    )


def blame_export(
    evidence: GraphEvidence, exporter: str, expected: str = "eager"
) -> tuple[Blame, str, Divergence | None]:
    """Blame for a graph that does not compute what `expected` (the eager model) computes."""
    e = evidence
    session = _session_only(e, "graph", expected)
    if session is not None:
        return session
    ref = f"the reference evaluator {'matches' if e.reference_matches else 'differs from'} {expected}"
    if e.reference_matches is not None:
        ref += f" (max abs err {_fig(e.reference_figure)})"
    if e.runtime is not None and e.reference_matches:
        where = e.runtime.location()
        return Blame.RUNTIME, f"ONNX Runtime computes {where} wrongly on its own inputs; {ref}", e.runtime
    if e.runtime is not None and e.reference_matches is False:
        return (
            Blame.UNRESOLVED,
            f"ONNX Runtime and the reference evaluator disagree at {e.runtime.location()}, and {ref}: "
            "no two sides agree",
            e.located or e.runtime,
        )
    if e.ort_error and e.reference_error and not e.reference_gave_up:
        where = f" at {e.runtime.location()}" if e.runtime is not None and e.runtime.node else ""
        return (
            Blame.EXPORTER,
            f"ONNX Runtime fails on the graph{where} and so does the reference evaluator ({e.reference_error[:160]}): "
            f"two independent runtimes refuse it: the {exporter} export wrote a graph that cannot run at these inputs",
            e.located or e.runtime,
        )
    if e.reference_error:
        return (
            Blame.UNRESOLVED,
            f"the reference evaluator cannot run the graph ({e.reference_error[:160]}): ONNX Runtime against "
            f"{expected} alone cannot tell the exporter's bug from the runtime's",
            e.located or e.runtime,
        )
    if e.ort_error and e.reference_matches is False:
        return (
            Blame.EXPORTER,
            f"the graph fails on ONNX Runtime ({e.ort_error.splitlines()[0][:160]}) and the reference evaluator "
            f"cannot compute it right either ({ref}): the {exporter} export wrote a graph that is wrong here",
            e.runtime or e.located,
        )
    if e.reference_matches is False and e.quantization_steps is not None and e.quantization_steps <= ROUNDING_STEPS:
        return (
            Blame.HARNESS,
            f"the graph agrees with eager within rounding: {e.located.location() if e.located else 'a module'} is "
            f"off by {e.quantization_steps:.2g} of its quantization step; PyTorch's quantized kernels and ONNX "
            "Runtime's QLinear ops may round a tie differently, so a float32 tolerance is the wrong rule for a "
            "quantized model (the suite's judgement, not the exporter's bug)",
            e.located,
        )
    if e.reference_matches is False:
        return (
            Blame.EXPORTER,
            f"ONNX Runtime and the reference evaluator agree on the graph, node by node; both differ from {expected} "
            f"(ORT {_fig(e.ort_figure)}, {ref}): the {exporter} export computes something else",
            e.located,
        )
    if e.unfused_matches:
        return (
            Blame.RUNTIME,
            f"with every tensor marked as an output (no fusions) and with graph optimizations off ONNX Runtime "
            f"matches {expected}, and {ref}: one of ORT's graph optimizations breaks it",
            None,
        )
    return (
        Blame.UNRESOLVED,
        f"ONNX Runtime with every tensor marked matches the reference evaluator, and {ref}, yet the case failed: "
        "the fault does not show with intermediates exposed",
        e.located,
    )


def blame_step(evidence: GraphEvidence, step_blame: Blame, step: str) -> tuple[Blame, str, Divergence | None]:
    """Blame for a graph made by a step (a transform or a converter) that differs from the graph before it."""
    e = evidence
    session = _session_only(e, f"{step} graph", "the graph before it")
    if session is not None:
        return session
    if e.ort_error or e.session_error:
        error = (e.ort_error or e.session_error).splitlines()[0][:200]
        if e.reference_matches:
            return (
                Blame.RUNTIME,
                f"ONNX Runtime fails on the {step} graph ({error}), which the reference evaluator computes right "
                f"(max abs err {_fig(e.reference_figure)})",
                e.runtime,
            )
        other = f"cannot run it either ({e.reference_error[:120]})" if e.reference_error else "does not match either"
        return (
            step_blame,
            f"the {step} wrote a graph ONNX Runtime cannot run ({error}); the reference evaluator {other}",
            e.runtime,
        )
    if e.located is not None and e.reference_matches:
        return (
            Blame.RUNTIME,
            f"the reference evaluator computes the {step} graph right (max abs err {_fig(e.reference_figure)}); "
            f"ONNX Runtime does not, from {e.located.location()}",
            e.runtime or e.located,
        )
    if e.located is not None:
        checked = "" if e.reference_matches is None else "; the reference evaluator agrees with ONNX Runtime on it"
        return (
            step_blame,
            f"the graph before the {step} is right; the first tensor that differs after it is {e.located.location()}"
            f" (max abs err {_fig(e.located.max_abs_err)}){checked}",
            e.located,
        )
    return (
        step_blame,
        f"the {step} changed what the graph computes; no tensor of the same name differs ({e.located_how})",
        None,
    )


# A quantized output off by this many steps of its scale is rounding (ties), not a wrong graph.
ROUNDING_STEPS = 1.5
_DATA_DEPENDENT = re.compile(r"data.dependent|GuardOnDataDependentSymNode|UserError.*guard", re.IGNORECASE)


def blame_export_failure(exporter: str, message: str, detail: str) -> tuple[Blame, str, str]:
    """(blame, reason, project) of a failed export, from the failure's signature."""
    text = f"{message}\n{detail}"
    if "harness error" in message:
        return Blame.HARNESS, "the suite itself failed (its traceback is in the row's detail)", UPSTREAM["harness"]
    if _DATA_DEPENDENT.search(text):
        return (
            Blame.MODEL,
            "the model's code branches on a tensor's value (a data-dependent guard), which torch.export cannot trace",
            "pytorch" if exporter == "dynamo" else UPSTREAM["model"],
        )
    project = UPSTREAM.get(exporter, exporter)
    if exporter == "dynamo" and "onnxscript" in detail and "torch/export" not in detail:
        project = "onnxscript"  # the failure is in translating the exported program to ONNX, not in torch.export
    return Blame.EXPORTER, f"the {exporter} exporter failed on the model: {message[:200]}", project
