"""Runs one case through its stages and returns its Record; never raises for case failures.

Torch work (build, reference, export) goes to the torch worker process; the
pytest process only reads files, runs ONNX Runtime and compares arrays.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from suite.artifact import Artifact, InvalidModelError, inspect_artifact
from suite.backends.ort import run_session, session_from_artifact
from suite.cache import Cache, CachedOutcome, content_key
from suite.cases import Case
from suite.compare import Comparison, compare_outputs
from suite.exporters import ExportRequest
from suite.inputs import dims_label, export_dims, make_inputs
from suite.isolate import RemoteError, Worker, WorkerCrashed, WorkerError, WorkerTimeout
from suite.messages import clip, exporter_summary, first_line
from suite.record import Record, Status
from zoo import registry
from zoo.expectations import expectation_for
from zoo.spec import ModelSpec

_UNSUPPORTED_TYPES = {"ExportUnsupported", "UnsupportedOperatorError"}
_UNSUPPORTED_PHRASES = ("unsupported onnx_opset_version", "is not supported", "not implemented for opset")


class StageFailure(Exception):
    """A stage ended the case; carries the status and message for the row."""

    def __init__(self, status: Status, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


def _library_version(name: str) -> str:
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
    if exc.short_type == "ModelError":
        return StageFailure(Status.MODEL_ERROR, first_line(exc.message), detail)
    message = f"{exc.short_type}: {exporter_summary(exc.message)}"
    if stage == "export" and (
        exc.short_type in _UNSUPPORTED_TYPES or any(p in exc.message.lower() for p in _UNSUPPORTED_PHRASES)
    ):
        return StageFailure(Status.UNSUPPORTED, message, detail)
    status = Status.EXPORT_ERROR if stage == "export" else Status.RUNTIME_ERROR
    return StageFailure(status, message, detail)


@dataclass
class RunCounters:
    """What this process did, for the run summary and the warm-cache check."""

    exports_run: int = 0
    exports_cached: int = 0
    references_run: int = 0
    references_cached: int = 0
    digests: dict[str, str] = field(default_factory=dict)


class CaseRunner:
    """Holds the worker and the cache; turns Cases into Records.

    Args:
        worker: The torch worker process.
        cache: Where exports and references are kept across runs.
        timeout: Seconds one worker call may take before it is a timeout row.
        use_cache: When False, ignore (but refresh) cached results.
    """

    def __init__(self, worker: Worker, cache: Cache, timeout: float = 600.0, use_cache: bool = True) -> None:
        self.worker = worker
        self.cache = cache
        self.timeout = timeout
        self.use_cache = use_cache
        self.counters = RunCounters()
        self._versions = {lib: _library_version(lib) for lib in ("torch", "torchvision", "transformers", "onnxscript")}

    # -- torch-side steps, each through the cache -------------------------------------------

    def _call(self, stage: str, ref: str, *args: object) -> object:
        try:
            return self.worker.call(ref, *args, timeout=self.timeout)
        except WorkerError as exc:
            raise classify_worker_error(exc, stage) from None

    def digest(self, model: str) -> str:
        if model not in self.counters.digests:
            self.counters.digests[model] = str(self._call("build", "suite.torch_stage:weights_digest", model))
        return self.counters.digests[model]

    def reference(self, spec: ModelSpec, dims: Mapping[str, int]) -> list[np.ndarray]:
        """Eager outputs at `dims`, from the cache or the worker."""
        key = content_key(
            kind="reference", model=spec.name, digest=self.digest(spec.name), dims=dims_label(dims), **self._versions
        )
        cached = self.cache.load_reference(key) if self.use_cache else None
        if cached is None:
            try:
                outputs = self._call("reference", "suite.torch_stage:eager_outputs", spec.name, make_inputs(spec, dims))
                outcome = CachedOutcome("ok")
            except StageFailure as failure:
                if failure.status not in (Status.MODEL_ERROR,):
                    raise
                outputs, outcome = [], CachedOutcome(failure.status.value, failure.message, failure.detail)
            self.cache.store_reference(key, outcome, outputs)  # type: ignore[arg-type]
            self.counters.references_run += 1
        else:
            self.counters.references_cached += 1
            outcome, outputs = cached
        if outcome.status != "ok":
            raise StageFailure(Status(outcome.status), outcome.message, outcome.detail)
        return list(outputs)  # type: ignore[arg-type]

    def export(self, spec: ModelSpec, case: Case, output_count: int) -> tuple[CachedOutcome, bool, Artifact | None]:
        """The case's export outcome, from the cache or by running the exporter in the worker.

        Returns the outcome (status "ok" or a failure), whether it came from the cache,
        and, when it is ok, the artifact.
        """
        key = content_key(
            kind="export",
            model=spec.name,
            digest=self.digest(spec.name),
            exporter=case.exporter,
            opset=case.opset,
            shape=case.shape,
            export_dims=dims_label(export_dims(spec, case.dynamic)),
            **self._versions,
        )
        outcome = self.cache.load_export(key) if self.use_cache else None
        was_cached = outcome is not None
        if outcome is None:
            outcome = self._run_export(spec, case, key, output_count)
            self.counters.exports_run += 1
        else:
            self.counters.exports_cached += 1
        if outcome.status != "ok":
            return outcome, was_cached, None
        artifact = Artifact(
            path=self.cache.export_path(key),
            model=spec.name,
            exporter=case.exporter,
            opset=case.opset,
            dynamic=case.dynamic,
            output_names=outcome.output_names,
            export_seconds=outcome.seconds,
            cached=was_cached,
        )
        return outcome, was_cached, artifact

    def _run_export(self, spec: ModelSpec, case: Case, key: str, output_count: int) -> CachedOutcome:
        scratch = self.cache.scratch_path(key)
        request = ExportRequest(spec.name, case.exporter, case.opset, case.dynamic, str(scratch))
        try:
            example = make_inputs(spec, export_dims(spec, case.dynamic))
            result = self._call("export", "suite.torch_stage:export", request, example, output_count)
        except StageFailure as failure:
            scratch.unlink(missing_ok=True)
            outcome = CachedOutcome(failure.status.value, failure.message, failure.detail)
            # A crash or timeout may be the machine's fault: retry it next run.
            if failure.status not in (Status.CRASH, Status.TIMEOUT):
                self.cache.store_export(key, outcome)
            return outcome
        outcome = CachedOutcome(
            "ok",
            seconds=result.seconds,  # type: ignore[attr-defined]
            output_names=result.output_names,  # type: ignore[attr-defined]
        )
        self.cache.store_export(key, outcome, scratch)
        return outcome

    # -- the case --------------------------------------------------------------------------

    def run_ort_case(self, case: Case) -> Record:
        """Export (or reuse), check, run on the ORT CPU provider and compare with eager."""
        start = time.perf_counter()
        record = Record(case.case_id, case.model, case.exporter, case.opset, case.shape, case.path)
        try:
            spec = registry.get(case.model)
            record.family, record.task = spec.family, spec.task.value
            record.weights_digest = self.digest(case.model)
            self._ort_stages(spec, case, record)
            record.stage = "done"
        except StageFailure as failure:
            record.fail(failure.status, failure.message, failure.detail)
        except Exception as exc:  # noqa: BLE001 - a harness bug must still leave a row
            record.fail(Status.CRASH, f"harness error {type(exc).__name__}: {first_line(exc)}", clip(repr(exc)))
        record.duration_seconds = round(time.perf_counter() - start, 3)
        return apply_expectation(record)

    def _ort_stages(self, spec: ModelSpec, case: Case, record: Record) -> None:
        # The export's own example size is "home": a failure there is the exporter's or the
        # runtime's; a failure only at the other sizes means the axes are not really dynamic.
        home = export_dims(spec, case.dynamic)
        record.stage = "reference"
        reference = self.reference(spec, home)

        record.stage = "export"
        outcome, record.export_cached, artifact = self.export(spec, case, len(reference))
        record.export_seconds = round(outcome.seconds, 3) if outcome.seconds else None
        if artifact is None:
            raise StageFailure(Status(outcome.status), outcome.message, outcome.detail)

        record.stage = "check"
        try:
            info = inspect_artifact(artifact.path)
        except InvalidModelError as exc:
            raise StageFailure(Status.EXPORT_ERROR, str(exc)) from None
        record.ir_version, record.opset_written = info.ir_version, info.opset
        record.node_count, record.op_counts, record.file_bytes = info.node_count, info.op_counts, info.file_bytes

        if case.dynamic:
            record.stage = "dynamic_axes"
            baked = _baked_axes(spec, info.input_dims)
            if baked:
                raise StageFailure(
                    Status.EXPORT_ERROR, f"the exporter wrote dynamic axes as fixed sizes: {baked} (asked dynamic)"
                )

        record.stage = "ort"
        try:
            t0 = time.perf_counter()
            session = session_from_artifact(artifact.path, "cpu")
            record.ort_session_seconds = round(time.perf_counter() - t0, 4)
        except Exception as exc:  # noqa: BLE001 - ORT raises several types; all are this case's row
            raise StageFailure(Status.RUNTIME_ERROR, f"ORT session creation failed: {first_line(exc)}") from None
        expected_names = artifact.output_names
        comparison = self._run_and_compare(session, spec, home, reference, expected_names, record)
        _fill_figures(record, comparison)
        sizes = [dims_label(home)]
        if not comparison.ok:
            record.sizes_checked = sizes[0]
            raise StageFailure(Status.MISMATCH, comparison.message)

        if case.dynamic:
            record.stage = "dynamic_sizes"
            for dims in (d for d in (spec.dims, *spec.other_dims) if d != home):
                other_reference = self.reference(spec, dims)
                label = dims_label(dims)
                try:
                    other = self._run_and_compare(session, spec, dims, other_reference, expected_names, record)
                except StageFailure as failure:
                    record.sizes_checked = ";".join(sizes)
                    raise StageFailure(
                        Status.MISMATCH,
                        f"dynamic axes not dynamic: {failure.message}; "
                        "the exported graph likely baked a size in as a constant",
                    ) from None
                sizes.append(label)
                if not other.ok:
                    record.sizes_checked = ";".join(sizes)
                    raise StageFailure(
                        Status.MISMATCH,
                        f"dynamic axes not dynamic: matches eager at {sizes[0]} but not at {label} "
                        f"({other.message}); a size was likely baked in as a constant",
                    )
                _merge_figures(record, other)
        record.sizes_checked = ";".join(sizes)

    def _run_and_compare(
        self,
        session: object,
        spec: ModelSpec,
        dims: Mapping[str, int],
        reference: list[np.ndarray],
        expected_names: tuple[str, ...],
        record: Record,
    ) -> Comparison:
        try:
            t0 = time.perf_counter()
            names, outputs = run_session(session, make_inputs(spec, dims))
            record.ort_run_seconds = round(time.perf_counter() - t0, 4)
        except Exception as exc:  # noqa: BLE001 - any ORT failure is this case's row
            raise StageFailure(
                Status.RUNTIME_ERROR, f"ORT run failed at {dims_label(dims)}: {first_line(exc)}"
            ) from None
        return compare_outputs(
            reference,
            outputs,
            expected_names=expected_names,
            candidate_names=names,
            tolerance=spec.tolerance,
            task=spec.task,
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


def _fill_figures(record: Record, comparison: Comparison) -> None:
    record.outputs_checked = len(comparison.outputs)
    if comparison.outputs:
        record.max_abs_err = comparison.worst("max_abs_err")
        record.max_rel_err = comparison.worst("max_rel_err")
        record.mismatch_frac = comparison.worst("mismatch_frac")
    record.top1_agreement = comparison.top1_agreement


def _merge_figures(record: Record, comparison: Comparison) -> None:
    """Keep the worst figure over all sizes checked."""
    for name in ("max_abs_err", "max_rel_err", "mismatch_frac"):
        current = getattr(record, name)
        value = comparison.worst(name)
        setattr(record, name, value if current is None else max(current, value))
    if comparison.top1_agreement is not None and record.top1_agreement is not None:
        record.top1_agreement = min(record.top1_agreement, comparison.top1_agreement)


def apply_expectation(record: Record) -> Record:
    """Turn an expected failure into xfail (keeping its message) and an unexpected pass into xpass."""
    expected = expectation_for(record.case_id)
    if expected is None:
        return record
    record.expectation = f"{expected.status}: {expected.reason}" + (f" ({expected.link})" if expected.link else "")
    if record.status == Status.PASS:
        record.status = Status.XPASS
        record.message = f"expected {expected.status} but passed; remove the stale expectation: {expected.reason}"
    elif record.status.value == expected.status:
        record.status = Status.XFAIL
    return record
