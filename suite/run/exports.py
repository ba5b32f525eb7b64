"""A case's ONNX file through the cache: exported in its framework's worker or, for a file from
outside, imported in the onnx worker (read safely, checked, external data inlined); then checked
once per file by onnx.checker and strict shape inference.

A failed export is cached like a file unless it is a crash or a timeout (the machine's fault,
maybe: retried next run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from suite.core.record import Status
from suite.exporters import ExportRequest
from suite.judge.inputs import dims_label, export_dims, make_inputs
from suite.onnx_files.checks import Artifact, ArtifactInfo, InvalidModelError, inspect_artifact
from suite.run.cache import CachedOutcome, content_key
from suite.run.cases import Case
from suite.run.key_parts import code_digest
from suite.run.pipeline import MODEL_FUNCTIONS, CaseRunner, StageFailure, reusable
from suite.workers import onnx_files  # noqa: TID251 - the import of a file from outside, for CaseRunner.call
from zoo.spec import FileSource, ModelSpec

# Exporters that get a new worker process for every export. torch.export-based exports of the
# same model in one process came out differently (gru/lstm, opsets 18 then 25: the second wrote
# the time axis as a fixed size, alone it stays dynamic) even from a new module instance after
# torch.compiler.reset(); only a new process gave every export the verdict it gets alone.
FRESH_PROCESS_EXPORTERS = frozenset({"dynamo"})
# Part of the cache key of an imported ONNX file: bump it when the import's checks change.
# 2: a file onnx.checker rejects is taken where ONNX Runtime makes a session of it (checker_error).
IMPORT_VERSION = 2


def export_key(runner: CaseRunner, spec: ModelSpec, case: Case) -> str:
    """The cache key of the case's export: everything that decides the file the exporter writes."""
    return content_key(
        kind="export",
        model=spec.name,
        digest=runner.digest(spec),
        code=code_digest(spec),
        exporter=case.exporter,
        opset=case.opset,
        shape=case.shape,
        # An ONNX file is imported (checked, external data inlined) under these rules.
        **({"import": IMPORT_VERSION, "limits": asdict(runner.limits)} if spec.file_source else {}),
        export_dims=dims_label(export_dims(spec, case.dynamic)),
        # Exports made before every torch.export-based export got a new process may carry the
        # state of the exports before them: those cache entries must not be reused.
        **({"process": "fresh"} if case.exporter in FRESH_PROCESS_EXPORTERS else {}),
        **runner.versions(spec.framework),
    )


def export(
    runner: CaseRunner, spec: ModelSpec, case: Case, output_count: int
) -> tuple[CachedOutcome, bool, Artifact | None]:
    """The case's export outcome, from the cache or by running the exporter in the worker.

    Returns the outcome (status "ok" or a failure), whether it came from the cache,
    and, when it is ok, the artifact.
    """
    key = export_key(runner, spec, case)
    outcome = reusable(runner.cache.load("exports", key, ".onnx")) if runner.use_cache else None
    was_cached = outcome is not None
    if outcome is None and spec.file_source is not None:
        outcome = _run_import(runner, spec.file_source, key)
    elif outcome is None:
        outcome = _run_export(runner, spec, case, key, output_count)
    if outcome.status != "ok":
        return outcome, was_cached, None
    artifact = Artifact(path=runner.cache.path("exports", key, ".onnx"), output_names=outcome.output_names)
    return outcome, was_cached, artifact


def _run_export(runner: CaseRunner, spec: ModelSpec, case: Case, key: str, output_count: int) -> CachedOutcome:
    scratch = runner.cache.scratch_path("exports", key, ".onnx")
    request = ExportRequest(spec.name, case.exporter, case.opset, case.dynamic, str(scratch))
    if case.exporter in FRESH_PROCESS_EXPORTERS:
        runner.workers[MODEL_FUNCTIONS[spec.framework].worker].recycle()

    def run_exporter() -> CachedOutcome:
        example = make_inputs(spec, export_dims(spec, case.dynamic))
        result = runner.model_call(spec, "export", lambda f: f.export, request, example, output_count)
        return CachedOutcome("ok", seconds=result.seconds, output_names=result.output_names)

    return _stored_export(runner, key, scratch, run_exporter)


def _run_import(runner: CaseRunner, file: FileSource, key: str) -> CachedOutcome:
    """An ONNX file from outside, read safely and checked in the onnx worker; its copy is the case's export."""
    scratch = runner.cache.scratch_path("exports", key, ".onnx")

    def import_file() -> CachedOutcome:
        args = (str(file.model), str(file.folder), str(scratch), runner.limits)
        result = runner.call("onnx", "import", onnx_files.import_file, *args)
        names, info = tuple(result["output_names"]), {"info": result["info"]}
        return CachedOutcome("ok", seconds=result["seconds"], output_names=names, extra=info)

    return _stored_export(runner, key, scratch, import_file)


def _stored_export(runner: CaseRunner, key: str, scratch: Path, make: Callable[[], CachedOutcome]) -> CachedOutcome:
    """`make()` writes the export to `scratch` and says how it went; the cache keeps the file, or the
    failure unless it is a crash, a timeout or over the memory budget (retried next run)."""
    try:
        outcome = make()
    except StageFailure as failure:
        scratch.unlink(missing_ok=True)
        if failure.kept:
            runner.cache.store("exports", key, failure.outcome())
        return failure.outcome()
    return runner.cache.store("exports", key, outcome, scratch, ".onnx")


def checked(runner: CaseRunner, key: str, artifact: Artifact, file_sha256: str = "") -> ArtifactInfo:
    """The facts of the export under cache key `key` after onnx.checker and strict shape inference, run
    once per exported file (its sha256, as the cache stored it) and onnx version: the same file gets
    the same verdict."""
    check_key = content_key(kind="check", export=key, sha256=file_sha256, onnx=runner.versions("onnx")["onnx"])
    cached = runner.cache.load("checks", check_key) if runner.use_cache else None
    if cached is None:
        try:
            info = inspect_artifact(artifact.path)
            cached = CachedOutcome("ok", extra={"info": asdict(info)})
        except InvalidModelError as exc:
            cached = CachedOutcome(Status.EXPORT_ERROR.value, str(exc))
        runner.cache.store("checks", check_key, cached)
    if cached.status != "ok":
        raise StageFailure(Status(cached.status), cached.message)
    return ArtifactInfo(**cached.extra["info"])
