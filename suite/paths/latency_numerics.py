"""A latency row's numerics: the timed session's outputs against eager, judged for the variants that
must match it, and judged with TF32 math off where the timed session uses it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from suite.core import inherent
from suite.core.figures import FloorRatio, Numerics
from suite.core.outcome import FieldFigures, Outcome, Trail
from suite.core.record import Status
from suite.judge.compare import compare_outputs
from suite.judge.inputs import Probe, dims_label, make_inputs
from suite.paths.latency_cases import FP32
from suite.run.cases import Case
from suite.run.pipeline import Prepared, StageFailure
from suite.run.transforms import OPTIMIZE, transform_named
from suite.runtime.ort_errors import ort_failure
from suite.runtime.providers import TF32_OPTION, ProviderRequest
from suite.runtime.sessions import Threads, TimedModel, output_values, timed_session


def exact(variant: str) -> bool:
    """Whether a variant's numerics must match eager within the model's bounds on every provider:
    FP32 and optimizations; quantized ones are judged against FP32 by the quantize path's policy,
    and only recorded here."""
    return variant == FP32 or transform_named(variant).kind == OPTIMIZE


@dataclass(frozen=True)
class ProviderNumerics(FieldFigures):
    provider_options_in_effect: str  # JSON, as onnxruntime reports them (defaults included)
    numerics_policy: str  # how the row's numerics are judged, in words


@dataclass(frozen=True)
class Tf32Figures(FieldFigures):
    """Where the timed session uses TF32 math: its error, beside the strict (TF32 off) session's."""

    tf32_max_abs_err: float | None
    tf32_floor_ratio: float | None
    strict_max_abs_err: float | None


def effective_options(session: Any, request: ProviderRequest) -> dict[str, str]:
    """The provider options the session runs with (defaults included), as onnxruntime reports them."""
    try:
        return {str(k): str(v) for k, v in session.get_provider_options().get(request.name, {}).items()}
    except Exception:  # noqa: BLE001 - a build without the call; the row then shows the options asked for
        return request.option_dict()


def strict_request(request: ProviderRequest, effective: Mapping[str, str]) -> ProviderRequest | None:
    """The same provider with TF32 math off, where the timed session uses it (the CUDA provider's
    default on GPUs that have it), so FP32 numerics can be judged strictly; else None."""
    if effective.get(TF32_OPTION) != "1":
        return None
    options = (*((k, v) for k, v in request.options if k != TF32_OPTION), (TF32_OPTION, "0"))
    return ProviderRequest(request.name, options)


def numerics_policy(case: Case, strict: ProviderRequest | None, rule: str, against: str = "eager") -> str:
    """How this row's numerics are judged, in words, for the report (`rule`: the bounds' rule,
    `against`: what the reference is)."""
    fp32 = f"{rule} vs {against}"
    if not exact(case.variant):
        return "recorded, not judged here (the quantize path judges quantized variants against FP32)"
    if strict is not None:
        return f"FP32 judged with {TF32_OPTION}=0 ({fp32}); the timed session's TF32 error is reported, not judged"
    return f"FP32 judged on the timed session ({fp32})"


def judge_numerics(
    trail: Trail,
    case: Case,
    prepared: Prepared,
    dims: Mapping[str, int],
    outputs: list[Any],
    effective: Mapping[str, str],
    timed: TimedModel,
    threads: Threads,
) -> Outcome:
    """Outputs on this provider against eager: recorded always, judged for unquantized variants.

    Where the timed session uses TF32 math, its error is TF32 rounding, not a verdict: a second
    session with TF32 off (on the timed session's `threads`) is judged with the FP32 tolerance,
    so a wrong kernel still fails.
    """
    trail.enter("compare")
    strict = strict_request(case.provider, effective)
    reference = prepared.reference_at(Probe(dims))
    policy = numerics_policy(case, strict, reference.rule, reference.against or "eager")
    trail.add(ProviderNumerics(json.dumps(dict(effective), sort_keys=True), policy))
    comparison = _against_eager(prepared, dims, outputs)
    timed = Numerics(
        max_abs_err=comparison.worst("max_abs_err"),
        sizes_checked=dims_label(dims),
        compared_elements=sum(comparison.compared.values()),
    )
    trail.add(timed, FloorRatio(comparison.worst("floor_ratio")))
    if strict is not None:
        tf32_floor_ratio = comparison.worst("floor_ratio")
        try:
            session, _ = timed_session(timed.path, strict, threads, level=timed.level)
            with inherent.spent("ort_run"):
                strict_outputs = output_values(session, session.run(None, make_inputs(prepared.spec, dims)))
            comparison = _against_eager(prepared, dims, strict_outputs)
        except Exception as exc:  # noqa: BLE001 - the strict session is part of this row's verdict
            failure = ort_failure(exc, timed.path)
            raise StageFailure(
                failure.status, failure.message(f"the {TF32_OPTION}=0 session failed", whole=True)
            ) from None
        # The judged floor ratio is the strict session's; the TF32 figures stay beside it.
        trail.add(
            Tf32Figures(timed.max_abs_err, tf32_floor_ratio, comparison.worst("max_abs_err")),
            FloorRatio(comparison.worst("floor_ratio")),
        )
    if exact(case.variant) and not comparison.ok:
        mode = f" with {TF32_OPTION}=0" if strict is not None else ""
        return trail.failed(
            Status.MISMATCH, f"{case.provider.name}{mode} output differs from eager: {comparison.message}"
        )
    return trail.passed()


def _against_eager(prepared: Prepared, dims: Mapping[str, int], outputs: Sequence[Any]) -> Any:
    names = list(prepared.artifact.output_names)
    reference = prepared.reference_at(Probe(dims))
    return compare_outputs(
        reference.outputs,
        list(outputs),
        expected_names=names,
        candidate_names=names,
        tolerance=reference.bounds,
        task=prepared.spec.task,
    )
