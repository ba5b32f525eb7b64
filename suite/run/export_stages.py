"""The stages that prepare a case's export for its path, each entered on the case's trail.

A zoo model: build (its weights digest), reference, export, check and, for a dynamic case,
dynamic axes. An ONNX file from outside: import, test data, and its first session (or its
references) in the onnx worker. Either ends in the Prepared export every path starts from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from suite.core.figures import ArtifactFacts, ExportRun, FileFacts, Weights
from suite.core.outcome import Trail
from suite.core.record import Status
from suite.judge.inputs import Probe, export_dims
from suite.onnx_files.checks import Artifact, ArtifactInfo, CheckerVerdict
from suite.onnx_files.safe_read import SourceRejected
from suite.onnx_files.sources import StoredData, problem_status, stored_data
from suite.run.cache import CachedOutcome
from suite.run.cases import Case
from suite.run.exports import checked, export, export_key
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.references import eager_references, file_references, reference
from suite.workers import onnx_files  # noqa: TID251 - ONNX Runtime's first session on a file, for CaseRunner.call
from zoo.spec import FileSource, ModelSpec

# Input draws every hop is checked on at the export's own size: a verdict must not hang on one draw.
HOME_DRAWS = 2


def prepare(runner: CaseRunner, spec: ModelSpec, case: Case, trail: Trail) -> Prepared:
    """Reference outputs, the export (or its cached copy), checker and dynamic-axes checks."""
    if spec.file_source is not None:
        return _prepare_file(runner, spec, spec.file_source, case, trail)
    trail.enter("build")
    trail.add(Weights(runner.digest(spec), runner.weights_source(spec)))
    # The export's own example size is "home": a failure there is the exporter's or the
    # runtime's; a failure only at the other sizes means the axes are not really dynamic.
    home = export_dims(spec, case.dynamic)
    trail.enter("reference")
    home_reference = reference(runner, spec, Probe(home, runner.input_draw))

    trail.enter("export")
    outcome, cached, artifact = export(runner, spec, case, len(home_reference))
    _add_export_run(trail, outcome, cached)
    if artifact is None:
        raise StageFailure(Status(outcome.status), outcome.message, outcome.detail)

    trail.enter("check")
    key = export_key(runner, spec, case)
    info = checked(runner, key, artifact, outcome.payload_sha256)
    _add_artifact_facts(trail, info)

    probes = tuple(Probe(home, runner.input_draw + i) for i in range(HOME_DRAWS))
    if case.dynamic:
        trail.enter("dynamic_axes")
        baked = _baked_axes(spec, info.input_dims)
        if baked:
            raise StageFailure(
                Status.EXPORT_ERROR, f"the exporter wrote dynamic axes as fixed sizes: {baked} (asked dynamic)"
            )
        probes += tuple(Probe(d, runner.input_draw) for d in (spec.dims, *spec.other_dims) if d != home)
    return Prepared(spec, artifact, info, key, probes, eager_references(runner, spec))


def _prepare_file(runner: CaseRunner, spec: ModelSpec, file: FileSource, case: Case, trail: Trail) -> Prepared:
    """An ONNX file from outside: imported in the onnx worker (read safely, checked), its test data
    read, and its references taken from the stored outputs or, without any, from ONNX Runtime's
    CPU provider on the file in the worker. Either way ONNX Runtime first meets the file there."""
    trail.enter("import")
    if file.problem and problem_status(file.problem) is Status.MODEL_ERROR:
        raise StageFailure(Status.MODEL_ERROR, file.problem)
    trail.add(Weights(file.digest))
    outcome, cached, artifact = export(runner, spec, case, 0)
    _add_export_run(trail, outcome, cached)
    if artifact is None:
        raise StageFailure(Status(outcome.status), outcome.message, outcome.detail)
    info = ArtifactInfo(**outcome.extra["info"])
    _add_artifact_facts(trail, info)
    trail.add(CheckerVerdict(info.checker_error))  # ORT took the file even where the checker did not
    if file.problem:  # an input type ORT's Python API cannot take: said once the file itself is found sound
        raise StageFailure(Status.UNSUPPORTED, file.problem)

    trail.enter("test_data")
    stored = len(file.data_sets)
    kind = f"stored outputs ({stored} test data sets)" if stored else "ONNX Runtime CPU on the file (no test data)"
    trail.add(FileFacts(str(file.model), kind, file.tolerance_source))
    draws = range(stored) if stored else range(runner.input_draw, runner.input_draw + HOME_DRAWS)
    probes = tuple(Probe({}, draw) for draw in draws)
    try:  # every data set read and checked now: a malformed one is this row's verdict
        feeds = [probe.inputs(spec) for probe in probes]
        for draw in draws if stored else ():
            data = stored_data(file, spec.input_names(), draw, runner.limits)
            _check_outputs(data, artifact, file.data_sets[draw])
    except SourceRejected as exc:
        raise StageFailure(Status.MODEL_ERROR, str(exc)) from None
    # ONNX Runtime's first session on the file is made in the worker; where nothing is stored, its
    # outputs are the references.
    trail.enter("first_session" if stored else "reference")
    ran = runner.call(
        "onnx", "reference", onnx_files.ort_cpu_outputs, str(artifact.path), feeds[:1] if stored else feeds
    )
    kept = {} if stored else {probe.label: outputs for probe, outputs in zip(probes, ran, strict=True)}
    references = file_references(runner, spec, file, artifact, kept)
    return Prepared(spec, artifact, info, export_key(runner, spec, case), probes, references)


def _add_export_run(trail: Trail, outcome: CachedOutcome, cached: bool) -> None:
    trail.add(ExportRun(cached, round(outcome.seconds, 3) if outcome.seconds else None))


def _add_artifact_facts(trail: Trail, info: ArtifactInfo) -> None:
    trail.add(ArtifactFacts(info.ir_version, info.opset, info.node_count, info.op_counts, info.file_bytes))


def _check_outputs(data: StoredData, artifact: Artifact, folder: Path) -> None:
    """A data set must hold one output per graph output: the variant paths compare every one."""
    if len(data.outputs) != len(artifact.output_names):
        raise SourceRejected(
            f"{folder.name} holds {len(data.outputs)} outputs but the graph has {len(artifact.output_names)} "
            f"({', '.join(artifact.output_names)})"
        )


def _baked_axes(spec: ModelSpec, input_dims: Mapping[str, list[int | str]]) -> str:
    """Declared dynamic axes that the graph inputs carry as fixed numbers."""
    baked = []
    for inp in spec.inputs:
        dims = input_dims.get(inp.name)
        if dims is None:
            continue
        for axis, name in inp.dynamic_dims.items():
            if axis < len(dims) and not isinstance(dims[axis], str):
                baked.append(f"{inp.name}[{axis}] ({name}) = {dims[axis]}")
    return ", ".join(baked)
