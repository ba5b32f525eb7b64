"""Triage of red cases: where it broke, whose bug it is, and a repro, added to the case's row.

Runs only on failing cases (a numerics mismatch, an ORT failure at a node, a failed export),
through the cache like every other step (a harness failure is never cached), and at most
`CaseRunner.triage_limit` times per worker process. The graph work runs in the onnx worker
(suite.workers.triage_graph), the eager model's module outputs in the torch worker.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from suite.core.outcome import Outcome
from suite.core.record import Status
from suite.exporters import get_exporter
from suite.exporters.base import ExportRequest
from suite.judge.floor import FLOOR_FACTOR
from suite.judge.inputs import Probe, export_dims, make_inputs
from suite.judge.triage.blame import blame_export_failure
from suite.judge.triage.draft import write_draft
from suite.judge.triage.findings import UPSTREAM, Blame, Divergence, Findings, Repro
from suite.judge.triage.repro import write_export_repro
from suite.run.cache import content_key
from suite.run.cases import Case
from suite.run.exports import export_key
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.references import float64_outputs, reference
from suite.runtime.providers import ProviderRequest
from suite.workers import torch_models, triage_graph  # noqa: TID251 - named for runner.call
from suite.workers.errors import RemoteError

# Bump when the triage's rules change what it finds: cached findings of older rules are not reused.
TRIAGE_VERSION = 7
# The checkout an export repro's script imports the zoo from.
REPO_ROOT = Path(__file__).resolve().parents[2]
# Red statuses whose graph a triage can look into, and those of a failed export.
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
            findings = _export_findings(runner, case, outcome)
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


def _export_findings(runner: CaseRunner, case: Case, outcome: Outcome) -> Findings:
    """A failed export: blame from the failure's signature, and a script that makes the same export call."""
    blame, reason, project = blame_export_failure(case.exporter, outcome.message, outcome.detail)
    signature = f"{blame.value}|{project}|{case.exporter}|{_error_class(outcome.message)}"
    findings = Findings(blame, reason, project, signature)
    spec = runner.models.get(case.model)
    failure_text = _failure_text(outcome.message, outcome.detail)
    if spec.framework != "torch" or blame is Blame.HARNESS or not failure_text:
        return replace(findings, repro=Repro(f"not made: no export script for {case.exporter} failures of this kind"))
    key = content_key(
        kind="triage_export", version=TRIAGE_VERSION, export=export_key(runner, spec, case), failure=failure_text
    )

    def run(scratch: Path) -> dict[str, Any]:
        request = ExportRequest(case.model, case.exporter, case.opset, case.dynamic, "model.onnx")
        names = spec.output_names or tuple(f"output_{i}" for i in range(len(_home_outputs(runner, spec, case))))
        repro = write_export_repro(
            scratch,
            model_import="from zoo import registry",
            builder_call=f"registry.ModelRegistry().load_modules([{_module_of(spec)!r}]).get({spec.name!r}).builder()",
            inputs=make_inputs(spec, export_dims(spec, case.dynamic)),
            export_call=get_exporter(case.exporter).repro_call(spec, request, names),
            failure_text=failure_text,
            title=f"{project}: {outcome.message[:120]}",
            seed=spec.seed,
            timeout=runner.timeout,
            repo_root=REPO_ROOT,
        )
        if repro.status == "reproduces":
            _write_draft(scratch, replace(findings, repro=repro), case, outcome)
        scratch.mkdir(parents=True, exist_ok=True)
        return {"repro": dataclasses.asdict(repro)}

    cached, folder = runner.cached_step("triage", key, "", run)
    if cached.status != "ok":
        return replace(findings, repro=Repro(f"not made: {cached.message[:200]}"))
    repro = Repro(**cached.extra["repro"])
    if repro.status == "reproduces":
        repro = replace(repro, folder=str(folder))
    return replace(findings, repro=repro)


def _home_outputs(runner: CaseRunner, spec: Any, case: Case) -> list[Any]:
    """The eager outputs at the export's size (cached by the reference stage): their count names the outputs."""
    return reference(runner, spec, Probe(export_dims(spec, case.dynamic), runner.input_draw))


def _module_of(spec: Any) -> str:
    """What the repro script passes to ModelRegistry.load_modules: the dotted module, or a user file's path."""
    if spec.source.startswith("zoo_user_"):
        return inspect.getsourcefile(spec.builder) or spec.source
    return spec.source


def _failure_text(message: str, detail: str) -> str:
    """The piece of an export's error a repro must raise again ("<Type>: <first words>").

    The row's message may be a summary (suite.core.messages.exporter_summary): its words are kept
    only where the raw traceback has them, else the exception's type alone must match.
    """
    kind, _, said = message.partition(": ")
    words = said.split(" (caused by", maxsplit=1)[0][:60].strip()
    if words and words in detail:
        return f"{kind}: {words}"
    return f"{kind}:" if kind and " " not in kind else ""


def _error_class(message: str) -> str:
    """A failure message without its figures and names, so the same bug on two models is one signature."""
    head = message.split(":", maxsplit=1)[0].strip()
    words = [w for w in message.replace(",", " ").split() if not any(c.isdigit() for c in w)][:12]
    return f"{head}: {' '.join(words)}"


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
        signature = f"{subject.step_blame.value}|{project}|{subject.tool}|{_error_class(outcome.message)}"
        repro = Repro(f"not made: a {subject.tool} repro needs TensorFlow in its script (not written yet)")
        return Findings(subject.step_blame, reason, project, signature, repro=repro)
    spec = prepared.spec
    probe = subject.feeds_probe or prepared.probes[0]
    if spec.framework == "torch" and subject.kind == "export":
        twice = _call(runner, "torch", torch_models.eager_twice, spec.name, probe.inputs(spec))
        if isinstance(twice, str):
            return _harness(twice)
        model_side = _nondeterministic(twice, prepared.reference_at(probe).bounds) or _rounding_decides(
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
        modules = _call(runner, "torch", torch_models.eager_module_outputs, spec.name, probe.inputs(spec))
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
            _write_draft(scratch, findings, case, outcome)
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


def _write_draft(folder: Path, findings: Findings, case: Case, outcome: Outcome) -> None:
    """The repro folder's README.md: an issue draft for the project the findings blame."""
    versions_file = folder / "versions.json"
    versions = json.loads(versions_file.read_text()) if versions_file.exists() else {}
    versions = {k: str(v) for k, v in versions.items()}
    script = (folder / "repro.py").read_text() if (folder / "repro.py").exists() else ""
    write_draft(
        folder, findings, case_ids=[case.case_id], message=outcome.message, versions=versions, repro_script=script
    )


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


def _nondeterministic(twice: tuple[list[np.ndarray], list[np.ndarray]], bounds: Any) -> str:
    """Why the eager model cannot be a reference (it disagrees with itself on the same inputs), or ""."""
    first, second = twice
    for index, (a, b) in enumerate(zip(first, second, strict=False)):
        if a.shape != b.shape:
            return f"the eager model is not deterministic: output {index} has shape {a.shape}, then {b.shape}"
        if a.dtype.kind != "f" or a.size == 0:
            if not np.array_equal(a, b):
                return (
                    f"the eager model is not deterministic: output {index} changes between two runs on the same inputs"
                )
            continue
        err = float(np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        bound = bounds[index] if index < len(bounds) else None
        limit = bound.atol if bound is not None else 0.0
        if err > max(limit, 0.0) and err > 0:
            floor = (
                f" ({err / (limit / FLOOR_FACTOR):.3g}x its float32 floor)" if bound is not None and bound.floor else ""
            )
            return (
                f"the eager model is not deterministic: two runs on the same inputs differ by {err:.3g} at output "
                f"{index}{floor}, beyond the case's bound: no export can be judged against it"
            )
    return ""
