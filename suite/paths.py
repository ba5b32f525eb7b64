"""The paths a prepared export can take; each fills the case's Record.

- ort: ONNX Runtime (CPU provider) on the export, against eager.
- tf: onnx-tf runs it in TensorFlow, exports a SavedModel, tf2onnx converts that back
  to ONNX and ONNX Runtime runs the round trip; every hop against eager.
- version: onnx.version_converter to other opsets, each run on ONNX Runtime.

TensorFlow and its converters run in the TF worker, the ONNX version converter in the
onnx worker; never in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from suite.backends.ort import Threads
from suite.cache import CachedOutcome, content_key
from suite.cases import Case, ProviderCase
from suite.hops import HopResult, judge_sizes, ort_hop
from suite.inputs import Probe
from suite.messages import clip
from suite.pipeline import CaseRunner, Prepared, StageFailure
from suite.providers import TF32_OPTION, ProviderRequest
from suite.record import Record, Status
from suite.tf_stage import onnx_tf_failure_summary, parse_onnx_tf_failure
from suite.worker_errors import RemoteError

# Opsets the version path converts every export to (the export's own opset is skipped).
VERSION_TARGETS = (13, 17, 21)
PATH_NAMES = {"ort": "ort_cpu", "tf": "tf_roundtrip", "version": "version"}


def run_ort(runner: CaseRunner, case: Case, record: Record, prepared: Prepared) -> None:
    """ONNX Runtime on the export on every probe; figures go to the row's main columns.

    A ProviderCase runs on its provider, after the onnx worker checked that the provider
    really takes the graph (a fallback is a `fallback` row, as in the latency path).
    """
    request = correctness_request(case.provider) if isinstance(case, ProviderCase) else None
    if request is not None:
        _check_provider(runner, record, prepared, request)
    record.stage = "ort"
    hop = ort_hop(
        prepared.artifact.path,
        prepared.spec,
        prepared.probes,
        prepared.reference_at,
        prepared.artifact.output_names,
        request=request,
    )
    for name in ("max_abs_err", "max_rel_err", "mismatch_frac", "top1_agreement", "sizes_checked"):
        setattr(record, name, getattr(hop, name))
    record.hops["floor_ratio"] = hop.floor_ratio
    record.outputs_checked = len(prepared.artifact.output_names)
    record.ort_session_seconds = hop.extra.get("session_seconds")
    record.ort_run_seconds = hop.extra.get("run_seconds")
    if not hop.ok:
        record.stage = "dynamic_sizes" if hop.at_other_size else "ort"
        raise StageFailure(hop.status, hop.message)


def correctness_request(request: ProviderRequest) -> ProviderRequest:
    """The provider as numerics are checked on it: CUDA with TF32 off unless the options say otherwise
    (TF32 rounding is ~1e-3 on deep nets; the latency path reports it, this path judges FP32)."""
    if request.name != "CUDAExecutionProvider" or TF32_OPTION in request.option_dict():
        return request
    return ProviderRequest(request.name, (*request.options, (TF32_OPTION, "0")))


def _check_provider(runner: CaseRunner, record: Record, prepared: Prepared, request: ProviderRequest) -> None:
    """Where the provider puts the graph, checked in the onnx worker (a crash there costs one row)."""
    record.stage = "provider"
    record.hops["provider_options"] = ",".join(f"{k}={v}" for k, v in request.options)
    check = runner.call(
        "onnx",
        "provider",
        "suite.backends.placement:probe_provider",
        str(prepared.artifact.path),
        request,
        Threads(),
        prepared.info.node_count,
        prepared.probes[0].inputs(prepared.spec),
    )
    record.hops.update(check.columns())
    if check.fallback:
        raise StageFailure(Status.FALLBACK, check.fallback)


def _first_failure(record: Record, hops: Sequence[tuple[str, HopResult]]) -> None:
    """The row's status and stage are those of the first hop that did not pass."""
    for name, hop in hops:
        record.hops.update(hop.columns(name))
    for name, hop in hops:
        if not hop.ok:
            record.stage = name
            record.fail(hop.status, f"{name}: {hop.message}")
            return


def _not_run(reason: str) -> HopResult:
    return HopResult(status=Status.SKIP, message=f"not run: {reason}")


def _hop_from_outcome(outcome: CachedOutcome) -> HopResult:
    status = Status.PASS if outcome.status == "ok" else Status(outcome.status)
    hop = HopResult(status=status, message=outcome.message, seconds=outcome.seconds or None)
    hop.extra.update(outcome.extra)
    return hop


def run_tf_roundtrip(runner: CaseRunner, case: Case, record: Record, prepared: Prepared) -> None:
    """onnx-tf -> SavedModel -> tf2onnx -> ONNX Runtime, each hop judged against eager."""
    record.stage = "onnx_tf"
    onnx_tf = _onnx_tf_hop(runner, prepared)
    if not onnx_tf.ok:
        _first_failure(
            record,
            [
                ("onnx_tf", onnx_tf),
                ("saved_model", _not_run("onnx-tf failed")),
                ("tf2onnx", _not_run("onnx-tf failed")),
            ],
        )
        return

    record.stage = "saved_model"
    tf_versions = runner.versions("tf")
    saved_key = content_key(kind="saved_model", export=prepared.export_key, **tf_versions)
    source = str(prepared.artifact.path)
    outcome, saved_dir = runner.cached_step(
        "saved_models",
        saved_key,
        "",
        lambda scratch: runner.call(
            "tf", "saved_model", "suite.tf_stage:onnx_tf_export_saved_model", source, str(scratch)
        ),
    )
    saved = _hop_from_outcome(outcome)
    if saved_dir is None:
        _first_failure(record, [("onnx_tf", onnx_tf), ("saved_model", saved), ("tf2onnx", _not_run("no SavedModel"))])
        return

    record.stage = "tf2onnx"
    # "in_worker": converted through tf2onnx's Python calls in the TF worker (once a subprocess).
    tf2onnx_key = content_key(kind="tf2onnx", saved=saved_key, opset=case.opset, run="in_worker", **tf_versions)
    outcome, converted = runner.cached_step(
        "tf2onnx",
        tf2onnx_key,
        ".onnx",
        lambda scratch: runner.call(
            "tf", "tf2onnx", "suite.tf_stage:tf2onnx_from_saved_model", str(saved_dir), str(scratch), case.opset
        ),
    )
    if converted is None:
        tf2onnx = _hop_from_outcome(outcome)
    else:
        input_names = outcome.extra.get("input_names") or {}
        tf2onnx = ort_hop(converted, prepared.spec, prepared.probes, prepared.reference_at, None, input_names)
        tf2onnx.seconds = outcome.seconds
        tf2onnx.extra = {"opset": outcome.extra.get("opset")}
    _first_failure(record, [("onnx_tf", onnx_tf), ("saved_model", saved), ("tf2onnx", tf2onnx)])


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
        hop.extra = dict(outcome.extra)
        return hop.failed(Status(outcome.status), outcome.message)
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
            "tf", "onnx_tf", "suite.tf_stage:onnx_tf_run_sizes", str(prepared.artifact.path), inputs
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


def run_version(runner: CaseRunner, case: Case, record: Record, prepared: Prepared) -> None:
    """onnx.version_converter to each target opset, then ONNX Runtime against eager."""
    hops = []
    source = str(prepared.artifact.path)
    for target in VERSION_TARGETS:
        if target == prepared.info.opset:
            continue
        name = f"version_op{target}"
        record.stage = name
        key = content_key(kind="version", export=prepared.export_key, target=target, **runner.versions("onnx"))
        outcome, converted = runner.cached_step(
            "versions",
            key,
            ".onnx",
            _converter(runner, source, target),
        )
        if converted is None:
            hop = _hop_from_outcome(outcome)
        else:
            hop = ort_hop(
                converted, prepared.spec, prepared.probes, prepared.reference_at, prepared.artifact.output_names
            )
            hop.seconds = outcome.seconds
        hops.append((name, hop))
    _first_failure(record, hops)


def _converter(runner: CaseRunner, source: str, target: int) -> Callable[[Path], Any]:
    def convert(scratch: Path) -> dict[str, Any]:
        return runner.call("onnx", "convert", "suite.onnx_stage:convert_version", source, str(scratch), target)

    return convert
