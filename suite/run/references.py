"""The outputs a case is judged against, with their bounds.

For a zoo model: the eager model's outputs on each probe, through the cache, bounded by its
float64 run where it has one (NaN/Inf there fail the row: a broken model). For an ONNX file
from outside: its stored outputs, or, where it stores none, ONNX Runtime CPU's on the file in
the onnx worker, bounded by the static tolerance at each output's own precision, NaN/Inf in
them matched in place (suite/judge/floor.py: file_bounds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from suite.core.messages import clip
from suite.core.record import Status
from suite.judge.floor import FLOAT64_RUN_VERSION, ReferenceKind, bounds_for, file_bounds, quantized_bounds
from suite.judge.hops import Reference
from suite.judge.inputs import Probe
from suite.onnx_files.checks import Artifact
from suite.onnx_files.sources import stored_data
from suite.run.cache import CachedOutcome, content_key
from suite.run.key_parts import code_digest
from suite.run.pipeline import CaseRunner, ModelFunctionPick, StageFailure, reclassified
from suite.workers import onnx_files, torch_models  # noqa: TID251 - named for CaseRunner.call
from zoo.spec import FileSource, ModelSpec


def reference(runner: CaseRunner, spec: ModelSpec, probe: Probe) -> list[np.ndarray]:
    """Eager outputs on the probe's inputs, from the cache or the model's worker."""
    outputs, failure = _eager_outputs(runner, spec, probe, lambda f: f.eager_outputs, "reference")
    if failure is not None:
        raise StageFailure(Status(failure.status), failure.message, failure.detail)
    return outputs


def judged_reference(runner: CaseRunner, spec: ModelSpec, probe: Probe) -> Reference:
    """The eager outputs with their bounds, calibrated from a float64 run where the model has one."""
    ref32 = reference(runner, spec, probe)
    ref64, failure = _eager_outputs(runner, spec, probe, lambda f: f.eager_outputs_float64, "reference64")
    if failure is not None:  # (float64_outputs without the reason)
        why = f"no float64 run: {clip(failure.message, 160)}"
        quantized = quantized_bounds(_quantized_floors(runner, spec, probe), spec.tolerance, why)
        if quantized is not None:  # a quantized model: its own rounding's floor, not float32's tolerance
            return Reference(ref32, *quantized)
        bounds, _ = bounds_for(ref32, None, spec.tolerance)
        return Reference(ref32, bounds, f"static ({why})")
    bounds, rule = bounds_for(ref32, ref64, spec.tolerance)
    return Reference(ref32, bounds, rule)


def float64_outputs(runner: CaseRunner, spec: ModelSpec, probe: Probe) -> list[np.ndarray] | None:
    """The model's float64 outputs on the probe (the cached side of its floor), or None without a float64 run."""
    outputs, failure = _eager_outputs(runner, spec, probe, lambda f: f.eager_outputs_float64, "reference64")
    return None if failure is not None else outputs


def eager_key(runner: CaseRunner, spec: ModelSpec, probe: Probe, kind: str, **extra: object) -> str:
    """The cache key of something the eager model computes on a probe: its weights, its code, the
    sizes and draw, the framework's versions, and `extra` (a version of the step's own rules)."""
    return content_key(
        kind=kind,
        model=spec.name,
        digest=runner.digest(spec),
        code=code_digest(spec),
        dims=probe.label,
        **extra,
        **runner.versions(spec.framework),
    )


def _quantized_floors(runner: CaseRunner, spec: ModelSpec, probe: Probe) -> list[float] | None:
    """A quantized torch model's floor per output (suite.workers.torch_models.quantized_floor), None
    for any other model; through the cache."""
    if spec.framework != "torch":
        return None
    key = eager_key(runner, spec, probe, "quantized_floor")
    cached = runner.cache.load_arrays("quantized_floors", key) if runner.use_cache else None
    if cached is None:
        floors = runner.call("torch", "reference", torch_models.quantized_floor, spec.name, probe.inputs(spec))
        arrays = [] if floors is None else [np.array(floors, np.float64)]
        runner.cache.store_arrays("quantized_floors", key, CachedOutcome("ok"), arrays)
    else:
        arrays = cached[1]
    return [float(f) for f in arrays[0]] if arrays else None


def _eager_outputs(
    runner: CaseRunner, spec: ModelSpec, probe: Probe, function: ModelFunctionPick, kind: str
) -> tuple[list[np.ndarray], CachedOutcome | None]:
    """A worker's outputs on the probe's inputs through the cache; (outputs, None) or ([], failure).

    A model error is kept in the cache; a crash or timeout is retried next run; any other
    worker failure propagates.
    """
    rules = {"float64_run": FLOAT64_RUN_VERSION} if kind == "reference64" else {}
    key = eager_key(runner, spec, probe, kind, **rules)
    cached = runner.cache.load_arrays(f"{kind}s", key) if runner.use_cache else None
    if cached is None:
        try:
            outputs = runner.model_call(spec, kind, function, spec.name, probe.inputs(spec))
            outcome = CachedOutcome("ok")
        except StageFailure as failure:
            if failure.status != Status.MODEL_ERROR:
                raise
            outputs, outcome = [], failure.outcome()
        runner.cache.store_arrays(f"{kind}s", key, outcome, outputs)
    else:
        outcome, outputs = cached
        outcome = reclassified(outcome)
    return (list(outputs), None) if outcome.status == "ok" else ([], outcome)


def eager_references(runner: CaseRunner, spec: ModelSpec) -> Callable[[Probe], Reference]:
    """judged_reference for one case, kept per probe: every hop of a path asks for the same ones."""
    kept: dict[str, Reference] = {}

    def reference_at(probe: Probe) -> Reference:
        if probe.label not in kept:
            kept[probe.label] = judged_reference(runner, spec, probe)
        return kept[probe.label]

    return reference_at


def file_references(
    runner: CaseRunner,
    spec: ModelSpec,
    file: FileSource,
    artifact: Artifact,
    ran: Mapping[str, list[np.ndarray]],
) -> Callable[[Probe], Reference]:
    """The references of an ONNX file from outside, per probe: draw N's are the stored outputs of
    test_data_set_(N mod count), as its inputs are; without stored outputs, ONNX Runtime CPU's on
    the file, from `ran` (by probe label) or run in the onnx worker for another draw."""
    stored = len(file.data_sets)
    kept = dict(ran)

    def reference_at(probe: Probe) -> Reference:
        if stored:
            index = probe.draw % stored
            outputs = list(stored_data(file, spec.input_names(), index, runner.limits).outputs)
            source = f"the stored outputs of {file.data_sets[index].name}"
        else:
            if probe.label not in kept:  # another draw (a variant's evaluation inputs)
                kept[probe.label] = runner.call(
                    "onnx", "reference", onnx_files.ort_cpu_outputs, str(artifact.path), [probe.inputs(spec)]
                )[0]
            outputs, source = kept[probe.label], "ONNX Runtime CPU on the file (no stored outputs)"
        # NaN/Inf in either kind of expected output is the file's answer, not a broken model.
        kind = ReferenceKind.STORED if stored else ReferenceKind.ORT_CPU
        bounds, rule = file_bounds(outputs, spec.tolerance, kind)
        return Reference(outputs, bounds, rule, against=source, kind=kind)

    return reference_at
