"""Runs one case through its stages and returns its Record; never raises for case failures.

Framework work goes to worker processes: torch models to the torch worker,
Keras models and every TensorFlow converter to the TF worker (which never
imports torch). The pytest process reads files, runs ONNX Runtime, compares
arrays and keeps the cache.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from suite.core import inherent
from suite.core.figures import ArtifactFacts, ExportRun, FileFacts, JudgedTolerance, ModelFacts, SpecTolerance, Weights
from suite.core.inherent import InherentTime
from suite.core.messages import clip, exporter_summary, first_line, raised_at
from suite.core.outcome import Outcome, Trail
from suite.core.record import Record, Status
from suite.exporters import ExportRequest
from suite.judge.floor import FLOAT64_RUN_VERSION, bounds_for
from suite.judge.hops import Reference
from suite.judge.inputs import Probe, dims_label, export_dims, make_inputs
from suite.onnx_files.checks import Artifact, ArtifactInfo, InvalidModelError, inspect_artifact
from suite.onnx_files.safe_read import Limits, SourceRejected
from suite.onnx_files.sources import StoredData, stored_data
from suite.run.cache import Cache, CachedOutcome, content_key
from suite.run.cases import Case
from suite.runtime.providers import onnxruntime_version
from suite.runtime.sessions import Threads
from suite.runtime.timing import TimingPlan
from suite.workers import keras_models, onnx_files, torch_models  # noqa: TID251 - the model functions, for CaseRunner.call
from suite.workers.isolate import RemoteError, Worker, WorkerCrashed, WorkerError, WorkerFunction, WorkerTimeout
from zoo.expectations import expectation_for
from zoo.registry import ModelRegistry
from zoo.spec import FileSource, ModelSpec

_UNSUPPORTED_TYPES = {"ExportUnsupported", "UnsupportedOperatorError"}
_UNSUPPORTED_PHRASES = (
    "unsupported onnx_opset_version",
    "is not supported",
    "not implemented for opset",
    "no adapter",  # onnx.version_converter has no adapter for an op between two opsets
    "no previous version",  # ... nor a version of the op below the one in the graph
    # TorchScript's symbolic functions refuse an op's variant with a SymbolicValueError, the same
    # refusal UnsupportedOperatorError makes for a whole op.
    "unsupported: onnx export of operator",
)
# Stages whose tool's refusal ("cannot do X") is an `unsupported` row, and the status of
# their other failures.
_CONVERTING_STAGES = {
    "export": Status.EXPORT_ERROR,
    # The version converter rewrites an exported file: nothing is exported at that hop.
    "convert": Status.TRANSFORM_ERROR,
    "tf2onnx": Status.EXPORT_ERROR,
    "transform": Status.TRANSFORM_ERROR,
}

# Exporters that get a new worker process for every export. torch.export-based exports of the
# same model in one process came out differently (gru/lstm, opsets 18 then 25: the second wrote
# the time axis as a fixed size, alone it stays dynamic) even from a new module instance after
# torch.compiler.reset(); only a new process gave every export the verdict it gets alone.
FRESH_PROCESS_EXPORTERS = frozenset({"dynamo"})


@dataclass(frozen=True)
class ModelFunctions:
    """The worker functions that serve one model framework, and the worker they run in."""

    worker: str
    weights_digest: Callable[..., Any]
    eager_outputs: Callable[..., Any]
    eager_outputs_float64: Callable[..., Any]
    eager_latency: Callable[..., Any]
    export: Callable[..., Any]


MODEL_FUNCTIONS = {
    "torch": ModelFunctions(
        "torch",
        torch_models.weights_digest,
        torch_models.eager_outputs,
        torch_models.eager_outputs_float64,
        torch_models.eager_latency,
        torch_models.export,
    ),
    "keras": ModelFunctions(
        "tf",
        keras_models.weights_digest,
        keras_models.eager_outputs,
        keras_models.eager_outputs_float64,
        keras_models.eager_latency,
        keras_models.export,
    ),
}
# Library versions that decide a framework's results, part of every cache key.
FRAMEWORK_LIBRARIES = {
    "torch": ("torch", "torchvision", "transformers", "onnxscript"),
    "keras": ("tensorflow", "tf-keras", "keras", "tf2onnx"),
    "tf": ("tensorflow", "onnx-tf", "tf2onnx", "onnx"),
    "onnx": ("onnx", "onnxruntime", "onnxscript"),
}


class StageFailure(Exception):
    """A stage ended the case; carries the status and message for the row.

    `cause` keeps a worker exception's raw facts (see CachedOutcome.cause).
    """

    def __init__(self, status: Status, message: str, detail: str = "", cause: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.cause = cause

    def outcome(self) -> CachedOutcome:
        """This failure as a cache entry."""
        return CachedOutcome(self.status.value, self.message, self.detail, cause=self.cause)


def library_version(name: str) -> str:
    if name == "onnxruntime":  # whichever flavour provides the module: their transforms differ
        return onnxruntime_version()
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def classify_worker_error(exc: WorkerError, stage: str) -> StageFailure:
    """Map a failed worker call to the status its row should carry."""
    if isinstance(exc, WorkerTimeout):
        return StageFailure(Status.TIMEOUT, str(exc))
    if isinstance(exc, WorkerCrashed):
        return StageFailure(Status.CRASH, str(exc))
    assert isinstance(exc, RemoteError)
    detail = clip(exc.remote_traceback)
    if exc.harness_bug:  # never the model's fault, never cached (crash rows are retried)
        return StageFailure(
            Status.CRASH,
            f"harness error at {exc.harness_bug}: {exc.short_type}: {first_line(exc.message)} "
            "(a bug of zoo-suite, not a verdict on the model)",
            detail,
        )
    cause = {"stage": stage, "type_name": exc.type_name, "message": exc.message, "traceback": detail}
    if exc.short_type == "ModelError":
        return StageFailure(Status.MODEL_ERROR, first_line(exc.message), detail, cause)
    if exc.short_type == "EntryExcluded":  # a zoo entry left out on purpose (zoo.spec.EntryExcluded)
        return StageFailure(Status.SKIP, first_line(exc.message))
    message = f"{exc.short_type}: {exporter_summary(exc.message) or raised_at(exc.remote_traceback)}"
    if stage in _CONVERTING_STAGES and (
        exc.short_type in _UNSUPPORTED_TYPES or any(p in exc.message.lower() for p in _UNSUPPORTED_PHRASES)
    ):
        return StageFailure(Status.UNSUPPORTED, message, detail, cause)
    status = _CONVERTING_STAGES.get(stage, Status.RUNTIME_ERROR)
    return StageFailure(status, message, detail, cause)


def _reusable(outcome: CachedOutcome | None) -> CachedOutcome | None:
    """A cached outcome under this run's rules, or None where it must run again (a failure that is
    now known to be a harness bug, kept by an older version)."""
    if outcome is None:
        return None
    outcome = reclassified(outcome)
    return None if outcome.status == Status.CRASH.value else outcome


def reclassified(outcome: CachedOutcome) -> CachedOutcome:
    """A cached worker failure, classified again under this run's rules."""
    if outcome.status == "ok" or not outcome.cause:
        return outcome
    cause = outcome.cause
    error = RemoteError(cause["type_name"], cause["message"], cause["traceback"])
    failure = classify_worker_error(error, cause["stage"])
    return replace(outcome, status=failure.status.value, message=failure.message)


# Input draws every hop is checked on at the export's own size: a verdict must not hang on one draw.
HOME_DRAWS = 2
# Part of the cache key of an imported ONNX file: bump it when the import's checks change.
IMPORT_VERSION = 1


@dataclass(frozen=True)
class Prepared:
    """What every path starts from: the exported file, its facts and the eager outputs."""

    spec: ModelSpec
    artifact: Artifact
    info: ArtifactInfo
    export_key: str
    # The export's own ("home") size in HOME_DRAWS draws first, then the other sizes (dynamic cases).
    probes: tuple[Probe, ...]
    reference_at: Callable[[Probe], Reference]


# A path's run: takes a prepared case down the path, marking its stages and adding its figures to
# the trail, and returns how the case ended (or raises a StageFailure).
PathRunner = Callable[["CaseRunner", Case, Trail, Prepared], Outcome]


class CaseRunner:
    """Holds the workers and the cache; turns Cases into Records.

    Args:
        workers: Worker processes by name ("torch", "tf"); started on first use.
        cache: Where exports, references and converter results are kept across runs.
        models: The run's zoo, where cases look up their model's spec.
        timeout: Seconds one worker call may take before it is a timeout row.
        use_cache: When False, redo (and refresh) every cached step.
        input_draw: The first seeded input draw the hops are checked on.
        limits: What one ONNX file from outside may make the suite read or allocate.
    """

    def __init__(
        self,
        workers: Mapping[str, Worker],
        cache: Cache,
        models: ModelRegistry,
        timeout: float = 600.0,
        use_cache: bool = True,
        input_draw: int = 0,
        limits: Limits | None = None,
    ):
        self.workers = dict(workers)
        self.models = models
        self.cache = cache
        self.timeout = timeout
        self.use_cache = use_cache
        self.input_draw = input_draw  # the first input draw the hops are checked on
        self.limits = limits or Limits()
        self._digests: dict[str, str] = {}  # model name -> weights digest, once per process
        self._eager_latency: dict[tuple[str, str, Threads], dict[str, Any]] = {}
        self._versions = {
            group: {lib: library_version(lib) for lib in libs} for group, libs in FRAMEWORK_LIBRARIES.items()
        }

    def versions(self, group: str) -> dict[str, str]:
        """Versions of the libraries in `group` ("torch", "keras", "tf"), for cache keys and rows."""
        return self._versions[group]

    # -- worker calls -------------------------------------------------------------------------

    def call(self, worker: str, stage: str, function: WorkerFunction, *args: object) -> Any:
        """Call `function` in a worker; a failure becomes a StageFailure for `stage`."""
        try:
            return self.call_keeping_remote_errors(worker, stage, function, *args)
        except RemoteError as exc:
            raise classify_worker_error(exc, stage) from None

    def call_keeping_remote_errors(self, worker: str, stage: str, function: WorkerFunction, *args: object) -> Any:
        """Call `function` in a worker; a crash or timeout is a StageFailure for `stage`, while an exception
        raised by the function comes back as RemoteError, for a caller that reads it itself
        (onnx-tf's refusals name the op); a harness bug is a StageFailure all the same."""
        try:
            return self.workers[worker].call(function, *args, timeout=self.timeout)
        except RemoteError as exc:
            if exc.harness_bug:
                raise classify_worker_error(exc, stage) from None
            raise
        except WorkerError as exc:
            raise classify_worker_error(exc, stage) from None

    def _model_call(
        self, spec: ModelSpec, stage: str, function: Callable[[ModelFunctions], WorkerFunction], *args: object
    ) -> Any:
        """Call the worker function `function` picks for the model's framework, in that framework's worker."""
        functions = MODEL_FUNCTIONS[spec.framework]
        return self.call(functions.worker, stage, function(functions), *args)

    def digest(self, spec: ModelSpec) -> str:
        if spec.file_source is not None:  # the file's (and its data's) own hash: nothing to build
            return spec.file_source.digest
        if spec.name not in self._digests:
            self._digests[spec.name] = str(self._model_call(spec, "build", lambda f: f.weights_digest, spec.name))
        return self._digests[spec.name]

    # -- cached steps -------------------------------------------------------------------------

    def reference(self, spec: ModelSpec, probe: Probe) -> list[np.ndarray]:
        """Eager outputs on the probe's inputs, from the cache or the model's worker."""
        outputs, failure = self._eager_outputs(spec, probe, lambda f: f.eager_outputs, "reference")
        if failure is not None:
            raise StageFailure(Status(failure.status), failure.message, failure.detail)
        return outputs

    def judged_reference(self, spec: ModelSpec, probe: Probe) -> Reference:
        """The eager outputs with their bounds, calibrated from a float64 run where the model has one."""
        ref32 = self.reference(spec, probe)
        ref64, failure = self._eager_outputs(spec, probe, lambda f: f.eager_outputs_float64, "reference64")
        if failure is not None:
            bounds, _ = bounds_for(ref32, None, spec.tolerance)
            return Reference(ref32, bounds, f"static (no float64 run: {clip(failure.message, 160)})")
        bounds, rule = bounds_for(ref32, ref64, spec.tolerance)
        return Reference(ref32, bounds, rule)

    def _eager_outputs(
        self, spec: ModelSpec, probe: Probe, function: Callable[[ModelFunctions], WorkerFunction], kind: str
    ) -> tuple[list[np.ndarray], CachedOutcome | None]:
        """A worker's outputs on the probe's inputs through the cache; (outputs, None) or ([], failure).

        A model error is kept in the cache; a crash or timeout is retried next run; any other
        worker failure propagates.
        """
        key = content_key(
            kind=kind,
            model=spec.name,
            digest=self.digest(spec),
            code=code_digest(spec),
            dims=probe.label,
            **({"float64_run": FLOAT64_RUN_VERSION} if kind == "reference64" else {}),
            **self.versions(spec.framework),
        )
        cached = self.cache.load_arrays(f"{kind}s", key) if self.use_cache else None
        if cached is None:
            try:
                outputs = self._model_call(spec, kind, function, spec.name, probe.inputs(spec))
                outcome = CachedOutcome("ok")
            except StageFailure as failure:
                if failure.status != Status.MODEL_ERROR:
                    raise
                outputs, outcome = [], failure.outcome()
            self.cache.store_arrays(f"{kind}s", key, outcome, outputs)
        else:
            outcome, outputs = cached
            outcome = reclassified(outcome)
        return (list(outputs), None) if outcome.status == "ok" else ([], outcome)

    def eager_latency(
        self, spec: ModelSpec, dims: Mapping[str, int], threads: Threads, plan: TimingPlan, device: str = "cpu"
    ) -> dict[str, Any]:
        """The eager model's latency at `dims` on `device` (the latency stage's baseline), measured once per run.

        The result names the device it ran on ("device"): a GPU asked for where the framework
        sees none runs on the CPU, and says so.
        """
        key = (spec.name, dims_label(dims), threads, device)
        if key not in self._eager_latency:
            self._eager_latency[key] = self._model_call(
                spec,
                "eager",
                lambda f: f.eager_latency,
                spec.name,
                make_inputs(spec, dims),
                threads.intra_op,
                plan,
                device,
            )
        return self._eager_latency[key]

    def export_key(self, spec: ModelSpec, case: Case) -> str:
        return content_key(
            kind="export",
            model=spec.name,
            digest=self.digest(spec),
            code=code_digest(spec),
            exporter=case.exporter,
            opset=case.opset,
            shape=case.shape,
            # An ONNX file is imported (checked, external data inlined) under these rules.
            **({"import": IMPORT_VERSION, "limits": asdict(self.limits)} if spec.file_source else {}),
            export_dims=dims_label(export_dims(spec, case.dynamic)),
            # Exports made before every torch.export-based export got a new process may carry the
            # state of the exports before them: those cache entries must not be reused.
            **({"process": "fresh"} if case.exporter in FRESH_PROCESS_EXPORTERS else {}),
            **self.versions(spec.framework),
        )

    def export(self, spec: ModelSpec, case: Case, output_count: int) -> tuple[CachedOutcome, bool, Artifact | None]:
        """The case's export outcome, from the cache or by running the exporter in the worker.

        Returns the outcome (status "ok" or a failure), whether it came from the cache,
        and, when it is ok, the artifact.
        """
        key = self.export_key(spec, case)
        outcome = _reusable(self.cache.load("exports", key, ".onnx")) if self.use_cache else None
        was_cached = outcome is not None
        if outcome is None and spec.file_source is not None:
            outcome = self._run_import(spec.file_source, key)
        elif outcome is None:
            outcome = self._run_export(spec, case, key, output_count)
        if outcome.status != "ok":
            return outcome, was_cached, None
        artifact = Artifact(path=self.cache.path("exports", key, ".onnx"), output_names=outcome.output_names)
        return outcome, was_cached, artifact

    def _run_export(self, spec: ModelSpec, case: Case, key: str, output_count: int) -> CachedOutcome:
        scratch = self.cache.scratch_path("exports", key, ".onnx")
        request = ExportRequest(spec.name, case.exporter, case.opset, case.dynamic, str(scratch))
        if case.exporter in FRESH_PROCESS_EXPORTERS:
            self.workers[MODEL_FUNCTIONS[spec.framework].worker].recycle()

        def export() -> CachedOutcome:
            example = make_inputs(spec, export_dims(spec, case.dynamic))
            result = self._model_call(spec, "export", lambda f: f.export, request, example, output_count)
            return CachedOutcome("ok", seconds=result.seconds, output_names=result.output_names)

        return self._stored_export(key, scratch, export)

    def _run_import(self, file: FileSource, key: str) -> CachedOutcome:
        """An ONNX file from outside, read safely and checked in the onnx worker; its copy is the case's export."""
        scratch = self.cache.scratch_path("exports", key, ".onnx")

        def import_file() -> CachedOutcome:
            args = (str(file.model), str(file.folder), str(scratch), self.limits)
            result = self.call("onnx", "import", onnx_files.import_file, *args)
            names, info = tuple(result["output_names"]), {"info": result["info"]}
            return CachedOutcome("ok", seconds=result["seconds"], output_names=names, extra=info)

        return self._stored_export(key, scratch, import_file)

    def _stored_export(self, key: str, scratch: Path, make: Callable[[], CachedOutcome]) -> CachedOutcome:
        """`make()` writes the export to `scratch` and says how it went; the cache keeps the file, or the
        failure unless it is a crash or a timeout (the machine's fault, maybe: retried next run)."""
        try:
            outcome = make()
        except StageFailure as failure:
            scratch.unlink(missing_ok=True)
            if failure.status not in (Status.CRASH, Status.TIMEOUT):
                self.cache.store("exports", key, failure.outcome())
            return failure.outcome()
        return self.cache.store("exports", key, outcome, scratch, ".onnx")

    def checked(self, spec: ModelSpec, case: Case, artifact: Artifact, file_sha256: str = "") -> ArtifactInfo:
        """The export's facts after onnx.checker and strict shape inference, run once per exported
        file (its sha256, as the cache stored it) and onnx version: the same file gets the same verdict."""
        key = content_key(
            kind="check", export=self.export_key(spec, case), sha256=file_sha256, onnx=self.versions("onnx")["onnx"]
        )
        cached = self.cache.load("checks", key) if self.use_cache else None
        if cached is None:
            try:
                info = inspect_artifact(artifact.path)
                cached = CachedOutcome("ok", extra={"info": asdict(info)})
            except InvalidModelError as exc:
                cached = CachedOutcome(Status.EXPORT_ERROR.value, str(exc))
            self.cache.store("checks", key, cached)
        if cached.status != "ok":
            raise StageFailure(Status(cached.status), cached.message)
        return ArtifactInfo(**cached.extra["info"])

    def cached_step(
        self, kind: str, key: str, suffix: str, run: Callable[[Any], dict[str, Any] | None]
    ) -> tuple[CachedOutcome, Any]:
        """A converter step whose product is a file or folder, through the cache.

        `run(scratch_path)` writes the product and returns extra facts to keep;
        a StageFailure it raises is cached too, unless it is a crash or timeout.
        Returns the outcome and the product's path (None when the step failed).
        """
        outcome = _reusable(self.cache.load(kind, key, suffix)) if self.use_cache else None
        if outcome is None:
            scratch = self.cache.scratch_path(kind, key, suffix)
            start = time.perf_counter()
            try:
                extra = run(scratch) or {}
                outcome = CachedOutcome("ok", seconds=time.perf_counter() - start, extra=extra)
                self.cache.store(kind, key, outcome, scratch, suffix)
            except StageFailure as failure:
                outcome = failure.outcome()
                if failure.status not in (Status.CRASH, Status.TIMEOUT):
                    self.cache.store(kind, key, outcome)
        product = self.cache.path(kind, key, suffix) if outcome.status == "ok" else None
        return outcome, product

    # -- the case ------------------------------------------------------------------------------

    def run_case(self, case: Case, path_runner: PathRunner) -> Record:
        """Prepare the case's export, then let `path_runner` take it down its path; the row is built
        once, from the case and how it ended."""
        start, before = time.perf_counter(), inherent.snapshot()
        trail = Trail()
        try:
            spec = self.models.get(case.model)
            trail.add(ModelFacts(spec.family, spec.task.value), SpecTolerance(spec.tolerance.atol, spec.tolerance.rtol))
            prepared = self.prepare(spec, case, trail)
            trail.add(_judged_tolerance(prepared.reference_at(prepared.probes[0])))
            outcome = path_runner(self, case, trail, prepared)
        except StageFailure as failure:
            outcome = trail.failed(failure.status, failure.message, failure.detail)
        except Exception as exc:  # noqa: BLE001 - a harness bug must still leave a row
            outcome = trail.failed(
                Status.CRASH, f"harness error {type(exc).__name__}: {first_line(exc)}", clip(repr(exc))
            )
        spent = InherentTime.since(before)  # exports, sessions, timed loops: the rest of the case is overhead
        outcome = replace(outcome, figures=(*outcome.figures, spent))
        return apply_expectation(record_of(case, outcome, time.perf_counter() - start))

    def prepare(self, spec: ModelSpec, case: Case, trail: Trail) -> Prepared:
        """Reference outputs, the export (or its cached copy), checker and dynamic-axes checks."""
        if spec.file_source is not None:
            return self._prepare_file(spec, spec.file_source, case, trail)
        trail.enter("build")
        trail.add(Weights(self.digest(spec)))
        # The export's own example size is "home": a failure there is the exporter's or the
        # runtime's; a failure only at the other sizes means the axes are not really dynamic.
        home = export_dims(spec, case.dynamic)
        trail.enter("reference")
        reference = self.reference(spec, Probe(home, self.input_draw))

        trail.enter("export")
        outcome, cached, artifact = self.export(spec, case, len(reference))
        trail.add(ExportRun(cached, round(outcome.seconds, 3) if outcome.seconds else None))
        if artifact is None:
            raise StageFailure(Status(outcome.status), outcome.message, outcome.detail)

        trail.enter("check")
        info = self.checked(spec, case, artifact, outcome.payload_sha256)
        trail.add(ArtifactFacts(info.ir_version, info.opset, info.node_count, info.op_counts, info.file_bytes))

        probes = tuple(Probe(home, self.input_draw + i) for i in range(HOME_DRAWS))
        if case.dynamic:
            trail.enter("dynamic_axes")
            baked = _baked_axes(spec, info.input_dims)
            if baked:
                raise StageFailure(
                    Status.EXPORT_ERROR, f"the exporter wrote dynamic axes as fixed sizes: {baked} (asked dynamic)"
                )
            probes += tuple(Probe(d, self.input_draw) for d in (spec.dims, *spec.other_dims) if d != home)
        return Prepared(spec, artifact, info, self.export_key(spec, case), probes, self._references_of(spec))

    def _prepare_file(self, spec: ModelSpec, file: FileSource, case: Case, trail: Trail) -> Prepared:
        """An ONNX file from outside: imported in the onnx worker (read safely, checked), its test data
        read, and its references taken from the stored outputs or, without any, from ONNX Runtime's
        CPU provider on the file in the worker. Either way ONNX Runtime first meets the file there."""
        trail.enter("import")
        if file.problem:
            raise StageFailure(Status.MODEL_ERROR, file.problem)
        trail.add(Weights(file.digest))
        outcome, cached, artifact = self.export(spec, case, 0)
        trail.add(ExportRun(cached, round(outcome.seconds, 3) if outcome.seconds else None))
        if artifact is None:
            raise StageFailure(Status(outcome.status), outcome.message, outcome.detail)
        info = ArtifactInfo(**outcome.extra["info"])
        trail.add(ArtifactFacts(info.ir_version, info.opset, info.node_count, info.op_counts, info.file_bytes))

        trail.enter("test_data")
        stored = len(file.data_sets)
        kind = f"stored outputs ({stored} test data sets)" if stored else "ONNX Runtime CPU on the file (no test data)"
        trail.add(FileFacts(str(file.model), kind))
        draws = range(stored) if stored else range(self.input_draw, self.input_draw + HOME_DRAWS)
        probes = tuple(Probe({}, draw) for draw in draws)
        try:  # every data set read and checked now: a malformed one is this row's verdict
            feeds = [probe.inputs(spec) for probe in probes]
            for draw in draws if stored else ():
                _check_outputs(stored_data(file, spec.input_names(), draw, self.limits), artifact, file.data_sets[draw])
        except SourceRejected as exc:
            raise StageFailure(Status.MODEL_ERROR, str(exc)) from None
        # ONNX Runtime's first session on the file is made in the worker; where nothing is stored, its
        # outputs are the references.
        trail.enter("first_session" if stored else "reference")
        ran = self.call(
            "onnx", "reference", onnx_files.ort_cpu_outputs, str(artifact.path), feeds[:1] if stored else feeds
        )
        kept = {} if stored else {probe.label: outputs for probe, outputs in zip(probes, ran, strict=True)}

        def reference_at(probe: Probe) -> Reference:
            if stored:  # draw N is test_data_set_(N mod count), as the inputs are
                index = probe.draw % stored
                outputs = list(stored_data(file, spec.input_names(), index, self.limits).outputs)
                source = f"the stored outputs of {file.data_sets[index].name}"
            else:
                if probe.label not in kept:  # another draw (a variant's evaluation inputs)
                    kept[probe.label] = self.call(
                        "onnx", "reference", onnx_files.ort_cpu_outputs, str(artifact.path), [probe.inputs(spec)]
                    )[0]
                outputs, source = kept[probe.label], "ONNX Runtime CPU on the file (no stored outputs)"
            bounds, _ = bounds_for(outputs, None, spec.tolerance)
            return Reference(outputs, bounds, "static (an ONNX file has no float64 run)", against=source)

        return Prepared(spec, artifact, info, self.export_key(spec, case), probes, reference_at)

    def _references_of(self, spec: ModelSpec) -> Callable[[Probe], Reference]:
        """judged_reference for one case, kept per probe: every hop of a path asks for the same ones."""
        kept: dict[str, Reference] = {}

        def reference_at(probe: Probe) -> Reference:
            if probe.label not in kept:
                kept[probe.label] = self.judged_reference(spec, probe)
            return kept[probe.label]

        return reference_at


def _check_outputs(data: StoredData, artifact: Artifact, folder: Path) -> None:
    """A data set must hold one output per graph output: the variant paths compare every one."""
    if len(data.outputs) != len(artifact.output_names):
        raise SourceRejected(
            f"{folder.name} holds {len(data.outputs)} outputs but the graph has {len(artifact.output_names)} "
            f"({', '.join(artifact.output_names)})"
        )


def _judged_tolerance(reference: Reference) -> JudgedTolerance:
    """The rule the case is judged by, with the first output's bound at the home probe."""
    bound = reference.bounds[0] if reference.bounds else None
    return JudgedTolerance(
        tolerance_rule=reference.rule,
        tolerance_atol=None if bound is None else float(f"{bound.atol:.4g}"),
        tolerance_rtol=None if bound is None else bound.rtol,
        fp32_floor=None if bound is None or bound.floor is None else float(f"{bound.floor:.4g}"),
    )


def record_of(case: Case, outcome: Outcome, seconds: float) -> Record:
    """The case's row: its identity, how it ended, and every figure it measured."""
    identity = {
        "case_id": case.case_id,
        "model": case.model,
        "exporter": case.exporter,
        "opset": case.opset,
        "shape": case.shape,
        "path": case.path,
        "variant": case.variant,
        "provider_label": case.provider.label,
    }
    return Record.of(
        identity,
        outcome.status,
        outcome.stage,
        outcome.message,
        detail=outcome.detail,
        duration_seconds=round(seconds, 3),
        **outcome.columns(),
    )


@functools.cache
def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def code_digest(spec: ModelSpec) -> str:
    """Digest of the file that defines the model's builder: a changed forward() with the same weights
    must not reuse a cached export or eager reference."""
    try:
        source = inspect.getsourcefile(spec.builder)
    except TypeError:  # a builder without a source file (a C function, a REPL lambda)
        return "no-source"
    return _file_digest(source) if source and Path(source).is_file() else "no-source"


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


def apply_expectation(record: Record) -> Record:
    """Turn an expected failure into xfail (keeping its message) and an unexpected pass into xpass."""
    expected = expectation_for(record.case_id)
    if expected is None:
        return record
    noted = f"{expected.status}: {expected.reason}" + (f" ({expected.link})" if expected.link else "")
    if record.status == Status.PASS:
        message = f"expected {expected.status} but passed; remove the stale expectation: {expected.reason}"
        return replace(record, expectation=noted, status=Status.XPASS, message=message)
    if record.status.value == expected.status:
        return replace(record, expectation=noted, status=Status.XFAIL)
    return replace(record, expectation=noted)
