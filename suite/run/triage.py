"""Triage of red cases: where it broke, whose bug it is, and a repro, added to the case's row.

Runs only on failing cases (a numerics mismatch, an ORT failure at a node, a failed export),
through the cache like every other step (a harness failure is never cached), and at most
`CaseRunner.triage_limit` times per worker process. The graph work runs in the onnx worker
(suite.workers.triage_graph), the eager model's module outputs in the torch worker.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from suite.core.outcome import Outcome
from suite.core.record import Status
from suite.judge.determinism import self_disagreement, with_random_ops
from suite.judge.inputs import Probe
from suite.judge.triage.findings import UPSTREAM, Blame, Divergence, Findings, Repro
from suite.run.cache import content_key
from suite.run.cases import Case
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.references import float64_outputs
from suite.run.triage_scripts import TRIAGE_VERSION, converter_repro, error_class, export_findings, write_draft_beside
from suite.runtime.providers import ProviderRequest
from suite.workers import torch_models, torch_modules, triage_graph  # noqa: TID251 - named for runner.call
from suite.workers.errors import RemoteError

GRAPH_STATUSES = (Status.MISMATCH, Status.RUNTIME_ERROR)
EXPORT_STATUSES = (Status.EXPORT_ERROR,)


@dataclass(frozen=True)
class TriageSubject:
    """What a path judged when it failed: the graph, what it should compute, and on which input.

    A path adds it to the trail before it judges (it has no columns of its own); the triage reads
    it from the outcome's figures. kind "export": the graph against the eager model; "step": a
    graph made by a transform or converter against the graph before it; "opaque": a converter
    whose tensors cannot be matched (onnx-tf and tf2onnx rename them): blame without a node.
    """

    kind: str
    graph: Path | None
    tool: str
    before: Path | None = None
    step_blame: Blame = Blame.TRANSFORM
    request: ProviderRequest | None = None
    feeds_probe: Probe | None = None
    hop: str = ""  # an opaque converter's failing hop (onnx_tf, saved_model, tf2onnx)
    files: tuple[tuple[str, Path], ...] = ()  # what an opaque converter's hops read: name -> path

    def columns(self) -> dict[str, Any]:
        return {}


def triaged(runner: CaseRunner, case: Case, prepared: Prepared | None, outcome: Outcome) -> Outcome:
    """`outcome` with the triage's columns added, when it is red and the run's triage budget allows."""
    if runner.triage_limit == 0 or outcome.status.ok or case.exporter == "onnx":
        return outcome
    subject = next((f for f in reversed(outcome.figures) if isinstance(f, TriageSubject)), None)
    is_export = outcome.status in EXPORT_STATUSES and outcome.stage in ("export", "dynamic_axes")
    opaque = subject is not None and subject.kind == "opaque"  # a converter hop: any red status is its
    graph = subject is not None and outcome.status in GRAPH_STATUSES and prepared is not None
    if not (is_export or opaque or graph):
        return outcome
    if runner.triage_limit is not None and runner.triaged >= runner.triage_limit:
        return _add(
            outcome, {"triage_reason": f"not triaged: this process's limit of {runner.triage_limit} (--zoo-triage)"}
        )
    runner.triaged += 1
    start = time.perf_counter()
    try:
        if is_export and not opaque:
            findings = export_findings(runner, case, outcome)
        else:
            assert subject is not None
            findings = _graph_findings(runner, case, prepared, subject, outcome)
    except Exception as exc:  # noqa: BLE001 - the triage's own bug never costs the case its row
        findings = _harness(f"{type(exc).__name__}: {exc}")
    return _add(outcome, replace(findings, seconds=time.perf_counter() - start).columns())


def _add(outcome: Outcome, columns: dict[str, Any]) -> Outcome:
    return replace(outcome, figures=(*outcome.figures, _Columns(columns)))


@dataclass(frozen=True)
class _Columns:
    values: dict[str, Any]

    def columns(self) -> dict[str, Any]:
        return self.values


def _graph_findings(
    runner: CaseRunner, case: Case, prepared: Prepared | None, subject: TriageSubject, outcome: Outcome
) -> Findings:
    project = _project(subject)
    if subject.kind == "opaque" or subject.graph is None or prepared is None:
        reason = (
            f"the {subject.tool} hop failed ({outcome.message[:160]}); the export it started from is judged on its "
            f"own by the ort path, and {subject.tool} renames every tensor, so no node of its graph can be matched "
            "to the export's"
        )
        signature = f"{subject.step_blame.value}|{project}|{subject.tool}|{error_class(outcome.message)}"
        findings = Findings(subject.step_blame, reason, project, signature)
        return replace(
            findings, repro=converter_repro(runner, case, prepared, subject.hop, dict(subject.files), outcome, findings)
        )
    spec = prepared.spec
    probe = subject.feeds_probe or prepared.probes[0]
    if spec.framework == "torch" and subject.kind == "export":
        twice = _call(runner, "torch", torch_models.eager_twice, spec.name, probe.inputs(spec))
        if isinstance(twice, str):
            return _harness(twice)
        disagreement = self_disagreement(*twice[:2], prepared.reference_at(probe).bounds)
        model_side = with_random_ops(disagreement, twice[2]) or _rounding_decides(
            prepared.reference_at(probe).outputs, float64_outputs(runner, spec, probe)
        )
        if model_side:
            signature = f"model|{UPSTREAM['model']}|{model_side.split(':')[0]}"
            return Findings(
                Blame.MODEL,
                model_side,
                UPSTREAM["model"],
                signature,
                repro=Repro("not made: the eager model is no fixed reference"),
            )
    reference = prepared.reference_at(probe)
    key = content_key(
        kind="triage",
        version=TRIAGE_VERSION,
        graph=str(subject.graph),
        export=prepared.export_key,
        kind_of=subject.kind,
        tool=subject.tool,
        provider=(subject.request or ProviderRequest("CPUExecutionProvider")).options,
        provider_name=(subject.request or ProviderRequest("CPUExecutionProvider")).name,
        probe=probe.label,
        **runner.versions("onnx"),
    )
    modules: Any = ()
    modules_error = ""
    if spec.framework == "torch" and subject.kind == "export":
        modules = _call(runner, "torch", torch_modules.eager_module_outputs, spec.name, probe.inputs(spec))
        if isinstance(modules, str):  # the eager modules could not be recorded: said in triage_match
            modules, modules_error = (), f"recording them failed: {modules[:200]}"

    def run(scratch: Path) -> dict[str, Any]:
        job = triage_graph.GraphJob(
            kind=subject.kind,
            graph=str(subject.graph),
            feeds=probe.inputs(spec),
            expected=reference.outputs if subject.kind == "export" else [],
            bounds=reference.bounds,
            request=subject.request or ProviderRequest("CPUExecutionProvider"),
            tool=subject.tool,
            before=str(subject.before or ""),
            step_blame=subject.step_blame.value,
            eager_modules=modules,
            modules_error=modules_error,
            repro_folder=str(scratch),
            sizes={d: (prepared.probes[0].dims.get(d, n), n) for d, n in probe.dims.items()},
        )
        found = _call(runner, "onnx", triage_graph.triage_graph, job)
        if isinstance(found, str):
            raise StageFailure(Status.CRASH, found)  # never cached: the triage's own failure
        findings = _findings(found, subject, project)
        if findings.repro is not None and findings.repro.status == "reproduces":
            write_draft_beside(scratch, findings, case, outcome)
        scratch.mkdir(parents=True, exist_ok=True)  # a dropped repro leaves no folder; the entry keeps one
        return found

    cached, folder = runner.cached_step("triage", key, "", run)
    if cached.status != "ok":
        return _harness(cached.message)
    findings = _findings(cached.extra, subject, project)
    if findings.repro is not None and findings.repro.status == "reproduces":
        findings = replace(findings, repro=replace(findings.repro, folder=str(folder)))
    return findings


def _findings(found: dict[str, Any], subject: TriageSubject, project: str) -> Findings:
    """The worker's plain result as Findings, with the upstream project and the signature."""
    blame = Blame(found["blame"])
    divergence = Divergence(**found["divergence"]) if found["divergence"] else None
    repro = Repro(**found["repro"]) if found["repro"] else Repro("not made: no repro for this failure")
    if blame is Blame.RUNTIME:
        project = UPSTREAM["onnxruntime"]
    elif blame is Blame.HARNESS:
        project = UPSTREAM["harness"]
    elif blame is Blame.UNRESOLVED:
        project = "unresolved"
    op = divergence.op_type if divergence else "-"
    signature = f"{blame.value}|{project}|{subject.tool}|{op}|{_failure_kind(divergence)}"
    return Findings(blame, found["reason"], project, signature, divergence, repro)


def _failure_kind(divergence: Divergence | None) -> str:
    if divergence is None:
        return "outputs differ"
    return "raises" if divergence.against.startswith("ONNX Runtime raised") else "wrong values"


def _project(subject: TriageSubject) -> str:
    tool = subject.tool
    if subject.kind == "export":
        return UPSTREAM.get(tool, tool)
    if tool.startswith(("opt_ort", "quant", "opt_transformers")):
        return "onnxruntime"
    if tool.startswith("opt_onnxscript"):
        return "onnxscript"
    return UPSTREAM.get(tool, tool)


def _call(runner: CaseRunner, worker: str, function: Any, *args: Any) -> Any:
    """A worker call for the triage; its failure comes back as text (the triage's own failure)."""
    try:
        return runner.call_keeping_remote_errors(worker, "triage", function, *args)
    except (StageFailure, RemoteError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _harness(message: str) -> Findings:
    reason = f"the triage itself failed: {message[:300]} (a bug of zoo-suite; never cached)"
    return Findings(
        Blame.HARNESS, reason, UPSTREAM["harness"], "harness|triage", repro=Repro("not made: the triage failed")
    )


def _rounding_decides(float32: Sequence[Any], float64: Sequence[Any] | None) -> str:
    """Why the eager outputs are decided by float rounding (an integer output, such as detection labels
    or indices, that differs between the float32 and float64 eager runs), or ""."""
    for index, (single, double) in enumerate(zip(float32, float64 or [], strict=False)):
        ref32, ref64 = np.asarray(single), np.asarray(double)
        if ref32.dtype.kind not in "iub" or (ref32.shape == ref64.shape and np.array_equal(ref32, ref64)):
            continue
        how = f"shapes {ref32.shape} and {ref64.shape}" if ref32.shape != ref64.shape else "near-ties"
        return (
            f"float rounding decides the eager model's output {index}: its float32 and float64 runs give "
            f"different {ref32.dtype} values ({how}), so no backend can be held to it exactly"
        )
    return ""
