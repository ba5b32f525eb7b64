"""The case runner: worker calls with their timeouts, the cache's steps, and the failure that ends a case.

Framework work goes to worker processes: torch models to the torch worker,
Keras models and every TensorFlow converter to the TF worker (which never
imports torch). The pytest process reads files, runs ONNX Runtime, compares
arrays and keeps the cache. A worker's failure becomes a StageFailure with the
status its row carries; the export stages (suite.run.export_stages) hand every
path a Prepared export, and suite.run.records runs a case to its row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from suite.core.budget import Budget, out_of_memory, over_budget_message, refusal_line
from suite.core.messages import clip, exporter_summary, first_line, raised_at
from suite.core.record import Status
from suite.judge.hops import Reference
from suite.judge.inputs import Probe, dims_label, make_inputs
from suite.onnx_files.checks import Artifact, ArtifactInfo
from suite.onnx_files.safe_read import Limits
from suite.run.cache import Cache, CachedOutcome, remove_payload
from suite.run.key_parts import FRAMEWORK_LIBRARIES, library_version
from suite.runtime.ort_errors import ort_failure
from suite.runtime.sessions import Threads
from suite.runtime.timing import TimingPlan
from suite.workers import keras_models, torch_models  # noqa: TID251 - the model functions, for CaseRunner.model_call
from suite.workers.isolate import RemoteError, Worker, WorkerCrashed, WorkerError, WorkerFunction, WorkerTimeout
from zoo.registry import ModelRegistry
from zoo.spec import ModelSpec

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
    "op is not yet implemented",  # onnx2tf has no converter module for an ONNX op
)
# Stages whose tool's refusal ("cannot do X") is an `unsupported` row, and the status of
# their other failures.
_CONVERTING_STAGES = {
    "export": Status.EXPORT_ERROR,
    # The version converter rewrites an exported file: nothing is exported at that hop.
    "convert": Status.TRANSFORM_ERROR,
    "tf2onnx": Status.EXPORT_ERROR,
    "onnx2tf": Status.EXPORT_ERROR,
    "transform": Status.TRANSFORM_ERROR,
}


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
# Which of a framework's worker functions a model call runs (`lambda f: f.export`).
ModelFunctionPick = Callable[[ModelFunctions], WorkerFunction]


class StageFailure(Exception):
    """A stage ended the case; carries the status and message for the row.

    `cause` keeps a worker exception's raw facts (see CachedOutcome.cause).
    """

    def __init__(
        self,
        status: Status,
        message: str,
        detail: str = "",
        cause: dict[str, str] | None = None,
        over_budget: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.cause = cause
        self.over_budget = over_budget  # a worker's memory budget refused it: another budget may not

    @property
    def kept(self) -> bool:
        """Whether the cache keeps this failure: not a crash or timeout (the machine's fault, maybe) nor
        an allocation over this run's memory budget: each is tried again next run."""
        return self.status not in (Status.CRASH, Status.TIMEOUT) and not self.over_budget

    def outcome(self) -> CachedOutcome:
        """This failure as a cache entry."""
        return CachedOutcome(self.status.value, self.message, self.detail, cause=self.cause)


def classify_worker_error(exc: WorkerError, stage: str, budget: Budget | None = None) -> StageFailure:
    """Map a failed worker call to the status its row should carry (an allocation the worker's
    `budget` refused is a skip that says how much it needed, never cached)."""
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
    causes = [(exc.type_name, exc.message), *([exc.root_cause] if exc.root_cause else [])]
    refused = next((message for type_name, message in causes if out_of_memory(type_name, message)), None)
    if budget is not None and refused is not None:
        line = over_budget_message(budget, stage, refusal_line(refused))
        return StageFailure(Status.SKIP, line, detail, over_budget=True)
    if exc.short_type == "ModelError":
        return StageFailure(Status.MODEL_ERROR, first_line(exc.message), detail, cause)
    if exc.short_type == "EntryExcluded":  # a zoo entry left out on purpose (zoo.spec.EntryExcluded)
        return StageFailure(Status.SKIP, first_line(exc.message))
    message = f"{exc.short_type}: {exporter_summary(exc.message) or raised_at(exc.remote_traceback)}"
    if stage in _CONVERTING_STAGES and _refusal(exc.short_type, exc.message):
        return StageFailure(Status.UNSUPPORTED, message, detail, cause)
    root = exc.root_cause
    if stage in _CONVERTING_STAGES and root is not None and (root[0] == "NotImplementedError" or _refusal(*root)):
        # The tool wrapped its refusal in an error of its own: the row names the refusal.
        caused = f"{message} (caused by {root[0]}: {first_line(root[1])})"
        return StageFailure(Status.UNSUPPORTED, caused, detail, cause)
    if stage not in _CONVERTING_STAGES:
        refusal = ort_failure(exc.message)  # ONNX Runtime in a worker (a file's reference, a probe)
        if refusal.status is Status.UNSUPPORTED:
            return StageFailure(Status.UNSUPPORTED, refusal.line, detail, cause)
    status = _CONVERTING_STAGES.get(stage, Status.RUNTIME_ERROR)
    return StageFailure(status, message, detail, cause)


def _refusal(type_name: str, message: str) -> bool:
    """Whether a tool's exception says it cannot do this (rather than that it failed)."""
    return type_name in _UNSUPPORTED_TYPES or any(p in message.lower() for p in _UNSUPPORTED_PHRASES)


def reusable(outcome: CachedOutcome | None) -> CachedOutcome | None:
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


@dataclass(frozen=True)
class Prepared:
    """What every path starts from: the exported file, its facts and the eager outputs."""

    spec: ModelSpec
    artifact: Artifact
    info: ArtifactInfo
    export_key: str
    # The export's own ("home") size in HOME_DRAWS (suite.run.export_stages) draws first, then the
    # other sizes (dynamic cases).
    probes: tuple[Probe, ...]
    reference_at: Callable[[Probe], Reference]


class CaseRunner:
    """Holds the workers and the cache; the stages and paths of a case call workers through it.

    Args:
        workers: Worker processes by name ("torch", "tf"); started on first use.
        cache: Where exports, references and converter results are kept across runs.
        models: The run's zoo, where cases look up their model's spec.
        timeout: Seconds one worker call may take before it is a timeout row.
        use_cache: When False, redo (and refresh) every cached step.
        input_draw: The first seeded input draw the hops are checked on.
        limits: What one ONNX file from outside may make the suite read or allocate.
        triage_limit: How many red cases this process triages (suite.run.triage); 0: none, None: every one.
        budgets: Each worker's memory budget by worker name (none: no cap), named by the rows it refuses.
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
        triage_limit: int | None = 0,
        budgets: Mapping[str, Budget] | None = None,
    ):
        self.workers = dict(workers)
        self.models = models
        self.cache = cache
        self.timeout = timeout
        self.use_cache = use_cache
        self.input_draw = input_draw  # the first input draw the hops are checked on
        self.limits = limits or Limits()
        self.triage_limit = triage_limit
        self.budgets = dict(budgets or {})  # each worker's (suite.core.budget), for the rows it refuses
        self.triaged = 0  # red cases triaged so far in this process
        self._digests: dict[str, str] = {}  # model name -> weights digest, once per process
        self._sources: dict[str, str] = {}  # model name -> where its weights come from
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
            raise classify_worker_error(exc, stage, self.budgets.get(worker)) from None

    def call_keeping_remote_errors(self, worker: str, stage: str, function: WorkerFunction, *args: object) -> Any:
        """Call `function` in a worker; a crash or timeout is a StageFailure for `stage`, while an exception
        raised by the function comes back as RemoteError, for a caller that reads it itself
        (onnx-tf's refusals name the op); a harness bug is a StageFailure all the same."""
        try:
            return self.workers[worker].call(function, *args, timeout=self.timeout)
        except RemoteError as exc:
            if exc.harness_bug:
                raise classify_worker_error(exc, stage, self.budgets.get(worker)) from None
            raise
        except WorkerError as exc:
            raise classify_worker_error(exc, stage, self.budgets.get(worker)) from None

    def model_call(self, spec: ModelSpec, stage: str, function: ModelFunctionPick, *args: object) -> Any:
        """Call the worker function `function` picks for the model's framework, in that framework's worker."""
        functions = MODEL_FUNCTIONS[spec.framework]
        return self.call(functions.worker, stage, function(functions), *args)

    def digest(self, spec: ModelSpec) -> str:
        if spec.file_source is not None:  # the file's (and its data's) own hash: nothing to build
            return spec.file_source.digest
        if spec.name not in self._digests:
            self._digests[spec.name] = str(self.model_call(spec, "build", lambda f: f.weights_digest, spec.name))
        return self._digests[spec.name]

    def weights_source(self, spec: ModelSpec) -> str:
        """Where a torch model's weights come from (zoo.checkpoints: seeded random, or a local checkpoint),
        asked of the torch worker once per model: finding torchvision's weights file imports torch."""
        if spec.framework != "torch" or spec.file_source is not None:
            return ""
        if spec.name not in self._sources:
            self._sources[spec.name] = str(self.call("torch", "build", torch_models.weights_source, spec.name))
        return self._sources[spec.name]

    def eager_latency(
        self, spec: ModelSpec, dims: Mapping[str, int], threads: Threads, plan: TimingPlan, device: str = "cpu"
    ) -> dict[str, Any]:
        """The eager model's latency at `dims` on `device` (the latency stage's baseline), measured once per run.

        The result names the device it ran on ("device"): a GPU asked for where the framework
        sees none runs on the CPU, and says so.
        """
        key = (spec.name, dims_label(dims), threads, device)
        if key not in self._eager_latency:
            self._eager_latency[key] = self.model_call(
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

    # -- cached steps -------------------------------------------------------------------------

    def cached_step(
        self, kind: str, key: str, suffix: str, run: Callable[[Any], dict[str, Any] | None]
    ) -> tuple[CachedOutcome, Any]:
        """A converter step whose product is a file or folder, through the cache.

        `run(scratch_path)` writes the product and returns extra facts to keep;
        a StageFailure it raises is cached too, unless it is a crash or timeout.
        Returns the outcome and the product's path (None when the step failed).
        """
        outcome = reusable(self.cache.load(kind, key, suffix)) if self.use_cache else None
        if outcome is None:
            scratch = self.cache.scratch_path(kind, key, suffix)
            start = time.perf_counter()
            try:
                extra = run(scratch) or {}
                outcome = CachedOutcome("ok", seconds=time.perf_counter() - start, extra=extra)
                self.cache.store(kind, key, outcome, scratch, suffix)
            except StageFailure as failure:
                outcome = failure.outcome()
                if failure.kept:
                    self.cache.store(kind, key, outcome)
            finally:
                # What a failed step wrote (onnx2tf leaves a half-written SavedModel) is no entry; left
                # behind, every failing conversion kept a folder per process id (60 in one onnx2tf run).
                remove_payload(scratch)  # a no-op where store() moved it into place
        product = self.cache.path(kind, key, suffix) if outcome.status == "ok" else None
        return outcome, product
