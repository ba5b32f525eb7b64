"""quantize: each model's FP32 export through each quantization transform, judged by the model's policy.

Error, agreement and (where the model ships real data) accuracy against FP32, on ONNX Runtime's
CPU provider. The speed gained is timed once, by the latency path, which times every selected
quantization; the report puts its figures in this path's table (latency_report.quantized_speedups).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.core.figures import Numerics
from suite.core.outcome import FieldFigures, Outcome, Trail
from suite.core.record import Status
from suite.core.rows import NOT_JUDGED_PREFIX
from suite.judge.inputs import Probe
from suite.paths.declaration import TABLE, PathSpec
from suite.run.cases import Case
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.transforms import QUANTIZE, transform_named, worst_qdq_tensors
from suite.run.triage import TriageSubject
from suite.run.variants import (
    VariantFacts,
    build_variant,
    evaluation_feeds,
    one_sample_feeds,
    outputs_on,
    transform_cases,
)
from suite.runtime.ort_errors import ort_failure
from suite.runtime.sessions import session_from_artifact
from zoo.spec import ModelSpec, Task

# A row's FP32 top-1 is "clear" when its lead over the runner-up is at least this share of the
# row's logit spread (std): near-ties of random-weight models flip under any rounding, so only
# clear rows count towards top-1 agreement. The noise figures below show what that buys.
CLEAR_MARGIN = 0.1
MIN_CLEAR_ROWS = 4  # fewer clear rows than this: top-1 agreement is recorded, not judged
# The FP32-vs-FP32 noise re-run: FP32 on inputs nudged by this share of their spread.
NOISE_NUDGE = 1e-3
# Both sessions' intra-op pool: fixed, as in every earlier run, since a reduction's split can move
# the last bits of an output.
SESSION_THREADS = 2


@dataclass(frozen=True)
class PolicyFigures(FieldFigures):
    """A variant against FP32 by the model's quantization policy, with the policy's own noise
    (FP32 against FP32 on nudged inputs); the classification and held-out figures are None
    where the model has none."""

    cosine: float
    policy: str
    top5_agreement: float | None = None
    clear_rows: int | None = None
    top1_agreement_clear: float | None = None
    noise_cosine: float | None = None
    noise_top1_agreement: float | None = None
    noise_top1_agreement_clear: float | None = None
    accuracy_fp32_pct: float | None = None
    accuracy_variant_pct: float | None = None
    accuracy_drop_pp: float | None = None
    accuracy_samples: int | None = None
    policy_not_judged: str = ""


@dataclass(frozen=True)
class WorstTensors(FieldFigures):
    worst_tensors: str  # per-tensor SQNR, worst first, or why localization failed


def run_quantization(runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared) -> Outcome:
    """A quantized or FP16 variant against FP32: error, agreement, accuracy and size (speed: see above)."""
    spec = prepared.spec
    product = build_variant(runner, case.variant, trail, prepared).path
    trail.enter("compare")
    trail.add(TriageSubject("step", product, case.variant, prepared.artifact.path, feeds_probe=Probe(spec.dims, 0)))
    feeds = evaluation_feeds(spec)
    try:
        fp32_session = session_from_artifact(prepared.artifact.path, intra_op_threads=SESSION_THREADS)
        variant_session = session_from_artifact(product, intra_op_threads=SESSION_THREADS)
        fp32, variant = outputs_on(fp32_session, feeds), outputs_on(variant_session, feeds)
    except Exception as exc:  # noqa: BLE001 - any ORT failure on the variant is this row's verdict
        failure = ort_failure(exc, product)
        raise StageFailure(failure.status, failure.message("ONNX Runtime failed on the variant", whole=True)) from None

    judged = judged_output(fp32)
    if judged is None:
        kinds = ", ".join(_kind(value) for value in fp32[0])
        raise StageFailure(Status.UNSUPPORTED, f"no floating-point output to judge the variant by (outputs: {kinds})")
    fp32, variant = only_output(fp32, judged), only_output(variant, judged)
    ref = np.concatenate([np.asarray(o[0], np.float64).ravel() for o in fp32])
    cand = np.concatenate([np.asarray(o[0], np.float64).ravel() for o in variant])
    if spec.file_source is not None:  # a file's NaN/Inf are its answer (a causal mask's -inf): kept in place
        ref, cand, moved = finite_part(ref, cand)
        stray = int((~np.isfinite(cand)).sum())
        if moved or stray:
            return trail.failed(
                Status.MISMATCH, moved or f"the variant has {stray} NaN/Inf values where FP32 is finite"
            )
    figures: dict[str, Any] = {"cosine": cosine(ref, cand), "policy": describe_policy(spec)}
    max_abs_err = float(np.max(np.abs(ref - cand))) if np.isfinite(cand).all() else float("nan")
    top1 = None
    if spec.task == Task.CLASSIFICATION:
        ref_logits, cand_logits = _logits(fp32), _logits(variant)
        top1 = topk_agreement(ref_logits, cand_logits, 1)
        figures["top5_agreement"] = topk_agreement(ref_logits, cand_logits, 5)
        figures["clear_rows"], figures["top1_agreement_clear"] = clear_top1(ref_logits, cand_logits)
    figures.update(policy_noise(spec, fp32_session, feeds, fp32, judged))
    if spec.held_out is not None:
        figures.update(held_out_accuracy(spec, fp32_session, variant_session))
    problems = policy_problems(spec, figures)
    not_judged = policy_not_judged(spec, figures)
    trail.add(
        Numerics(
            max_abs_err=max_abs_err,
            top1_agreement=top1,
            sizes_checked=f"{len(feeds)} draws",
            compared_elements=int(ref.size),
        ),
        PolicyFigures(**figures, policy_not_judged=not_judged),
    )
    if not problems and not judges_anything(spec, figures):
        return trail.failed(Status.SKIP, f"{NOT_JUDGED_PREFIX}{not_judged}; the figures are in the row")
    if problems:
        if transform_named(case.variant).localizable:
            trail.add(WorstTensors(_worst_tensors(runner, prepared, product, feeds)))
        return trail.failed(Status.MISMATCH, "; ".join(problems))
    return trail.passed()


def judged_output(outputs: Sequence[Sequence[Any]]) -> int | None:
    """The output a quantized variant is judged by: the first that is a floating-point array on every
    draw (a classifier converted by skl2onnx puts its labels first and its probabilities second);
    None where no output is (labels only, or probabilities as a sequence of maps)."""
    count = len(outputs[0]) if outputs else 0
    return next(
        (k for k in range(count) if all(isinstance(o[k], np.ndarray) and o[k].dtype.kind == "f" for o in outputs)),
        None,
    )


def only_output(outputs: Sequence[Sequence[Any]], index: int) -> list[list[Any]]:
    """Each draw's outputs cut to the judged one, so the figures below read it as output 0."""
    return [[draw[index]] for draw in outputs]


def _kind(value: Any) -> str:
    return f"{value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__


def _logits(outputs: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    return np.concatenate([np.asarray(o[0]).reshape(-1, np.asarray(o[0]).shape[-1]) for o in outputs])


def clear_rows(logits: np.ndarray) -> np.ndarray:
    """Rows whose top-1 leads the runner-up by at least CLEAR_MARGIN of the row's logit spread."""
    if logits.shape[-1] < 2:
        return np.ones(len(logits), dtype=bool)
    top2 = np.sort(logits, axis=-1)[:, -2:]
    spread = logits.std(axis=-1)
    return (top2[:, 1] - top2[:, 0]) >= CLEAR_MARGIN * np.where(spread > 0, spread, np.inf)


def clear_top1(ref_logits: np.ndarray, cand_logits: np.ndarray) -> tuple[int, float | None]:
    """How many rows have a clear FP32 top-1, and top-1 agreement on them (None without any)."""
    clear = clear_rows(ref_logits)
    agreement = topk_agreement(ref_logits[clear], cand_logits[clear], 1) if clear.any() else None
    return int(clear.sum()), agreement


def policy_noise(
    spec: ModelSpec,
    fp32_session: Any,
    feeds: Sequence[Mapping[str, np.ndarray]],
    fp32: Sequence[Sequence[np.ndarray]],
    judged: int = 0,
) -> dict[str, Any]:
    """Each policy figure for FP32 against FP32 on slightly nudged inputs: what the policy calls noise
    (`fp32`: the judged output only; `judged`: its index among the session's outputs).

    A figure that moves here, with no quantization at all, cannot tell a bad variant from a good one.
    """
    rng = np.random.default_rng(0)
    nudged = [
        {k: v + (NOISE_NUDGE * float(v.std() or 1.0) * rng.standard_normal(v.shape)).astype(v.dtype)
         if np.issubdtype(v.dtype, np.floating) else v for k, v in feed.items()}
        for feed in feeds
    ]  # fmt: skip
    again = only_output(outputs_on(fp32_session, nudged), judged)
    ref = np.concatenate([np.asarray(o[0], np.float64).ravel() for o in fp32])
    cand = np.concatenate([np.asarray(o[0], np.float64).ravel() for o in again])
    if spec.file_source is not None:
        ref, cand, _ = finite_part(ref, cand)
    noise: dict[str, Any] = {"noise_cosine": round(cosine(ref, cand), 6)}
    if spec.task == Task.CLASSIFICATION:
        ref_logits, cand_logits = _logits(fp32), _logits(again)
        noise["noise_top1_agreement"] = topk_agreement(ref_logits, cand_logits, 1)
        _, noise["noise_top1_agreement_clear"] = clear_top1(ref_logits, cand_logits)
    return noise


def finite_part(ref: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """The places where FP32's output is finite, and why not, where the variant's NaN/Inf are not
    FP32's in place ("" where they are). For ONNX files, whose FP32 NaN/Inf are the file's answer;
    a variant's NaN where FP32 is finite stays in, and fails the cosine."""
    answer = ~np.isfinite(ref)
    if not answer.any():
        return ref, cand, ""
    if not np.array_equal(ref[answer], cand[answer], equal_nan=True):
        moved = int((~np.isclose(ref[answer], cand[answer], equal_nan=True)).sum())
        return ref, cand, f"{moved} of FP32's {int(answer.sum())} NaN/Inf values are not the variant's in place"
    return ref[~answer], cand[~answer], ""


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity; NaN when either side has non-finite values or no norm (NaN never passes)."""
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm > 0 else float("nan")


def topk_agreement(reference: np.ndarray, candidate: np.ndarray, k: int) -> float:
    """Share of rows whose FP32 top-1 class is among the candidate's top-k."""
    k = min(k, reference.shape[-1])
    ref_top1 = reference.argmax(axis=-1)
    cand_topk = np.argsort(-candidate, axis=-1)[:, :k]
    return float(np.mean([r in row for r, row in zip(ref_top1, cand_topk, strict=True)]))


def held_out_accuracy(spec: ModelSpec, fp32_session: Any, variant_session: Any) -> dict[str, float]:
    """Real accuracy in percent on the model's held-out split, FP32 and variant, and the drop."""
    assert spec.held_out is not None
    data = spec.held_out()
    feeds = one_sample_feeds(data.input_name, data.test_inputs)
    labels = np.asarray(data.test_labels)
    fp32 = np.array([o[0].argmax() for o in outputs_on(fp32_session, feeds)])
    variant = np.array([o[0].argmax() for o in outputs_on(variant_session, feeds)])
    fp32_acc, variant_acc = 100.0 * float((fp32 == labels).mean()), 100.0 * float((variant == labels).mean())
    return {
        "accuracy_fp32_pct": round(fp32_acc, 2),
        "accuracy_variant_pct": round(variant_acc, 2),
        "accuracy_drop_pp": round(fp32_acc - variant_acc, 2),
        "accuracy_samples": len(labels),
    }


def describe_policy(spec: ModelSpec) -> str:
    policy = spec.quant_policy
    parts = [f"cosine >= {policy.min_cosine}"]
    if spec.task == Task.CLASSIFICATION:
        parts.append(
            f"top-1 agreement >= {policy.min_top1} on rows with a clear FP32 top-1 "
            f"(lead >= {CLEAR_MARGIN} x logit std; judged with >= {MIN_CLEAR_ROWS} such rows)"
        )
    if spec.held_out is not None:
        parts.append(f"accuracy drop <= {policy.max_accuracy_drop} pp")
    return ", ".join(parts)


def policy_problems(spec: ModelSpec, figures: Mapping[str, Any]) -> list[str]:
    """What breaks the model's quantization policy (NaN breaks every threshold).

    A figure whose own noise (FP32 against FP32 on nudged inputs) already breaks its threshold
    cannot tell a bad variant from rounding on this model: it is left out (policy_not_judged).
    """
    policy, problems = spec.quant_policy, []
    if _cosine_judged(spec, figures) and not figures["cosine"] >= policy.min_cosine:
        problems.append(f"cosine {figures['cosine']:.4f} < {policy.min_cosine}")
    clear_agreement, clear = figures.get("top1_agreement_clear"), figures.get("clear_rows", 0)
    if _top1_judged(figures) and not clear_agreement >= policy.min_top1:
        problems.append(
            f"top-1 agreement {clear_agreement:.3f} < {policy.min_top1} on the {clear} rows with a clear FP32 top-1"
        )
    drop = figures.get("accuracy_drop_pp")
    if drop is not None and not drop <= policy.max_accuracy_drop:
        problems.append(f"held-out accuracy drops {drop:.2f} pp > {policy.max_accuracy_drop}")
    return problems


def _cosine_judged(spec: ModelSpec, figures: Mapping[str, Any]) -> bool:
    """Cosine judges unless FP32 against itself on nudged inputs already breaks its threshold."""
    noise = figures.get("noise_cosine")
    return noise is None or noise >= spec.quant_policy.min_cosine


def _top1_judged(figures: Mapping[str, Any]) -> bool:
    """Top-1 agreement judges on clear rows, when there are enough of them."""
    return figures.get("top1_agreement_clear") is not None and figures.get("clear_rows", 0) >= MIN_CLEAR_ROWS


def policy_not_judged(spec: ModelSpec, figures: Mapping[str, Any]) -> str:
    """Why a policy figure was left out of the verdict, or ""."""
    if _cosine_judged(spec, figures):
        return ""
    return (
        f"cosine not judged: FP32 against itself on nudged inputs already gives {figures['noise_cosine']:.4f} "
        f"(< {spec.quant_policy.min_cosine}) on this model, so the figure cannot tell rounding from a bad variant"
    )


def judges_anything(spec: ModelSpec, figures: Mapping[str, Any]) -> bool:
    """Whether any policy figure is left to judge the variant by."""
    return _cosine_judged(spec, figures) or _top1_judged(figures) or figures.get("accuracy_drop_pp") is not None


def _worst_tensors(runner: CaseRunner, prepared: Prepared, product: Path, feeds: list[dict[str, np.ndarray]]) -> str:
    """Per-tensor SQNR localization, so a user knows which nodes to keep out of quantization."""
    try:
        worst = runner.call(
            "onnx",
            "localize",
            worst_qdq_tensors,
            str(prepared.artifact.path),
            str(product),
            feeds[:4],
        )
    except StageFailure as failure:
        return f"localization failed: {failure.message}"
    return "; ".join(f"{name} {sqnr:.1f} dB" for name, sqnr in worst)


PATH = PathSpec(
    QUANTIZE,
    "Quantization: each quantized model against FP32, by the model's policy",
    transform_cases(QUANTIZE),
    run_quantization,
    shown_as=TABLE,
    columns=(
        *VariantFacts.column_names("size_before", "size_after", "size_ratio"),
        # Joined by the report from the same run's latency rows (latency_report.with_latency_speedups).
        "fp32_ms",
        "variant_ms",
        "speedup",
        *Numerics.column_names("max_abs_err"),
        *PolicyFigures.column_names("cosine"),
        *Numerics.column_names("top1_agreement"),
        *PolicyFigures.column_names(
            "top1_agreement_clear",
            "clear_rows",
            "top5_agreement",
            "noise_cosine",
            "noise_top1_agreement",
            "noise_top1_agreement_clear",
            "accuracy_fp32_pct",
            "accuracy_variant_pct",
            "accuracy_drop_pp",
            "policy",
        ),
        *WorstTensors.column_names("worst_tensors"),
    ),
)
