"""tf: the export through TensorFlow and back, every hop against eager.

onnx-tf runs it in TensorFlow (on every probe), exports a SavedModel, tf2onnx converts that
back to ONNX at the case's opset and ONNX Runtime runs the round trip. TensorFlow and its
converters run in the TF worker, never in this process.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from suite.core.messages import clip
from suite.core.outcome import Outcome, Trail
from suite.core.record import Status
from suite.judge.hops import HopResult, judge_sizes, ort_hop
from suite.judge.inputs import Probe
from suite.paths.declaration import PathSpec
from suite.paths.steps import converters_judged, hop_from_outcome, not_run
from suite.run.cache import CachedOutcome, content_key
from suite.run.cases import Case, Draw, build_matrix
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.workers.errors import RemoteError
from suite.workers.onnx_tf import onnx_tf_export_saved_model, onnx_tf_run_sizes  # noqa: TID251 - named for runner.call
from suite.workers.onnx_tf_errors import onnx_tf_failure_summary, parse_onnx_tf_failure
from suite.workers.tf2onnx_convert import tf2onnx_from_saved_model  # noqa: TID251 - named for runner.call


def draw_cases(draw: Draw) -> list[Case]:
    """One shape mode per model (dynamic where it has dynamic dims): the round trip converts the export further."""
    return build_matrix(draw, "tf", "tf_roundtrip", one_shape=True)


def run_tf_roundtrip(runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared) -> Outcome:
    """onnx-tf -> SavedModel -> tf2onnx -> ONNX Runtime, each hop judged against eager."""
    trail.enter("onnx_tf")
    onnx_tf = _onnx_tf_hop(runner, prepared)
    if not onnx_tf.ok:
        return _judged(
            trail,
            [
                ("onnx_tf", onnx_tf),
                ("saved_model", not_run("onnx-tf failed")),
                ("tf2onnx", not_run("onnx-tf failed")),
            ],
            prepared,
        )

    trail.enter("saved_model")
    tf_versions = runner.versions("tf")
    saved_key = content_key(kind="saved_model", export=prepared.export_key, **tf_versions)
    source = str(prepared.artifact.path)
    outcome, saved_dir = runner.cached_step(
        "saved_models",
        saved_key,
        "",
        lambda scratch: runner.call("tf", "saved_model", onnx_tf_export_saved_model, source, str(scratch)),
    )
    saved = hop_from_outcome(outcome)
    if saved_dir is None:
        return _judged(
            trail, [("onnx_tf", onnx_tf), ("saved_model", saved), ("tf2onnx", not_run("no SavedModel"))], prepared
        )

    trail.enter("tf2onnx")
    # "in_worker": converted through tf2onnx's Python calls in the TF worker (once a subprocess).
    tf2onnx_key = content_key(kind="tf2onnx", saved=saved_key, opset=case.opset, run="in_worker", **tf_versions)
    outcome, converted = runner.cached_step(
        "tf2onnx",
        tf2onnx_key,
        ".onnx",
        lambda scratch: runner.call(
            "tf", "tf2onnx", tf2onnx_from_saved_model, str(saved_dir), str(scratch), case.opset
        ),
    )
    if converted is None:
        tf2onnx = hop_from_outcome(outcome)
    else:
        input_names = outcome.extra.get("input_names") or {}
        tf2onnx = ort_hop(converted, prepared.spec, prepared.probes, prepared.reference_at, None, input_names)
        tf2onnx = replace(tf2onnx, seconds=outcome.seconds, extra={"opset": outcome.extra.get("opset")})
    hops = [("onnx_tf", onnx_tf), ("saved_model", saved), ("tf2onnx", tf2onnx)]
    return _judged(trail, hops, prepared, ("saved_model", saved_dir), ("converted.onnx", converted))


# The converter whose work each hop judges, for a triage's blame.
_HOP_TOOLS = {"onnx_tf": "onnx-tf", "saved_model": "onnx-tf", "tf2onnx": "tf2onnx"}


def _judged(
    trail: Trail, hops: Sequence[tuple[str, HopResult]], prepared: Prepared, *files: tuple[str, Path | None]
) -> Outcome:
    return converters_judged(trail, hops, _HOP_TOOLS, prepared.artifact.path, *files)


def _onnx_tf_hop(runner: CaseRunner, prepared: Prepared) -> HopResult:
    """onnx-tf prepares the export once and runs it on every probe (through the cache)."""
    spec, probes = prepared.spec, prepared.probes
    key = content_key(
        kind="onnx_tf", export=prepared.export_key, sizes=[p.label for p in probes], **runner.versions("tf")
    )
    cached = runner.cache.load_arrays("onnx_tf", key) if runner.use_cache else None
    if cached is None:
        outcome, flat = _run_onnx_tf(runner, prepared, key)
    else:
        outcome, flat = cached
        if outcome.cause:  # classify a cached refusal under this run's rules
            cause = outcome.cause
            outcome = _onnx_tf_failure(RemoteError(cause["type_name"], cause["message"], cause["traceback"]))
    hop = HopResult(seconds=outcome.seconds or None)
    if outcome.status != "ok":
        return replace(hop, extra=dict(outcome.extra)).failed(Status(outcome.status), outcome.message)
    per_size = _unflatten(flat, outcome.extra["counts"])
    errors: Mapping[str, str] = outcome.extra.get("errors", {})

    def run_at(probe: Probe) -> tuple[Sequence[str], Sequence[np.ndarray]]:
        if probe.label in errors:
            raise RuntimeError(errors[probe.label])
        return outcome.output_names, per_size[probes.index(probe)]

    return judge_sizes(spec, probes, run_at, prepared.reference_at, None, "onnx-tf", hop)


def _run_onnx_tf(runner: CaseRunner, prepared: Prepared, key: str) -> tuple[CachedOutcome, list[np.ndarray]]:
    inputs = [p.inputs(prepared.spec) for p in prepared.probes]
    start = time.perf_counter()
    try:
        results = runner.call_keeping_remote_errors(
            "tf", "onnx_tf", onnx_tf_run_sizes, str(prepared.artifact.path), inputs
        )
    except RemoteError as exc:  # onnx-tf refused or failed: kept, and classified again next run
        outcome = _onnx_tf_failure(exc)
        runner.cache.store_arrays("onnx_tf", key, outcome, [])
        return outcome, []
    except StageFailure as failure:  # a crash, timeout or harness bug: a row now, retried next run
        return failure.outcome(), []
    seconds = time.perf_counter() - start
    counts, errors, flat, names = [], {}, [], ()
    for probe, result in zip(prepared.probes, results, strict=True):
        if result[0] == "ok":
            names = tuple(result[1])
            counts.append(len(result[2]))
            flat.extend(result[2])
        else:
            counts.append(0)
            errors[probe.label] = f"{result[1]}: {result[2]}"
    outcome = CachedOutcome("ok", seconds=seconds, output_names=names, extra={"counts": counts, "errors": errors})
    runner.cache.store_arrays("onnx_tf", key, outcome, flat)
    return outcome, flat


def _onnx_tf_failure(exc: RemoteError) -> CachedOutcome:
    """onnx-tf's refusal of an op is `unsupported`, naming the op and version; the rest are errors."""
    parsed = parse_onnx_tf_failure(exc.message)
    # onnx-tf errors come wrapped in autograph's "in user code:" frames; the cause is the last line.
    summary = onnx_tf_failure_summary(exc.message)
    message = summary if summary.startswith(exc.short_type) else f"{exc.short_type}: {summary}"
    detail = clip(exc.remote_traceback)
    cause = {"stage": "onnx_tf", "type_name": exc.type_name, "message": exc.message, "traceback": detail}
    if parsed is not None:
        op, version = parsed
        extra = {"failed_op": op, "failed_op_version": version}
        return CachedOutcome(Status.UNSUPPORTED.value, message, detail, extra=extra, cause=cause)
    return CachedOutcome(Status.RUNTIME_ERROR.value, message, detail, cause=cause)


def _unflatten(flat: Sequence[np.ndarray], counts: Sequence[int]) -> list[list[np.ndarray]]:
    out, start = [], 0
    for count in counts:
        out.append(list(flat[start : start + count]))
        start += count
    return out


PATH = PathSpec(
    "tf",
    "TensorFlow round trip: onnx-tf -> SavedModel -> tf2onnx -> ONNX Runtime, each hop vs eager",
    draw_cases,
    run_tf_roundtrip,
)
